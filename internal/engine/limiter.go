package engine

import (
	"math"
	"time"
)

// Per-shard write limits of Kinesis, which Config.RateLimit is a percentage of.
const (
	shardRecordsPerSecond = 1000
	shardBytesPerSecond   = 1 << 20
)

// holdSeconds is how much of a shard's current rate may wait in its queue
// before Put blocks for the shard's keys.
const holdSeconds = 2

// rateBurst is how much of its rate a shard's limiter lets go at once after
// a pause. A quarter of a second: a producer that was held up (a busy
// machine, a slow answer) and then sends a second's worth at once, as
// several producers sharing a shard may do together, would overrun the
// shard's own one-second burst.
const rateBurst = 250 * time.Millisecond

// The adaptive rate of a shard judges the shard by windows of its
// answers, never by one answer. A window closes after rateWindow once it
// holds rateWindowEntries answered Kinesis records, or no throttled one
// (good news needs no statistics), and after rateWindowMax in any case.
//
// A window is throttled when Kinesis refused more than rateSlack of its
// records by more than one standard deviation (so that one refusal among a
// few records is not taken for a trend). A throttled window cuts the rate,
// once: to what was sent in the window less the share throttled, that is
// toward the rate the shard accepted, and by at most half. The cut follows
// the share throttled rather than a fixed factor: producers sharing a shard
// are cut by what each saw, in proportion to their rates, and converge to
// equal shares, while a refusal now and then costs a small cut once a
// window, not one cut per answer.
//
// A shard that throttles while the limiter holds nothing back (the records
// offered stay under the rate) is cut only when it refuses at least
// rateUnheldShare of them, or rateSustainedShare on average over windows. Below that the refusals are not this producer's
// rate at work: it sends less than its limit, and cutting the limit under
// what it sends would only hold back records the shard mostly takes; such
// throttles, from another writer or a Kinesis hiccup, are retried. A shard
// that refuses a large share, hot or shared, is cut either way.
//
// A window that was not throttled, while records waited for the limiter,
// raises the rate by an additive probe of rateProbe of the ceiling. The
// probe doubles, up to rateProbeMax, while the shard takes everything or
// throttles no more than before the last raise (the throttles did not
// rise with the rate), and up to rateRecoverMax while the rate is below
// half of what it was when the shard last filled (after a hot spell), so
// that a full shard is approached gently and a recovered one regained in
// seconds. The rate starts at one shard's capacity (or the ceiling, when
// lower) and stays between rateFloor and 1 of the ceiling.
const (
	rateWindow        = time.Second
	rateWindowMax     = 3 * time.Second
	rateWindowEntries = 10
	rateSlack         = 0.01
	rateUnheldShare   = 0.3
	// rateSustainedShare is the average share throttled (over windows,
	// each weighing rateAverage) that cuts the rate even while the limit
	// holds nothing back: throttling that lasts is the shard's limit.
	rateSustainedShare = 0.12
	rateAverage        = 0.3
	// rateCutKept is the share of the throttling that caused a cut which,
	// still there after it, shows the cut did not answer it.
	rateCutKept    = 0.7
	rateMaxCut     = 0.5
	rateProbe      = 0.01
	rateProbeMax   = 0.02
	rateRecoverMax = 0.16
	rateFloor      = 0.05
)

// bucket is a token bucket that refills at rate tokens a second up to max.
type bucket struct {
	tokens, rate, max float64
}

func (b *bucket) refill(seconds float64) {
	b.tokens = min(b.max, b.tokens+seconds*b.rate)
}

// setRate changes the rate and the burst (rateBurst of the rate), keeping
// the tokens already there up to the new burst.
func (b *bucket) setRate(rate float64) {
	b.rate, b.max = rate, rate*rateBurst.Seconds()
	b.tokens = min(b.tokens, b.max)
}

// rateWindowCounts is what one window of a shard's traffic saw.
type rateWindowCounts struct {
	start         time.Time
	ok, throttled int     // Kinesis records answered
	sentRecs      int     // Kinesis records taken from the buckets
	sentBytes     float64 // and their bytes
	held          bool    // a record waited for tokens
}

