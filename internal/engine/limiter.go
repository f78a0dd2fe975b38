package engine

import "time"

// Per-shard write limits of Kinesis, which Config.RateLimit is a percentage of.
const (
	shardRecordsPerSecond = 1000
	shardBytesPerSecond   = 1 << 20
)

// The adaptive rate of a shard: a throttled answer multiplies the rate by
// rateCut (at most once per round trip). While records wait for the limiter,
// every rateRaiseEvery without a throttled answer raises it: by rateRaise of
// the ceiling within rateProbeAfter of the last cut, where the shard's
// capacity was just found, and by rateProbe times after that, to find spare
// capacity quickly. The rate stays between rateFloor and 1 of the ceiling.
// Producers sharing a shard are each throttled often enough to stay in the
// slow additive mode, so together they hover just under its capacity.
const (
	rateCut        = 0.85
	rateRaise      = 0.005
	rateProbe      = 1.1
	rateProbeAfter = time.Second
	rateRaiseEvery = 100 * time.Millisecond
	rateFloor      = 0.05
	// holdSeconds is how much of a shard's current rate may wait in its
	// queue before Put blocks for the shard's keys.
	holdSeconds = 2
)

// bucket is a token bucket that refills at rate tokens a second up to max.
type bucket struct {
	tokens, rate, max float64
}

func (b *bucket) refill(seconds float64) {
	b.tokens = min(b.max, b.tokens+seconds*b.rate)
}

// setRate changes the rate and the burst (one second of the rate), keeping
// the tokens already there up to the new burst.
func (b *bucket) setRate(rate float64) {
	b.rate, b.max = rate, rate
	b.tokens = min(b.tokens, b.max)
}

// shardLimiter keeps one shard within its write limits, in Kinesis records
// and in bytes, like the KPL's per-shard limiter, and adapts: Config.RateLimit
// is its ceiling, a throttled answer lowers the rate and time without one
// raises it back (additive increase, multiplicative decrease), so that
// several producers writing to one shard settle on its capacity instead of
// storming it. The pipeline owns it, in the shard's stage.
type shardLimiter struct {
	records, bytes   bucket
	ceilRecs, ceilBy float64 // the rates at factor 1
	factor           float64 // of the ceiling, rateFloor..1
	last             time.Time
	lastCut          time.Time // when the rate was last lowered
	lastRaise        time.Time
	blocked          bool // a record waited for tokens since the last raise
}

func newShardLimiter(percent int, now time.Time) *shardLimiter {
	f := float64(percent) / 100
	l := &shardLimiter{ceilRecs: f * shardRecordsPerSecond, ceilBy: f * shardBytesPerSecond, factor: 1, last: now, lastRaise: now}
	l.records = bucket{tokens: l.ceilRecs, rate: l.ceilRecs, max: l.ceilRecs}
	l.bytes = bucket{tokens: l.ceilBy, rate: l.ceilBy, max: l.ceilBy}
	return l
}

func (l *shardLimiter) advance(now time.Time) {
	if s := now.Sub(l.last).Seconds(); s > 0 {
		l.records.refill(s)
		l.bytes.refill(s)
		l.last = now
	}
}

// take spends the tokens of one Kinesis record of size bytes if there are
// enough. A record larger than the byte bucket passes when the bucket is full
// (and leaves it in debt), so that no record waits forever.
func (l *shardLimiter) take(now time.Time, size int) bool {
	l.advance(now)
	need := min(float64(size), l.bytes.max)
	if l.records.tokens < 1 || l.bytes.tokens < need {
		l.blocked = true
		return false
	}
	l.records.tokens--
	l.bytes.tokens -= float64(size)
	return true
}

// answered adapts the rate to what Kinesis said of the shard's records in
// one call sent at sent: ok acknowledged, throttled refused for the
// shard's limit. A throttled answer cuts the rate, the deeper the larger
// the share throttled (by rateCut for a few, by half for all), unless the
// call left before the last cut: it says nothing about the lowered rate.
// Acknowledged records raise it, when records have been waiting for the
// limiter and nothing was throttled for rateRaiseEvery.
func (l *shardLimiter) answered(now, sent time.Time, ok, throttled int) {
	if throttled == 0 {
		if ok > 0 {
			l.raise(now)
		}
		return
	}
	if sent.Before(l.lastCut) {
		return
	}
	share := float64(throttled) / float64(ok+throttled)
	l.advance(now)
	l.factor = max(rateFloor, l.factor*max(0.5, min(rateCut, 1-share/2)))
	l.lastCut, l.lastRaise = now, now
	l.apply()
	// The shard is over its limit now: spend no burst saved before.
	l.records.tokens = min(l.records.tokens, 0)
	l.bytes.tokens = min(l.bytes.tokens, 0)
}

func (l *shardLimiter) raise(now time.Time) {
	if l.factor >= 1 || !l.blocked || now.Sub(l.lastRaise) < rateRaiseEvery {
		return
	}
	l.advance(now)
	if now.Sub(l.lastCut) < rateProbeAfter {
		l.factor = min(1, l.factor+rateRaise)
	} else {
		l.factor = min(1, max(l.factor*rateProbe, l.factor+rateRaise))
	}
	l.lastRaise, l.blocked = now, false
	l.apply()
}

func (l *shardLimiter) apply() {
	l.records.setRate(l.factor * l.ceilRecs)
	l.bytes.setRate(l.factor * l.ceilBy)
}

// rate returns the current rate in Kinesis records and bytes a second.
func (l *shardLimiter) rate() (records, bytes float64) { return l.records.rate, l.bytes.rate }
