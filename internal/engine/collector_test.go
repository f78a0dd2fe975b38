package engine

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// stageIDs returns the predicted shard of each record of each batch.
func stageIDs(batches [][]*aggregate) []string {
	var ids []string
	for _, b := range batches {
		for _, a := range b {
			ids = append(ids, a.predictedShard())
		}
	}
	return ids
}

// TestCollectorRoundRobin: each batch starts with the next stage with
// records, so that no shard's records always go first.
func TestCollectorRoundRobin(t *testing.T) {
	shards, err := StaticShards(3)
	if err != nil {
		t.Fatal(err)
	}
	p := newParts(t, Config{BatchCount: 1, AggregateBatchCount: 1}, shards)
	for i := range 3 {
		p.put(keysIn(t, p.set.m, i, 2)...)
	}
	sent := p.sendAll(time.Now())
	got := stageIDs(sent)
	if m := p.set.m; len(got) != 6 || !slices.Equal(got[:3], m.ids) {
		t.Errorf("batches went to %v; want 6, the first three to %v", got, m.ids)
	}
}

// TestCollectorWaitsForFullBatch: without a flush, a retry or age, records
// wait until a batch is full; a full batch goes at once.
func TestCollectorWaitsForFullBatch(t *testing.T) {
	p := newParts(t, Config{BatchCount: 3, AggregateBatchCount: 1}, halves())
	keys := keysIn(t, p.set.m, 0, 4)
	now := time.Now()
	p.put(keys[:2]...)
	p.collect.pump(now, false, false)
	if len(p.out.sent) != 0 {
		t.Fatalf("a batch of 2 went out; BatchCount is 3")
	}
	p.put(keys[2:]...)
	p.collect.pump(now, false, false)
	sent := p.out.take()
	if len(sent) != 1 || len(sent[0]) != 3 {
		t.Fatalf("sent %v, want one full batch of 3", stageIDs(sent))
	}
	// The fourth waits in the batch; draining sends it.
	p.collect.pump(now, false, false)
	if len(p.out.sent) != 0 || len(p.collect.batch) != 1 {
		t.Fatalf("the fourth record did not wait in the batch")
	}
	p.collect.pump(now, false, true)
	if sent := p.out.take(); len(sent) != 1 || len(sent[0]) != 1 {
		t.Errorf("draining did not send the last record")
	}
}

// TestCollectorForced: a flush sends a small batch, and ends once the
// queues are empty.
func TestCollectorForced(t *testing.T) {
	p := newParts(t, Config{BatchCount: 10}, halves())
	p.put(keysIn(t, p.set.m, 1, 2)...)
	p.route.closeAll()
	now := time.Now()
	p.collect.flush()
	p.collect.pump(now, false, false)
	if sent := p.out.take(); len(sent) != 1 || len(sent[0]) != 1 {
		t.Fatalf("a flush sent %d batches, want the one aggregate", len(sent))
	}
	if p.collect.force {
		t.Error("the flush still forces with the queues empty")
	}
	p.put(keysIn(t, p.set.m, 1, 1)...)
	p.route.closeAll()
	p.collect.pump(now, false, false)
	if len(p.out.sent) != 0 {
		t.Error("a small batch went out with no flush asked for")
	}
}

// TestCollectorUrgent: a batch holding a retry, or a record of a sealed
// flush epoch, goes at once however small.
func TestCollectorUrgent(t *testing.T) {
	p := newParts(t, Config{BatchCount: 10, RetryBackoffMin: time.Millisecond, RetryBackoffMax: time.Millisecond}, halves())
	p.put(keysIn(t, p.set.m, 0, 1)...)
	now := time.Now()
	p.answer(p.sendAll(now)[0], now, internalFailure)
	p.collect.pump(now.Add(time.Second), false, false)
	if sent := p.out.take(); len(sent) != 1 || sent[0][0].sends != 2 {
		t.Fatal("a lone retry did not go out at once")
	}

	p.put(keysIn(t, p.set.m, 1, 1)...)
	p.route.closeAll()
	p.route.nextEpoch(&flushMarker{}) // sealed by a flush marker, no force
	p.collect.pump(now, false, false)
	if sent := p.out.take(); len(sent) != 1 {
		t.Error("a record of a sealed flush epoch waited for a full batch")
	}
}

