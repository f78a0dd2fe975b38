package engine

import (
	"bytes"
	"crypto/md5"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/kplgo/producer/internal/kinesistest"
	"github.com/kplgo/producer/internal/kplpb"
)

// bigPow returns base**exp.
func bigPow(base, exp int64) *big.Int {
	return new(big.Int).Exp(big.NewInt(base), big.NewInt(exp), nil)
}

// testRec builds a record the way PutUserRecord does: the hash is the explicit
// hash key when there is one, else the MD5 of the key.
func testRec(t testing.TB, key string, data []byte, ehk *big.Int) record {
	t.Helper()
	r := record{data: data, key: key, hash: hashKey(key)}
	if ehk != nil {
		h, err := hashFromBig(ehk)
		if err != nil {
			t.Fatal(err)
		}
		r.hash, r.hasEHK = h, true
	}
	return r
}

// wantMessage is the AggregatedRecord of recs as the KPL builds it.
func wantMessage(recs []record) *kplpb.AggregatedRecord {
	subs := make([]kplpb.Sub, len(recs))
	for i, r := range recs {
		subs[i] = kplpb.Sub{Key: r.key, Data: r.data}
		if r.hasEHK {
			subs[i].ExplicitHashKey = r.hash.big().String()
		}
	}
	return kplpb.Build(subs)
}

// checkEncoding encodes a, checks the frame and that the protobuf is byte for
// byte what the protobuf library makes of the same message (kplpb.Marshal,
// which the root package's tests prove equal to proto.Marshal of the
// generated types), and that every record decodes to what was added.
func checkEncoding(t testing.TB, a *aggregate, recs []record) []byte {
	t.Helper()
	enc := a.appendEncoded(nil)
	if got, want := len(enc), aggOverhead+a.pbSize; got != want {
		t.Fatalf("encoded %d bytes, aggOverhead+pbSize says %d", got, want)
	}
	if !bytes.Equal(enc[:4], []byte{0xF3, 0x89, 0x9A, 0xC2}) {
		t.Fatalf("magic % x", enc[:4])
	}
	pb := enc[4 : len(enc)-16]
	sum := md5.Sum(pb)
	if !bytes.Equal(enc[len(enc)-16:], sum[:]) {
		t.Fatalf("checksum %x, want MD5 of the protobuf %x", enc[len(enc)-16:], sum)
	}
	want, err := kplpb.Marshal(wantMessage(recs))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pb, want) {
		t.Fatalf("protobuf differs from kplpb.Marshal:\n got % x\nwant % x", pb, want)
	}
	m, err := kplpb.Unmarshal(pb)
	if err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	if len(m.Records) != len(recs) {
		t.Fatalf("%d records decoded, %d added", len(m.Records), len(recs))
	}
	for i, pr := range m.Records {
		r := recs[i]
		ki := pr.GetPartitionKeyIndex()
		if ki >= uint64(len(m.PartitionKeyTable)) {
			t.Fatalf("record %d: key index %d of %d", i, ki, len(m.PartitionKeyTable))
		}
		if got := m.PartitionKeyTable[ki]; got != r.key {
			t.Fatalf("record %d: key %q, want %q", i, got, r.key)
		}
		if !bytes.Equal(pr.GetData(), r.data) {
			t.Fatalf("record %d: data %q, want %q", i, pr.GetData(), r.data)
		}
		if r.hasEHK != (pr.ExplicitHashKeyIndex != nil) {
			t.Fatalf("record %d: has explicit hash key index %v, want %v", i, pr.ExplicitHashKeyIndex != nil, r.hasEHK)
		}
		if r.hasEHK {
			hi := pr.GetExplicitHashKeyIndex()
			if hi >= uint64(len(m.ExplicitHashKeyTable)) {
				t.Fatalf("record %d: hash key index %d of %d", i, hi, len(m.ExplicitHashKeyTable))
			}
			if got, want := m.ExplicitHashKeyTable[hi], r.hash.big().String(); got != want {
				t.Fatalf("record %d: explicit hash key %s, want %s", i, got, want)
			}
		}
	}
	// Tables hold each key once.
	seen := map[string]bool{}
	for _, k := range m.PartitionKeyTable {
		if seen[k] {
			t.Fatalf("key %q twice in the partition key table", k)
		}
		seen[k] = true
	}
	seen = map[string]bool{}
	for _, h := range m.ExplicitHashKeyTable {
		if seen[h] {
			t.Fatalf("hash key %s twice in the explicit hash key table", h)
		}
		seen[h] = true
	}
	return enc
}

