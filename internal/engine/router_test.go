package engine

import (
	"math/big"
	"slices"
	"sort"
	"testing"
	"time"
)

// splitHigh is halves() after shard high was split in two: low stays, and
// high's range is now that of "high-a" and "high-b".
func splitHigh() []Shard {
	h := halves()
	three := new(big.Int).Mul(big.NewInt(3), new(big.Int).Lsh(big.NewInt(1), 126))
	return []Shard{
		h[0],
		{ID: "high-a", StartingHashKey: h[1].StartingHashKey, EndingHashKey: new(big.Int).Sub(three, big.NewInt(1)).String()},
		{ID: "high-b", StartingHashKey: three.String(), EndingHashKey: h[1].EndingHashKey},
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

// TestRouterHomeKeptShard: after a map change, what was queued for a shard
// that stays keeps its place (the same Kinesis records, in order), and the
// open aggregate of that shard stays open for it.
func TestRouterHomeKeptShard(t *testing.T) {
	p := newParts(t, Config{AggregateBatchCount: 2}, halves())
	keys := keysIn(t, p.set.m, 0, 5)
	p.put(keys...) // two closed aggregates of 2, one open with 1
	before := p.queued("low")
	open := p.route.open[0]
	if moved := p.route.install(mapOf(t, splitHigh()), nil); moved != 0 {
		t.Errorf("%d user records moved; shard low stays", moved)
	}
	if after := p.queued("low"); !slices.Equal(after, before) || len(after) != 2 {
		t.Errorf("shard low holds %d records after the change, want the same 2", len(after))
	}
	if p.route.open[0] != open || open == nil {
		t.Error("shard low's open aggregate did not stay open")
	}
	p.route.closeAll()
	if got := userKeys(p.queued("low")...); !slices.Equal(got, keys) {
		t.Errorf("shard low holds %v, want %v in order", got, keys)
	}
}

// TestRouterHomeShardGone: records of a shard that is gone are aggregated
// anew for the shards that now own their keys; records tried before go out
// plain, as retries.
func TestRouterHomeShardGone(t *testing.T) {
	p := newParts(t, Config{AggregateBatchCount: 100, RetryBackoffMin: time.Millisecond, RetryBackoffMax: time.Millisecond}, halves())
	keys := keysIn(t, p.set.m, 1, 20)
	p.put(keys[:10]...)
	now := time.Now()
	p.answer(p.sendAll(now)[0], now, internalFailure) // a retry of 10
	p.put(keys[10:15]...)
	p.route.closeAll()  // queued, never sent
	p.put(keys[15:]...) // open
	next := mapOf(t, splitHigh())
	if moved := p.route.install(next, nil); moved != 20 {
		t.Errorf("%d user records moved, want all 20 of shard high", moved)
	}
	var retries, fresh []*aggregate
	for i, id := range []string{"high-a", "high-b"} {
		st := &p.set.stages[i+1]
		if st.view.id != id {
			t.Fatalf("stage %d is shard %q, want %q", i+1, st.view.id, id)
		}
		retries = append(retries, st.retries.items[st.retries.first:]...)
		fresh = append(fresh, st.fresh.items[st.fresh.first:]...)
	}
	for _, a := range retries {
		if !a.plain() || a.sends != 1 || a.attempts != 1 {
			t.Errorf("a retry was re-homed as an aggregate of %d, sends %d, attempts %d; want plain, 1, 1", len(a.recs), a.sends, a.attempts)
		}
	}
	if got := userKeys(retries...); !slices.Equal(sorted(got), sorted(keys[:10])) {
		t.Errorf("the retries hold %v, want %v", got, keys[:10])
	}
	if len(fresh) != 0 {
		t.Errorf("%d fresh records queued before the open aggregates closed", len(fresh))
	}
	p.route.closeAll()
	var all []string
	for _, id := range []string{"high-a", "high-b"} {
		for _, a := range p.queued(id) {
			if a.sends == 0 {
				all = append(all, userKeys(a)...)
				if want := next.index[a.predictedShard()]; next.find(a.routeHash(0)) != want {
					t.Errorf("a record of shard %s was aggregated for %s", next.ids[next.find(a.routeHash(0))], a.predictedShard())
				}
			}
		}
	}
	if !slices.Equal(sorted(all), sorted(keys[10:])) {
		t.Errorf("fresh records after the change: %v, want %v", all, keys[10:])
	}
	p.noFailure()
}

// TestRouterHomePlain: a plain record whose shard is gone goes to the shard
// its own key now belongs to, keeping its Kinesis record.
func TestRouterHomePlain(t *testing.T) {
	p := newParts(t, Config{AggregateBatchCount: 1}, halves())
	next := mapOf(t, splitHigh())
	key := keysIn(t, next, 2, 1)[0] // in high, and then in high-b
	p.put(key)
	a := p.queued("high")[0]
	if moved := p.route.install(next, nil); moved != 0 {
		t.Errorf("%d user records moved; a plain record keeps its Kinesis record", moved)
	}
	if q := p.queued("high-b"); len(q) != 1 || q[0] != a || a.predictedShard() != "high-b" {
		t.Errorf("the plain record was not re-homed to high-b")
	}
}

// TestRouterRetryKeepsShard: a retry predicted with a replaced map keeps its
// aggregate when its shard is still there.
func TestRouterRetryKeepsShard(t *testing.T) {
	p := newParts(t, Config{RetryBackoffMin: time.Millisecond, RetryBackoffMax: time.Millisecond}, halves())
	p.put(keysIn(t, p.set.m, 0, 3)...)
	now := time.Now()
	batch := p.sendAll(now)[0]
	p.route.install(mapOf(t, splitHigh()), p.collect.release())
	p.answer(batch, now, internalFailure)
	if q := p.queued("low"); len(q) != 1 || q[0] != batch[0] || q[0].smap != p.set.m {
		t.Errorf("the retry did not keep its aggregate in shard low of the new map")
	}
}

// TestRouterOversizedAndOutside: a record too big to share an aggregate goes
// alone, and one outside every known shard goes alone to the last stage.
func TestRouterOversizedAndOutside(t *testing.T) {
	gap := halves()[:1] // shard low only: the upper half is unknown
	p := newParts(t, Config{}, gap)
	big := record{data: make([]byte, p.cfg.AggregateBatchSize), key: "big"}
	big.hash = keysHash(t, p.set.m, 0)
	p.route.add(&big, time.Time{})
	if q := p.queued("low"); len(q) != 1 || !q[0].plain() {
		t.Fatalf("a record of AggregateBatchSize was not sent alone")
	}
	out := record{data: []byte("x"), key: "k", hash: hash128{hi: 1 << 63}}
	p.route.add(&out, time.Time{})
	last := &p.set.stages[len(p.set.stages)-1]
	if last.queued() != 1 || last.fresh.peek().shard != -1 {
		t.Errorf("a record outside every shard is not alone in the last stage")
	}
}

// keysHash returns the hash of a key in shard i of m.
func keysHash(t *testing.T, m *shardMap, i int) hash128 {
	return hashKey(keysIn(t, m, i, 1)[0])
}
