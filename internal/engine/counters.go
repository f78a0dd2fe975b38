package engine

import "sync/atomic"

// counters are the producer's running totals.
type counters struct {
	userRecordsPut    atomic.Int64
	userRecordsFailed atomic.Int64
	kinesisRecordsPut atomic.Int64
	bytesPut          atomic.Int64
	retries           atomic.Int64
	requests          atomic.Int64
	wrongShard        atomic.Int64
	mapUpdates        atomic.Int64
	aborted           atomic.Int64 // user records failed by Shutdown's deadline
	rateLimited       atomic.Int64 // Kinesis records held back by a shard's rate limit
	throttled         atomic.Int64 // Kinesis records Kinesis throttled
	resent            atomic.Int64 // user records sent again because KCL would drop their aggregate
	unknownFate       atomic.Int64 // user records sent again after a call with no answer
	received          atomic.Int64 // user records the drain goroutine took from the backlog
}
