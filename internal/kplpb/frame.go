// Package kplpb holds plain Go types for the top-level messages.proto (the
// KPL aggregated record schema) and encodes and decodes them through the
// protobuf library, for tests that check the hand-written encoder and the
// deaggregator against it. The producer itself encodes and decodes with
// protowire and does not use this package.
//
// The types are not generated code. The generated types are in the root
// package (messages.pb.go), which registers the schema's names
// (kplgo.producer.AggregatedRecord and the rest) in the protobuf global
// registry; generated code here would register them a second time, and a
// binary linking both packages would panic at init. Instead this package
// describes messages.proto by hand in a file descriptor that is in no
// registry, and Marshal and Unmarshal go through dynamicpb messages of it.
// It does not import the root package.
package kplpb

import (
	"bytes"
	"crypto/md5"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"
)

// Magic starts every aggregated record.
var Magic = [4]byte{0xF3, 0x89, 0x9A, 0xC2}

// IsAggregated reports whether data is framed as an aggregated record: the
// magic and room for an MD5 digest.
func IsAggregated(data []byte) bool {
	return len(data) >= len(Magic)+md5.Size && bytes.HasPrefix(data, Magic[:])
}

// Decode checks the frame of an aggregated record (magic, MD5 of the
// protobuf) and unmarshals its protobuf with Unmarshal.
func Decode(data []byte) (*AggregatedRecord, error) {
	if !IsAggregated(data) {
		return nil, errors.New("not an aggregated record")
	}
	body := data[len(Magic) : len(data)-md5.Size]
	sum := md5.Sum(body)
	if !bytes.Equal(sum[:], data[len(data)-md5.Size:]) {
		return nil, fmt.Errorf("MD5 %x, want %x", data[len(data)-md5.Size:], sum)
	}
	m, err := Unmarshal(body)
	if err != nil {
		return nil, fmt.Errorf("unmarshal: %w", err)
	}
	return m, nil
}

// MustDecode is Decode for tests: it fails tb when data is not a valid
// aggregated record.
func MustDecode(tb testing.TB, data []byte) *AggregatedRecord {
	tb.Helper()
	m, err := Decode(data)
	if err != nil {
		tb.Fatalf("aggregated record % x...: %v", data[:min(len(data), 8)], err)
	}
	return m
}

// Sub is one user record of an aggregate for Build.
type Sub struct {
	Key             string
	ExplicitHashKey string // decimal, "" for none
	Data            []byte
}

// Build returns the AggregatedRecord of subs as the KPL builds it: key and
// hash key tables in order of first use, records in order.
func Build(subs []Sub) *AggregatedRecord {
	m := &AggregatedRecord{}
	keyIdx := map[string]uint64{}
	hashIdx := map[string]uint64{}
	for _, s := range subs {
		ki, ok := keyIdx[s.Key]
		if !ok {
			ki = uint64(len(m.PartitionKeyTable))
			keyIdx[s.Key] = ki
			m.PartitionKeyTable = append(m.PartitionKeyTable, s.Key)
		}
		r := &Record{PartitionKeyIndex: proto.Uint64(ki), Data: s.Data}
		if r.Data == nil {
			r.Data = []byte{}
		}
		if s.ExplicitHashKey != "" {
			hi, ok := hashIdx[s.ExplicitHashKey]
			if !ok {
				hi = uint64(len(m.ExplicitHashKeyTable))
				hashIdx[s.ExplicitHashKey] = hi
				m.ExplicitHashKeyTable = append(m.ExplicitHashKeyTable, s.ExplicitHashKey)
			}
			r.ExplicitHashKeyIndex = proto.Uint64(hi)
		}
		m.Records = append(m.Records, r)
	}
	return m
}