func buildAggregate(t testing.TB, recs []record, lim limits) *aggregate {
	t.Helper()
	a := newAggregate()
	for i := range recs {
		if !a.add(&recs[i], &lim) {
			t.Fatalf("add of record %d refused", i)
		}
	}
	return a
}

func TestAggregateRoundTrip(t *testing.T) {
	two64 := new(big.Int).Lsh(big.NewInt(1), 64)
	two128 := new(big.Int).Lsh(big.NewInt(1), 128)
	cases := map[string][]record{
		"repeated keys": {
			testRec(t, "a", []byte("1"), nil),
			testRec(t, "b", []byte("2"), nil),
			testRec(t, "a", []byte("3"), nil),
			testRec(t, "c", []byte("4"), nil),
			testRec(t, "b", []byte("5"), nil),
			testRec(t, "a", []byte("6"), nil),
		},
		"multi-byte keys": {
			testRec(t, "ключ", []byte("ru"), nil),
			testRec(t, "キー", []byte("ja"), nil),
			testRec(t, "🔑", []byte("emoji"), nil),
			testRec(t, strings.Repeat("語", 256), []byte("long"), nil),
			testRec(t, "ключ", []byte("ru again"), nil),
		},
		"empty data": {
			testRec(t, "k", []byte{}, nil),
			testRec(t, "k", []byte("x"), nil),
			testRec(t, "k2", []byte{}, nil),
		},
		"explicit hash keys": {
			testRec(t, "k0", []byte("zero"), big.NewInt(0)),
			testRec(t, "k1", []byte("2^64-1"), kinesistest.BigSub(two64, 1)),
			testRec(t, "k2", []byte("2^64"), two64),
			testRec(t, "k3", []byte("10^19"), bigPow(10, 19)),
			testRec(t, "k4", []byte("10^38"), bigPow(10, 38)),
			testRec(t, "k5", []byte("2^128-1"), kinesistest.BigSub(two128, 1)),
			testRec(t, "k0", []byte("zero again"), big.NewInt(0)),
			testRec(t, "k6", []byte("10^19-1"), kinesistest.BigSub(bigPow(10, 19), 1)),
			testRec(t, "k7", []byte("10^38-1"), kinesistest.BigSub(bigPow(10, 38), 1)),
		},
		"mixed with and without explicit hash keys": {
			testRec(t, "p", []byte("no ehk"), nil),
			testRec(t, "p", []byte("ehk"), big.NewInt(12345)),
			testRec(t, "q", []byte("same ehk, other key"), big.NewInt(12345)),
			testRec(t, "q", []byte("no ehk again"), nil),
		},
		"single record": {
			testRec(t, "only", []byte("one"), nil),
		},
		"big data": {
			testRec(t, "a", bytes.Repeat([]byte{0xAB}, 127), nil),
			testRec(t, "a", bytes.Repeat([]byte{0xCD}, 128), nil),
			testRec(t, "b", bytes.Repeat([]byte{0xEF}, 16383), nil),
			testRec(t, "c", bytes.Repeat([]byte{0x01}, 16384), big.NewInt(7)),
			testRec(t, "c", bytes.Repeat([]byte{0x02}, 2_097_152), nil),
		},
	}
	for name, recs := range cases {
		t.Run(name, func(t *testing.T) {
			a := buildAggregate(t, recs, noLimits)
			defer a.release()
			if len(a.recs) != len(recs) {
				t.Fatalf("%d records in the aggregate, %d added", len(a.recs), len(recs))
			}
			checkEncoding(t, a, recs)
		})
	}
}

