package producer

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/kinesis"
	"github.com/kplgo/producer/deaggregator"
)

// sentRecord is one Kinesis record a fake client accepted.
type sentRecord struct {
	PartitionKey    string
	ExplicitHashKey string
	Data            []byte
}

// fakeClient is a PutRecords client for unit tests. It accepts every entry
// unless answer says otherwise, and keeps what it accepted.
type fakeClient struct {
	mu      sync.Mutex
	calls   int
	sent    []sentRecord
	answer  func(call int, in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error)
	checkIn func(in *kinesis.PutRecordsInput) error
}

func (c *fakeClient) PutRecords(in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
	c.mu.Lock()
	c.calls++
	call := c.calls
	c.mu.Unlock()
	if c.checkIn != nil {
		if err := c.checkIn(in); err != nil {
			return nil, err
		}
	}
	var out *kinesis.PutRecordsOutput
	if c.answer != nil {
		var err error
		if out, err = c.answer(call, in); err != nil {
			return nil, err
		}
	}
	if out == nil {
		out = &kinesis.PutRecordsOutput{}
		for range in.Records {
			out.Records = append(out.Records, &kinesis.PutRecordsResultEntry{ShardId: aws.String("shardId-000000000000"), SequenceNumber: aws.String("1")})
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, e := range in.Records {
		if out.Records[i].ErrorCode == nil {
			c.sent = append(c.sent, sentRecord{aws.StringValue(e.PartitionKey), aws.StringValue(e.ExplicitHashKey), append([]byte(nil), e.Data...)})
		}
	}
	return out, nil
}

// userRecords deaggregates everything the client accepted.
func (c *fakeClient) userRecords(t testing.TB) []deaggregator.Record {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var all []deaggregator.Record
	for _, s := range c.sent {
		recs, err := deaggregator.Deaggregate(s.Data, s.PartitionKey, s.ExplicitHashKey)
		if err != nil {
			t.Fatalf("deaggregate: %v", err)
		}
		all = append(all, recs...)
	}
	return all
}

// checkAllDelivered compares delivered user records with what was put, keyed
// by data, which tests make unique.
func checkAllDelivered(t testing.TB, want map[string]string, got []deaggregator.Record) {
	t.Helper()
	seen := make(map[string]bool, len(got))
	for _, r := range got {
		key, ok := want[string(r.Data)]
		if !ok {
			t.Fatalf("delivered a record that was never put: %q", r.Data)
		}
		if key != r.PartitionKey {
			t.Fatalf("record %q: partition key %q, want %q", r.Data, r.PartitionKey, key)
		}
		if seen[string(r.Data)] {
			t.Fatalf("record %q delivered twice", r.Data)
		}
		seen[string(r.Data)] = true
	}
	if len(seen) != len(want) {
		t.Fatalf("delivered %d distinct records, put %d", len(seen), len(want))
	}
}

func testConfig(c *fakeClient) *Config {
	return &Config{
		StreamName:      "test",
		Client:          c,
		FlushInterval:   50 * time.Millisecond,
		RetryBackoffMin: time.Millisecond,
		RetryBackoffMax: 5 * time.Millisecond,
		Logger:          Standard(nil),
	}
}

func recordData(i int) []byte { return []byte(fmt.Sprintf("record-%06d", i)) }
