package producer_test

import (
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"os"
	"sort"
	"sync"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/awserr"
	"github.com/aws/aws-sdk-go/service/kinesis"
	"github.com/kplgo/producer"
	"github.com/kplgo/producer/deaggregator"
)

// memoryKinesis stands in for *kinesis.Kinesis so that the examples run
// offline: it keeps what PutRecords sends and serves a fixed shard list.
type memoryKinesis struct {
	mu      sync.Mutex
	shards  []*kinesis.Shard
	entries []*kinesis.PutRecordsRequestEntry
	fail    error // when set, every PutRecords call fails with it
}

func newMemoryKinesis(shardCount int) *memoryKinesis {
	shards, _, _ := producer.StaticGetShardsFunc(shardCount)(nil)
	return &memoryKinesis{shards: shards}
}

func (m *memoryKinesis) PutRecords(in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
	if m.fail != nil {
		return nil, m.fail
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := &kinesis.PutRecordsOutput{FailedRecordCount: aws.Int64(0)}
	for _, e := range in.Records {
		// The producer reuses an input's memory once PutRecords returns:
		// keep copies, not the entry.
		cp := kinesis.PutRecordsRequestEntry{
			Data:            append([]byte(nil), e.Data...),
			PartitionKey:    aws.String(aws.StringValue(e.PartitionKey)),
			ExplicitHashKey: e.ExplicitHashKey,
		}
		if e.ExplicitHashKey != nil {
			cp.ExplicitHashKey = aws.String(*e.ExplicitHashKey)
		}
		m.entries = append(m.entries, &cp)
		out.Records = append(out.Records, &kinesis.PutRecordsResultEntry{
			ShardId:        aws.String(m.shardOf(aws.StringValue(e.PartitionKey), aws.StringValue(e.ExplicitHashKey))),
			SequenceNumber: aws.String(fmt.Sprint(len(m.entries))),
		})
	}
	return out, nil
}

// ListShards serves the shard list in pages of two.
func (m *memoryKinesis) ListShards(in *kinesis.ListShardsInput) (*kinesis.ListShardsOutput, error) {
	start := 0
	if in.NextToken != nil {
		fmt.Sscan(*in.NextToken, &start)
	}
	end := min(start+2, len(m.shards))
	out := &kinesis.ListShardsOutput{Shards: m.shards[start:end]}
	if end < len(m.shards) {
		out.NextToken = aws.String(fmt.Sprint(end))
	}
	return out, nil
}

// shardOf returns the shard Kinesis stores a record on.
func (m *memoryKinesis) shardOf(key, explicitHashKey string) string {
	h, ok := new(big.Int).SetString(explicitHashKey, 10)
	if !ok {
		sum := md5.Sum([]byte(key))
		h = new(big.Int).SetBytes(sum[:])
	}
	for _, s := range m.shards {
		lo, _ := new(big.Int).SetString(*s.HashKeyRange.StartingHashKey, 10)
		hi, _ := new(big.Int).SetString(*s.HashKeyRange.EndingHashKey, 10)
		if h.Cmp(lo) >= 0 && h.Cmp(hi) <= 0 {
			return *s.ShardId
		}
	}
	return ""
}

// userRecordsByShard deaggregates what was sent, as a consumer would.
func (m *memoryKinesis) userRecordsByShard() map[string][]deaggregator.Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string][]deaggregator.Record{}
	for _, e := range m.entries {
		recs, err := deaggregator.Deaggregate(e.Data, aws.StringValue(e.PartitionKey), aws.StringValue(e.ExplicitHashKey))
		if err != nil {
			panic(err)
		}
		shard := m.shardOf(aws.StringValue(e.PartitionKey), aws.StringValue(e.ExplicitHashKey))
		out[shard] = append(out[shard], recs...)
	}
	return out
}

// quiet keeps the examples' output to what they print.
var quiet = producer.Standard(log.New(io.Discard, "", 0))

func Example() {
	client := newMemoryKinesis(1) // in a program: kinesis.New(session.Must(session.NewSession()))

	p := producer.New(&producer.Config{
		StreamName: "orders",
		Client:     client,
		Logger:     quiet,
	})
	failures := p.NotifyFailures()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for f := range failures {
			log.Printf("%d records failed: %v", len(f.UserRecords), f.Err)
		}
	}()
	if err := p.Start(); err != nil {
		log.Fatal(err)
	}
	for i := 0; i < 1000; i++ {
		data := []byte(fmt.Sprintf(`{"order":%d}`, i))
		if err := p.Put(data, fmt.Sprintf("customer-%d", i%50)); err != nil {
			log.Fatal(err)
		}
	}
	p.Stop() // sends what is buffered and waits for it
	<-done   // the failure channel is closed after Stop

	for shard, recs := range client.userRecordsByShard() {
		fmt.Println(shard, len(recs), "user records")
	}
	fmt.Println("delivered:", p.Stats().UserRecordsPut, "outstanding:", p.Outstanding())
	// Output:
	// shardId-000000000000 1000 user records
	// delivered: 1000 outstanding: 0
}

