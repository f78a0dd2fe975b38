package engine

import (
	"context"
	"fmt"
	"math/big"
	"sort"
)

// viewShard is the view of the engine's own Shard.
func viewShard(s Shard) (Shard, bool) { return s, true }

// ListOpenShards lists the open shards of stream for a front door's shard
// listing, whatever its SDK's shard type S: page asks for one page of
// ListShards (token "" for the first), view tells a shard's id and range and
// whether it is open. It follows every page and returns the open shards
// sorted by hash range. A page's error is returned as it is, as the
// established package's GetKinesisShardsFunc did (Start and the refresher
// say which stream it was for).
func ListOpenShards[S any](ctx context.Context, stream string,
	page func(ctx context.Context, token string) (shards []S, next string, err error),
	view func(S) (sh Shard, open bool)) ([]S, error) {
	var open []S
	token := ""
	for {
		shards, next, err := page(ctx, token)
		if err != nil {
			return nil, err
		}
		for _, s := range shards {
			if _, ok := view(s); ok {
				open = append(open, s)
			}
		}
		if next == "" {
			break
		}
		token = next
	}
	if err := SortShards(open, view); err != nil {
		return nil, fmt.Errorf("ListShards of stream %s: %w", stream, err)
	}
	return open, nil
}

// SortShards orders shards by their starting hash key.
func SortShards[S any](shards []S, view func(S) (Shard, bool)) error {
	starts := make([]hash128, len(shards))
	for i, s := range shards {
		sh, _ := view(s)
		h, err := parseHash(sh.StartingHashKey)
		if err != nil {
			return fmt.Errorf("shard %s: %w", sh.ID, err)
		}
		starts[i] = h
	}
	sort.Stable(byStart[S]{shards, starts})
	return nil
}

type byStart[S any] struct {
	shards []S
	starts []hash128
}

func (b byStart[S]) Len() int           { return len(b.shards) }
func (b byStart[S]) Less(i, j int) bool { return b.starts[i].less(b.starts[j]) }
func (b byStart[S]) Swap(i, j int) {
	b.shards[i], b.shards[j] = b.shards[j], b.shards[i]
	b.starts[i], b.starts[j] = b.starts[j], b.starts[i]
}

// SameShards reports whether a and b hold the same shards with the same
// ranges, in the same order.
func SameShards[S any](a, b []S, view func(S) (Shard, bool)) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, _ := view(a[i])
		y, _ := view(b[i])
		if x != y {
			return false
		}
	}
	return true
}

// Lister adapts a front door's shard listing f, whatever its SDK's shard
// type S, to a ListShardsFunc. It keeps the last list f returned, to hand it
// back to f as old, and answers an unchanged listing with that list (so that
// a caller that dropped the last answer, such as a Start whose context ended
// meanwhile, still gets the shards). The first answer counts as a change
// whatever f says.
func Lister[S any](f func(ctx context.Context, old []S) ([]S, bool, error), view func(S) (Shard, bool)) ListShardsFunc {
	var last []S         // owned by the caller of the ListShardsFunc: one at a time
	var lastList []Shard // last, converted
	return func(ctx context.Context) ([]Shard, bool, error) {
		shards, changed, err := f(ctx, last)
		if err != nil {
			return nil, false, err
		}
		if !changed && (last != nil || len(shards) == 0) {
			return lastList, false, nil
		}
		list := make([]Shard, len(shards))
		for i, s := range shards {
			list[i], _ = view(s)
		}
		last, lastList = shards, list
		return list, true, nil
	}
}

// StaticShards returns count shards that split the hash key space in equal
// ranges, named as Kinesis names them, for the doors' StaticGetShardsFunc.
// The ranges are those of the established Go producer's function of that
// name: shard i starts at i*step, step being (2^128-1)/count, and the last
// one takes the remainder up to 2^128-1. A count of 0 gives no shards.
func StaticShards(count int) ([]Shard, error) {
	if count < 0 {
		return nil, fmt.Errorf("StaticGetShardsFunc: %d shards, need at least 0", count)
	}
	if count == 0 {
		return nil, nil
	}
	top := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1))
	step := new(big.Int).Div(top, big.NewInt(int64(count)))
	shards := make([]Shard, count)
	for i := range shards {
		start := new(big.Int).Mul(step, big.NewInt(int64(i)))
		end := new(big.Int).Sub(new(big.Int).Add(start, step), big.NewInt(1))
		if i == count-1 {
			end = top
		}
		shards[i] = Shard{ID: fmt.Sprintf("shardId-%012d", i), StartingHashKey: start.String(), EndingHashKey: end.String()}
	}
	return shards, nil
}

