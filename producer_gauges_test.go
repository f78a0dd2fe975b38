package producer

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"
)

// TestGaugesShowWhatWaits: records the rate limit holds back show in
// Stats (QueuedRecords, QueuedBytes, HeldBack) and in ShardStats (the
// shard's queue, HeldBack, its current rate), and nothing is left in them
// once the producer has stopped.
func TestGaugesShowWhatWaits(t *testing.T) {
	before := runtime.NumGoroutine()
	shards := staticShards(t, 2)
	c := &fakeClient{shards: shards}
	cfg := testConfig(c)
	cfg.GetShards = StaticGetShardsFunc(2)
	cfg.AggregateBatchCount = 1 // every user record is a Kinesis record
	cfg.RateLimit = 1           // 1% of a shard: 10 records a second
	p := New(cfg)
	if got := p.ShardStats(); got != nil {
		t.Fatalf("ShardStats before Start: %+v", got)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		if err := p.Put(recordData(i), fmt.Sprint("key-", i)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, "records held back by the rate limit", func() bool {
		return p.Stats().HeldBack > 0
	})
	st := p.Stats()
	if st.QueuedRecords < st.HeldBack || st.QueuedBytes <= 0 {
		t.Errorf("Stats: %d queued (%d bytes), %d held back", st.QueuedRecords, st.QueuedBytes, st.HeldBack)
	}
	ss := p.ShardStats()
	if len(ss) != 2 {
		t.Fatalf("ShardStats: %+v, want 2 shards", ss)
	}
	var queued, held int64
	for i, s := range ss {
		if s.ShardID != fmt.Sprintf("shardId-%012d", i) {
			t.Errorf("shard %d: id %q", i, s.ShardID)
		}
		// The ceiling is 1% of 1,000 records and 1 MiB a second; the rate
		// only goes down from it.
		if s.RateRecords <= 0 || s.RateRecords > 10 || s.RateBytes <= 0 || s.RateBytes > 10486 {
			t.Errorf("shard %s: rate %.1f records/s, %.0f bytes/s", s.ShardID, s.RateRecords, s.RateBytes)
		}
		queued += s.QueuedRecords
		if s.HeldBack {
			held += s.QueuedRecords
		}
	}
	if queued == 0 || held == 0 {
		t.Errorf("ShardStats: %d queued, %d held back: %+v", queued, held, ss)
	}
	// Give up on what waits: Shutdown fails it, and the gauges are empty.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	go func() {
		for range p.NotifyFailures() {
		}
	}()
	_ = p.Shutdown(ctx)
	if st := p.Stats(); st.QueuedRecords != 0 || st.QueuedBytes != 0 || st.HeldBack != 0 || st.Outstanding != 0 {
		t.Errorf("Stats after Shutdown: %d queued (%d bytes), %d held back, %d outstanding",
			st.QueuedRecords, st.QueuedBytes, st.HeldBack, st.Outstanding)
	}
	checkNoLeak(t, before)
}
