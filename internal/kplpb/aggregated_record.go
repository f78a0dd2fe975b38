package kplpb

import (
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// AggregatedRecord is the message AggregatedRecord of messages.proto, the
// body of one aggregated Kinesis record. Its fields are those of the
// generated type.
type AggregatedRecord struct {
	PartitionKeyTable    []string
	ExplicitHashKeyTable []string
	Records              []*Record
}

// Record is the message Record of messages.proto, one user record inside an
// AggregatedRecord. PartitionKeyIndex and Data are required: Marshal fails
// when either is nil.
type Record struct {
	PartitionKeyIndex    *uint64
	ExplicitHashKeyIndex *uint64
	Data                 []byte
	Tags                 []*Tag
}

// Tag is the message Tag of messages.proto, a key/value pair attached to a
// record. Key is required.
type Tag struct {
	Key   *string
	Value *string
}

// GetPartitionKeyTable returns m.PartitionKeyTable, or nil for a nil m.
func (m *AggregatedRecord) GetPartitionKeyTable() []string {
	if m != nil {
		return m.PartitionKeyTable
	}
	return nil
}

// GetExplicitHashKeyTable returns m.ExplicitHashKeyTable, or nil for a nil m.
func (m *AggregatedRecord) GetExplicitHashKeyTable() []string {
	if m != nil {
		return m.ExplicitHashKeyTable
	}
	return nil
}

// GetRecords returns m.Records, or nil for a nil m.
func (m *AggregatedRecord) GetRecords() []*Record {
	if m != nil {
		return m.Records
	}
	return nil
}

// GetPartitionKeyIndex returns *r.PartitionKeyIndex, or 0 when it is unset.
func (r *Record) GetPartitionKeyIndex() uint64 {
	if r != nil && r.PartitionKeyIndex != nil {
		return *r.PartitionKeyIndex
	}
	return 0
}

// GetExplicitHashKeyIndex returns *r.ExplicitHashKeyIndex, or 0 when it is
// unset.
func (r *Record) GetExplicitHashKeyIndex() uint64 {
	if r != nil && r.ExplicitHashKeyIndex != nil {
		return *r.ExplicitHashKeyIndex
	}
	return 0
}

// GetData returns r.Data, or nil for a nil r.
func (r *Record) GetData() []byte {
	if r != nil {
		return r.Data
	}
	return nil
}

// GetTags returns r.Tags, or nil for a nil r.
func (r *Record) GetTags() []*Tag {
	if r != nil {
		return r.Tags
	}
	return nil
}

// GetKey returns *t.Key, or "" when it is unset.
func (t *Tag) GetKey() string {
	if t != nil && t.Key != nil {
		return *t.Key
	}
	return ""
}

// GetValue returns *t.Value, or "" when it is unset.
func (t *Tag) GetValue() string {
	if t != nil && t.Value != nil {
		return *t.Value
	}
	return ""
}

// Marshal returns the protobuf encoding of m as proto.Marshal of the
// generated type writes it: every field in number order, required fields
// checked. It marshals deterministically because only then does the library
// write the fields of a dynamic message in number order (otherwise in any
// order); the generated type needs no option for it.
func Marshal(m *AggregatedRecord) ([]byte, error) {
	return proto.MarshalOptions{Deterministic: true}.Marshal(toMessage(m))
}

// Unmarshal parses body, the protobuf of an AggregatedRecord without its
// frame, as proto.Unmarshal does into the generated type: a missing required
// field is an error. Unknown fields are dropped.
func Unmarshal(body []byte) (*AggregatedRecord, error) {
	dm := dynamicpb.NewMessage(aggDesc)
	if err := proto.Unmarshal(body, dm); err != nil {
		return nil, err
	}
	return fromMessage(dm), nil
}

// File returns the descriptor of messages.proto that Marshal and Unmarshal
// use. It is in no registry.
func File() protoreflect.FileDescriptor { return file }

// file is messages.proto described by hand, resolved against an empty set of
// files, so that nothing is added to protoregistry.GlobalFiles.
var file = func() protoreflect.FileDescriptor {
	const (
		optional = descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL
		required = descriptorpb.FieldDescriptorProto_LABEL_REQUIRED
		repeated = descriptorpb.FieldDescriptorProto_LABEL_REPEATED
		str      = descriptorpb.FieldDescriptorProto_TYPE_STRING
		u64      = descriptorpb.FieldDescriptorProto_TYPE_UINT64
		byt      = descriptorpb.FieldDescriptorProto_TYPE_BYTES
		msg      = descriptorpb.FieldDescriptorProto_TYPE_MESSAGE
	)
	field := func(name string, num int32, l descriptorpb.FieldDescriptorProto_Label, t descriptorpb.FieldDescriptorProto_Type) *descriptorpb.FieldDescriptorProto {
		return &descriptorpb.FieldDescriptorProto{Name: proto.String(name), Number: proto.Int32(num), Label: l.Enum(), Type: t.Enum()}
	}
	of := func(f *descriptorpb.FieldDescriptorProto, typeName string) *descriptorpb.FieldDescriptorProto {
		f.TypeName = proto.String(typeName)
		return f
	}
	fdp := &descriptorpb.FileDescriptorProto{
		Name:    proto.String("messages.proto"),
		Package: proto.String("kplgo.producer"),
		Syntax:  proto.String("proto2"),
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("AggregatedRecord"),
			Field: []*descriptorpb.FieldDescriptorProto{
				field("partition_key_table", 1, repeated, str),
				field("explicit_hash_key_table", 2, repeated, str),
				of(field("records", 3, repeated, msg), ".kplgo.producer.Record"),
			},
		}, {
			Name: proto.String("Tag"),
			Field: []*descriptorpb.FieldDescriptorProto{
				field("key", 1, required, str),
				field("value", 2, optional, str),
			},
		}, {
			Name: proto.String("Record"),
			Field: []*descriptorpb.FieldDescriptorProto{
				field("partition_key_index", 1, required, u64),
				field("explicit_hash_key_index", 2, optional, u64),
				field("data", 3, required, byt),
				of(field("tags", 4, repeated, msg), ".kplgo.producer.Tag"),
			},
		}},
	}
	fd, err := protodesc.NewFile(fdp, new(protoregistry.Files))
	if err != nil {
		panic("kplpb: messages.proto: " + err.Error())
	}
	return fd
}()

