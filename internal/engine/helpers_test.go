package engine

import (
	"testing"

	"github.com/kplgo/producer/internal/kplpb"
)

// decodeKPL checks the frame of an aggregated record (magic, MD5 of the
// protobuf) and unmarshals the protobuf with the generated types.
func decodeKPL(t testing.TB, data []byte) *kplpb.AggregatedRecord {
	t.Helper()
	m, err := kplpb.Decode(data)
	if err != nil {
		t.Fatalf("aggregated record % x...: %v", data[:min(len(data), 8)], err)
	}
	return m
}
