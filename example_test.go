package producer_test

import (
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/awserr"
	"github.com/aws/aws-sdk-go/aws/request"
	"github.com/aws/aws-sdk-go/service/kinesis"
	"github.com/kplgo/producer"
	"github.com/kplgo/producer/deaggregator"
)

// memoryKinesis stands in for *kinesis.Kinesis so that the examples run
// offline. It answers PutRecords as Kinesis does: each record is stored on
// the shard whose hash key range holds its explicit hash key, or else the
// MD5 of its partition key read as a 128-bit big-endian number, and gets
// that shard's next sequence number. It keeps a copy of each record, for
// the examples to read back, and lists its shards with ListShards.
type memoryKinesis struct {
	shards []*kinesis.Shard
	fail   error // when set, every PutRecords call fails with it
	// hang, when set, makes PutRecordsWithContext wait for its context to
	// end, as for a stream that never answers.
	hang bool

	mu     sync.Mutex
	stored map[string][]*kinesis.Record // by shard ID, in the order stored
}

// newMemoryKinesis returns a stream of shardCount shards of equal hash key
// ranges.
func newMemoryKinesis(shardCount int) *memoryKinesis {
	shards, _, _ := producer.StaticGetShardsFunc(shardCount)(nil)
	return &memoryKinesis{shards: shards, stored: map[string][]*kinesis.Record{}}
}

// PutRecords stores each entry on its shard and answers with the shard ID
// and sequence number of each.
func (m *memoryKinesis) PutRecords(in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
	if m.fail != nil {
		return nil, m.fail
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := &kinesis.PutRecordsOutput{FailedRecordCount: aws.Int64(0)}
	for _, e := range in.Records {
		shard := m.shardOf(aws.StringValue(e.PartitionKey), aws.StringValue(e.ExplicitHashKey))
		seq := aws.String(fmt.Sprint(len(m.stored[shard]) + 1))
		// The producer reuses the request's memory once PutRecords returns:
		// keep a copy of the data.
		m.stored[shard] = append(m.stored[shard], &kinesis.Record{
			Data:           append([]byte(nil), e.Data...),
			PartitionKey:   aws.String(aws.StringValue(e.PartitionKey)),
			SequenceNumber: seq,
		})
		out.Records = append(out.Records, &kinesis.PutRecordsResultEntry{ShardId: aws.String(shard), SequenceNumber: seq})
	}
	return out, nil
}

// PutRecordsWithContext is PutRecords bounded by ctx. The producer uses it
// when the client has it, as *kinesis.Kinesis does.
func (m *memoryKinesis) PutRecordsWithContext(ctx aws.Context, in *kinesis.PutRecordsInput, _ ...request.Option) (*kinesis.PutRecordsOutput, error) {
	if m.hang {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return m.PutRecords(in)
}

// ListShards serves the shards in pages of two.
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

// shardOf returns the ID of the shard Kinesis stores a record on.
func (m *memoryKinesis) shardOf(partitionKey, explicitHashKey string) string {
	hash, ok := new(big.Int).SetString(explicitHashKey, 10)
	if !ok {
		sum := md5.Sum([]byte(partitionKey))
		hash = new(big.Int).SetBytes(sum[:])
	}
	for _, s := range m.shards {
		start, end := hashRange(s)
		if hash.Cmp(start) >= 0 && hash.Cmp(end) <= 0 {
			return *s.ShardId
		}
	}
	return ""
}

// records returns what a consumer reading shardID would get.
func (m *memoryKinesis) records(shardID string) []*kinesis.Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]*kinesis.Record(nil), m.stored[shardID]...)
}

// hashRange returns the first and last hash key of a shard.
func hashRange(s *kinesis.Shard) (start, end *big.Int) {
	start, _ = new(big.Int).SetString(*s.HashKeyRange.StartingHashKey, 10)
	end, _ = new(big.Int).SetString(*s.HashKeyRange.EndingHashKey, 10)
	return start, end
}

// quiet is a Logger that drops the producer's log lines, to keep the
// examples' output to what they print.
var quiet = producer.Standard(log.New(io.Discard, "", 0))

// orderEvent is an application's own record type: any type with these four
// methods is a producer.UserRecord.
type orderEvent struct {
	OrderID  string
	Customer string
	Payload  []byte
}

