package engine

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestKeyLanesAreMD5 hashes keys of every length up to 65 bytes (one
// padded block up to 55, two beyond) and of 256 bytes, in batches of every
// size, and compares each hash with hashKey's.
func TestKeyLanesAreMD5(t *testing.T) {
	if !haveLanes {
		t.Log("no SIMD lanes on this machine: checking the one-by-one path only")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	randomKey := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		return string(b)
	}
	var keys []string
	for n := 0; n <= 65; n++ {
		keys = append(keys, randomKey(n), strings.Repeat("\xff", n))
	}
	keys = append(keys, strings.Repeat("k", 256), "\x80", "partition-key-1")
	for batch := 1; batch <= 40; batch++ {
		rs := make([]record, 0, batch)
		for i := 0; i < batch; i++ {
			rs = append(rs, record{key: keys[rng.IntN(len(keys))]})
		}
		hashRecords(rs)
		for i, r := range rs {
			if want := hashKey(r.key); r.hash != want {
				t.Fatalf("batch of %d, record %d, key of %d bytes: hash %x, want %x", batch, i, len(r.key), r.hash, want)
			}
		}
	}
	for _, k := range keys {
		rs := []record{{key: k}}
		hashRecords(rs)
		if want := hashKey(k); rs[0].hash != want {
			t.Fatalf("key of %d bytes alone: hash %x, want %x", len(k), rs[0].hash, want)
		}
	}
}

// TestHashRecordsLeavesOthersAlone: records with an explicit hash key (even
// zero), a hash worked out already, or a flush marker keep what they have.
func TestHashRecordsLeavesOthersAlone(t *testing.T) {
	given := hash128{1, 2}
	rs := []record{
		{key: "a", hasEHK: true},
		{key: "b", hasEHK: true, hash: given},
		{key: "c", hash: given},
		{marker: &flushMarker{}},
		{key: "d"},
		{key: "e"},
	}
	hashRecords(rs)
	want := []hash128{{}, given, given, {}, hashKey("d"), hashKey("e")}
	for i := range rs {
		if rs[i].hash != want[i] {
			t.Errorf("record %d: hash %x, want %x", i, rs[i].hash, want[i])
		}
	}
}

func BenchmarkHashKeys(b *testing.B) {
	keys := make([]string, 4096)
	for i := range keys {
		keys[i] = strings.Repeat("x", 4) + string(rune('a'+i%26)) + "0123456789abcdef0123456789abcdef"[:31]
	}
	for _, mode := range []string{"lanes", "one-by-one"} {
		b.Run(mode, func(b *testing.B) {
			rs := make([]record, 64)
			for i := 0; i < b.N; i += len(rs) {
				for j := range rs {
					rs[j] = record{key: keys[(i+j)%len(keys)]}
				}
				if mode == "lanes" {
					hashRecords(rs)
				} else {
					for j := range rs {
						rs[j].hash = hashKey(rs[j].key)
					}
				}
			}
		})
	}
}
