package engine

import (
	"context"
	"crypto/md5"
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/kplgo/producer/internal/kinesistest"
)

const maxHash = "340282366920938463463374607431768211455"

// shard returns an open shard with the hash key range start..end.
func shard(id, start, end string, _ bool) Shard {
	return Shard{ID: id, StartingHashKey: start, EndingHashKey: end}
}

func mustStatic(t testing.TB, n int) []Shard {
	t.Helper()
	shards, err := StaticShards(n)
	if err != nil {
		t.Fatal(err)
	}
	return shards
}

func shardIDs(shards []Shard) []string {
	ids := make([]string, len(shards))
	for i, s := range shards {
		ids[i] = s.ID
	}
	return ids
}

// hashRange is a shard's hash key range as big integers, for checks that do
// not trust the shard map.
type hashRange struct {
	id         string
	start, end *big.Int
}

func rangesOf(t testing.TB, shards []Shard) []hashRange {
	t.Helper()
	rs := make([]hashRange, len(shards))
	for i, s := range shards {
		start, ok1 := new(big.Int).SetString(s.StartingHashKey, 10)
		end, ok2 := new(big.Int).SetString(s.EndingHashKey, 10)
		if !ok1 || !ok2 {
			t.Fatalf("shard %s: bad hash key range", s.ID)
		}
		rs[i] = hashRange{s.ID, start, end}
	}
	return rs
}

// findRange returns the index of the range holding h by a linear scan, or -1.
func findRange(rs []hashRange, h *big.Int) int {
	for i, r := range rs {
		if h.Cmp(r.start) >= 0 && h.Cmp(r.end) <= 0 {
			return i
		}
	}
	return -1
}

// md5Big is the hash Kinesis computes for a partition key.
func md5Big(key string) *big.Int {
	sum := md5.Sum([]byte(key))
	return new(big.Int).SetBytes(sum[:])
}

// randomShards makes count shards with random boundaries over the hash
// space, and gaps between some of them when gaps is set.
func randomShards(rng *rand.Rand, count int, gaps bool) []Shard {
	max := kinesistest.BigSub(new(big.Int).Lsh(big.NewInt(1), 128), 1)
	cuts := map[string]*big.Int{}
	for len(cuts) < 2*count {
		x := kinesistest.RandomHash(rng)
		cuts[x.String()] = x
	}
	var sorted []*big.Int
	for _, x := range cuts {
		sorted = append(sorted, x)
	}
	slices.SortFunc(sorted, (*big.Int).Cmp)
	var shards []Shard
	start := big.NewInt(0)
	for i := 0; i < count; i++ {
		end := sorted[2*i]
		if i == count-1 {
			end = max
		}
		if end.Cmp(start) < 0 {
			end = start
		}
		shards = append(shards, shard(fmt.Sprintf("shard-%d", i), start.String(), end.String(), false))
		next := new(big.Int).Add(end, big.NewInt(1))
		if gaps && rng.IntN(2) == 0 && sorted[2*i+1].Cmp(next) > 0 {
			next = sorted[2*i+1]
		}
		start = next
		if i < count-1 && start.Cmp(max) > 0 {
			break
		}
	}
	// Hand them over shuffled: newShardMap sorts.
	rng.Shuffle(len(shards), func(i, j int) { shards[i], shards[j] = shards[j], shards[i] })
	return shards
}

