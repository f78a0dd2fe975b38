package engine

import "sync/atomic"

// routes is what Put needs to find its record's gate: the shard map and a
// gate per shard (one gate without a map). The shard set publishes a new
// routes with each map.
//
// Put looks its record's shard up here only to wait while that shard is
// full (back-pressure), and only while some gate is shut. Where a record
// goes is decided on the drain goroutine alone, by the router, with the
// map it holds then: a map installed meanwhile opens every old gate.
type routes struct {
	m      *shardMap // nil without a shard map
	gates  []*gate
	views  []*shardView // one per stage, the stage of records outside every shard last
	closed atomic.Int32 // gates shut: while none is, Put looks up no shard
}

// gateFor returns the gate of the shard that owns h, or nil for a hash
// outside every known shard (such records never wait).
func (rt *routes) gateFor(h hash128) *gate {
	if rt.closed.Load() == 0 {
		return nil
	}
	if rt.m == nil {
		return rt.gates[0]
	}
	if i := rt.m.find(h); i >= 0 {
		return rt.gates[i]
	}
	return nil
}