func TestAggregateManyTableEntries(t *testing.T) {
	// Indexes of 128 and 16384 need a longer varint.
	for _, n := range []int{127, 128, 129, 16385} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			recs := make([]record, 0, n+1)
			for i := 0; i < n; i++ {
				var ehk *big.Int
				if i%2 == 0 {
					ehk = big.NewInt(int64(i))
				}
				recs = append(recs, testRec(t, fmt.Sprintf("key-%d", i), []byte{byte(i)}, ehk))
			}
			// The last record reuses the first key and hash key.
			recs = append(recs, testRec(t, "key-0", []byte("last"), big.NewInt(0)))
			a := buildAggregate(t, recs, noLimits)
			defer a.release()
			checkEncoding(t, a, recs)
		})
	}
}

func TestAppendEncodedAppends(t *testing.T) {
	recs := []record{testRec(t, "a", []byte("1"), nil), testRec(t, "b", []byte("2"), big.NewInt(3))}
	a := buildAggregate(t, recs, noLimits)
	defer a.release()
	alone := a.appendEncoded(nil)
	for _, prefix := range [][]byte{[]byte("prefix"), make([]byte, 3, 4), make([]byte, 0, 1<<16)} {
		orig := append([]byte(nil), prefix...)
		got := a.appendEncoded(prefix)
		if !bytes.Equal(got[:len(orig)], orig) {
			t.Fatalf("prefix changed: % x", got[:len(orig)])
		}
		if !bytes.Equal(got[len(orig):], alone) {
			t.Fatalf("appended bytes differ from the encoding on its own")
		}
	}
	// Encoding twice gives the same bytes.
	if again := a.appendEncoded(nil); !bytes.Equal(again, alone) {
		t.Fatal("a second encoding differs")
	}
}

func TestEncodePlainAndAggregated(t *testing.T) {
	data := []byte("the user's own bytes")
	one := testRec(t, "solo", data, nil)
	a := buildAggregate(t, []record{one}, noLimits)
	if !a.plain() {
		t.Fatal("an aggregate of one record is not plain")
	}
	if got, want := a.size(), len(data)+len("solo"); got != want {
		t.Fatalf("plain size %d, want data plus key %d", got, want)
	}
	a.encode()
	if !bytes.Equal(a.data, data) || &a.data[0] != &data[0] {
		t.Fatalf("plain record data %q is not the user's slice", a.data)
	}
	a.release()

	recs := []record{testRec(t, "k1", []byte("a"), nil), testRec(t, "k2", []byte("b"), nil)}
	b := buildAggregate(t, recs, noLimits)
	if b.plain() {
		t.Fatal("an aggregate of two records is plain")
	}
	if got, want := b.size(), aggOverhead+b.pbSize+len("k1"); got != want {
		t.Fatalf("aggregate size %d, want %d (data plus the outer key)", got, want)
	}
	b.encode()
	if !bytes.Equal(b.data, b.appendEncoded(nil)) {
		t.Fatal("encode and appendEncoded differ")
	}
	m := kplpb.MustDecode(t, b.data)
	if len(m.Records) != 2 {
		t.Fatalf("%d records", len(m.Records))
	}
	b.release()
}

func TestAggregateReleaseClears(t *testing.T) {
	// An aggregate from the pool must not remember the keys of its last use.
	for i := 0; i < 50; i++ {
		recs := []record{
			testRec(t, fmt.Sprintf("old-%d", i), []byte("x"), big.NewInt(int64(i))),
			testRec(t, "shared", []byte("y"), nil),
		}
		a := buildAggregate(t, recs, noLimits)
		a.encode()
		a.release()
		fresh := []record{testRec(t, "shared", []byte("z"), big.NewInt(99)), testRec(t, "new", []byte("w"), nil)}
		b := buildAggregate(t, fresh, noLimits)
		if b.pbSize == 0 || len(b.recs) != 2 {
			t.Fatalf("fresh aggregate: %d records, pbSize %d", len(b.recs), b.pbSize)
		}
		checkEncoding(t, b, fresh)
		b.release()
	}
}

