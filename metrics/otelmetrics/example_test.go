package otelmetrics_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"sort"
	"sync/atomic"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/kinesis"
	"github.com/kplgo/producer"
	"github.com/kplgo/producer/metrics/otelmetrics"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// throttlingKinesis stands in for *kinesis.Kinesis so that the example runs
// offline: a stream of one shard that throttles every record of the first
// PutRecords call, as a busy shard does, and acknowledges the rest.
type throttlingKinesis struct {
	calls    atomic.Int64 // PutRecords calls so far
	sequence atomic.Int64 // the last sequence number given
}

// PutRecords answers each entry with a shard and sequence number, or, in
// the first call, with ProvisionedThroughputExceededException.
func (k *throttlingKinesis) PutRecords(in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
	call := k.calls.Add(1)
	out := &kinesis.PutRecordsOutput{FailedRecordCount: aws.Int64(0)}
	for range in.Records {
		if call == 1 {
			out.Records = append(out.Records, &kinesis.PutRecordsResultEntry{
				ErrorCode:    aws.String(kinesis.ErrCodeProvisionedThroughputExceededException),
				ErrorMessage: aws.String("Rate exceeded for shard shardId-000000000000"),
			})
			*out.FailedRecordCount++
			continue
		}
		out.Records = append(out.Records, &kinesis.PutRecordsResultEntry{
			ShardId:        aws.String("shardId-000000000000"),
			SequenceNumber: aws.String(fmt.Sprint(k.sequence.Add(1))),
		})
	}
	return out, nil
}

// New creates the producer's instruments with a Meter; Config.Metrics takes
// the result. Here the SDK's manual reader collects them; a program would
// give the MeterProvider an exporter's reader (OTLP, Prometheus).
func ExampleNew() {
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(context.Background())

	metrics, err := otelmetrics.New(provider.Meter("github.com/kplgo/producer"), otelmetrics.Options{Stream: "orders"})
	if err != nil {
		log.Fatal(err)
	}
	p := producer.New(&producer.Config{
		StreamName: "orders",
		Client:     &throttlingKinesis{},
		Metrics:    metrics,
		Logger:     producer.Standard(log.New(io.Discard, "", 0)),
	})
	if err := p.Start(); err != nil {
		log.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		if err := p.Put([]byte(fmt.Sprint("event-", i)), fmt.Sprint("device-", i)); err != nil {
			log.Fatal(err)
		}
	}
	p.Stop()

	// What a collection reads now: each instrument with data, its unit and
	// its attributes, with the values of the user records sent and of the
	// gauges (the other values depend on how the records were aggregated
	// and batched). The gauges are read from the producer at each
	// collection: after Stop, nothing is under way.
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		log.Fatal(err)
	}
	var lines []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			line := func(attrs attribute.Set, value string) {
				lines = append(lines, fmt.Sprintf("%s (%s) {%s}%s", m.Name, m.Unit, attrs.Encoded(attribute.DefaultEncoder()), value))
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, pt := range d.DataPoints {
					if m.Name == "messaging.client.sent.messages" {
						line(pt.Attributes, fmt.Sprint(" ", pt.Value))
					} else {
						line(pt.Attributes, "")
					}
				}
			case metricdata.Gauge[int64]:
				for _, pt := range d.DataPoints {
					line(pt.Attributes, fmt.Sprint(" ", pt.Value))
				}
			case metricdata.Histogram[int64]:
				for _, pt := range d.DataPoints {
					line(pt.Attributes, "")
				}
			case metricdata.Histogram[float64]:
				for _, pt := range d.DataPoints {
					line(pt.Attributes, "")
				}
			}
		}
	}
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// kinesis.producer.buffering.duration (s) {messaging.destination.name=orders,messaging.system=aws_kinesis}
	// kinesis.producer.calls.in_flight ({call}) {messaging.destination.name=orders,messaging.system=aws_kinesis} 0
	// kinesis.producer.kinesis_record.attempts ({attempt}) {messaging.destination.name=orders,messaging.system=aws_kinesis}
	// kinesis.producer.kinesis_record.user_records ({message}) {messaging.destination.name=orders,messaging.system=aws_kinesis}
	// kinesis.producer.kinesis_records.held_back ({record}) {messaging.destination.name=orders,messaging.system=aws_kinesis} 0
	// kinesis.producer.kinesis_records.put ({record}) {messaging.destination.name=orders,messaging.system=aws_kinesis}
	// kinesis.producer.kinesis_records.queued ({record}) {messaging.destination.name=orders,messaging.system=aws_kinesis} 0
	// kinesis.producer.kinesis_records.queued.size (By) {messaging.destination.name=orders,messaging.system=aws_kinesis} 0
	// kinesis.producer.kinesis_records.size (By) {messaging.destination.name=orders,messaging.system=aws_kinesis}
	// kinesis.producer.put.errors ({record}) {error.type=ProvisionedThroughputExceededException,messaging.destination.name=orders,messaging.system=aws_kinesis}
	// kinesis.producer.retries ({record}) {messaging.destination.name=orders,messaging.system=aws_kinesis}
	// kinesis.producer.user_records.outstanding ({message}) {messaging.destination.name=orders,messaging.system=aws_kinesis} 0
	// messaging.client.operation.duration (s) {messaging.destination.name=orders,messaging.operation.name=PutRecords,messaging.operation.type=send,messaging.system=aws_kinesis}
	// messaging.client.sent.messages ({message}) {messaging.destination.name=orders,messaging.operation.name=send,messaging.system=aws_kinesis} 100
}
