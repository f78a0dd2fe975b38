package engine

import (
	"crypto/md5"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/kplgo/producer/internal/kinesistest"
)

// Micro-benchmarks of the pieces of the hot path, each next to the MD5 cost
// of the same bytes, so that the ratio to the floor is visible in one run,
// and the producer's allocations per user record. BENCHMARKS.md has the
// commands and the figures.

// benchLimits are the default aggregation limits.
var benchLimits = limits{
	count:     DefaultAggregateBatchCount,
	size:      DefaultAggregateBatchSize,
	recordMax: DefaultMaxRecordSize,
	seed:      0x5eed,
}

// benchRecords returns n records of size bytes of data with distinct UUID
// keys; with ehk, each carries the MD5 of its key as explicit hash key.
func benchRecords(n, size int, ehk bool) []record {
	keys := kinesistest.UUIDKeys(n)
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i * 7)
	}
	recs := make([]record, n)
	for i, k := range keys {
		recs[i] = record{data: data, key: k, hash: hashKey(k), hasEHK: ehk}
	}
	return recs
}

// fullAggregate fills one aggregate with records from recs until the next
// one would not fit the default 50 KiB.
func fullAggregate(b *testing.B, recs []record) *aggregate {
	a := newAggregate()
	for i := range recs {
		if !a.add(&recs[i], &benchLimits) {
			return a
		}
	}
	b.Fatalf("%d records do not fill an aggregate", len(recs))
	return nil
}

var encodeCases = []struct {
	name string
	size int
	ehk  bool
}{
	{"size=100", 100, false},
	{"size=1024", 1024, false},
	{"size=100/ehk", 100, true},
	{"size=1024/ehk", 1024, true},
}

// BenchmarkAggregateEncode encodes a full 50 KiB aggregate (magic, protobuf,
// MD5) into a reused buffer: the workers' share of the work per aggregate.
// Compare its MB/s with BenchmarkMD5 of the same bytes.
func BenchmarkAggregateEncode(b *testing.B) {
	for _, c := range encodeCases {
		b.Run(c.name, func(b *testing.B) {
			a := fullAggregate(b, benchRecords(1000, c.size, c.ehk))
			buf := a.appendEncoded(nil)
			b.SetBytes(int64(len(buf)))
			b.ReportMetric(float64(len(a.recs)), "records/aggregate")
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				buf = a.appendEncoded(buf[:0])
			}
		})
	}
}

// BenchmarkMD5 is the MD5 of the bytes BenchmarkAggregateEncode produces:
// the floor of the encoding.
func BenchmarkMD5(b *testing.B) {
	for _, c := range encodeCases {
		b.Run(c.name, func(b *testing.B) {
			a := fullAggregate(b, benchRecords(1000, c.size, c.ehk))
			buf := a.appendEncoded(nil)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				md5.Sum(buf)
			}
		})
	}
}

// BenchmarkAggregateAdd is the drain goroutine's work per user record:
// finding the record's shard (with a shard map), adding it to the shard's
// aggregate with the key tables and size accounting, and starting a new
// aggregate when it is full. Full aggregates are released instead of sent.
func BenchmarkAggregateAdd(b *testing.B) {
	for _, c := range []struct {
		name   string
		size   int
		shards int
		ehk    bool
	}{
		{"size=100/default", 100, 0, false},
		{"size=1024/default", 1024, 0, false},
		{"size=100/shards=10", 100, 10, false},
		{"size=100/shards=500", 100, 500, false},
		{"size=100/shards=500/ehk", 100, 500, true},
		{"size=1024/shards=500", 1024, 500, false},
	} {
		b.Run(c.name, func(b *testing.B) {
			recs := benchRecords(4096, c.size, c.ehk)
			var m *shardMap
			open := make([]*aggregate, 1)
			if c.shards > 0 {
				m = benchShardMap(b, c.shards)
				open = make([]*aggregate, c.shards)
			}
			b.SetBytes(int64(c.size))
			b.ReportAllocs()
			b.ResetTimer()
			i := 0
			for b.Loop() {
				r := &recs[i%len(recs)]
				i++
				shard := 0
				if m != nil {
					shard = m.find(r.hash)
				}
				a := open[shard]
				if a == nil || !a.add(r, &benchLimits) {
					if a != nil {
						a.release()
					}
					a = newAggregate()
					a.add(r, &benchLimits)
					open[shard] = a
				}
			}
			b.StopTimer()
			for _, a := range open {
				if a != nil {
					a.release()
				}
			}
		})
	}
}

// benchShardMap returns the map of n equal shards.
func benchShardMap(b *testing.B, n int) *shardMap {
	shards, err := StaticShards(n)
	if err != nil {
		b.Fatal(err)
	}
	m, err := newShardMap(shards, 1)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkShardLookup finds the shard of random 128-bit hashes.
func BenchmarkShardLookup(b *testing.B) {
	for _, n := range []int{10, 500, 10000} {
		b.Run(fmt.Sprintf("shards=%d", n), func(b *testing.B) {
			m := benchShardMap(b, n)
			rng := rand.New(rand.NewPCG(1, 2))
			hashes := make([]hash128, 4096)
			for i := range hashes {
				hashes[i] = hash128{rng.Uint64(), rng.Uint64()}
			}
			b.ReportAllocs()
			b.ResetTimer()
			i, found := 0, 0
			for b.Loop() {
				if m.find(hashes[i&(len(hashes)-1)]) >= 0 {
					found++
				}
				i++
			}
			if found != i {
				b.Fatalf("%d of %d hashes found no shard", i-found, i)
			}
		})
	}
}

// BenchmarkHashKey is the hash of a UUID partition key (its MD5 as a
// 128-bit integer), which Put computes in shard-map mode.
func BenchmarkHashKey(b *testing.B) {
	keys := kinesistest.UUIDKeys(4096)
	b.ReportAllocs()
	i := 0
	var sink hash128
	for b.Loop() {
		h := hashKey(keys[i&(len(keys)-1)])
		sink.hi ^= h.hi
		i++
	}
	_ = sink
}
