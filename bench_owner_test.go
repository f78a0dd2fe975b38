package producer

import (
	"crypto/md5"
	"encoding/binary"
	"math/big"
	"math/bits"
	"sort"
	"unsafe"

	"github.com/kplgo/producer/internal/engine"
)

// staticOwner names the shard that owns an entry in a stream whose shards
// are those of StaticGetShardsFunc(count), as Kinesis does in its PutRecords
// answer: the shard whose range holds the entry's explicit hash key, or else
// the MD5 of its partition key. It allocates nothing, so a benchmark's fake
// client can answer like Kinesis at a cost too small to count.
type staticOwner struct {
	ids  []string
	ends []uint128 // inclusive ending hash key of each shard, ascending
}

type uint128 struct{ hi, lo uint64 }

func (a uint128) less(b uint128) bool { return a.hi < b.hi || a.hi == b.hi && a.lo < b.lo }

// newStaticOwner returns the owner of entries in a stream of count shards;
// with count < 1, a stream of one shard.
func newStaticOwner(count int) *staticOwner {
	shards, err := engine.StaticShards(max(count, 1))
	if err != nil {
		panic(err) // unreachable: count is at least 1
	}
	o := &staticOwner{}
	for _, s := range shards {
		end, _ := new(big.Int).SetString(s.EndingHashKey, 10)
		var b [16]byte
		end.FillBytes(b[:])
		o.ids = append(o.ids, s.ID)
		o.ends = append(o.ends, uint128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])})
	}
	return o
}

// Owner returns the id of the shard that owns an entry with this partition
// key and explicit hash key ("" for none). A malformed explicit hash key
// counts as none. The id is the owner's own string, so a client can answer
// with its address without allocating.
func (o *staticOwner) Owner(partitionKey, explicitHashKey string) *string {
	h, ok := parseDecimal128(explicitHashKey)
	if !ok {
		sum := md5.Sum(unsafe.Slice(unsafe.StringData(partitionKey), len(partitionKey)))
		h = uint128{binary.BigEndian.Uint64(sum[:8]), binary.BigEndian.Uint64(sum[8:])}
	}
	return &o.ids[sort.Search(len(o.ends), func(i int) bool { return !o.ends[i].less(h) })]
}

// parseDecimal128 parses a decimal in 0..2^128-1.
func parseDecimal128(s string) (uint128, bool) {
	if s == "" {
		return uint128{}, false
	}
	var v uint128
	for i := 0; i < len(s); i++ {
		d := uint64(s[i] - '0')
		if d > 9 {
			return uint128{}, false
		}
		over, hi := bits.Mul64(v.hi, 10)
		carry, lo := bits.Mul64(v.lo, 10)
		hi, c1 := bits.Add64(hi, carry, 0)
		lo, c2 := bits.Add64(lo, d, 0)
		hi, c3 := bits.Add64(hi, 0, c2)
		if over != 0 || c1 != 0 || c3 != 0 {
			return uint128{}, false
		}
		v = uint128{hi, lo}
	}
	return v, true
}
