package prometheus_test

import (
	"fmt"
	"io"
	"log"
	"strings"
	"sync/atomic"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/kinesis"
	"github.com/kplgo/producer"
	kpprom "github.com/kplgo/producer/metrics/prometheus"
	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
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
	reg := prom.NewRegistry() // in a program, often prom.DefaultRegisterer
	metrics, err := kpprom.New(reg, "kinesis_producer", "orders")
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

	fmt.Println("user records put:", testutil.ToFloat64(metrics.UserRecordsPutCounter()))

	// What the registry exposes now, one line per series (without the
	// values, which depend on how the records were batched). Series
	// labelled by error code or failure reason appear with their first
	// error: here the throttled first call.
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
			fmt.Printf("%s{%s} %s\n", f.GetName(), strings.Join(labels, ","), f.GetType())
		}
	}
	// Output:
	// user records put: 100
	// kinesis_producer_buffering_seconds{stream="orders"} HISTOGRAM
	// kinesis_producer_kinesis_bytes_put_total{stream="orders"} COUNTER
	// kinesis_producer_kinesis_record_attempts{stream="orders"} HISTOGRAM
	// kinesis_producer_kinesis_records_put_total{stream="orders"} COUNTER
	// kinesis_producer_put_errors_total{code="ProvisionedThroughputExceededException",stream="orders"} COUNTER
	// kinesis_producer_put_records_in_flight{stream="orders"} GAUGE
	// kinesis_producer_put_records_seconds{stream="orders"} HISTOGRAM
	// kinesis_producer_user_records_per_kinesis_record{stream="orders"} HISTOGRAM
	// kinesis_producer_user_records_put_total{stream="orders"} COUNTER
}
