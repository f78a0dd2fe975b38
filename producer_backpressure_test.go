package producer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/kinesis"
)

// keysOfShards returns n partition keys for each of the shards, by index.
func keysOfShards(t *testing.T, shards []*kinesis.Shard, n int) [][]string {
	t.Helper()
	rs := rangesOf(t, shards)
	keys := make([][]string, len(shards))
	for i := 0; ; i++ {
		k := fmt.Sprint("key-", i)
		s := findRange(rs, md5Big(k))
		if len(keys[s]) < n {
			keys[s] = append(keys[s], k)
		}
		done := true
		for _, ks := range keys {
			done = done && len(ks) == n
		}
		if done {
			return keys
		}
	}
}

// TestHotShardDoesNotHoldBackTheOthers: Kinesis throttles every entry of
// shard 0. Its stage fills and Put for its keys blocks (PutContext gives up
// with the context's error), while Put for the keys of the other shards
// goes on without waiting and their records are delivered. Once shard 0
// takes records again, its records are delivered too: none fails.
func TestHotShardDoesNotHoldBackTheOthers(t *testing.T) {
	shards := staticShards(t, 4)
	var hot atomic.Bool
	hot.Store(true)
	c := &fakeClient{shards: shards}
	c.answer = func(_ int, in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
		if !hot.Load() {
			return nil, nil
		}
		return failEntries(in, "ProvisionedThroughputExceededException", func(i int) bool {
			e := in.Records[i]
			return c.shardOf(aws.StringValue(e.PartitionKey), aws.StringValue(e.ExplicitHashKey)) == aws.StringValue(shards[0].ShardId)
		}), nil
	}
	cfg := testConfig(c)
	cfg.GetShards = StaticGetShardsFunc(4)
	cfg.RetryBackoffMin, cfg.RetryBackoffMax = 10*time.Millisecond, 100*time.Millisecond
	p := New(cfg)
	f := collectFailures(p)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	keys := keysOfShards(t, shards, 50)
	data := make([]byte, 1000)
	var mu sync.Mutex
	want := map[string]wantRec{}
	put := func(ctx context.Context, shard, i int) error {
		d := append(fmt.Appendf(nil, "%d-%06d-", shard, i), data...)
		key := keys[shard][i%len(keys[shard])]
		err := p.PutContext(ctx, d, key)
		if err == nil {
			mu.Lock()
			want[string(d)] = wantRec{key: key}
			mu.Unlock()
		}
		return err
	}

	// Fill shard 0 until Put for its keys blocks.
	blocked := false
	var hotPut int
	for ; hotPut < 100000 && !blocked; hotPut++ {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		err := put(ctx, 0, hotPut)
		cancel()
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			blocked = true
		case err != nil:
			t.Fatal(err)
		}
	}
	if !blocked {
		t.Fatalf("Put for the hot shard's keys never blocked in %d records", hotPut)
	}

	// The other shards go on, and Put for their keys does not wait.
	var slowest time.Duration
	for i := 0; i < 3000; i++ {
		began := time.Now()
		if err := put(context.Background(), 1+i%3, i); err != nil {
			t.Fatal(err)
		}
		slowest = max(slowest, time.Since(began))
	}
	if slowest > 250*time.Millisecond {
		t.Errorf("a Put for a key of a shard with room took %v", slowest)
	}
	// Their records are delivered while shard 0 stays throttled.
	waitFor(t, 5*time.Second, "the other shards' records delivered", func() bool { return p.Stats().UserRecordsPut >= 3000 })
	t.Logf("shard 0 blocked after %d records; slowest Put for the other shards %v; %+v", hotPut, slowest, p.Stats())
	hot.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.FlushSync(ctx); err != nil {
		t.Fatalf("FlushSync once shard 0 takes records again: %v", err)
	}
	p.Stop()
	if fs := f.wait(t); len(fs) > 0 {
		t.Fatalf("%d failures, first: %v", len(fs), fs[0].Err)
	}
	checkDelivered(t, want, c.userRecords(t))
	if st := p.Stats(); st.Throttled == 0 || st.Outstanding != 0 {
		t.Fatalf("stats %+v", st)
	}
}
