package deaggregator_test

import (
	"bytes"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/kinesis"
	"github.com/kplgo/producer"
	"github.com/kplgo/producer/deaggregator"
	"github.com/kplgo/producer/internal/kplpb"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// frame wraps a protobuf body as an aggregated record: magic, body, MD5.
func frame(body []byte) []byte {
	sum := md5.Sum(body)
	out := append([]byte{0xF3, 0x89, 0x9A, 0xC2}, body...)
	return append(out, sum[:]...)
}

// aggregate builds an aggregated record from user records with kplpb (the
// protobuf library): tables in order of first use.
func aggregate(t testing.TB, recs []deaggregator.Record) []byte {
	t.Helper()
	subs := make([]kplpb.Sub, len(recs))
	for i, r := range recs {
		subs[i] = kplpb.Sub{Key: r.PartitionKey, ExplicitHashKey: r.ExplicitHashKey, Data: r.Data}
	}
	m := kplpb.Build(subs)
	body, err := kplpb.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return frame(body)
}

func equalRecords(t testing.TB, got, want []deaggregator.Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].PartitionKey != want[i].PartitionKey || got[i].ExplicitHashKey != want[i].ExplicitHashKey || !bytes.Equal(got[i].Data, want[i].Data) {
			t.Fatalf("record %d: %+v, want %+v", i, got[i], want[i])
		}
		if got[i].Data == nil {
			t.Fatalf("record %d: nil data", i)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for name, recs := range map[string][]deaggregator.Record{
		"one": {{PartitionKey: "k", Data: []byte("only")}},
		"repeated keys": {
			{PartitionKey: "a", Data: []byte("1")},
			{PartitionKey: "b", Data: []byte("2")},
			{PartitionKey: "a", Data: []byte("3")},
		},
		"hash keys": {
			{PartitionKey: "a", ExplicitHashKey: "0", Data: []byte("1")},
			{PartitionKey: "a", Data: []byte("2")},
			{PartitionKey: "b", ExplicitHashKey: "340282366920938463463374607431768211455", Data: []byte("3")},
			{PartitionKey: "c", ExplicitHashKey: "0", Data: []byte("4")},
		},
		"empty data and unicode": {
			{PartitionKey: "ключ", Data: []byte{}},
			{PartitionKey: "🔑", Data: []byte("x")},
			{PartitionKey: strings.Repeat("語", 256), Data: bytes.Repeat([]byte{0}, 300)},
		},
	} {
		t.Run(name, func(t *testing.T) {
			data := aggregate(t, recs)
			if !deaggregator.IsAggregated(data) {
				t.Fatal("IsAggregated is false")
			}
			got, err := deaggregator.Deaggregate(data, "outer", "123")
			if err != nil {
				t.Fatal(err)
			}
			equalRecords(t, got, recs)
		})
	}
}

func TestRandomRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	for c := 0; c < 500; c++ {
		recs := make([]deaggregator.Record, 1+rng.IntN(30))
		for i := range recs {
			recs[i].PartitionKey = fmt.Sprint("key-", rng.IntN(5))
			if rng.IntN(3) == 0 {
				recs[i].ExplicitHashKey = fmt.Sprint(rng.Uint64())
			}
			recs[i].Data = make([]byte, rng.IntN(200))
			for j := range recs[i].Data {
				recs[i].Data[j] = byte(rng.Uint32())
			}
		}
		got, err := deaggregator.Deaggregate(aggregate(t, recs), "", "")
		if err != nil {
			t.Fatal(err)
		}
		equalRecords(t, got, recs)
	}
}

func TestTagsAndUnknownFieldsAreSkipped(t *testing.T) {
	m := &kplpb.AggregatedRecord{
		PartitionKeyTable: []string{"k"},
		Records: []*kplpb.Record{{
			PartitionKeyIndex: proto.Uint64(0),
			Data:              []byte("tagged"),
			Tags:              []*kplpb.Tag{{Key: proto.String("t"), Value: proto.String("v")}},
		}},
	}
	body, err := kplpb.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	// An unknown field (number 9, varint) at the top level.
	body = protowire.AppendVarint(protowire.AppendTag(body, 9, protowire.VarintType), 7)
	got, err := deaggregator.Deaggregate(frame(body), "", "")
	if err != nil {
		t.Fatal(err)
	}
	equalRecords(t, got, []deaggregator.Record{{PartitionKey: "k", Data: []byte("tagged")}})
}