// The messages of file and their fields, by number.
var (
	aggDesc = file.Messages().ByName("AggregatedRecord")
	recDesc = file.Messages().ByName("Record")
	tagDesc = file.Messages().ByName("Tag")

	aggKeys    = aggDesc.Fields().ByNumber(1)
	aggHashes  = aggDesc.Fields().ByNumber(2)
	aggRecords = aggDesc.Fields().ByNumber(3)
	recKey     = recDesc.Fields().ByNumber(1)
	recHash    = recDesc.Fields().ByNumber(2)
	recData    = recDesc.Fields().ByNumber(3)
	recTags    = recDesc.Fields().ByNumber(4)
	tagKey     = tagDesc.Fields().ByNumber(1)
	tagValue   = tagDesc.Fields().ByNumber(2)
)

// toMessage returns m as a dynamic message of file. A nil pointer field is
// left unset, as in the generated type; a nil element of a list is an empty
// message.
func toMessage(m *AggregatedRecord) *dynamicpb.Message {
	dm := dynamicpb.NewMessage(aggDesc)
	for _, s := range m.GetPartitionKeyTable() {
		dm.Mutable(aggKeys).List().Append(protoreflect.ValueOfString(s))
	}
	for _, s := range m.GetExplicitHashKeyTable() {
		dm.Mutable(aggHashes).List().Append(protoreflect.ValueOfString(s))
	}
	for _, r := range m.GetRecords() {
		rl := dm.Mutable(aggRecords).List()
		rm := rl.NewElement().Message()
		if r != nil && r.PartitionKeyIndex != nil {
			rm.Set(recKey, protoreflect.ValueOfUint64(*r.PartitionKeyIndex))
		}
		if r != nil && r.ExplicitHashKeyIndex != nil {
			rm.Set(recHash, protoreflect.ValueOfUint64(*r.ExplicitHashKeyIndex))
		}
		if r.GetData() != nil {
			rm.Set(recData, protoreflect.ValueOfBytes(r.Data))
		}
		for _, t := range r.GetTags() {
			tl := rm.Mutable(recTags).List()
			tm := tl.NewElement().Message()
			if t != nil && t.Key != nil {
				tm.Set(tagKey, protoreflect.ValueOfString(*t.Key))
			}
			if t != nil && t.Value != nil {
				tm.Set(tagValue, protoreflect.ValueOfString(*t.Value))
			}
			tl.Append(protoreflect.ValueOfMessage(tm))
		}
		rl.Append(protoreflect.ValueOfMessage(rm))
	}
	return dm
}

// fromMessage returns the AggregatedRecord of dm, a message of aggDesc: a
// field dm does not have stays nil, and present bytes are never nil.
func fromMessage(dm protoreflect.Message) *AggregatedRecord {
	m := &AggregatedRecord{
		PartitionKeyTable:    stringList(dm.Get(aggKeys).List()),
		ExplicitHashKeyTable: stringList(dm.Get(aggHashes).List()),
	}
	rl := dm.Get(aggRecords).List()
	for i := range rl.Len() {
		rm := rl.Get(i).Message()
		r := &Record{}
		if rm.Has(recKey) {
			r.PartitionKeyIndex = proto.Uint64(rm.Get(recKey).Uint())
		}
		if rm.Has(recHash) {
			r.ExplicitHashKeyIndex = proto.Uint64(rm.Get(recHash).Uint())
		}
		if rm.Has(recData) {
			r.Data = append([]byte{}, rm.Get(recData).Bytes()...)
		}
		tl := rm.Get(recTags).List()
		for j := range tl.Len() {
			tm := tl.Get(j).Message()
			t := &Tag{}
			if tm.Has(tagKey) {
				t.Key = proto.String(tm.Get(tagKey).String())
			}
			if tm.Has(tagValue) {
				t.Value = proto.String(tm.Get(tagValue).String())
			}
			r.Tags = append(r.Tags, t)
		}
		m.Records = append(m.Records, r)
	}
	return m
}

// stringList returns the elements of l, or nil when it is empty.
func stringList(l protoreflect.List) []string {
	var out []string
	for i := range l.Len() {
		out = append(out, l.Get(i).String())
	}
	return out
}
