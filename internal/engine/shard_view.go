package engine

import "sync/atomic"

// shardView is what a stage shows of itself to other goroutines (Stats,
// metrics read when scraped). The drain goroutine writes it; readers load it.
type shardView struct {
	id       string       // the shard's id; "" for the stage of a producer without a shard map
	records  atomic.Int64 // Kinesis records queued
	bytes    atomic.Int64 // their bytes (the stage's own count: shardSet.full reads it)
	heldBack atomic.Bool  // the rate limit refused the stage's next record at its last try
	rateRecs atomic.Uint64
	rateByts atomic.Uint64 // the limiter's current rates (float64 bits); 0 without one
	rateWhy  atomic.Uint32 // RateReason of the last change
	rateAt   atomic.Int64  // when the rate last changed, Unix nanoseconds
}