// TestCollectorAged: at a tick, a batch holding a record older than half
// RecordMaxBufferedTime goes; between ticks and when young it waits.
func TestCollectorAged(t *testing.T) {
	p := newParts(t, Config{BatchCount: 10, RecordMaxBufferedTime: 100 * time.Millisecond}, halves())
	p.put(keysIn(t, p.set.m, 0, 1)...)
	p.route.closeAll()
	now := time.Now()
	p.collect.pump(now, true, false)
	if len(p.out.sent) != 0 {
		t.Fatal("a young record went out at a tick")
	}
	later := now.Add(60 * time.Millisecond)
	p.collect.pump(later, false, false)
	if len(p.out.sent) != 0 {
		t.Fatal("an aged record went out between ticks")
	}
	p.collect.pump(later, true, false)
	if sent := p.out.take(); len(sent) != 1 {
		t.Error("an aged record did not go out at a tick")
	}
}

// TestCollectorRateLimitHolds: a shard's limiter holds its records back
// once its burst is spent, counts them as held back, and lets them go as
// its tokens come back; other shards are not held.
func TestCollectorRateLimitHolds(t *testing.T) {
	p := newParts(t, Config{RateLimit: 100, BatchCount: 500, AggregateBatchCount: 1}, halves())
	// 1000 records a second per shard, a burst of a quarter second.
	p.put(keysIn(t, p.set.m, 0, 400)...)
	p.put(keysIn(t, p.set.m, 1, 10)...)
	p.route.closeAll()
	now := time.Now()
	p.collect.flush()
	p.collect.pump(now, false, false)
	ids := stageIDs(p.out.take())
	low, high := 0, 0
	for _, id := range ids {
		if id == "low" {
			low++
		} else {
			high++
		}
	}
	if low != 250 || high != 10 {
		t.Fatalf("sent %d of shard low and %d of high; want its burst of 250 and all 10", low, high)
	}
	st := &p.set.stages[0]
	if !st.view.heldBack.Load() || p.report.stats.rateLimited.Load() == 0 || st.queued() != 150 {
		t.Errorf("held back %v, rate limited %d, queued %d; want true, >0, 150",
			st.view.heldBack.Load(), p.report.stats.rateLimited.Load(), st.queued())
	}
	p.collect.pump(now.Add(100*time.Millisecond), false, false)
	if got := len(stageIDs(p.out.take())); got < 90 || got > 110 {
		t.Errorf("100 ms later %d records went, want about 100", got)
	}
}

// TestCollectorExpires: a record past its RecordTTL fails unsent, with
// ErrRecordExpired.
func TestCollectorExpires(t *testing.T) {
	p := newParts(t, Config{RecordTTL: time.Second}, halves())
	p.put(keysIn(t, p.set.m, 0, 2)...)
	sent := p.sendAll(time.Now().Add(2 * time.Second))
	if len(sent) != 0 {
		t.Fatal("an expired record was sent")
	}
	if f := p.failure(); !errors.Is(f.Err, ErrRecordExpired) || len(f.UserRecords) != 2 {
		t.Errorf("failure %v with %d records, want ErrRecordExpired with 2", f.Err, len(f.UserRecords))
	}
	if p.set.queuedRecs != 0 {
		t.Errorf("%d records still queued", p.set.queuedRecs)
	}
}

// TestCollectorSlots: batches go only while a connection slot is free.
func TestCollectorSlots(t *testing.T) {
	p := newParts(t, Config{MaxConnections: 2, BatchCount: 1, AggregateBatchCount: 1}, halves())
	p.put(keysIn(t, p.set.m, 0, 5)...)
	if got := len(p.sendAll(time.Now())); got != 2 {
		t.Fatalf("%d batches went out through 2 slots", got)
	}
	if got := p.set.queuedRecs + len(p.collect.batch); got != 3 {
		t.Errorf("%d records left after two slots' worth went, want 3", got)
	}
}
