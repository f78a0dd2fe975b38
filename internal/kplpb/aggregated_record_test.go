package kplpb

import (
	"bytes"
	"crypto/md5"
	"errors"
	"reflect"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// TestNothingRegistered: this package's descriptor of messages.proto is in no
// registry, so it can be linked with the root package's generated code.
func TestNothingRegistered(t *testing.T) {
	if _, err := protoregistry.GlobalFiles.FindFileByPath(File().Path()); !errors.Is(err, protoregistry.NotFound) {
		t.Errorf("GlobalFiles has %s: %v", File().Path(), err)
	}
	for _, name := range []protoreflect.FullName{"kplgo.producer.AggregatedRecord", "kplgo.producer.Record", "kplgo.producer.Tag"} {
		if _, err := protoregistry.GlobalFiles.FindDescriptorByName(name); !errors.Is(err, protoregistry.NotFound) {
			t.Errorf("GlobalFiles has %s: %v", name, err)
		}
		if _, err := protoregistry.GlobalTypes.FindMessageByName(name); !errors.Is(err, protoregistry.NotFound) {
			t.Errorf("GlobalTypes has %s: %v", name, err)
		}
	}
	if n := protoregistry.GlobalFiles.NumFilesByPackage(File().Package()); n != 0 {
		t.Errorf("GlobalFiles has %d files of package %s", n, File().Package())
	}
}

// full is a message with every field set.
func full() *AggregatedRecord {
	return &AggregatedRecord{
		PartitionKeyTable:    []string{"a", "b"},
		ExplicitHashKeyTable: []string{"7"},
		Records: []*Record{
			{PartitionKeyIndex: proto.Uint64(1), ExplicitHashKeyIndex: proto.Uint64(0), Data: []byte("x"),
				Tags: []*Tag{{Key: proto.String("t"), Value: proto.String("v")}, {Key: proto.String("u")}}},
			{PartitionKeyIndex: proto.Uint64(0), Data: []byte{}},
		},
	}
}

// TestMarshalFieldOrder: Marshal writes every field in number order, every
// time (the library writes a dynamic message's fields in any order unless
// deterministic).
func TestMarshalFieldOrder(t *testing.T) {
	str := func(b []byte, num protowire.Number, s string) []byte {
		return protowire.AppendString(protowire.AppendTag(b, num, protowire.BytesType), s)
	}
	msg := func(b []byte, num protowire.Number, m []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), m)
	}
	u64 := func(b []byte, num protowire.Number, v uint64) []byte {
		return protowire.AppendVarint(protowire.AppendTag(b, num, protowire.VarintType), v)
	}
	var r0, r1, t0, t1, want []byte
	t0 = str(str(t0, 1, "t"), 2, "v")
	t1 = str(t1, 1, "u")
	r0 = msg(msg(str(u64(u64(r0, 1, 1), 2, 0), 3, "x"), 4, t0), 4, t1)
	r1 = str(u64(r1, 1, 0), 3, "")
	want = msg(msg(str(str(str(want, 1, "a"), 1, "b"), 2, "7"), 3, r0), 3, r1)
	for range 50 {
		got, err := Marshal(full())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("Marshal\n got % x\nwant % x", got, want)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, m := range []*AggregatedRecord{
		{},
		full(),
		Build([]Sub{{Key: "k", Data: []byte("d")}, {Key: "k", ExplicitHashKey: "12345"}, {Key: "ключ", Data: bytes.Repeat([]byte{1}, 300)}}),
	} {
		b, err := Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Unmarshal(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("Unmarshal(Marshal(%+v)) = %+v", m, got)
		}
		sum := md5.Sum(b)
		framed := append(append(Magic[:], b...), sum[:]...)
		if d := MustDecode(t, framed); !reflect.DeepEqual(d, m) {
			t.Fatalf("Decode = %+v, want %+v", d, m)
		}
	}
}

// TestRequiredFields: Marshal and Unmarshal check proto2 required fields, as
// with the generated types.
func TestRequiredFields(t *testing.T) {
	for name, m := range map[string]*AggregatedRecord{
		"no key index": {Records: []*Record{{Data: []byte{}}}},
		"no data":      {Records: []*Record{{PartitionKeyIndex: proto.Uint64(0)}}},
		"no tag key":   {Records: []*Record{{PartitionKeyIndex: proto.Uint64(0), Data: []byte{}, Tags: []*Tag{{Value: proto.String("v")}}}}},
	} {
		if _, err := Marshal(m); err == nil {
			t.Errorf("%s: Marshal succeeded", name)
		}
		b, err := proto.MarshalOptions{AllowPartial: true}.Marshal(toMessage(m))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Unmarshal(b); err == nil {
			t.Errorf("%s: Unmarshal of % x succeeded", name, b)
		}
		sum := md5.Sum(b)
		if _, err := Decode(append(append(Magic[:], b...), sum[:]...)); err == nil {
			t.Errorf("%s: Decode succeeded", name)
		}
	}
}
