package engine

import (
	"bytes"
	"fmt"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/kplgo/producer/internal/kplpb"
)

// userOf returns the UserRecord the test record r stands for.
func userOf(r record) UserRecord {
	d := &dataRecord{data: r.data, key: r.key}
	if r.hasEHK {
		d.ehk = r.hash.big()
	}
	return d
}

// TestBuilderExactSizes: on random records, SizeWith before each Add is
// Size after it, HasKey tells the keys added, and Drain gives an aggregate
// of exactly Size bytes (data plus partition key) that the protobuf library
// encodes byte for byte the same, carrying the caller's values in order.
func TestBuilderExactSizes(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	keys := []string{"a", "bb", "ключ", "k-long-" + string(bytes.Repeat([]byte("x"), 200))}
	hashes := []*big.Int{big.NewInt(0), big.NewInt(1 << 40), bigPow(2, 127), new(big.Int).Sub(bigPow(2, 128), big.NewInt(1))}
	for round := range 200 {
		var b Builder
		var recs []record
		var users []UserRecord
		n := 1 + rng.IntN(40)
		for range n {
			r := randomRecord(t, rng, keys, hashes)
			u := userOf(r)
			want := b.SizeWith(u)
			b.Add(u)
			if b.Size() != want {
				t.Fatalf("round %d: Size %d after Add, SizeWith said %d", round, b.Size(), want)
			}
			if !b.HasKey(r.key) {
				t.Fatalf("round %d: HasKey(%q) false after Add", round, r.key)
			}
			recs, users = append(recs, r), append(users, u)
		}
		if b.HasKey("never added") || b.Len() != n {
			t.Fatalf("round %d: HasKey of a key never added, or Len %d for %d", round, b.Len(), n)
		}
		size := b.Size()
		d, ok := b.Drain(false)
		if !ok || len(d.Data)+len(d.PartitionKey) != size || d.PartitionKey != recs[0].key || d.ExplicitHashKey != "" {
			t.Fatalf("round %d: drained %d+%d bytes (key %q, ehk %q), Size said %d", round, len(d.Data), len(d.PartitionKey), d.PartitionKey, d.ExplicitHashKey, size)
		}
		m := kplpb.MustDecode(t, d.Data)
		want, err := kplpb.Marshal(wantMessage(recs))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(d.Data[len(kplpb.Magic):len(d.Data)-16], want) || len(m.Records) != n {
			t.Fatalf("round %d: the aggregate differs from the protobuf library's encoding", round)
		}
		for i := range users {
			if d.UserRecords[i] != users[i] {
				t.Fatalf("round %d: user record %d is not the caller's value", round, i)
			}
		}
		if b.Len() != 0 || b.Size() != 0 {
			t.Fatalf("round %d: Builder not empty after Drain", round)
		}
	}
}

// TestBuilderDrain: an empty Builder drains nothing; one record drains as an
// aggregate, or plain with its own keys when asked; an explicit hash key
// outside 0..2^128-1 routes by the partition key instead.
func TestBuilderDrain(t *testing.T) {
	var b Builder
	if _, ok := b.Drain(true); ok {
		t.Fatal("an empty Builder drained a record")
	}
	one := &dataRecord{data: []byte("payload"), key: "k", ehk: big.NewInt(99)}
	b.Add(one)
	d, _ := b.Drain(false)
	if m := kplpb.MustDecode(t, d.Data); len(m.Records) != 1 || m.ExplicitHashKeyTable[0] != "99" {
		t.Fatalf("one record drained as %+v", m)
	}
	b.Add(one)
	d, _ = b.Drain(true)
	if string(d.Data) != "payload" || d.PartitionKey != "k" || d.ExplicitHashKey != "99" {
		t.Fatalf("plain drain = %q, %q, %q", d.Data, d.PartitionKey, d.ExplicitHashKey)
	}
	b.Add(&dataRecord{data: []byte("x"), key: "k", ehk: big.NewInt(-5)})
	b.Add(&dataRecord{data: []byte("y"), key: "k", ehk: bigPow(2, 128)})
	d, _ = b.Drain(true)
	if m := kplpb.MustDecode(t, d.Data); len(m.ExplicitHashKeyTable) != 0 || len(m.Records) != 2 {
		t.Fatalf("out-of-range explicit hash keys were written: %+v", m)
	}
}

// TestRangesFind: Find agrees with a scan of the ranges, by explicit hash
// key and by partition key, for maps with and without gaps, and refuses an
// illegal explicit hash key.
func TestRangesFind(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, count := range []int{1, 3, 17, 100} {
		for _, gaps := range []bool{false, true} {
			shards := randomShards(rng, count, gaps)
			r, err := NewRanges(shards)
			if err != nil {
				t.Fatal(err)
			}
			rs := rangesOf(t, shards)
			for i := range 2000 {
				u := UserRecord(&dataRecord{key: fmt.Sprint("key-", i), data: []byte{}})
				h := md5Big(u.PartitionKey())
				if i%2 == 0 {
					h = hash128{rng.Uint64(), rng.Uint64()}.big()
					u = &dataRecord{key: "k", data: []byte{}, ehk: h}
				}
				got, err := r.Find(u)
				if err != nil {
					t.Fatal(err)
				}
				want := findRange(rs, h)
				if want >= 0 && r.StartingHashKey(got) != rs[want].start.String() || want < 0 && got != -1 {
					t.Fatalf("%d shards (gaps %v): hash %v found in %d, want %d", count, gaps, h, got, want)
				}
			}
			if _, err := r.Find(&dataRecord{key: "k", ehk: big.NewInt(-1)}); err == nil {
				t.Fatal("no error for a negative explicit hash key")
			}
		}
	}
}