// shardMap is an immutable snapshot of the open shards, sorted by hash range,
// for lookups of a 128-bit hash by binary search on two uint64s.
type shardMap struct {
	shards    []Shard
	ids       []string
	starts    []hash128
	ends      []hash128
	startKeys []string       // decimal StartingHashKey: the outer hash key of an aggregate
	index     map[string]int // shard id -> index
	gen       uint64
	// firstEnd[b], for bucket b of findBuckets equal slices of the hash
	// space, is the first shard whose range ends at or after the bucket's
	// start; firstEnd[findBuckets] is len(ends). find searches only between
	// a bucket's bounds, usually one or two shards. nil for small maps.
	firstEnd []int32
}

// findBits is how many leading bits of a hash pick its find bucket:
// 4096 buckets, 16 KiB per map, for maps of more than findDirect shards.
const (
	findBits    = 12
	findBuckets = 1 << findBits
	findDirect  = 16
)

// newShardMap builds a map from shards; the ranges must not overlap.
func newShardMap(shards []Shard, gen uint64) (*shardMap, error) {
	shards = append([]Shard(nil), shards...)
	if err := SortShards(shards, viewShard); err != nil {
		return nil, err
	}
	m := &shardMap{
		shards:    shards,
		ids:       make([]string, len(shards)),
		starts:    make([]hash128, len(shards)),
		ends:      make([]hash128, len(shards)),
		startKeys: make([]string, len(shards)),
		index:     make(map[string]int, len(shards)),
		gen:       gen,
	}
	for i, s := range shards {
		start, err := parseHash(s.StartingHashKey)
		if err != nil {
			return nil, fmt.Errorf("shard %s: %w", s.ID, err)
		}
		end, err := parseHash(s.EndingHashKey)
		if err != nil {
			return nil, fmt.Errorf("shard %s: %w", s.ID, err)
		}
		if end.less(start) {
			return nil, fmt.Errorf("shard %s: ending hash key below starting hash key", s.ID)
		}
		if i > 0 && !m.ends[i-1].less(start) {
			return nil, fmt.Errorf("shards %s and %s overlap", m.ids[i-1], s.ID)
		}
		m.ids[i] = s.ID
		m.starts[i], m.ends[i] = start, end
		m.startKeys[i] = s.StartingHashKey
		m.index[m.ids[i]] = i
	}
	if len(shards) > findDirect {
		m.firstEnd = make([]int32, findBuckets+1)
		i := 0
		for b := range findBuckets {
			start := hash128{hi: uint64(b) << (64 - findBits)}
			for i < len(m.ends) && m.ends[i].less(start) {
				i++
			}
			m.firstEnd[b] = int32(i)
		}
		m.firstEnd[findBuckets] = int32(len(m.ends))
	}
	return m, nil
}

// find returns the index of the shard whose range holds h, or -1 when h
// falls in a gap between the known shards.
func (m *shardMap) find(h hash128) int {
	ends := m.ends
	lo, hi := 0, len(ends)
	if m.firstEnd != nil {
		// The shard, if any, is the first one ending at or after h: not
		// before the first that ends in or after h's bucket, nor after
		// the first that ends in or after the next bucket.
		b := h.hi >> (64 - findBits)
		lo, hi = int(m.firstEnd[b]), min(int(m.firstEnd[b+1])+1, len(ends))
	}
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if ends[mid].less(h) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == len(ends) || h.less(m.starts[lo]) {
		return -1
	}
	return lo
}

// indexOf returns the index in m of shard i of old when m has that shard
// with the same hash range, or -1. Shard ids never change range in
// Kinesis; a test's maps may reuse them.
func (m *shardMap) indexOf(old *shardMap, i int) int {
	j, ok := m.index[old.ids[i]]
	if !ok || m.starts[j] != old.starts[i] || m.ends[j] != old.ends[i] {
		return -1
	}
	return j
}

// holds reports whether shard id of m holds the hash of every user record
// of a: whether a KCL consumer keeps a, stored there.
func (m *shardMap) holds(id string, a *aggregate) bool {
	i, ok := m.index[id]
	if !ok {
		return false
	}
	for j := range a.recs {
		if h := a.routeHash(j); h.less(m.starts[i]) || m.ends[i].less(h) {
			return false
		}
	}
	return true
}