func (e *orderEvent) PartitionKey() string      { return e.Customer }
func (e *orderEvent) ExplicitHashKey() *big.Int { return nil } // nil: place the record by its partition key
func (e *orderEvent) Data() []byte              { return e.Payload }
func (e *orderEvent) Size() int                 { return len(e.Payload) }

// A producer for aws-sdk-go (v1): New, NotifyFailures, Start, Put from any
// number of goroutines, and Stop, which sends what is buffered and waits for
// it.
func Example() {
	client := newMemoryKinesis(1) // in a program: kinesis.New(session.Must(session.NewSession()))

	p := producer.New(&producer.Config{
		StreamName: "orders",
		Client:     client,
		Logger:     quiet,
	})
	failures := p.NotifyFailures() // before Start, to see every failure
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

	fmt.Println("delivered:", p.Stats().UserRecordsPut, "outstanding:", p.Outstanding())
	// Output:
	// delivered: 1000 outstanding: 0
}

// With a shard map, user records are aggregated per shard, so that consumers
// built on the KCL keep every aggregate: a KCL consumer drops an aggregate
// whole when one of its user records hashes outside the shard it was read
// from, and deaggregator.DeaggregateShard applies the same rule.
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

	// Read each shard back as a KCL consumer would.
	for _, shard := range client.shards {
		start, end := hashRange(shard)
		kept, dropped := 0, 0
		for _, r := range client.records(*shard.ShardId) {
			// GetRecords gives no explicit hash key: a KCL consumer checks
			// the hash of each user record of an aggregate instead.
			users, err := deaggregator.DeaggregateShard(r.Data, *r.PartitionKey, "", start, end)
			switch {
			case errors.Is(err, deaggregator.ErrOutsideShard):
				dropped += deaggregator.SubRecords(r.Data) // the whole aggregate
			case err != nil:
				log.Fatal(err)
			}
			kept += len(users)
		}
		fmt.Printf("%s: %d user records, %d dropped\n", *shard.ShardId, kept, dropped)
	}
	// Output:
	// shardId-000000000000: 257 user records, 0 dropped
	// shardId-000000000001: 244 user records, 0 dropped
	// shardId-000000000002: 237 user records, 0 dropped
	// shardId-000000000003: 262 user records, 0 dropped
}

// PutUserRecord takes the application's own values, and a failure hands the
// very same values back.
func ExampleProducer_PutUserRecord() {
	client := newMemoryKinesis(1)
	client.fail = awserr.New(kinesis.ErrCodeResourceNotFoundException, "Stream orders not found", nil)

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
			fmt.Println(order.OrderID, order == ev)
		}
	}
	// Output:
	// o-17 true
}

// Bad input is refused at once by Put, and harms nothing else.
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

// Records that cannot be delivered come out on NotifyFailures with the
// reason. Here the stream does not exist, which no retry can cure, so they
// fail at once with ErrNotRetryable rather than after Config.RecordTTL.
func ExampleProducer_NotifyFailures() {
	client := newMemoryKinesis(1)
	client.fail = awserr.New(kinesis.ErrCodeResourceNotFoundException, "Stream orders not found", nil)

	p := producer.New(&producer.Config{StreamName: "orders", Client: client, Logger: quiet})
	failures := p.NotifyFailures() // before Start, to see every failure
	if err := p.Start(); err != nil {
		log.Fatal(err)
	}
	for _, order := range []string{"order-1", "order-2", "order-3"} {
		if err := p.Put([]byte(order), "customer-1"); err != nil {
			log.Fatal(err)
		}
	}
	p.Stop()

	// Failures wait in the channel until they are read; it is closed after
	// Stop, once the last one is out. One failure may cover several records.
	var failed []string
	for f := range failures {
		var aerr awserr.Error
		if errors.Is(f.Err, producer.ErrNotRetryable) && errors.As(f.Err, &aerr) {
			fmt.Println("not retryable:", aerr.Code())
		}
		for _, r := range f.UserRecords {
			failed = append(failed, string(r.Data()))
		}
	}
	sort.Strings(failed)
	fmt.Println("failed:", strings.Join(failed, " "))
	// Output:
	// not retryable: ResourceNotFoundException
	// failed: order-1 order-2 order-3
}

