package engine

import (
	"context"
	"errors"
	"math/big"
	"testing"
	"time"
)

// orderedParts builds the parts with OrderPerKey over shards.
func orderedParts(t *testing.T, shards []Shard) *testParts {
	t.Helper()
	list := func(context.Context) ([]Shard, bool, error) { return shards, true, nil }
	return newParts(t, Config{Ordering: OrderPerKey, ListShards: list, MaxConnections: 4}, shards)
}

// dataOf returns the data of every user record in batches, in order.
func dataOf(batches ...[]*aggregate) []string {
	var out []string
	for _, b := range batches {
		for _, a := range b {
			for i := range a.recs {
				out = append(out, string(a.recs[i].data()))
			}
		}
	}
	return out
}

func TestOrderingNeedsShardMap(t *testing.T) {
	cfg := Config{StreamName: "s", Client: refuseClient{}, Ordering: OrderPerKey}
	if _, err := cfg.WithDefaults(); !errors.Is(err, ErrOrderingNeedsShardMap) || !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("WithDefaults without a shard map: %v, want ErrOrderingNeedsShardMap and ErrInvalidConfig", err)
	}
	cfg.Ordering = 7
	if _, err := cfg.WithDefaults(); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("Ordering 7: %v, want ErrInvalidConfig", err)
	}
}

// One Kinesis record a shard is unresolved at a time: what arrives meanwhile
// grows the shard's open aggregate, and goes once the first is answered.
func TestOrderingOneUnresolvedPerShard(t *testing.T) {
	p := orderedParts(t, halves())
	m := p.set.m
	low, high := keysIn(t, m, 0, 6), keysIn(t, m, 1, 2)
	now := time.Now()
	p.put(low[:2]...)
	p.put(high[:1]...)
	first := p.sendAll(now)
	if len(first) != 1 || len(first[0]) != 2 {
		t.Fatalf("first call: %d batches, want 1 with one record per shard", len(first))
	}
	p.put(low[2:]...)
	p.put(high[1:]...)
	if b := p.sendAll(now); len(b) != 0 {
		t.Fatalf("sent %d more batches while both shards had a record unresolved", len(b))
	}
	// The low shard's record comes back stored: only the low shard sends.
	var lowRec *aggregate
	for _, a := range first[0] {
		if a.shard == 0 {
			lowRec = a
		}
	}
	p.collect.returned()
	lowRec.result = stored(lowRec)
	lowRec.resolve()
	p.report.acknowledge(lowRec)
	second := p.sendAll(now)
	if len(second) != 1 || len(second[0]) != 1 || second[0][0].shard != 0 {
		t.Fatalf("after the low shard's answer: %v, want one batch of one low record", second)
	}
	if got := dataOf(second...); len(got) != 4 || got[0] != low[2] || got[3] != low[5] {
		t.Fatalf("low shard's second record holds %v, want %v in order", got, low[2:])
	}
}

// A throttled record goes again before anything newer of its shard, and the
// shard sends nothing while its backoff lasts.
func TestOrderingRetryGoesFirst(t *testing.T) {
	p := orderedParts(t, halves())
	low := keysIn(t, p.set.m, 0, 4)
	now := time.Now()
	p.put(low[0])
	first := p.sendAll(now)
	p.put(low[1:]...)
	p.answer(first[0], now, throttledOutcome)
	if b := p.sendAll(now); len(b) != 0 {
		t.Fatalf("sent %v during the retry's backoff", dataOf(b...))
	}
	later := now.Add(DefaultRetryBackoffMax + time.Second) // past the backoff, within the TTL
	retry := p.sendAll(later)
	if got := dataOf(retry...); len(got) != 1 || got[0] != low[0] {
		t.Fatalf("after the backoff sent %v, want the retry %s alone", got, low[0])
	}
	p.answer(retry[0], later, stored)
	if got := dataOf(p.sendAll(later)...); len(got) != 3 || got[0] != low[1] {
		t.Fatalf("then sent %v, want %v", got, low[1:])
	}
	p.noFailure()
}

// splitParts returns parts over one shard, the map of its two halves, and
// two keys of each half, with one record of a key of each half sent and one
// more of each left open.
func splitParts(t *testing.T) (p *testParts, kids *shardMap, low, high []string, first []*aggregate) {
	whole := []Shard{{ID: "parent", StartingHashKey: "0", EndingHashKey: halves()[1].EndingHashKey}}
	p = orderedParts(t, whole)
	kids = mapOf(t, halves())
	low, high = keysIn(t, kids, 0, 2), keysIn(t, kids, 1, 2)
	p.put(low[0], high[0])
	first = p.sendAll(time.Now())[0]
	p.put(low[1], high[1])
	return p, kids, low, high, first
}

