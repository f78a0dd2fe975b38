package engine

import (
	"testing"
	"time"
)

// TestShardSetKeepsLimiters: a shard that stays in a new map keeps its rate
// limiter; a new shard gets a new one.
func TestShardSetKeepsLimiters(t *testing.T) {
	p := newParts(t, Config{RateLimit: 100}, halves())
	low := p.set.stages[0].limit
	low.take(time.Now(), 1000) // state the new map must not lose
	if low == nil || p.set.stages[1].limit == nil {
		t.Fatal("a shard has no limiter with RateLimit set")
	}
	if p.set.stages[2].limit != nil {
		t.Error("the stage outside every shard has a limiter")
	}
	p.route.install(mapOf(t, splitHigh()), nil)
	if p.set.stages[0].limit != low {
		t.Error("shard low lost its limiter in the new map")
	}
	for i := 1; i < 3; i++ {
		if l := p.set.stages[i].limit; l == nil || l == low {
			t.Errorf("new shard %s has limiter %p", p.set.stages[i].view.id, l)
		}
	}
	if rt := p.set.routes.Load(); rt.m != p.set.m || len(rt.gates) != 3 || len(rt.views) != 4 {
		t.Errorf("the published routes do not match the new map")
	}
}

// TestShardSetBounds: without rate limits every stage and all of them hold
// two full batches; with them, about holdSeconds of the rate.
func TestShardSetBounds(t *testing.T) {
	shards, err := StaticShards(4)
	if err != nil {
		t.Fatal(err)
	}
	p := newParts(t, Config{}, shards)
	if p.set.maxRecs != 2*MaxBatchCount || p.set.maxBytes != 2*DefaultBatchSize {
		t.Errorf("without rate limits the bounds are %d records, %d bytes", p.set.maxRecs, p.set.maxBytes)
	}
	if r, b := p.set.bound(&p.set.stages[0]); r != 2*MaxBatchCount || b != 2*DefaultBatchSize {
		t.Errorf("without rate limits a stage holds %d records, %d bytes", r, b)
	}

	p = newParts(t, Config{RateLimit: 150}, shards)
	// 4 shards x 1.5 x holdSeconds of 1000 records and 1 MiB a second.
	if p.set.maxRecs != 12000 || p.set.maxBytes != 12<<20 {
		t.Errorf("with rate limits the bounds are %d records, %d bytes; want 12000, 12 MiB", p.set.maxRecs, p.set.maxBytes)
	}
	st := &p.set.stages[0]
	r, b := st.limit.rate() // a shard's capacity at first
	if gr, gb := p.set.bound(st); gr != int(r*holdSeconds) || gb != int(b*holdSeconds) {
		t.Errorf("a stage holds %d records, %d bytes; want %v, %v", gr, gb, r*holdSeconds, b*holdSeconds)
	}
	st.limit.set(time.Now(), rateFloor, RateThrottled)
	if gr, gb := p.set.bound(st); gr < 2 || gb < 2*p.cfg.AggregateBatchSize {
		t.Errorf("at the floor a stage holds %d records, %d bytes; want at least two aggregates", gr, gb)
	}
}

// TestShardSetGate: a stage's gate closes when the stage is full and opens
// when a record leaves it.
func TestShardSetGate(t *testing.T) {
	p := newParts(t, Config{BatchCount: 2, AggregateBatchCount: 1}, halves())
	keys := keysIn(t, p.set.m, 0, 4)
	p.put(keys[:3]...)
	st := &p.set.stages[0]
	if st.gate.shut.Load() {
		t.Fatal("the gate shut below the stage's bound of 4")
	}
	p.put(keys[3])
	if !st.gate.shut.Load() || p.set.routes.Load().closed.Load() != 1 {
		t.Fatal("the gate is open with the stage full")
	}
	p.set.pop(st, &st.fresh)
	if st.gate.shut.Load() || p.set.routes.Load().closed.Load() != 0 {
		t.Error("the gate stayed shut with room in the stage")
	}
	if p.set.queuedRecs != 3 || st.view.records.Load() != 3 {
		t.Errorf("queued %d, view %d; want 3", p.set.queuedRecs, st.view.records.Load())
	}
}