// boundaryLens are data lengths at varint boundaries and around them.
var boundaryLens = []int{0, 1, 2, 126, 127, 128, 129, 255, 256, 16382, 16383, 16384, 16385}

func randomData(rng *rand.Rand) []byte {
	var n int
	switch rng.IntN(4) {
	case 0:
		n = boundaryLens[rng.IntN(len(boundaryLens))]
	case 1:
		n = 100 + rng.IntN(60)
	default:
		n = rng.IntN(64)
	}
	d := make([]byte, n)
	for i := range d {
		d[i] = byte(rng.Uint32())
	}
	return d
}

func randomRecord(t testing.TB, rng *rand.Rand, keys []string, hashes []*big.Int) record {
	var ehk *big.Int
	if rng.IntN(3) == 0 {
		ehk = hashes[rng.IntN(len(hashes))]
	}
	return testRec(t, keys[rng.IntN(len(keys))], randomData(rng), ehk)
}

// TestAggregateSizeAccountingRandom checks after every add that pbSize is the
// exact size of the protobuf, on thousands of random aggregates.
func TestAggregateSizeAccountingRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := 3000
	if testing.Short() {
		cases = 300
	}
	for c := 0; c < cases; c++ {
		keys := make([]string, 1+rng.IntN(6))
		for i := range keys {
			keys[i] = kinesistest.RandomKey(rng)
		}
		hashes := make([]*big.Int, 1+rng.IntN(4))
		for i := range hashes {
			hashes[i] = kinesistest.RandomHash(rng)
		}
		n := 1 + rng.IntN(12)
		recs := make([]record, 0, n)
		a := newAggregate()
		for i := 0; i < n; i++ {
			r := randomRecord(t, rng, keys, hashes)
			if !a.add(&r, &noLimits) {
				t.Fatalf("case %d: add refused without limits", c)
			}
			recs = append(recs, r)
			if i == 0 {
				if got, want := aloneSize(&r), aggOverhead+a.pbSize; got != want {
					t.Fatalf("case %d: aloneSize %d, one-record aggregate encodes to %d", c, got, want)
				}
			}
			if got, want := len(a.appendEncoded(nil)), aggOverhead+a.pbSize; got != want {
				t.Fatalf("case %d, record %d: encoded %d bytes, accounted %d", c, i, got, want)
			}
		}
		if c%10 == 0 {
			checkEncoding(t, a, recs)
		}
		a.release()
	}
}

