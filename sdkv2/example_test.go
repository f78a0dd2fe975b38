package sdkv2_test

import (
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/big"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/kplgo/producer/deaggregator"
	"github.com/kplgo/producer/sdkv2"
)

// memoryKinesis stands in for *kinesis.Client so that the examples run
// offline: it answers PutRecords as Kinesis does, each record on the shard
// that owns its hash key, keeps what it was sent, and lists its shards.
type memoryKinesis struct {
	shards []types.Shard
	hang   bool // PutRecords waits for the end of its context, as for a server that never answers

	mu      sync.Mutex
	entries []types.PutRecordsRequestEntry
}

func newMemoryKinesis(shardCount int) *memoryKinesis {
	shards, _, _ := sdkv2.StaticGetShardsFunc(shardCount)(context.Background(), nil)
	return &memoryKinesis{shards: shards}
}

func (m *memoryKinesis) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	if m.hang {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := &kinesis.PutRecordsOutput{FailedRecordCount: aws.Int32(0)}
	for _, e := range in.Records {
		// The producer reuses an input's memory once PutRecords returns:
		// keep copies.
		m.entries = append(m.entries, types.PutRecordsRequestEntry{
			Data:            append([]byte(nil), e.Data...),
			PartitionKey:    aws.String(aws.ToString(e.PartitionKey)),
			ExplicitHashKey: aws.String(aws.ToString(e.ExplicitHashKey)),
		})
		out.Records = append(out.Records, types.PutRecordsResultEntry{
			ShardId:        aws.String(m.shardOf(aws.ToString(e.PartitionKey), aws.ToString(e.ExplicitHashKey))),
			SequenceNumber: aws.String(fmt.Sprint(len(m.entries))),
		})
	}
	return out, nil
}

// ListShards serves the shards in pages of two.
func (m *memoryKinesis) ListShards(_ context.Context, in *kinesis.ListShardsInput, _ ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error) {
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

// shardOf returns the shard Kinesis stores a record on: the one whose range
// holds its explicit hash key, else the MD5 of its partition key.
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
		recs, err := deaggregator.Deaggregate(e.Data, *e.PartitionKey, *e.ExplicitHashKey)
		if err != nil {
			panic(err)
		}
		shard := m.shardOf(*e.PartitionKey, *e.ExplicitHashKey)
		out[shard] = append(out[shard], recs...)
	}
	return out
}

// quiet keeps the examples' output to what they print.
var quiet = sdkv2.Standard(log.New(io.Discard, "", 0))

func Example() {
	ctx := context.Background()
	// In a program:
	//	cfg, err := config.LoadDefaultConfig(ctx)
	//	client := kinesis.NewFromConfig(cfg)
	client := newMemoryKinesis(1)

	p := sdkv2.New(&sdkv2.Config{
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
	if err := p.Start(ctx); err != nil {
		log.Fatal(err)
	}
	for i := 0; i < 1000; i++ {
		data := []byte(fmt.Sprintf(`{"order":%d}`, i))
		if err := p.Put(ctx, data, fmt.Sprintf("customer-%d", i%50)); err != nil {
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
// built on the KCL accept every aggregate.
func ExampleGetKinesisShardsFunc() {
	ctx := context.Background()
	client := newMemoryKinesis(4) // in a program: kinesis.NewFromConfig(cfg)

	p := sdkv2.New(&sdkv2.Config{
		StreamName: "orders",
		Client:     client,
		GetShards:  sdkv2.GetKinesisShardsFunc(client, "orders"),
		Logger:     quiet,
	})
	if err := p.Start(ctx); err != nil {
		log.Fatal(err)
	}
	for i := 0; i < 1000; i++ {
		if err := p.Put(ctx, []byte(fmt.Sprint("event-", i)), fmt.Sprint("device-", i)); err != nil {
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

// Shutdown gives up on what is not delivered when its context ends: the
// records come out on NotifyFailures.
func ExampleProducer_Shutdown() {
	client := newMemoryKinesis(1)
	client.hang = true // a stream that never answers

	p := sdkv2.New(&sdkv2.Config{StreamName: "orders", Client: client, Logger: quiet})
	failures := p.NotifyFailures()
	if err := p.Start(context.Background()); err != nil {
		log.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := p.Put(context.Background(), []byte(fmt.Sprint("order-", i)), "customer-1"); err != nil {
			log.Fatal(err)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := p.Shutdown(ctx)
	fmt.Println(err)
	fmt.Println(errors.Is(err, sdkv2.ErrStopDeadline), errors.Is(err, context.DeadlineExceeded))
	failed := 0
	for f := range failures {
		if errors.Is(f.Err, sdkv2.ErrStopDeadline) {
			failed += len(f.UserRecords)
		}
	}
	fmt.Println("failed:", failed)
	// Output:
	// kinesis producer: stopped before delivery: 3 user records not delivered: context deadline exceeded
	// true true
	// failed: 3
}

// Slog sends the producer's log lines to a log/slog logger.
func ExampleSlog() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // for a stable output
			}
			return a
		},
	}))
	client := newMemoryKinesis(2)
	p := sdkv2.New(&sdkv2.Config{
		StreamName: "orders",
		Client:     client,
		GetShards:  sdkv2.GetKinesisShardsFunc(client, "orders"),
		Logger:     sdkv2.Slog(logger),
	})
	if err := p.Start(context.Background()); err != nil {
		log.Fatal(err)
	}
	if err := p.Put(context.Background(), []byte("hello"), "customer-1"); err != nil {
		log.Fatal(err)
	}
	p.Stop()
	// Output:
	// level=INFO msg="producer started" stream=orders shards=2
	// level=INFO msg="producer stopped" stream=orders user_records_put=1 user_records_failed=0
}