// With a shard map, user records are aggregated per shard, so that consumers
// built on the KCL accept every aggregate.
func Example_shardMap() {
	client := newMemoryKinesis(4)

	p := producer.New(&producer.Config{
		StreamName: "orders",
		Client:     client,
		GetShards:  producer.GetKinesisShardsFunc(client, "orders"),
		Logger:     quiet,
	})
	if err := p.Start(); err != nil {
		log.Fatal(err)
	}
	for i := 0; i < 1000; i++ {
		if err := p.Put([]byte(fmt.Sprint("event-", i)), fmt.Sprint("device-", i)); err != nil {
			log.Fatal(err)
		}
	}
	p.Stop()

	byShard := client.userRecordsByShard()
	var shards []string
	for s := range byShard {
		shards = append(shards, s)
	}
	sort.Strings(shards)
	for _, s := range shards {
		misplaced := 0
		for _, r := range byShard[s] {
			if client.shardOf(r.PartitionKey, r.ExplicitHashKey) != s {
				misplaced++
			}
		}
		fmt.Printf("%s: %d user records, %d misplaced\n", s, len(byShard[s]), misplaced)
	}
	// Output:
	// shardId-000000000000: 257 user records, 0 misplaced
	// shardId-000000000001: 244 user records, 0 misplaced
	// shardId-000000000002: 237 user records, 0 misplaced
	// shardId-000000000003: 262 user records, 0 misplaced
}

// orderEvent is an application's own record type.
type orderEvent struct {
	OrderID  string
	Customer string
	Payload  []byte
}

func (e *orderEvent) PartitionKey() string      { return e.Customer }
func (e *orderEvent) ExplicitHashKey() *big.Int { return nil }
func (e *orderEvent) Data() []byte              { return e.Payload }
func (e *orderEvent) Size() int                 { return len(e.Payload) }

// A failure hands back the caller's own values.
func ExampleProducer_PutUserRecord() {
	client := newMemoryKinesis(1)
	client.fail = awserr.New("ResourceNotFoundException", "Stream orders not found", nil)

	p := producer.New(&producer.Config{StreamName: "orders", Client: client, Logger: quiet})
	failures := p.NotifyFailures()
	if err := p.Start(); err != nil {
		log.Fatal(err)
	}
	ev := &orderEvent{OrderID: "o-17", Customer: "c-3", Payload: []byte(`{"total":12.5}`)}
	if err := p.PutUserRecord(ev); err != nil {
		log.Fatal(err)
	}
	p.Stop()

	for f := range failures {
		for _, r := range f.UserRecords {
			order := r.(*orderEvent)
			fmt.Println(order.OrderID, order == ev, errors.Is(f.Err, producer.ErrNotRetryable))
		}
	}
	// Output:
	// o-17 true true
}

func ExampleProducer_Put_badInput() {
	p := producer.New(&producer.Config{StreamName: "orders", Client: newMemoryKinesis(1), Logger: quiet})
	if err := p.Start(); err != nil {
		log.Fatal(err)
	}
	defer p.Stop()

	err := p.Put([]byte("x"), "")
	fmt.Println(errors.Is(err, producer.ErrIllegalPartitionKey))
	err = p.Put(make([]byte, producer.DefaultMaxRecordSize), "key")
	fmt.Println(errors.Is(err, producer.ErrRecordSizeExceeded))
	err = p.Put(nil, "key")
	fmt.Println(errors.Is(err, producer.ErrNilData))
	// Output:
	// true
	// true
	// true
}

func ExampleGetKinesisShardsFunc() {
	client := newMemoryKinesis(5) // in a program: kinesis.New(session.Must(session.NewSession()))
	getShards := producer.GetKinesisShardsFunc(client, "orders")

	shards, updated, err := getShards(nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(shards), "open shards, updated:", updated)
	_, updated, _ = getShards(shards)
	fmt.Println("listed again, updated:", updated)
	// Output:
	// 5 open shards, updated: true
	// listed again, updated: false
}

func ExampleStaticGetShardsFunc() {
	shards, _, _ := producer.StaticGetShardsFunc(2)(nil)
	for _, s := range shards {
		fmt.Println(*s.ShardId, *s.HashKeyRange.StartingHashKey, *s.HashKeyRange.EndingHashKey)
	}
	// Output:
	// shardId-000000000000 0 170141183460469231731687303715884105727
	// shardId-000000000001 170141183460469231731687303715884105728 340282366920938463463374607431768211455
}

func ExampleStandard() {
	l := producer.Standard(log.New(os.Stdout, "", 0))
	l.Info("producer started", producer.LogValue{Name: "stream", Value: "orders"}, producer.LogValue{Name: "shards", Value: 4})
	l.Error("PutRecords failed", errors.New("connection reset"), producer.LogValue{Name: "records", Value: 12})
	// Output:
	// producer started stream=orders shards=4
	// PutRecords failed records=12 err="connection reset"
}