// FlushSync sends what is buffered and waits until Kinesis acknowledged it
// (or it failed), without stopping the producer: a checkpoint.
func ExampleProducer_FlushSync() {
	p := producer.New(&producer.Config{StreamName: "orders", Client: newMemoryKinesis(1), Logger: quiet})
	if err := p.Start(); err != nil {
		log.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		if err := p.Put([]byte(fmt.Sprint("event-", i)), "device-1"); err != nil {
			log.Fatal(err)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.FlushSync(ctx); err != nil {
		log.Fatal(err) // ctx ended first
	}
	fmt.Println("acknowledged:", p.Stats().UserRecordsPut, "outstanding:", p.Outstanding())

	// The producer goes on.
	if err := p.Put([]byte("event-100"), "device-1"); err != nil {
		log.Fatal(err)
	}
	p.Stop()
	fmt.Println("acknowledged:", p.Stats().UserRecordsPut, "outstanding:", p.Outstanding())
	// Output:
	// acknowledged: 100 outstanding: 0
	// acknowledged: 101 outstanding: 0
}

// Shutdown is Stop with a deadline: when its context ends first, what is not
// delivered comes out on NotifyFailures, with an error wrapping
// ErrStopDeadline.
func ExampleProducer_Shutdown() {
	client := newMemoryKinesis(1)
	client.hang = true // a stream that never answers

	p := producer.New(&producer.Config{StreamName: "orders", Client: client, Logger: quiet})
	failures := p.NotifyFailures()
	if err := p.Start(); err != nil {
		log.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := p.Put([]byte(fmt.Sprint("order-", i)), "customer-1"); err != nil {
			log.Fatal(err)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := p.Shutdown(ctx)
	fmt.Println(err)
	fmt.Println(errors.Is(err, producer.ErrStopDeadline), errors.Is(err, context.DeadlineExceeded))
	failed := 0
	for f := range failures {
		if errors.Is(f.Err, producer.ErrStopDeadline) {
			failed += len(f.UserRecords)
		}
	}
	fmt.Println("failed:", failed)
	// Output:
	// kinesis producer: stopped before delivery: 3 user records not delivered: context deadline exceeded
	// true true
	// failed: 3
}

// NotifySuccesses reports each Kinesis record Kinesis acknowledged, with the
// shard and sequence number Kinesis gave it and the user records it carried.
func ExampleProducer_NotifySuccesses() {
	client := newMemoryKinesis(2)
	p := producer.New(&producer.Config{
		StreamName: "orders",
		Client:     client,
		GetShards:  producer.GetKinesisShardsFunc(client, "orders"),
		Logger:     quiet,
	})
	successes := p.NotifySuccesses() // before Start, to see every result
	if err := p.Start(); err != nil {
		log.Fatal(err)
	}
	defer p.Stop()

	for _, customer := range []string{"alice", "bob", "alice"} {
		if err := p.Put([]byte("order of "+customer), customer); err != nil {
			log.Fatal(err)
		}
		p.Flush() // send it now, rather than after Config.RecordMaxBufferedTime

		// The record is alone in the producer: wait for its result. (A
		// program reads results on a goroutine of its own instead.)
		s := <-successes
		for i, r := range s.UserRecords { // i is the KPL's sub-sequence number
			fmt.Printf("%s: %s, sequence number %s, sub-sequence %d, %d attempt\n",
				r.PartitionKey(), s.ShardID, s.SequenceNumber, i, s.Attempts)
		}
	}
	// Output:
	// alice: shardId-000000000000, sequence number 1, sub-sequence 0, 1 attempt
	// bob: shardId-000000000001, sequence number 1, sub-sequence 0, 1 attempt
	// alice: shardId-000000000000, sequence number 2, sub-sequence 0, 1 attempt
}

// Stats tells what the producer did so far.
func ExampleProducer_Stats() {
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

	s := p.Stats()
	fmt.Println("user records put:", s.UserRecordsPut, "failed:", s.UserRecordsFailed)
	fmt.Println("aggregated:", s.KinesisRecordsPut < s.UserRecordsPut) // several user records per Kinesis record
	fmt.Println("retries:", s.Retries, "throttled:", s.Throttled, "wrong shard:", s.WrongShard)
	fmt.Println("in flight:", s.InFlight, "outstanding:", s.Outstanding)
	fmt.Println("shard map updates:", s.ShardMapUpdates) // the first map, listed by Start, is not an update
	// Output:
	// user records put: 1000 failed: 0
	// aggregated: true
	// retries: 0 throttled: 0 wrong shard: 0
	// in flight: 0 outstanding: 0
	// shard map updates: 0
}

// StartContext bounds the first shard listing by ctx, as well as by
// Config.ListShardsTimeout: a stream that is slow to list its shards fails
// Start instead of holding it up.
func ExampleProducer_StartContext() {
	client := newMemoryKinesis(4)
	listShards := producer.GetKinesisShardsFunc(client, "orders")
	slowListing := func(old []*kinesis.Shard) ([]*kinesis.Shard, bool, error) {
		time.Sleep(time.Second) // a stream that takes a second to answer
		return listShards(old)
	}

	p := producer.New(&producer.Config{StreamName: "orders", Client: client, GetShards: slowListing, Logger: quiet})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := p.StartContext(ctx)
	fmt.Println(err)
	fmt.Println(errors.Is(err, producer.ErrShardListing), errors.Is(err, context.DeadlineExceeded))
	// Output:
	// kinesis producer: listing shards failed: stream orders: context deadline exceeded
	// true true
}

// GetKinesisShardsFunc lists the open shards with ListShards, every page,
// and reports whether they changed since the last listing.
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

// StaticGetShardsFunc splits the hash key space in equal ranges of
// (2^128-1)/count hash keys, as the established package's function does
// (a stream created with 2 shards splits at 2^127 instead): for tests and
// benchmarks.
func ExampleStaticGetShardsFunc() {
	shards, _, _ := producer.StaticGetShardsFunc(2)(nil)
	for _, s := range shards {
		fmt.Println(*s.ShardId, *s.HashKeyRange.StartingHashKey, *s.HashKeyRange.EndingHashKey)
	}
	// Output:
	// shardId-000000000000 0 170141183460469231731687303715884105726
	// shardId-000000000001 170141183460469231731687303715884105727 340282366920938463463374607431768211455
}

// Standard writes the producer's log lines to a standard library logger, as
// `message key=value ...`.
func ExampleStandard() {
	l := producer.Standard(log.New(os.Stdout, "", 0))
	l.Info("producer started", producer.LogValue{Name: "stream", Value: "orders"}, producer.LogValue{Name: "shards", Value: 4})
	l.Error("PutRecords failed", errors.New("connection reset"), producer.LogValue{Name: "records", Value: 12})
	// Output:
	// producer started stream=orders shards=4
	// PutRecords failed records=12 err="connection reset"
}

// An Aggregator builds KPL aggregated records by hand, for code that makes
// its own PutRecords calls; WillOverflow keeps each within the 1 MiB limit.
func ExampleAggregator() {
	a := producer.NewAggregator(nil)
	for i := 0; i < 3; i++ {
		r := producer.NewDataRecord([]byte(fmt.Sprint("event-", i)), fmt.Sprint("device-", i%2))
		if a.WillOverflow(r) {
			break // Drain and send first
		}
		a.Put(r)
	}
	req, _ := a.Drain()
	fmt.Println("partition key:", *req.Entry.PartitionKey, "user records:", len(req.UserRecords))
	recs, _ := deaggregator.Deaggregate(req.Entry.Data, *req.Entry.PartitionKey, "")
	for _, r := range recs {
		fmt.Println(r.PartitionKey, string(r.Data))
	}
	// Output:
	// partition key: device-0 user records: 3
	// device-0 event-0
	// device-1 event-1
	// device-0 event-2
}

// A ShardMap aggregates per shard: each aggregate carries its shard's
// starting hash key and holds only records of that shard.
func ExampleShardMap() {
	shards, _, _ := producer.StaticGetShardsFunc(2)(nil)
	m := producer.NewShardMap(shards, 100)
	for i := 0; i < 6; i++ {
		if _, err := m.Put(producer.NewDataRecord([]byte("x"), fmt.Sprint("key-", i))); err != nil {
			fmt.Println(err)
		}
	}
	reqs, _ := m.Drain()
	for _, r := range reqs {
		fmt.Println(*r.Entry.ExplicitHashKey, len(r.UserRecords))
	}
	// Output:
	// 0 2
	// 170141183460469231731687303715884105727 4
}
