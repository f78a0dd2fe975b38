package producer

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/kplgo/producer/internal/kplpb"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

// The schema messages.proto must be registered in the protobuf global
// registry exactly once, by this package's generated messages.pb.go. A second
// registration of the same names (kplgo.producer.AggregatedRecord and the
// rest) from generated code in another package would make every binary
// linking both panic at init with a registration conflict. This test binary
// links this package together with internal/kplpb, deaggregator and sdkv2
// (the tests of both doors import them), so such a conflict would already
// crash it before any test ran; the tests below also check the registry's
// contents directly.

// TestMessagesRegisteredOnce: one file of the global registry declares
// package kplgo.producer, and its messages resolve to this package's types.
func TestMessagesRegisteredOnce(t *testing.T) {
	var files []string
	protoregistry.GlobalFiles.RangeFiles(func(f protoreflect.FileDescriptor) bool {
		if f.Package() == "kplgo.producer" {
			files = append(files, f.Path())
		}
		return true
	})
	if len(files) != 1 || files[0] != File_messages_proto.Path() {
		t.Fatalf("files of package kplgo.producer in the global registry: %q, want only %q", files, File_messages_proto.Path())
	}
	for name, want := range map[protoreflect.FullName]proto.Message{
		"kplgo.producer.AggregatedRecord": (*AggregatedRecord)(nil),
		"kplgo.producer.Record":           (*Record)(nil),
		"kplgo.producer.Tag":              (*Tag)(nil),
	} {
		mt, err := protoregistry.GlobalTypes.FindMessageByName(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got, want := reflect.TypeOf(mt.Zero().Interface()), reflect.TypeOf(want); got != want {
			t.Errorf("%s resolves to %v, want %v", name, got, want)
		}
	}
}

// TestMessagesDescriptorMatchesKplpb: the descriptor internal/kplpb writes
// by hand (in no registry) is the generated one: same messages, fields,
// numbers, labels and types.
func TestMessagesDescriptorMatchesKplpb(t *testing.T) {
	norm := func(f protoreflect.FileDescriptor) *descriptorpb.FileDescriptorProto {
		p := protodesc.ToFileDescriptorProto(f)
		p.Options = nil // go_package
		for _, m := range p.MessageType {
			for _, fd := range m.Field {
				fd.JsonName = nil
			}
		}
		return p
	}
	if got, want := norm(kplpb.File()), norm(File_messages_proto); !proto.Equal(got, want) {
		t.Fatalf("kplpb's descriptor\n%v\ndiffers from the generated one\n%v", got, want)
	}
}

// kplpbOf returns m as internal/kplpb's plain types.
func kplpbOf(m *AggregatedRecord) *kplpb.AggregatedRecord {
	out := &kplpb.AggregatedRecord{PartitionKeyTable: m.PartitionKeyTable, ExplicitHashKeyTable: m.ExplicitHashKeyTable}
	for _, r := range m.Records {
		kr := &kplpb.Record{PartitionKeyIndex: r.PartitionKeyIndex, ExplicitHashKeyIndex: r.ExplicitHashKeyIndex, Data: r.Data}
		for _, tag := range r.Tags {
			kr.Tags = append(kr.Tags, &kplpb.Tag{Key: tag.Key, Value: tag.Value})
		}
		out.Records = append(out.Records, kr)
	}
	return out
}

// TestMessagesRoundTripMatchesKplpb: records built with this package's
// generated types round-trip through proto.Marshal and proto.Unmarshal, and
// their bytes (plain and deterministic) equal kplpb.Marshal of the same
// content, which the tests of internal/engine and deaggregator compare
// against.
func TestMessagesRoundTripMatchesKplpb(t *testing.T) {
	big := func(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }
	keys := make([]string, 130)
	recs := make([]*Record, 130)
	for i := range keys {
		keys[i] = fmt.Sprint("k", i)
		recs[i] = &Record{PartitionKeyIndex: proto.Uint64(uint64(i)), ExplicitHashKeyIndex: proto.Uint64(uint64(129 - i)), Data: []byte{byte(i)}}
	}
	cases := map[string]*AggregatedRecord{
		"empty": {},
		"one record": {
			PartitionKeyTable: []string{"k"},
			Records:           []*Record{{PartitionKeyIndex: proto.Uint64(0), Data: []byte("d")}},
		},
		"empty data and multi-byte keys": {
			PartitionKeyTable: []string{"ключ", "鍵"},
			Records: []*Record{
				{PartitionKeyIndex: proto.Uint64(1), Data: []byte{}},
				{PartitionKeyIndex: proto.Uint64(0), Data: []byte{}},
			},
		},
		"explicit hash keys and tags": {
			PartitionKeyTable:    []string{"p", "q"},
			ExplicitHashKeyTable: []string{"0", "340282366920938463463374607431768211455"},
			Records: []*Record{
				{PartitionKeyIndex: proto.Uint64(0), ExplicitHashKeyIndex: proto.Uint64(1), Data: []byte("a"),
					Tags: []*Tag{{Key: proto.String("t"), Value: proto.String("v")}, {Key: proto.String("u")}}},
				{PartitionKeyIndex: proto.Uint64(1), Data: []byte("b")},
				{PartitionKeyIndex: proto.Uint64(1), ExplicitHashKeyIndex: proto.Uint64(0), Data: []byte("c")},
			},
		},
		"long varints": {
			PartitionKeyTable:    []string{"a", strings.Repeat("b", 200)},
			ExplicitHashKeyTable: []string{"7"},
			Records: []*Record{
				{PartitionKeyIndex: proto.Uint64(0), Data: big(127, 0xAB)},
				{PartitionKeyIndex: proto.Uint64(0), Data: big(128, 0xCD)},
				{PartitionKeyIndex: proto.Uint64(1), Data: big(16383, 0xEF)},
				{PartitionKeyIndex: proto.Uint64(1), ExplicitHashKeyIndex: proto.Uint64(0), Data: big(16384, 0x01)},
				{PartitionKeyIndex: proto.Uint64(0), Data: big(2_097_152, 0x02)},
			},
		},
		"many table entries": {PartitionKeyTable: keys, ExplicitHashKeyTable: keys, Records: recs},
	}
	for name, m := range cases {
		t.Run(name, func(t *testing.T) {
			b, err := proto.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			det, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, det) {
				t.Fatal("proto.Marshal differs from deterministic proto.Marshal")
			}
			var back AggregatedRecord
			if err := proto.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(&back, m) {
				t.Fatalf("proto.Unmarshal(proto.Marshal(m)) = %v, want %v", &back, m)
			}
			k, err := kplpb.Marshal(kplpbOf(m))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(k, b) {
				i := 0
				for i < min(len(k), len(b)) && k[i] == b[i] {
					i++
				}
				t.Fatalf("kplpb.Marshal (%d bytes) differs from proto.Marshal of the generated types (%d bytes) from byte %d:\n got % x\nwant % x",
					len(k), len(b), i, k[i:min(len(k), i+32)], b[i:min(len(b), i+32)])
			}
			kback, err := kplpb.Unmarshal(b)
			if err != nil {
				t.Fatal(err)
			}
			if want := kplpbOf(&back); !reflect.DeepEqual(kback, want) {
				t.Fatalf("kplpb.Unmarshal = %+v, want %+v", kback, want)
			}
		})
	}
}