func TestShardMapFind(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	type setup struct {
		name   string
		shards []Shard
	}
	var setups []setup
	for _, n := range []int{1, 10, findDirect, findDirect + 1, 500, 2 * findBuckets} {
		setups = append(setups, setup{fmt.Sprintf("static-%d", n), mustStatic(t, n)})
		setups = append(setups, setup{fmt.Sprintf("random-%d", n), randomShards(rng, n, false)})
		setups = append(setups, setup{fmt.Sprintf("gaps-%d", n), randomShards(rng, n, true)})
	}
	for _, s := range setups {
		t.Run(s.name, func(t *testing.T) {
			order := shardIDs(s.shards)
			m, err := newShardMap(s.shards, 1)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(shardIDs(s.shards)) != fmt.Sprint(order) {
				t.Fatal("newShardMap reordered the caller's slice")
			}
			rs := rangesOf(t, m.shards)
			probe := func(x *big.Int) {
				t.Helper()
				h, err := hashFromBig(x)
				if err != nil {
					return
				}
				var want int
				if len(rs) <= 1000 {
					want = findRange(rs, x)
				} else { // the linear scan is too slow: search without the buckets
					plain := *m
					plain.firstEnd = nil
					want = plain.find(h)
				}
				got := m.find(h)
				if got != want {
					t.Fatalf("find(%s) = %d, linear scan says %d", x, got, want)
				}
				if got >= 0 && m.ids[got] != rs[got].id {
					t.Fatalf("find(%s): id %s, want %s", x, m.ids[got], rs[got].id)
				}
			}
			step := max(1, len(rs)/500) // big maps: a sample of their edges
			for i := rng.IntN(step); i < len(rs); i += step {
				r := rs[i]
				probe(r.start)
				probe(r.end)
				probe(kinesistest.BigSub(r.start, 1))
				probe(new(big.Int).Add(r.end, big.NewInt(1)))
			}
			for i := 0; i < 3000; i++ {
				probe(kinesistest.RandomHash(rng))
			}
			for b := uint64(0); b < findBuckets; b += 1 + uint64(rng.IntN(40)) { // bucket edges
				edge := hash128{hi: b << (64 - findBits)}.big()
				probe(edge)
				probe(kinesistest.BigSub(edge, 1))
			}
			for i := 0; i < 500; i++ {
				probe(md5Big(fmt.Sprint(i)))
			}
		})
	}
}

func TestShardMapGap(t *testing.T) {
	m, err := newShardMap([]Shard{
		shard("high", "1000", maxHash, false),
		shard("low", "0", "99", false),
		shard("mid", "200", "299", false),
	}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(m.ids) != "[low mid high]" {
		t.Fatalf("ids %v", m.ids)
	}
	for v, want := range map[uint64]int{0: 0, 99: 0, 100: -1, 150: -1, 199: -1, 200: 1, 299: 1, 300: -1, 999: -1, 1000: 2} {
		if got := m.find(hash128{lo: v}); got != want {
			t.Errorf("find(%d) = %d, want %d", v, got, want)
		}
	}
	if got := m.find(hash128{hi: ^uint64(0), lo: ^uint64(0)}); got != 2 {
		t.Errorf("find(2^128-1) = %d", got)
	}
	if m.startKeys[1] != "200" {
		t.Errorf("startKeys %v", m.startKeys)
	}

	// A map that does not start at 0 nor reach the top.
	m, err = newShardMap([]Shard{shard("only", "10", "20", false)}, 1)
	if err != nil {
		t.Fatal(err)
	}
	for v, want := range map[uint64]int{0: -1, 9: -1, 10: 0, 20: 0, 21: -1} {
		if got := m.find(hash128{lo: v}); got != want {
			t.Errorf("find(%d) = %d, want %d", v, got, want)
		}
	}
	if got := m.find(hash128{hi: 1}); got != -1 {
		t.Errorf("find(2^64) = %d, want -1", got)
	}
}

func TestNewShardMapRejects(t *testing.T) {
	for name, shards := range map[string][]Shard{
		"overlap":           {shard("a", "0", "100", false), shard("b", "100", maxHash, false)},
		"overlap unsorted":  {shard("b", "50", maxHash, false), shard("a", "0", "60", false)},
		"inside another":    {shard("a", "0", maxHash, false), shard("b", "5", "6", false)},
		"end before start":  {shard("a", "10", "9", false)},
		"bad start":         {shard("a", "x", maxHash, false)},
		"bad end":           {shard("a", "0", "-1", false)},
		"end over 2^128-1":  {shard("a", "0", "340282366920938463463374607431768211456", false)},
		"no hash key range": {{ID: "a"}},
	} {
		if _, err := newShardMap(shards, 1); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestListerRepeatsAnUnchangedList: an unchanged listing answers the last
// list, so that a caller that dropped the last answer still gets the shards.
func TestListerRepeatsAnUnchangedList(t *testing.T) {
	shards := mustStatic(t, 3)
	calls := 0
	list := Lister(func(_ context.Context, old []Shard) ([]Shard, bool, error) {
		calls++
		if old != nil {
			return nil, false, nil
		}
		return shards, true, nil
	}, viewShard)
	for i, want := range []bool{true, false, false} {
		got, changed, err := list(context.Background())
		if err != nil || changed != want || len(got) != 3 || got[2] != shards[2] {
			t.Fatalf("call %d: %d shards, changed %v, %v; want 3, %v", i+1, len(got), changed, err, want)
		}
	}
}