// sendRounds sends and answers as stored what the parts let go, three
// times, and checks that each key's first record came before its second.
func sendRounds(t *testing.T, p *testParts, now time.Time, kids *shardMap, low, high []string) {
	t.Helper()
	var got []string
	pos := map[string]int{}
	for round := 0; round < 3; round++ {
		for _, b := range p.sendAll(now) {
			for _, a := range b {
				if a.smap != kids || a.shard < 0 {
					t.Fatalf("record predicted for %d of another map", a.shard)
				}
				for _, d := range dataOf([]*aggregate{a}) {
					if _, seen := pos[d]; !seen {
						pos[d] = len(got)
					}
					got = append(got, d)
				}
			}
			p.answer(b, now, stored)
		}
	}
	if len(pos) != 4 || pos[low[0]] > pos[low[1]] || pos[high[0]] > pos[high[1]] {
		t.Fatalf("sent %v, want each key's first record before its second", got)
	}
}

// After a split, the children send nothing until the parent's last record
// is resolved; when it fails, its records go first, divided between the
// children, ahead of what was re-homed to them.
func TestOrderingChildrenWaitForParent(t *testing.T) {
	p, kids, low, high, first := splitParts(t) // the open records: install divides them
	now := time.Now()
	p.route.install(kids, p.collect.release())
	if b := p.sendAll(now); len(b) != 0 {
		t.Fatalf("a child sent %v before the parent's record was resolved", dataOf(b...))
	}
	p.answer(first, now, internalFailure)
	later := now.Add(DefaultRetryBackoffMax + time.Second) // past the backoff, within the TTL
	sendRounds(t, p, later, kids, low, high)
	p.noFailure()
}

// A record stored on another shard than predicted holds its shard until a
// newer map is in place; its records, if a consumer would drop them, go
// again before anything newer.
func TestOrderingWrongShardWaitsForMap(t *testing.T) {
	p, kids, low, high, first := splitParts(t)
	now := time.Now()
	p.answer(first, now, storedOn("low")) // the parent was split: it landed on a child
	if p.refreshes == 0 {
		t.Fatal("no early listing asked for")
	}
	p.retry.settleUnsure(now, false)
	if b := p.sendAll(now); len(b) != 0 {
		t.Fatalf("sent %v before the new map", dataOf(b...))
	}
	p.route.install(kids, p.collect.release())
	p.retry.settleUnsure(now, false)
	// "low" does not hold high[0]: a consumer drops the aggregate, so both
	// of its records go again, before the newer ones.
	sendRounds(t, p, now, kids, low, high)
	if r := p.report.stats.resent.Load(); r != 2 {
		t.Fatalf("Resent %d, want 2", r)
	}
}

func TestOverlaps(t *testing.T) {
	whole := mapOf(t, []Shard{{ID: "w", StartingHashKey: "0", EndingHashKey: halves()[1].EndingHashKey}})
	h := mapOf(t, halves())
	mid := new(big.Int).Lsh(big.NewInt(1), 127)
	third := mapOf(t, []Shard{
		{ID: "a", StartingHashKey: "0", EndingHashKey: new(big.Int).Sub(mid, big.NewInt(2)).String()},
		{ID: "b", StartingHashKey: new(big.Int).Sub(mid, big.NewInt(1)).String(), EndingHashKey: halves()[1].EndingHashKey},
	})
	for _, c := range []struct {
		a    *shardMap
		i    int
		b    *shardMap
		j    int
		want bool
	}{
		{whole, 0, h, 0, true}, {whole, 0, h, 1, true}, {h, 0, h, 1, false}, {h, 1, h, 0, false},
		{third, 1, h, 0, true}, {third, 0, h, 1, false}, {h, 0, third, 1, true}, {nil, 0, h, 1, true}, {h, 2, h, 0, true},
	} {
		if got := overlaps(c.a, c.i, c.b, c.j); got != c.want {
			t.Errorf("overlaps(%v, %d, %v, %d) = %v, want %v", c.a != nil, c.i, c.b != nil, c.j, got, c.want)
		}
	}
}