func TestPassThrough(t *testing.T) {
	magicOnly := []byte{0xF3, 0x89, 0x9A, 0xC2}
	for name, data := range map[string][]byte{
		"plain":              []byte("just some bytes"),
		"empty":              {},
		"nil":                nil,
		"magic, too short":   append(append([]byte(nil), magicOnly...), make([]byte, 15)...),
		"almost magic":       append([]byte{0xF3, 0x89, 0x9A, 0xC3}, make([]byte, 40)...),
		"magic at the end":   append(make([]byte, 30), magicOnly...),
		"json":               []byte(`{"event":"click"}`),
		"exactly magic only": magicOnly,
	} {
		t.Run(name, func(t *testing.T) {
			if deaggregator.IsAggregated(data) {
				t.Fatal("IsAggregated is true")
			}
			got, err := deaggregator.Deaggregate(data, "pk", "42")
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].PartitionKey != "pk" || got[0].ExplicitHashKey != "42" || !bytes.Equal(got[0].Data, data) {
				t.Fatalf("got %+v", got)
			}
		})
	}
}

// TestChecksumMismatch: an aggregate whose checksum does not match is an
// ordinary record to KCL (user data may start with the magic).
func TestChecksumMismatch(t *testing.T) {
	good := aggregate(t, []deaggregator.Record{{PartitionKey: "a", Data: []byte("1")}, {PartitionKey: "b", Data: []byte("2")}})
	for i := 4; i < len(good); i++ {
		bad := append([]byte(nil), good...)
		bad[i] ^= 0x01
		checkPlain(t, fmt.Sprintf("byte %d flipped", i), bad)
	}
	// Truncating an aggregate breaks its checksum.
	checkPlain(t, "truncated", good[:len(good)-1])
}

// checkPlain requires data to come back as itself, with no error.
func checkPlain(t *testing.T, what string, data []byte) {
	t.Helper()
	got, err := deaggregator.Deaggregate(data, "pk", "7")
	if err != nil || len(got) != 1 || got[0].Aggregated || got[0].PartitionKey != "pk" || got[0].ExplicitHashKey != "7" || !bytes.Equal(got[0].Data, data) {
		t.Fatalf("%s: got %+v, %v; want the record itself", what, got, err)
	}
}

// protobuf builders for hand-made bodies.
var (
	join   = func(fields ...[]byte) []byte { return bytes.Join(fields, nil) }
	tag    = func(num protowire.Number, typ protowire.Type) []byte { return protowire.AppendTag(nil, num, typ) }
	varint = func(num protowire.Number, v uint64) []byte {
		return protowire.AppendVarint(tag(num, protowire.VarintType), v)
	}
	bytesField = func(num protowire.Number, b []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), b)
	}
	keyTable  = func(k string) []byte { return bytesField(1, []byte(k)) }
	hashTable = func(h string) []byte { return bytesField(2, []byte(h)) }
	record    = func(fields ...[]byte) []byte { return bytesField(3, join(fields...)) }
	data      = func(d string) []byte { return bytesField(3, []byte(d)) }
)

// TestUnparsableIsPlain: a body protobuf-java's parseFrom refuses (a broken
// encoding, a required field missing) makes the record an ordinary one.
func TestUnparsableIsPlain(t *testing.T) {
	for name, body := range map[string][]byte{
		"truncated varint tag":     {0x80},
		"truncated length":         {0x0a, 0xff},
		"length past the end":      {0x0a, 0x05, 'a'},
		"record without key index": join(keyTable("k"), record(data("d"))),
		"record without data":      join(keyTable("k"), record(varint(1, 0))),
		"tag without key":          join(keyTable("k"), record(varint(1, 0), data("d"), bytesField(4, bytesField(2, []byte("v"))))),
		"truncated record":         join(keyTable("k"), bytesField(3, []byte{0x08})),
		"garbage in record":        join(keyTable("k"), bytesField(3, []byte{0xff, 0xff, 0xff})),
		"field number zero":        {0x00, 0x00},
		"unterminated group":       join(keyTable("k"), tag(5, protowire.StartGroupType)),
		"stray end group":          join(keyTable("k"), tag(5, protowire.EndGroupType)),
		"data as a varint":         join(keyTable("k"), record(varint(1, 0), varint(3, 5))),
	} {
		t.Run(name, func(t *testing.T) {
			checkPlain(t, name, frame(body))
			checkAgainstProto(t, frame(body))
		})
	}
}