// TestAggregateExactLimits checks that a record that makes the aggregate
// exactly reach a limit is taken and one that overshoots it by one byte is
// not, for the size limit and for the record limit (which counts the outer
// partition key).
func TestAggregateExactLimits(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for c := 0; c < 1000; c++ {
		keys := []string{kinesistest.RandomKey(rng), kinesistest.RandomKey(rng), kinesistest.RandomKey(rng)}
		hashes := []*big.Int{kinesistest.RandomHash(rng), kinesistest.RandomHash(rng)}
		var recs []record
		for i := 0; i < 1+rng.IntN(5); i++ {
			recs = append(recs, randomRecord(t, rng, keys, hashes))
		}
		next := randomRecord(t, rng, keys, hashes)
		// The size with next, measured by encoding.
		full := buildAggregate(t, append(append([]record(nil), recs...), next), noLimits)
		need := len(full.appendEncoded(nil))
		full.release()
		outer := len(recs[0].key)

		for _, tc := range []struct {
			lim  limits
			want bool
		}{
			{limits{count: math.MaxInt, size: need, recordMax: math.MaxInt}, true},
			{limits{count: math.MaxInt, size: need - 1, recordMax: math.MaxInt}, false},
			{limits{count: math.MaxInt, size: math.MaxInt, recordMax: need + outer}, true},
			{limits{count: math.MaxInt, size: math.MaxInt, recordMax: need + outer - 1}, false},
			{limits{count: len(recs) + 1, size: need, recordMax: need + outer}, true},
			{limits{count: len(recs), size: math.MaxInt, recordMax: math.MaxInt}, false},
		} {
			a := buildAggregate(t, recs, noLimits)
			before := a.appendEncoded(nil)
			beforeSize := a.pbSize
			got := a.add(&next, &tc.lim)
			if got != tc.want {
				t.Fatalf("case %d: add with %+v (needs size %d, outer key %d) = %v, want %v", c, tc.lim, need, outer, got, tc.want)
			}
			if got {
				if l := len(a.appendEncoded(nil)); l != need {
					t.Fatalf("case %d: %d bytes after add, want %d", c, l, need)
				}
			} else {
				if a.pbSize != beforeSize || len(a.recs) != len(recs) || !bytes.Equal(a.appendEncoded(nil), before) {
					t.Fatalf("case %d: a refused add changed the aggregate", c)
				}
			}
			a.release()
		}
	}
}

// TestAggregateNeverExceedsLimits fills aggregates the way the producer does
// and checks every closed aggregate against its limits.
func TestAggregateNeverExceedsLimits(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	shared := 0
	for c := 0; c < 120; c++ {
		lim := limits{
			count:     1 + rng.IntN(50),
			size:      40 + rng.IntN(3000),
			recordMax: 0,
		}
		lim.recordMax = lim.size + rng.IntN(300)
		keys := []string{kinesistest.RandomKey(rng), kinesistest.RandomKey(rng), kinesistest.RandomKey(rng), kinesistest.RandomKey(rng)}
		hashes := []*big.Int{kinesistest.RandomHash(rng), kinesistest.RandomHash(rng), kinesistest.RandomHash(rng)}
		var closed []*aggregate
		var cur *aggregate
		for i := 0; i < 200; i++ {
			r := randomRecord(t, rng, keys, hashes)
			if aloneSize(&r) > lim.size {
				continue // the producer sends such a record alone
			}
			if cur != nil && cur.add(&r, &lim) {
				continue
			}
			if cur != nil {
				closed = append(closed, cur)
			}
			cur = newAggregate()
			if !cur.add(&r, &lim) {
				t.Fatal("an empty aggregate refused a record")
			}
		}
		if cur != nil {
			closed = append(closed, cur)
		}
		for _, a := range closed {
			if len(a.recs) > lim.count {
				t.Fatalf("case %d: %d records, limit %d", c, len(a.recs), lim.count)
			}
			n := len(a.appendEncoded(nil))
			if n > lim.size {
				t.Fatalf("case %d: aggregate of %d bytes, limit %d", c, n, lim.size)
			}
			if len(a.recs) > 1 && n+len(a.outerKey) > lim.recordMax {
				t.Fatalf("case %d: aggregate of %d bytes plus key %d, record limit %d", c, n, len(a.outerKey), lim.recordMax)
			}
			if len(a.recs) > 1 {
				shared++
			}
			a.release()
		}
	}
	if shared < 500 {
		t.Fatalf("only %d aggregates held more than one record", shared)
	}
}

func TestAggregateBatchCountLimit(t *testing.T) {
	lim := limits{count: 3, size: math.MaxInt, recordMax: math.MaxInt}
	a := newAggregate()
	defer a.release()
	for i := 0; i < 3; i++ {
		r := testRec(t, "k", []byte{byte(i)}, nil)
		if !a.add(&r, &lim) {
			t.Fatalf("record %d refused below the count limit", i)
		}
	}
	r := testRec(t, "k", []byte("4th"), nil)
	if a.add(&r, &lim) {
		t.Fatal("a 4th record was taken with AggregateBatchCount 3")
	}
}
