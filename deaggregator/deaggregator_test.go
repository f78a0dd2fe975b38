package deaggregator_test

import (
	"bytes"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"log"
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

// aggregate builds an aggregated record from user records with the
// generated types: tables in order of first use.
func aggregate(t testing.TB, recs []deaggregator.Record) []byte {
	t.Helper()
	m := &kplpb.AggregatedRecord{}
	keys, hashes := map[string]uint64{}, map[string]uint64{}
	for _, r := range recs {
		ki, ok := keys[r.PartitionKey]
		if !ok {
			ki = uint64(len(m.PartitionKeyTable))
			keys[r.PartitionKey] = ki
			m.PartitionKeyTable = append(m.PartitionKeyTable, r.PartitionKey)
		}
		pr := &kplpb.Record{PartitionKeyIndex: proto.Uint64(ki), Data: r.Data}
		if pr.Data == nil {
			pr.Data = []byte{}
		}
		if r.ExplicitHashKey != "" {
			hi, ok := hashes[r.ExplicitHashKey]
			if !ok {
				hi = uint64(len(m.ExplicitHashKeyTable))
				hashes[r.ExplicitHashKey] = hi
				m.ExplicitHashKeyTable = append(m.ExplicitHashKeyTable, r.ExplicitHashKey)
			}
			pr.ExplicitHashKeyIndex = proto.Uint64(hi)
		}
		m.Records = append(m.Records, pr)
	}
	body, err := proto.Marshal(m)
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
	body, err := proto.Marshal(m)
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

func TestChecksumMismatch(t *testing.T) {
	good := aggregate(t, []deaggregator.Record{{PartitionKey: "a", Data: []byte("1")}, {PartitionKey: "b", Data: []byte("2")}})
	for i := 4; i < len(good); i++ {
		bad := append([]byte(nil), good...)
		bad[i] ^= 0x01
		if _, err := deaggregator.Deaggregate(bad, "", ""); !errors.Is(err, deaggregator.ErrChecksum) {
			t.Fatalf("byte %d flipped: %v, want ErrChecksum", i, err)
		}
	}
	// Truncating an aggregate breaks its checksum.
	if _, err := deaggregator.Deaggregate(good[:len(good)-1], "", ""); !errors.Is(err, deaggregator.ErrChecksum) {
		t.Fatalf("truncated: %v, want ErrChecksum", err)
	}
}

func TestMalformed(t *testing.T) {
	rec := func(fields ...[]byte) []byte { return bytes.Join(fields, nil) }
	tag := func(num protowire.Number, typ protowire.Type) []byte { return protowire.AppendTag(nil, num, typ) }
	varint := func(v uint64) []byte { return protowire.AppendVarint(nil, v) }
	bytesField := func(num protowire.Number, b []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), b)
	}
	key := bytesField(1, []byte("k"))
	for name, body := range map[string][]byte{
		"truncated varint tag":     {0x80},
		"truncated length":         {0x0a, 0xff},
		"length past the end":      {0x0a, 0x05, 'a'},
		"key index out of range":   rec(key, bytesField(3, rec(tag(1, protowire.VarintType), varint(1), bytesField(3, []byte("d"))))),
		"no key table":             bytesField(3, rec(tag(1, protowire.VarintType), varint(0), bytesField(3, []byte("d")))),
		"record without key index": rec(key, bytesField(3, bytesField(3, []byte("d")))),
		"record without data":      rec(key, bytesField(3, rec(tag(1, protowire.VarintType), varint(0)))),
		"hash index out of range":  rec(key, bytesField(3, rec(tag(1, protowire.VarintType), varint(0), tag(2, protowire.VarintType), varint(0), bytesField(3, []byte("d"))))),
		"truncated record":         rec(key, bytesField(3, []byte{0x08})),
		"garbage in record":        rec(key, bytesField(3, []byte{0xff, 0xff, 0xff})),
		"field number zero":        {0x00, 0x00},
		"unterminated group":       rec(key, tag(5, protowire.StartGroupType)),
		"stray end group":          rec(key, tag(5, protowire.EndGroupType)),
	} {
		t.Run(name, func(t *testing.T) {
			got, err := deaggregator.Deaggregate(frame(body), "", "")
			if !errors.Is(err, deaggregator.ErrMalformed) {
				t.Fatalf("got %+v, %v; want ErrMalformed", got, err)
			}
		})
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

// checkAgainstProto deaggregates data and, when the generated types parse
// the body into a valid aggregate, requires the same records.
func checkAgainstProto(t *testing.T, data []byte) {
	got, err := deaggregator.Deaggregate(data, "outer", "")
	if err != nil && !errors.Is(err, deaggregator.ErrMalformed) && !errors.Is(err, deaggregator.ErrChecksum) {
		t.Fatalf("error %v wraps neither ErrMalformed nor ErrChecksum", err)
	}
	if !deaggregator.IsAggregated(data) {
		if err != nil || len(got) != 1 || !bytes.Equal(got[0].Data, data) {
			t.Fatalf("a non-aggregated record did not pass through: %v", err)
		}
		return
	}
	body := data[4 : len(data)-16]
	if sum := md5.Sum(body); !bytes.Equal(sum[:], data[len(data)-16:]) {
		return
	}
	var m kplpb.AggregatedRecord
	if proto.Unmarshal(body, &m) != nil {
		return
	}
	want := make([]deaggregator.Record, len(m.Records))
	for i, r := range m.Records {
		if r.GetPartitionKeyIndex() >= uint64(len(m.PartitionKeyTable)) {
			return
		}
		want[i] = deaggregator.Record{PartitionKey: m.PartitionKeyTable[r.GetPartitionKeyIndex()], Data: r.GetData()}
		if r.ExplicitHashKeyIndex != nil {
			if r.GetExplicitHashKeyIndex() >= uint64(len(m.ExplicitHashKeyTable)) {
				return
			}
			want[i].ExplicitHashKey = m.ExplicitHashKeyTable[r.GetExplicitHashKeyIndex()]
		}
		if want[i].Data == nil {
			want[i].Data = []byte{}
		}
	}
	if err != nil {
		t.Fatalf("the generated types parse body % x but Deaggregate says %v", body, err)
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