// TestKCLEdgeCases follows KCL 2.x's AggregatorUtil on the edge cases: what
// comes back, and the error that says why KCL keeps less.
func TestKCLEdgeCases(t *testing.T) {
	okRec := record(varint(1, 0), data("a"))
	for _, tc := range []struct {
		name    string
		body    []byte
		want    int   // records
		wantErr error // nil, ErrMalformed or ErrOutsideShard
	}{
		{"no records", join(keyTable("k")), 0, nil},
		{"key index out of range, first", join(keyTable("k"), record(varint(1, 1), data("a")), okRec), 0, deaggregator.ErrMalformed},
		{"key index out of range, after two", join(keyTable("k"), okRec, okRec, record(varint(1, 3), data("a")), okRec), 2, deaggregator.ErrMalformed},
		{"key index 2^32 is 0 to Java", join(keyTable("k"), record(varint(1, 1<<32), data("a"))), 1, nil},
		{"key index 2^31 is negative to Java", join(keyTable("k"), record(varint(1, 1<<31), data("a"))), 0, deaggregator.ErrMalformed},
		{"hash index out of range", join(keyTable("k"), okRec, record(varint(1, 0), varint(2, 0), data("a"))), 1, deaggregator.ErrMalformed},
		{"hash key not a number", join(keyTable("k"), hashTable("12x"), okRec, record(varint(1, 0), varint(2, 0), data("a"))), 1, deaggregator.ErrMalformed},
		{"empty hash key", join(keyTable("k"), hashTable(""), record(varint(1, 0), varint(2, 0), data("a"))), 0, deaggregator.ErrMalformed},
		{"hash key over 2^128-1", join(keyTable("k"), hashTable("340282366920938463463374607431768211456"), okRec, record(varint(1, 0), varint(2, 0), data("a"))), 0, deaggregator.ErrOutsideShard},
		{"negative hash key", join(keyTable("k"), hashTable("-1"), record(varint(1, 0), varint(2, 0), data("a"))), 0, deaggregator.ErrOutsideShard},
		{"hash key with a plus sign", join(keyTable("k"), hashTable("+5"), record(varint(1, 0), varint(2, 0), data("a"))), 1, nil},
		{"outside before malformed", join(keyTable("k"), hashTable("-1"), record(varint(1, 0), varint(2, 0), data("a")), record(varint(1, 9), data("a"))), 0, deaggregator.ErrOutsideShard},
		{"tags and unknown fields", join(keyTable("k"), varint(9, 7), record(varint(1, 0), data("a"), bytesField(4, bytesField(1, []byte("t"))), varint(8, 1))), 1, nil},
		{"repeated data, last wins", join(keyTable("k"), record(varint(1, 0), data("first"), data("a"))), 1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := deaggregator.Deaggregate(frame(tc.body), "pk", "")
			if len(got) != tc.want || !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("%d records, error %v; want %d, %v", len(got), err, tc.want, tc.wantErr)
			}
			for i, r := range got {
				if !r.Aggregated || r.PartitionKey != "k" || string(r.Data) != "a" {
					t.Fatalf("record %d: %+v", i, r)
				}
			}
			checkAgainstProto(t, frame(tc.body))
		})
	}
}

// TestLengthRule: KCL needs more than the magic and 16 bytes; exactly 20
// bytes (magic and the MD5 of nothing) is an ordinary record.
func TestLengthRule(t *testing.T) {
	empty := frame(nil)
	if len(empty) != 20 || deaggregator.IsAggregated(empty) {
		t.Fatalf("%d bytes, IsAggregated %v", len(empty), deaggregator.IsAggregated(empty))
	}
	checkPlain(t, "magic and the MD5 of nothing", empty)
	one := frame(keyTable("k")) // 23 bytes: an aggregate of no user record
	if !deaggregator.IsAggregated(one) {
		t.Fatal("a 23-byte aggregate is not aggregated")
	}
	if got, err := deaggregator.Deaggregate(one, "pk", ""); len(got) != 0 || err != nil {
		t.Fatalf("aggregate of no record: %+v, %v", got, err)
	}
}