// shardLimiter keeps one shard within its write limits, in Kinesis records
// and in bytes, like the KPL's per-shard limiter, and adapts the rate to
// what the shard accepts (see rateWindow): Config.RateLimit is its ceiling.
// The shard set owns it, in the shard's stage.
type shardLimiter struct {
	records, bytes   bucket
	ceilRecs, ceilBy float64 // the rates at factor 1
	factor           float64 // of the ceiling, rateFloor..1
	last             time.Time
	win              rateWindowCounts
	step             float64 // the next probe, of the ceiling
	filled           float64 // the factor when the shard last began to throttle
	lastShare        float64 // throttled in the last window
	avgShare         float64 // throttled, averaged over windows
	cutShare         float64 // throttled in the window that made the last cut
	reason           RateReason
	changed          time.Time // when the rate last changed
}

func newShardLimiter(percent int, now time.Time) *shardLimiter {
	f := float64(percent) / 100
	l := &shardLimiter{ceilRecs: f * shardRecordsPerSecond, ceilBy: f * shardBytesPerSecond, factor: min(1, 1/f),
		last: now, step: rateProbe, changed: now}
	l.win.start = now
	l.records.tokens, l.bytes.tokens = math.Inf(1), math.Inf(1)
	l.records.setRate(l.factor * l.ceilRecs)
	l.bytes.setRate(l.factor * l.ceilBy)
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
		l.win.held = true
		return false
	}
	l.records.tokens--
	l.bytes.tokens -= float64(size)
	l.win.sentRecs++
	l.win.sentBytes += float64(size)
	return true
}

// answered counts what Kinesis said of the shard's records in one call: ok
// acknowledged, throttled refused for the shard's limit; and judges the
// window when it is complete.
func (l *shardLimiter) answered(now time.Time, ok, throttled int) {
	l.win.ok += ok
	l.win.throttled += throttled
	n := l.win.ok + l.win.throttled
	age := now.Sub(l.win.start)
	switch {
	case n == 0:
		if age >= rateWindowMax {
			l.win = rateWindowCounts{start: now}
		}
		return
	case age >= rateWindowMax,
		age >= rateWindow && (n >= rateWindowEntries || l.win.throttled == 0):
	default:
		return
	}
	l.judge(now, age)
	l.win = rateWindowCounts{start: now}
}

// judge closes the window: it cuts the rate, raises it or leaves it.
func (l *shardLimiter) judge(now time.Time, age time.Duration) {
	w := &l.win
	n := float64(w.ok + w.throttled)
	share := float64(w.throttled) / n
	// What was sent, as a share of the ceiling in the unit that binds; at
	// most the rate, so that the burst of a full bucket does not count.
	sent := min(l.factor, max(float64(w.sentRecs)/l.ceilRecs, w.sentBytes/l.ceilBy)/age.Seconds())
	l.avgShare += rateAverage * (share - l.avgShare)
	heavy := share >= rateUnheldShare || l.avgShare >= rateSustainedShare
	if share > rateSlack+math.Sqrt(rateSlack*(1-rateSlack)/n) && (w.held || heavy) {
		if l.reason == RateThrottled && share >= rateCutKept*l.cutShare && !heavy {
			// The last cut did not lower the share throttled: these
			// throttles may not answer the rate; wait a window.
			l.lastShare = share
			return
		}
		l.cutShare = share
		if l.reason != RateThrottled {
			l.filled = l.factor
		}
		l.step, l.lastShare = rateProbe, share
		l.set(now, sent*max(rateMaxCut, 1-share), RateThrottled)
		// The shard is over its limit now: spend no burst saved before.
		l.records.tokens = min(l.records.tokens, 0)
		l.bytes.tokens = min(l.bytes.tokens, 0)
		return
	}
	// Throttles that did not rise with the last raise were not caused by
	// it: the next raise may be larger.
	steady := share <= rateSlack/2 || (l.reason == RateProbe && share <= l.lastShare+rateSlack/2)
	l.lastShare = share
	if !steady {
		l.step = rateProbe
	}
	if !w.held || l.factor >= 1 {
		return
	}
	l.set(now, l.factor+l.step, RateProbe)
	if steady {
		limit := rateProbeMax
		if l.factor < l.filled/2 {
			limit = rateRecoverMax
		}
		l.step = min(limit, 2*l.step)
	}
}

// set changes the rate to factor of the ceiling, for reason.
func (l *shardLimiter) set(now time.Time, factor float64, reason RateReason) {
	l.advance(now)
	l.factor = min(1, max(rateFloor, factor))
	l.reason, l.changed = reason, now
	l.records.setRate(l.factor * l.ceilRecs)
	l.bytes.setRate(l.factor * l.ceilBy)
}

// rate returns the current rate in Kinesis records and bytes a second.
func (l *shardLimiter) rate() (records, bytes float64) { return l.records.rate, l.bytes.rate }
