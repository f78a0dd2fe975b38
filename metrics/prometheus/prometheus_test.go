package prometheus_test

import (
	"errors"
	"io"
	"log"
	"testing"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/kinesis"
	"github.com/kplgo/producer"
	kpprom "github.com/kplgo/producer/metrics/prometheus"
	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// flakyClient throttles every entry of its first call and accepts the rest.
type flakyClient struct{ calls int }

func (c *flakyClient) PutRecords(in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
	c.calls++
	out := &kinesis.PutRecordsOutput{}
	for range in.Records {
		e := &kinesis.PutRecordsResultEntry{ShardId: aws.String("shardId-000000000000"), SequenceNumber: aws.String("1")}
		if c.calls == 1 {
			e = &kinesis.PutRecordsResultEntry{ErrorCode: aws.String("ProvisionedThroughputExceededException"), ErrorMessage: aws.String("slow")}
		}
		out.Records = append(out.Records, e)
	}
	return out, nil
}

func TestMetricsCountWhatTheProducerDid(t *testing.T) {
	reg := prom.NewRegistry()
	m, err := kpprom.New(reg, "kp", "orders")
	if err != nil {
		t.Fatal(err)
	}
	p := producer.New(&producer.Config{
		StreamName: "orders", Client: &flakyClient{}, Metrics: m, MaxConnections: 1,
		Logger: producer.Standard(log.New(io.Discard, "", 0)), RetryBackoffMin: 1, RetryBackoffMax: 1,
	})
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		if err := p.Put([]byte("payload"), "key"); err != nil {
			t.Fatal(err)
		}
	}
	p.Stop()
	if got := testutil.ToFloat64(m.UserRecordsPutCounter()); got != 100 {
		t.Fatalf("user_records_put_total = %v, want 100", got)
	}
	n, err := testutil.GatherAndCount(reg, "kp_put_errors_total")
	if err != nil || n != 1 {
		t.Fatalf("put_errors_total series = %d (%v), want 1", n, err)
	}
	if _, err := kpprom.New(reg, "kp", "orders"); err == nil {
		t.Fatal("registering the same stream twice succeeded")
	}
	var are prom.AlreadyRegisteredError
	if _, err := kpprom.New(reg, "kp", "orders"); !errors.As(err, &are) {
		t.Fatalf("second registration: %v", err)
	}
}
