// Package measure is what the metrics adapters share: the failure reasons,
// the histogram buckets and the reading of the gauges from a producer's
// State, so that every adapter reports the same figures.
package measure

import (
	"errors"
	"time"

	"github.com/kplgo/producer/internal/engine"
)

// Reasons of a failure, as Reason returns them.
const (
	AttemptsExhausted = "attempts_exhausted"
	Expired           = "expired"
	Throttled         = "throttled"
	NotRetryable      = "not_retryable"
	StopDeadline      = "stop_deadline"
	Other             = "other"
)

// Reasons lists every value Reason returns.
var Reasons = []string{AttemptsExhausted, Expired, Throttled, NotRetryable, StopDeadline, Other}

// Reason is a short, bounded name for the error of a failure: the
// producer's error it wraps, or "other".
func Reason(err error) string {
	switch {
	case errors.Is(err, engine.ErrAttemptsExhausted):
		return AttemptsExhausted
	case errors.Is(err, engine.ErrRecordExpired):
		return Expired
	case errors.Is(err, engine.ErrThrottled):
		return Throttled
	case errors.Is(err, engine.ErrNotRetryable):
		return NotRetryable
	case errors.Is(err, engine.ErrStopDeadline):
		return StopDeadline
	}
	return Other
}

// Buckets returns the upper bounds of the buckets of the histogram
// measurement key, nil for a key that is no histogram.
func Buckets(key string) []float64 {
	switch key {
	case engine.MBuffering:
		// 1 ms to 8 s: RecordMaxBufferedTime (100 ms) and FlushInterval (5 s),
		// and the time a shard's rate limit holds a record back.
		return []float64{0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192}
	case engine.MUserRecordsPerKR:
		// 1 to 2048 user records, doubling: a 50 KiB aggregate holds about
		// 2,000 records of 10 bytes.
		return []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048}
	case engine.MAttempts:
		return []float64{1, 2, 3, 5, 8, 13}
	case engine.MRequestDuration:
		// The boundaries the OpenTelemetry semantic conventions give for
		// messaging.client.operation.duration.
		return []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}
	}
	return nil
}

// AlwaysByShard reports whether the gauge key is labelled by shard whatever
// the adapter's option: a shard's rate limit has no meaningful total.
func AlwaysByShard(key string) bool {
	switch key {
	case engine.MShardRateLimitRecs, engine.MShardRateLimitBytes, engine.MShardRateReason, engine.MShardRateAge:
		return true
	}
	return false
}

// ByShard reports whether measurement m is labelled by shard, with the
// adapter's option byShard. The settled user records and the PutRecords
// calls are not: their Metrics calls carry no shard.
func ByShard(m *engine.Measurement, byShard bool) bool {
	switch m.Key {
	case engine.MUserRecordsSent, engine.MRequestDuration:
		return false
	}
	return AlwaysByShard(m.Key) || (byShard && m.Shard)
}

// Keys lists the key of every measurement the adapters report: New of an
// adapter fails when engine.Measurements lacks one, or has another.
var Keys = []string{
	engine.MUserRecordsSent, engine.MKinesisRecordsPut, engine.MBytesPut, engine.MPutErrors, engine.MRetries,
	engine.MRateLimited, engine.MBuffering, engine.MUserRecordsPerKR, engine.MAttempts, engine.MRequestDuration,
	engine.MCallsInFlight, engine.MOutstanding, engine.MQueuedRecords, engine.MQueuedBytes, engine.MHeldBack,
	engine.MShardRateLimitRecs, engine.MShardRateLimitBytes, engine.MShardRateReason, engine.MShardRateAge,
}

// Read reads the gauges of s once, with one call of s.ShardStats and one of
// s.Stats, and calls emit for each value: key is the measurement's key,
// shard the shard id when the gauge is labelled by shard (ByShard), else "".
// It reads nothing for a nil s, nor before the producer starts (ShardStats
// is nil then): a gauge is absent rather than a figure of nothing.
//
// The queue gauges are the totals of Stats, or, with byShard, each shard's
// figures of ShardStats (held back per shard: its queued records when its
// rate limit holds it back now, else 0). The shard rate-limit gauges (the
// rate, why it last changed and how long ago) are read for each shard with
// a rate limit.
func Read(s engine.State, byShard bool, emit func(key, shard string, value float64)) {
	if s == nil {
		return
	}
	shards := s.ShardStats()
	if shards == nil {
		return
	}
	st := s.Stats()
	emit(engine.MCallsInFlight, "", float64(st.InFlight))
	emit(engine.MOutstanding, "", float64(st.Outstanding))
	if byShard {
		for _, q := range queues(shards) {
			emit(engine.MQueuedRecords, q.id, float64(q.records))
			emit(engine.MQueuedBytes, q.id, float64(q.bytes))
			emit(engine.MHeldBack, q.id, float64(q.held))
		}
	} else {
		emit(engine.MQueuedRecords, "", float64(st.QueuedRecords))
		emit(engine.MQueuedBytes, "", float64(st.QueuedBytes))
		emit(engine.MHeldBack, "", float64(st.HeldBack))
	}
	now := time.Now()
	rates := func(key string, rate func(*engine.ShardStats) float64) {
		seen := make(map[string]bool, len(shards))
		for i := range shards {
			sh := &shards[i]
			if sh.RateRecords != 0 && !seen[sh.ShardID] {
				seen[sh.ShardID] = true
				emit(key, sh.ShardID, rate(sh))
			}
		}
	}
	rates(engine.MShardRateLimitRecs, func(sh *engine.ShardStats) float64 { return sh.RateRecords })
	rates(engine.MShardRateLimitBytes, func(sh *engine.ShardStats) float64 { return sh.RateBytes })
	rates(engine.MShardRateReason, func(sh *engine.ShardStats) float64 { return float64(sh.RateReason) })
	rates(engine.MShardRateAge, func(sh *engine.ShardStats) float64 { return max(0, now.Sub(sh.RateChanged).Seconds()) })
}

// queue is what waits for one shard id.
type queue struct {
	id                   string
	records, bytes, held int64
}

// queues returns what waits for each shard id, in the order of shards, the
// entries that share an id added up (the entry of records outside every
// known shard and the shard of a producer without a map both have the id
// ""), so that no series is reported twice. held is the records of a shard
// whose rate limit holds it back now.
func queues(shards []engine.ShardStats) []queue {
	seen := make(map[string]int, len(shards))
	out := make([]queue, 0, len(shards))
	for _, sh := range shards {
		i, ok := seen[sh.ShardID]
		if !ok {
			i = len(out)
			seen[sh.ShardID] = i
			out = append(out, queue{id: sh.ShardID})
		}
		q := &out[i]
		q.records += sh.QueuedRecords
		q.bytes += sh.QueuedBytes
		if sh.HeldBack {
			q.held += sh.QueuedRecords
		}
	}
	return out
}