// TestDeaggregateShard: KCL drops a whole aggregate when any sub-record
// hashes outside the shard it was read from, and never filters a plain
// record.
func TestDeaggregateShard(t *testing.T) {
	half := new(big.Int).Lsh(big.NewInt(1), 127)
	top := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1))
	low, high := []*big.Int{big.NewInt(0), new(big.Int).Sub(half, big.NewInt(1))}, []*big.Int{half, top}
	lowRec := deaggregator.Record{PartitionKey: "a", ExplicitHashKey: "5", Data: []byte("1")}
	highRec := deaggregator.Record{PartitionKey: "b", ExplicitHashKey: half.String(), Data: []byte("2")}
	for _, tc := range []struct {
		name  string
		recs  []deaggregator.Record
		shard []*big.Int
		want  int
	}{
		{"all inside", []deaggregator.Record{lowRec, lowRec}, low, 2},
		{"one outside, last", []deaggregator.Record{lowRec, lowRec, highRec}, low, 0},
		{"one outside, first", []deaggregator.Record{highRec, lowRec}, low, 0},
		{"the other shard", []deaggregator.Record{highRec, highRec}, high, 2},
		{"bounds included", []deaggregator.Record{{PartitionKey: "x", ExplicitHashKey: "0", Data: []byte("z")}, {PartitionKey: "y", ExplicitHashKey: low[1].String(), Data: []byte("z")}}, low, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := deaggregator.DeaggregateShard(aggregate(t, tc.recs), "outer", "", tc.shard[0], tc.shard[1])
			if len(got) != tc.want || (tc.want == 0) != errors.Is(err, deaggregator.ErrOutsideShard) {
				t.Fatalf("%d records, %v; want %d", len(got), err, tc.want)
			}
		})
	}
	// A plain record is never filtered.
	got, err := deaggregator.DeaggregateShard([]byte("plain"), "pk", top.String(), low[0], low[1])
	if err != nil || len(got) != 1 {
		t.Fatalf("plain record: %+v, %v", got, err)
	}
}

// TestNoPanicOnRandomInput feeds random bodies with a valid frame.
func TestNoPanicOnRandomInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(53, 54))
	seed := aggregate(t, []deaggregator.Record{{PartitionKey: "a", ExplicitHashKey: "7", Data: []byte("data")}, {PartitionKey: "b", Data: []byte("more")}})
	body := seed[4 : len(seed)-16]
	for i := 0; i < 20000; i++ {
		var b []byte
		if i%2 == 0 {
			b = make([]byte, rng.IntN(64))
			for j := range b {
				b[j] = byte(rng.Uint32())
			}
		} else {
			// Mutate a valid body.
			b = append([]byte(nil), body...)
			for n := 1 + rng.IntN(3); n > 0; n-- {
				b[rng.IntN(len(b))] = byte(rng.Uint32())
			}
			b = b[:rng.IntN(len(b)+1)]
		}
		checkAgainstProto(t, frame(b))
		_, _ = deaggregator.Deaggregate(b, "k", "")
	}
}

// kclModel is what KCL 2.x's AggregatorUtil makes of one record read from a
// shard with the whole hash key space, written over kplpb (the protobuf library):
// the records, and whether it stopped at a malformed sub-record or dropped
// the aggregate for a sub-record outside the range.
func kclModel(data []byte, pk, ehk string) (recs []deaggregator.Record, malformed, outside bool) {
	plain := []deaggregator.Record{{PartitionKey: pk, ExplicitHashKey: ehk, Data: data}}
	if len(data) < 4 || !bytes.Equal(data[:4], []byte{0xF3, 0x89, 0x9A, 0xC2}) || len(data)-4 <= md5.Size {
		return plain, false, false
	}
	body := data[4 : len(data)-md5.Size]
	if sum := md5.Sum(body); !bytes.Equal(sum[:], data[len(data)-md5.Size:]) {
		return plain, false, false
	}
	m, err := kplpb.Unmarshal(body)
	if err != nil { // required fields checked, as parseFrom does
		return plain, false, false
	}
	top := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1))
	for _, r := range m.Records {
		ki := int(int32(r.GetPartitionKeyIndex())) // Java's (int) of a long
		if ki < 0 || ki >= len(m.PartitionKeyTable) {
			return recs, true, false
		}
		out := deaggregator.Record{PartitionKey: m.PartitionKeyTable[ki], Data: r.GetData()}
		var h *big.Int
		if r.ExplicitHashKeyIndex != nil {
			hi := int(int32(r.GetExplicitHashKeyIndex()))
			if hi < 0 || hi >= len(m.ExplicitHashKeyTable) {
				return recs, true, false
			}
			out.ExplicitHashKey = m.ExplicitHashKeyTable[hi]
			var ok bool
			if h, ok = new(big.Int).SetString(out.ExplicitHashKey, 10); !ok {
				return recs, true, false
			}
		} else {
			sum := md5.Sum([]byte(string([]rune(out.PartitionKey))))
			h = new(big.Int).SetBytes(sum[:])
		}
		if h.Sign() < 0 || h.Cmp(top) > 0 {
			return nil, false, true
		}
		if out.Data == nil {
			out.Data = []byte{}
		}
		recs = append(recs, out)
	}
	return recs, false, false
}

