package producer

import "time"

// Per-shard write limits of Kinesis, which Config.RateLimit is a percentage of.
const (
	shardRecordsPerSecond = 1000
	shardBytesPerSecond   = 1 << 20
	// throttleTick is how often the drain goroutine releases records held
	// back by a shard's rate limit.
	throttleTick = 10 * time.Millisecond
)

// bucket is a token bucket that refills at rate tokens a second up to max.
type bucket struct {
	tokens, rate, max float64
}

func newBucket(rate float64) bucket { return bucket{tokens: rate, rate: rate, max: rate} }

func (b *bucket) refill(seconds float64) {
	b.tokens = min(b.max, b.tokens+seconds*b.rate)
}

// shardLimiter keeps one shard within RateLimit percent of its write limits,
// in Kinesis records and in bytes, like the KPL's per-shard limiter. Kinesis
// records it holds back wait in order in waiting. Only the drain goroutine
// uses it.
type shardLimiter struct {
	records, bytes bucket
	last           time.Time
	waiting        []*aggregate
}

func newShardLimiter(percent int, now time.Time) *shardLimiter {
	f := float64(percent) / 100
	return &shardLimiter{records: newBucket(f * shardRecordsPerSecond), bytes: newBucket(f * shardBytesPerSecond), last: now}
}

// take spends the tokens of one Kinesis record of size bytes if there are
// enough. A record larger than the byte bucket passes when the bucket is full
// (and leaves it in debt), so that no record waits forever.
func (l *shardLimiter) take(now time.Time, size int) bool {
	if s := now.Sub(l.last).Seconds(); s > 0 {
		l.records.refill(s)
		l.bytes.refill(s)
		l.last = now
	}
	need := min(float64(size), l.bytes.max)
	if l.records.tokens < 1 || l.bytes.tokens < need {
		return false
	}
	l.records.tokens--
	l.bytes.tokens -= float64(size)
	return true
}

// admit lets a through the shard's limit into the batch, or queues it
// behind the records already waiting.
func (p *Producer) admit(st *stage, a *aggregate) {
	l := st.limit
	if l == nil || (len(l.waiting) == 0 && l.take(time.Now(), a.size())) {
		p.toBatch(a)
		return
	}
	l.waiting = append(l.waiting, a)
	p.throttled++
	p.heldBytes += a.size()
	p.stats.rateLimited.Add(1)
}

// holdingTooMuch reports whether the records held back by the rate limits
// have reached about two seconds of the shards' allowance: the drain loop
// then takes no new records, so that Put blocks instead of memory growing
// and records expiring while they wait.
func (p *Producer) holdingTooMuch() bool {
	return p.throttled >= p.maxThrottled || p.heldBytes >= p.maxHeldBytes
}

// setHoldLimits sizes what may be held back for a map of shards shards.
func (p *Producer) setHoldLimits(shards int) {
	const seconds = 2
	f := float64(p.cfg.RateLimit) / 100 * seconds * float64(shards)
	p.maxThrottled = clamp(int(f*shardRecordsPerSecond), p.cfg.BatchCount, p.cfg.MaxConnections*p.cfg.BatchCount)
	p.maxHeldBytes = clamp(int(f*shardBytesPerSecond), p.cfg.BatchSize, p.cfg.MaxConnections*p.cfg.BatchSize)
}

func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }

// releaseWaiting moves the records whose shard has tokens again into the
// batch, or all of them when force is set (Shutdown gave up waiting).
// Records past their time-to-live go without tokens: the worker fails them
// unsent.
func (p *Producer) releaseWaiting(force bool) {
	if p.throttled == 0 {
		return
	}
	now := time.Now()
	for i := range p.stages {
		l := p.stages[i].limit
		if l == nil {
			continue
		}
		n := 0
		for n < len(l.waiting) && (force || p.expired(l.waiting[n], now) || l.take(now, l.waiting[n].size())) {
			p.heldBytes -= l.waiting[n].size()
			p.toBatch(l.waiting[n])
			n++
		}
		if n > 0 {
			clear(l.waiting[:n])
			l.waiting = l.waiting[n:]
			p.throttled -= n
		}
	}
	p.dispatch()
}
