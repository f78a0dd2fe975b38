package prommetrics_test

import (
	"fmt"
	"io"
	"log"
	"strings"
	"sync/atomic"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/kinesis"
	"github.com/kplgo/producer"
	"github.com/kplgo/producer/metrics/prommetrics"
	"github.com/prometheus/client_golang/prometheus"
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

// New registers the producer's metrics; Config.Metrics takes the result.
func ExampleNew() {
	reg := prometheus.NewRegistry() // in a program, often prometheus.DefaultRegisterer
	metrics, err := prommetrics.New(reg, prommetrics.Options{Stream: "orders"})
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

	// What the registry exposes now, one line per series, with the values
	// of the settled user records and of the gauges (the other values
	// depend on how the records were aggregated and batched). Series
	// labelled by error code appear with their first error: here the
	// throttled first call. The gauges are read from the producer at each
	// scrape: after Stop, nothing is under way.
	families, err := reg.Gather()
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			line := fmt.Sprintf("%s{%s} %s", f.GetName(), strings.Join(labels, ","), strings.ToLower(f.GetType().String()))
			switch {
			case f.GetName() == "kinesis_producer_user_records_total":
				line += fmt.Sprint(" ", m.GetCounter().GetValue())
			case m.GetGauge() != nil:
				line += fmt.Sprint(" ", m.GetGauge().GetValue())
			}
			fmt.Println(line)
		}
	}
	// Output:
	// kinesis_producer_buffering_seconds{stream="orders"} histogram
	// kinesis_producer_held_back_kinesis_records{stream="orders"} gauge 0
	// kinesis_producer_kinesis_bytes_put_total{stream="orders"} counter
	// kinesis_producer_kinesis_record_attempts{stream="orders"} histogram
	// kinesis_producer_kinesis_records_put_total{stream="orders"} counter
	// kinesis_producer_outstanding_user_records{stream="orders"} gauge 0
	// kinesis_producer_put_errors_total{code="ProvisionedThroughputExceededException",stream="orders"} counter
	// kinesis_producer_put_records_in_flight{stream="orders"} gauge 0
	// kinesis_producer_put_records_seconds{stream="orders"} histogram
	// kinesis_producer_queued_bytes{stream="orders"} gauge 0
	// kinesis_producer_queued_kinesis_records{stream="orders"} gauge 0
	// kinesis_producer_rate_limited_total{stream="orders"} counter
	// kinesis_producer_retries_total{stream="orders"} counter
	// kinesis_producer_user_records_per_kinesis_record{stream="orders"} histogram
	// kinesis_producer_user_records_total{outcome="acknowledged",stream="orders"} counter 100
}
