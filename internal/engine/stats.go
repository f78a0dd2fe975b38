package engine

import (
	"math"
	"time"
)

// Stats is a snapshot of a producer's running totals.
type Stats struct {
	// UserRecordsPut is the number of user records Kinesis acknowledged.
	UserRecordsPut int64
	// UserRecordsFailed is the number of user records reported as failures.
	UserRecordsFailed int64
	// KinesisRecordsPut is the number of Kinesis records (aggregated or
	// plain) Kinesis acknowledged.
	KinesisRecordsPut int64
	// BytesPut is the data bytes of the acknowledged Kinesis records.
	BytesPut int64
	// Retries is the number of times a Kinesis record was sent again.
	Retries int64
	// Requests is the number of PutRecords calls made.
	Requests int64
	// InFlight is the number of PutRecords calls (with their retries) under
	// way now.
	InFlight int
	// Outstanding is the number of user records accepted by Put and not yet
	// acknowledged or failed.
	Outstanding int64
	// WrongShard is the number of Kinesis records Kinesis stored on another
	// shard than the shard map predicted.
	WrongShard int64
	// ShardMapUpdates is the number of times a new shard map replaced the
	// one Start listed (which is not counted).
	ShardMapUpdates int64
	// RateLimited is the number of times a shard's rate limit held a
	// Kinesis record back (a record that waits long is counted at each
	// look, about every 10 ms).
	RateLimited int64
	// Throttled is the number of Kinesis records Kinesis answered with
	// ProvisionedThroughputExceededException (each was tried again, unless
	// FailIfThrottled is set).
	Throttled int64
	// Resent is the number of user records sent again because Kinesis
	// stored their aggregate on a shard that does not hold all of them,
	// where a KCL consumer would drop it.
	Resent int64
	// UnknownFate is the number of user records sent again after a call
	// whose fate was unknown: no answer came (a dropped connection, a lost
	// answer, a timeout) or a 5xx one. Kinesis may have stored them, so
	// they may be stored twice; they are the only records that are.
	UnknownFate int64

	// The gauges below say what waits now.

	// QueuedRecords is the number of Kinesis records closed and waiting in
	// the shards' queues for their turn (a connection, the shard's rate, a
	// retry's backoff).
	QueuedRecords int64
	// QueuedBytes is the data bytes (partition keys included) of those
	// records.
	QueuedBytes int64
	// HeldBack is the number of those records waiting in the queues of
	// shards whose rate limit holds them back now.
	HeldBack int64
}

// ShardStats is what waits for one shard now, and the shard's rate limit.
type ShardStats struct {
	// ShardID is the shard's id; "" for the queue of a producer without a
	// shard map, and for records outside every shard the map knows.
	ShardID string
	// QueuedRecords, QueuedBytes: Kinesis records waiting for the shard, and
	// their bytes.
	QueuedRecords int64
	QueuedBytes   int64
	// HeldBack is set when the shard's rate limit holds its next record
	// back now.
	HeldBack bool
	// RateRecords and RateBytes are the shard's current rate limit, in
	// Kinesis records and bytes a second (it adapts to throttling, under
	// Config.RateLimit); 0 when rate limiting is off.
	RateRecords float64
	RateBytes   float64
	// RateReason says why the rate limit last changed (RateInitial before
	// any change, and when rate limiting is off), RateChanged when.
	RateReason  RateReason
	RateChanged time.Time
}

// Stats returns a snapshot of the producer's totals.
func (p *Producer) Stats() Stats {
	if p.cfgErr != nil {
		return Stats{}
	}
	s := &p.report.stats
	st := Stats{
		UserRecordsPut:    s.userRecordsPut.Load(),
		UserRecordsFailed: s.userRecordsFailed.Load(),
		KinesisRecordsPut: s.kinesisRecordsPut.Load(),
		BytesPut:          s.bytesPut.Load(),
		Retries:           s.retries.Load(),
		Requests:          s.requests.Load(),
		InFlight:          p.send.inFlight(),
		WrongShard:        s.wrongShard.Load(),
		ShardMapUpdates:   s.mapUpdates.Load(),
		RateLimited:       s.rateLimited.Load(),
		Throttled:         s.throttled.Load(),
		Resent:            s.resent.Load(),
		UnknownFate:       s.unknownFate.Load(),
	}
	st.Outstanding = max(0, int64(p.backlog.len())+s.received.Load()-st.UserRecordsPut-st.UserRecordsFailed)
	if rt := p.routes.Load(); rt != nil {
		for _, v := range rt.views {
			n := v.records.Load()
			st.QueuedRecords += n
			st.QueuedBytes += v.bytes.Load()
			if v.heldBack.Load() {
				st.HeldBack += n
			}
		}
	}
	return st
}

// ShardStats returns what waits for each shard of the current map now (one
// entry without a map), and, when records wait outside every known shard, an
// entry with an empty ShardID for them. It returns nil before Start.
func (p *Producer) ShardStats() []ShardStats {
	if p.cfgErr != nil {
		return nil
	}
	rt := p.routes.Load()
	if rt == nil {
		return nil
	}
	out := make([]ShardStats, 0, len(rt.views))
	for i, v := range rt.views {
		s := ShardStats{
			ShardID: v.id, QueuedRecords: v.records.Load(), QueuedBytes: v.bytes.Load(), HeldBack: v.heldBack.Load(),
			RateRecords: math.Float64frombits(v.rateRecs.Load()), RateBytes: math.Float64frombits(v.rateByts.Load()),
			RateReason: RateReason(v.rateWhy.Load()),
		}
		if at := v.rateAt.Load(); at != 0 {
			s.RateChanged = time.Unix(0, at)
		}
		if i == len(rt.views)-1 && s.QueuedRecords == 0 {
			continue // the stage of records outside every shard, empty
		}
		out = append(out, s)
	}
	return out
}

// Outstanding returns the number of user records accepted by Put and not yet
// acknowledged or failed, for back-pressure.
func (p *Producer) Outstanding() int64 {
	return p.Stats().Outstanding
}
