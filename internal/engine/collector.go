package engine

import "time"

// caller is what the collector needs of the sender: whether a connection
// slot is free, and a PutRecords call for a batch in one.
type caller interface {
	free() bool
	send(batch []*aggregate, now time.Time)
}

// collector builds PutRecords batches from the stages that have records
// ready, taking turns among them, and hands each batch to the sender while
// a connection slot is free: full batches, and smaller ones when a flush
// asked for it, when they hold a retry or a flushed record, or, at a tick,
// when they hold a record older than half RecordMaxBufferedTime. A record
// is ready when it is due (retries wait for their backoff) and its shard's
// rate limit lets it through; one past its time-to-live fails here, unsent.
// With OrderPerKey a batch takes at most one record of each shard, and only
// from a shard whose lane is free; it goes as soon as a slot is.
// The drain goroutine owns it.
type collector struct {
	cfg    *Config
	set    *shardSet
	report *reporter
	out    caller

	batch      []*aggregate // passed its limiter, waiting to be sent
	batchBytes int
	oldest     time.Time // creation of the oldest record in batch
	urgent     bool      // batch holds a retry or a flushed record: send it now
	force      bool      // send batches however small until the queues are empty
	next       int       // where the next batch starts looking in set.active
	calls      int       // handed to the sender and not settled yet
}

func newCollector(cfg *Config, set *shardSet, report *reporter, out caller) *collector {
	return &collector{cfg: cfg, set: set, report: report, out: out}
}

// flush makes the collector send everything queued, however small the
// batches, until the queues are empty.
func (c *collector) flush() { c.force = true }

// returned accounts for a call the sender brought back.
func (c *collector) returned() { c.calls-- }

// idle reports whether the collector holds nothing and no call is out.
func (c *collector) idle() bool { return len(c.batch) == 0 && c.calls == 0 }

// release gives up the batch, unsent, for re-homing after a map change.
func (c *collector) release() []*aggregate {
	b := c.batch
	for _, a := range b {
		a.resolve() // queued again ahead of the rest of its shard
	}
	c.batch, c.batchBytes, c.urgent = nil, 0, false
	return b
}

// abort fails the batch: Shutdown's deadline passed.
func (c *collector) abort(cause error) {
	for _, a := range c.batch {
		a.resolve()
		c.report.failAborted(a, cause)
	}
	clear(c.batch)
	c.batch, c.batchBytes = c.batch[:0], 0
}

// pump sends batches while a connection slot is free. Checking age only at
// ticks (every half RecordMaxBufferedTime) lets a batch gather what closes
// in the meantime instead of leaving with one aggregate, and keeps every
// record's wait under that bound. While draining, nothing waits.
func (c *collector) pump(now time.Time, tick, draining bool) {
	aged := func() bool {
		return tick && c.cfg.RecordMaxBufferedTime > 0 && len(c.batch) > 0 &&
			!c.oldest.After(now.Add(-c.cfg.RecordMaxBufferedTime/2))
	}
	if aged() {
		c.urgent = true // goes with the next free connection
	}
	for c.out.free() {
		full := c.fill(now)
		if len(c.batch) == 0 {
			break
		}
		if aged() {
			c.urgent = true
		}
		if !full && !c.force && !c.urgent && !draining {
			break
		}
		c.dispatch(now)
	}
	if c.force && c.set.queuedRecs == 0 && len(c.batch) == 0 {
		c.force = false
	}
}

// fill moves records that are ready from the stages into the batch, taking
// turns among the stages, and reports whether the batch is full.
func (c *collector) fill(now time.Time) (full bool) {
	active := c.set.active
	n := len(active)
	if n == 0 {
		return len(c.batch) >= c.cfg.BatchCount
	}
	start := c.next % n
	c.next = start + 1
	for i := 0; i < n && !full; i++ {
		st := &c.set.stages[active[(start+i)%n]]
		for {
			a, q := st.head(now)
			if a == nil {
				break
			}
			if a.expired(c.cfg.RecordTTL, now) {
				c.set.pop(st, q)
				c.report.failExpired(a)
				continue
			}
			size := a.size()
			if len(c.batch) >= c.cfg.BatchCount || (len(c.batch) > 0 && c.batchBytes+size > c.cfg.BatchSize) {
				full = true
				break
			}
			if st.limit != nil && !st.limit.take(now, size) {
				c.report.stats.rateLimited.Add(1)
				st.view.heldBack.Store(true)
				if c.cfg.Metrics != nil {
					c.cfg.Metrics.RateLimited(st.view.id)
				}
				break
			}
			st.view.heldBack.Store(false)
			c.set.pop(st, q)
			if len(c.batch) == 0 || a.created.Before(c.oldest) {
				c.oldest = a.created
			}
			c.batch = append(c.batch, a)
			c.batchBytes += size
			// A retry, or a record a flush asked for, does not wait for
			// the batch to fill.
			c.urgent = c.urgent || a.sends > 0 || a.epoch.sealed()
			if st.lane != nil {
				// One record a shard until it is resolved; it goes at once,
				// as its shard sends nothing else meanwhile.
				a.lane = st.lane
				st.lane.hold()
				c.urgent = true
				break
			}
		}
	}
	c.set.prune()
	return full || len(c.batch) >= c.cfg.BatchCount
}

// dispatch hands the batch to the sender, in a slot known to be free.
func (c *collector) dispatch(now time.Time) {
	for _, a := range c.batch {
		if a.sends > 0 {
			c.report.stats.retries.Add(1)
			if c.cfg.Metrics != nil {
				c.cfg.Metrics.Retry(a.predictedShard())
			}
		}
		a.sends++
	}
	c.calls++
	c.out.send(c.batch, now)
	c.batch, c.batchBytes, c.urgent = make([]*aggregate, 0, c.cfg.BatchCount), 0, false
}