// checkAgainstProto requires Deaggregate to agree with kclModel on data.
func checkAgainstProto(t *testing.T, data []byte) {
	t.Helper()
	got, err := deaggregator.Deaggregate(data, "outer", "")
	want, malformed, outside := kclModel(data, "outer", "")
	if malformed != errors.Is(err, deaggregator.ErrMalformed) || outside != errors.Is(err, deaggregator.ErrOutsideShard) || (err != nil) != (malformed || outside) {
		t.Fatalf("data % x: error %v; the model says malformed %v, outside %v", data, err, malformed, outside)
	}
	if len(got) != len(want) {
		t.Fatalf("data % x: %d records (%v), the model has %d", data, len(got), err, len(want))
	}
	equalRecords(t, got, want)
}

func FuzzDeaggregate(f *testing.F) {
	f.Add(aggregate(f, []deaggregator.Record{{PartitionKey: "a", Data: []byte("1")}, {PartitionKey: "b", ExplicitHashKey: "5", Data: []byte("2")}}), false)
	f.Add(aggregate(f, []deaggregator.Record{{PartitionKey: "k", Data: []byte{}}}), false)
	f.Add([]byte("plain data"), false)
	f.Add([]byte{0x0a, 0x01, 'k', 0x1a, 0x04, 0x08, 0x00, 0x1a, 0x00}, true)
	f.Add([]byte{0x1a, 0x02, 0x08, 0x05}, true)
	f.Add([]byte{}, true)
	f.Fuzz(func(t *testing.T, data []byte, wrap bool) {
		if wrap {
			data = frame(data)
		}
		checkAgainstProto(t, data)
	})
}

// TestProducerOutput reads back what a producer sends, with the producer's
// own aggregation, through Deaggregate.
func TestProducerOutput(t *testing.T) {
	c := &captureClient{}
	p := producer.New(&producer.Config{StreamName: "s", Client: c, Logger: producer.Standard(log.New(io.Discard, "", 0))})
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for i := 0; i < 1000; i++ {
		d := fmt.Sprintf("record-%d", i)
		want[d] = fmt.Sprint("key-", i%13)
		if err := p.Put([]byte(d), want[d]); err != nil {
			t.Fatal(err)
		}
	}
	p.Stop()
	got := 0
	for _, e := range c.entries {
		recs, err := deaggregator.Deaggregate(e.Data, *e.PartitionKey, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if want[string(r.Data)] != r.PartitionKey {
				t.Fatalf("record %q: key %q, want %q", r.Data, r.PartitionKey, want[string(r.Data)])
			}
			delete(want, string(r.Data))
			got++
		}
	}
	if got != 1000 || len(want) != 0 {
		t.Fatalf("read %d records, %d missing", got, len(want))
	}
}

// captureClient acknowledges every PutRecords entry and keeps it.
type captureClient struct {
	mu      sync.Mutex
	entries []*kinesis.PutRecordsRequestEntry
}

func (c *captureClient) PutRecords(in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := &kinesis.PutRecordsOutput{}
	for _, e := range in.Records {
		cp := *e
		cp.Data = append([]byte(nil), e.Data...)
		c.entries = append(c.entries, &cp)
		out.Records = append(out.Records, &kinesis.PutRecordsResultEntry{ShardId: aws.String("shardId-000000000000"), SequenceNumber: aws.String("1")})
	}
	return out, nil
}
