package engine

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jpillora/backoff"
)

// pollTick is how often the pipeline looks again at records that wait for
// their shard's rate limit or for a retry's backoff.
const pollTick = 10 * time.Millisecond

// pipeline is the drain goroutine and everything it owns: the shard map, a
// stage per shard (its open aggregate, rate limiter and queue), the batch
// being built and the flush epochs. Routing happens here and nowhere else:
// which shard a record goes to, re-homing after a map change, splitting an
// aggregate into plain records. It never blocks on the sender or on one
// shard: a batch is built when a connection slot is free, from the stages
// that have records ready, and each call's results come back here.
type pipeline struct {
	cfg     *Config
	lim     limits
	backlog *backlog
	send    *sender
	report  *reporter
	routes  *atomic.Pointer[routes] // published for Put
	updates <-chan *shardMap        // new maps from the refresher
	refresh func()                  // asks the refresher for an early listing
	abort   context.Context         // ends when Shutdown gives up
	backoff backoff.Backoff
	done    chan struct{} // closed when the pipeline has finished

	shards *shardMap // nil without a shard map
	// stages has one stage per shard of the map (one without a map) and,
	// last, one for records whose hash falls outside every known shard.
	stages  []stage
	active  []int    // stages with queued records, in no order
	touched []*stage // scratch for adapt
	next    int      // where the next batch starts looking in active

	calls      int          // handed to the sender and not settled yet
	batch      []*aggregate // passed its limiter, waiting to be sent
	batchBytes int
	oldest     time.Time // creation of the oldest record in batch
	urgent     bool      // batch holds a retry or a flushed record: send it now

	queuedRecs, queuedBytes int // in every stage's queue
	maxRecs, maxBytes       int // beyond which no new records are taken

	// unsure are aggregates Kinesis stored on a shard the map does not
	// know, waiting for a listing, since unsureSince.
	unsure      []*aggregate
	unsureSince time.Time

	epoch    *epoch
	force    bool  // send batches however small until the queues are empty
	draining bool  // the backlog is closed: send everything and finish
	aborted  error // Shutdown's cause: fail everything left
}

func newPipeline(cfg *Config, lim limits, b *backlog, s *sender, r *reporter, rt *atomic.Pointer[routes],
	updates <-chan *shardMap, refresh func(), abort context.Context) *pipeline {
	return &pipeline{
		cfg: cfg, lim: lim, backlog: b, send: s, report: r, routes: rt, updates: updates,
		refresh: refresh, abort: abort, done: make(chan struct{}), epoch: newEpoch(),
		backoff: backoff.Backoff{Min: cfg.RetryBackoffMin, Max: cfg.RetryBackoffMax, Factor: 2, Jitter: true},
	}
}

// run is the drain goroutine. It ends when the backlog is closed and every
// record is acknowledged or failed.
func (p *pipeline) run() {
	defer close(p.done)
	period := p.cfg.FlushInterval
	if d := p.cfg.RecordMaxBufferedTime / 2; d > 0 && d < period {
		period = d
	}
	tick := time.NewTicker(period)
	defer tick.Stop()
	poll := time.NewTicker(pollTick)
	defer poll.Stop()
	lastFlush := time.Now()
	abortC := p.abort.Done()
	items := make([]record, 0, p.cfg.BacklogCount) // the spare backlog buffer
	for !p.finished() {
		// Take no new records while the queues hold all they may: the
		// backlog fills and Put blocks, which bounds memory.
		var ready <-chan struct{}
		if !p.draining && p.queuedRecs < p.maxRecs && p.queuedBytes < p.maxBytes {
			ready = p.backlog.ready
		}
		ticked := false
		var pollC <-chan time.Time
		if len(p.active) > 0 || len(p.unsure) > 0 {
			pollC = poll.C
		}
		select {
		case <-ready:
			var closed bool
			items, closed = p.backlog.take(items)
			p.report.stats.received.Add(int64(len(items)))
			if p.cfg.routesByHash() {
				hashRecords(items) // Put left the keys' hashes to this goroutine
			}
			for i := range items {
				p.take(&items[i])
			}
			clear(items) // let the records' data go
			if closed {
				p.draining = true
				p.flush()
			}
		case c := <-p.send.results:
			p.settle(c)
		case now := <-tick.C:
			ticked = true
			if now.Sub(lastFlush) >= p.cfg.FlushInterval-period/2 {
				p.flush()
				lastFlush = now
			} else {
				p.closeOlder(now.Add(-p.cfg.RecordMaxBufferedTime / 2))
			}
		case m := <-p.updates:
			if m == nil {
				// The listing found no change: the shards the map does
				// not know are not coming.
				p.settleUnsure(time.Now(), true)
			} else {
				p.swapMap(m)
			}
		case <-pollC:
		case <-abortC:
			abortC = nil
			p.abortAll(context.Cause(p.abort))
		}
		now := time.Now()
		p.settleUnsure(now, false)
		if p.draining {
			p.flush() // records sent again while stopping need no waiting
		}
		p.pump(now, ticked)
	}
}

// finished reports whether the pipeline may end: the backlog is closed and
// nothing is buffered, queued or in flight.
func (p *pipeline) finished() bool {
	if !p.draining || p.queuedRecs > 0 || len(p.batch) > 0 || p.calls > 0 || len(p.unsure) > 0 {
		return false
	}
	for i := range p.stages {
		if p.stages[i].agg != nil {
			return false
		}
	}
	return true
}

// take handles one item from the backlog: a record or a flush marker.
func (p *pipeline) take(r *record) {
	if r.marker != nil {
		p.report.stats.received.Add(-1) // counted with the records taken
		p.flush()
		p.nextEpoch(r.marker)
		return
	}
	p.add(r, time.Time{})
}

// add puts r into the aggregate of its shard. created, when not zero, is the
// time the record was first aggregated (kept when it is re-homed).
func (p *pipeline) add(r *record, created time.Time) {
	shard := 0
	if p.shards != nil {
		shard = p.shards.find(r.hash)
	}
	// aloneSize is below data plus key plus 100 bytes of framing.
	if shard < 0 || (len(r.data)+len(r.key)+100 > p.lim.size && aloneSize(r) > p.lim.size) {
		// Outside every known shard, or too big to share an aggregate:
		// the record goes out alone with its own key.
		a := newAggregate()
		a.add(r, &p.lim)
		a.created = stamp(created)
		p.emit(a, shard)
		return
	}
	st := &p.stages[shard]
	if st.agg != nil && st.agg.add(r, &p.lim) {
		if !created.IsZero() && created.Before(st.agg.created) {
			st.agg.created = created
		}
	} else {
		if st.agg != nil {
			p.emit(st.agg, shard)
		}
		st.agg = newAggregate()
		st.agg.useTables(&st.keys)
		st.agg.created = stamp(created)
		st.agg.add(r, &p.lim)
	}
	if len(st.agg.recs) >= p.lim.count {
		p.emit(st.agg, shard) // and the stage has no open aggregate
	}
}

func stamp(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now()
	}
	return t
}

// emit closes a, predicted for shard (-1 for none), and queues it in its
// stage.
func (p *pipeline) emit(a *aggregate, shard int) {
	if shard >= 0 && p.stages[shard].agg == a {
		p.stages[shard].agg = nil
	}
	a.pos = nil // the stage's tables go to its next aggregate
	a.shard, a.smap, a.epoch = shard, p.shards, p.epoch
	p.epoch.add(len(a.recs))
	switch {
	case a.plain():
		a.outerHash = a.plainHashKey()
	case p.shards != nil && shard >= 0:
		a.outerHash = p.shards.startKeys[shard]
	case a.hashIdx[0] != noIndex:
		a.outerHash = a.hashes[a.hashIdx[0]].String()
	}
	p.enqueue(a, false)
}

// stageOf returns the stage of a Kinesis record predicted with the current map.
func (p *pipeline) stageOf(a *aggregate) *stage {
	if a.shard < 0 {
		return &p.stages[len(p.stages)-1]
	}
	return &p.stages[a.shard]
}

// enqueue puts a, predicted with the current map, at the end of its stage's
// fresh records or of its retries, and closes the stage's gate when the
// stage is full.
func (p *pipeline) enqueue(a *aggregate, retry bool) {
	if p.aborted != nil {
		p.failAborted(a)
		return
	}
	st := p.stageOf(a)
	if retry {
		st.retries.push(a)
	} else {
		st.fresh.push(a)
	}
	size := a.size()
	st.view.records.Add(1)
	st.view.bytes.Add(int64(size))
	p.queuedRecs++
	p.queuedBytes += size
	if !st.active {
		st.active = true
		p.active = append(p.active, st.index)
	}
	if st.gate != nil && st.full() {
		st.gate.close()
	}
}

// dequeued accounts for a leaving st's queue, opening its gate when there
// is room again.
func (p *pipeline) dequeued(st *stage, a *aggregate) {
	size := a.size()
	st.view.records.Add(-1)
	st.view.bytes.Add(-int64(size))
	if st.queued() == 0 {
		st.view.heldBack.Store(false)
	}
	p.queuedRecs--
	p.queuedBytes -= size
	if st.gate != nil && st.gate.shut.Load() && !st.full() {
		st.gate.open()
	}
}

// flush closes every open aggregate and sends everything queued, however
// small the batches, as soon as the shards' rate limits allow.
func (p *pipeline) flush() {
	for i := range p.stages {
		if st := &p.stages[i]; st.agg != nil {
			p.emit(st.agg, i)
		}
	}
	p.force = true
}

// closeOlder closes the open aggregates created at or before cut. Ticking
// every half RecordMaxBufferedTime, it keeps every record's wait under that
// bound.
func (p *pipeline) closeOlder(cut time.Time) {
	for i := range p.stages {
		if st := &p.stages[i]; st.agg != nil && !st.agg.created.After(cut) {
			p.emit(st.agg, i)
		}
	}
}

// pump sends batches while a connection slot is free: full batches, and
// smaller ones when a flush asked for it, when they hold a retry, or, at a
// tick, when they hold a record older than half RecordMaxBufferedTime.
// Checking age only at ticks (every half RecordMaxBufferedTime) lets a
// batch gather what closes in the meantime instead of leaving with one
// aggregate, and keeps every record's wait under that bound.
func (p *pipeline) pump(now time.Time, tick bool) {
	aged := func() bool {
		return tick && p.cfg.RecordMaxBufferedTime > 0 && len(p.batch) > 0 &&
			!p.oldest.After(now.Add(-p.cfg.RecordMaxBufferedTime/2))
	}
	if aged() {
		p.urgent = true // goes with the next free connection
	}
	for p.send.free() {
		full := p.fill(now)
		if len(p.batch) == 0 {
			break
		}
		if aged() {
			p.urgent = true
		}
		if !full && !p.force && !p.urgent && !p.draining {
			break
		}
		p.dispatch(now)
	}
	if p.force && p.queuedRecs == 0 && len(p.batch) == 0 {
		p.force = false
	}
}

// fill moves records that are ready from the stages into the batch, taking
// turns among the stages, and reports whether the batch is full. A record is
// ready when it is due (retries wait for their backoff) and its shard's rate
// limit lets it through. Records past their time-to-live fail here, unsent.
func (p *pipeline) fill(now time.Time) (full bool) {
	n := len(p.active)
	if n == 0 {
		return len(p.batch) >= p.cfg.BatchCount
	}
	start := p.next % n
	p.next = start + 1
	for i := 0; i < n && !full; i++ {
		st := &p.stages[p.active[(start+i)%n]]
		for {
			a, q := st.head(now)
			if a == nil {
				break
			}
			if p.expired(a, now) {
				q.pop()
				p.dequeued(st, a)
				p.failExpired(a)
				continue
			}
			size := a.size()
			if len(p.batch) >= p.cfg.BatchCount || (len(p.batch) > 0 && p.batchBytes+size > p.cfg.BatchSize) {
				full = true
				break
			}
			if st.limit != nil && !st.limit.take(now, size) {
				p.report.stats.rateLimited.Add(1)
				st.view.heldBack.Store(true)
				if p.cfg.Metrics != nil {
					p.cfg.Metrics.RateLimited(st.view.id)
				}
				break
			}
			st.view.heldBack.Store(false)
			q.pop()
			p.dequeued(st, a)
			if len(p.batch) == 0 || a.created.Before(p.oldest) {
				p.oldest = a.created
			}
			p.batch = append(p.batch, a)
			p.batchBytes += size
			// A retry, or a record a flush asked for, does not wait for
			// the batch to fill.
			p.urgent = p.urgent || a.sends > 0 || a.epoch != p.epoch
		}
	}
	// Drop the stages left empty from the active list.
	kept := p.active[:0]
	for _, i := range p.active {
		if p.stages[i].queued() > 0 {
			kept = append(kept, i)
		} else {
			p.stages[i].active = false
		}
	}
	p.active = kept
	return full || len(p.batch) >= p.cfg.BatchCount
}

// dispatch hands the batch to the sender, in a slot known to be free.
func (p *pipeline) dispatch(now time.Time) {
	for _, a := range p.batch {
		if a.sends > 0 {
			p.report.stats.retries.Add(1)
			if p.cfg.Metrics != nil {
				p.cfg.Metrics.Retry(a.predictedShard())
			}
		}
		a.sends++
	}
	p.calls++
	p.send.send(p.batch, now)
	p.batch, p.batchBytes, p.urgent = make([]*aggregate, 0, p.cfg.BatchCount), 0, false
}

// settle handles the outcome of each Kinesis record of a finished call:
// acknowledged, failed for good, or queued again in its shard's stage.
func (p *pipeline) settle(c *call) {
	p.calls--
	now := time.Now()
	p.adapt(c, now)
	for _, a := range c.batch {
		switch {
		case a.result.err == nil:
			p.delivered(a)
		case p.aborted != nil:
			p.failAborted(a)
		default:
			p.failed(a, now)
		}
	}
}

// adapt tells the limiter of each shard in the call how many of its
// records Kinesis took and how many it throttled.
func (p *pipeline) adapt(c *call, now time.Time) {
	touched := p.touched[:0]
	note := func(ref shardRef, ok bool) {
		st := p.feedbackStage(ref)
		if st == nil || st.limit == nil {
			return
		}
		if st.answers == (answers{}) {
			touched = append(touched, st)
		}
		if ok {
			st.answers.ok++
		} else {
			st.answers.throttled++
		}
	}
	for _, ref := range c.acked {
		note(ref, true)
	}
	for _, a := range c.batch {
		if ok := a.result.err == nil; ok || a.result.throttled() {
			note(shardRef{a.smap, a.shard}, ok)
		}
	}
	for _, st := range touched {
		st.limit.answered(now, st.answers.ok, st.answers.throttled)
		st.publishRate()
		st.answers = answers{}
	}
	clear(touched)
	p.touched = touched[:0]
}

// feedbackStage returns the current stage of the shard a record was sent
// to, to tell its limiter how Kinesis answered, or nil.
func (p *pipeline) feedbackStage(ref shardRef) *stage {
	if ref.smap == nil || ref.shard < 0 {
		return nil
	}
	if ref.smap == p.shards {
		return &p.stages[ref.shard]
	}
	if i := p.shards.indexOf(ref.smap, ref.shard); i >= 0 {
		return &p.stages[i]
	}
	return nil
}

// delivered acknowledges a, unless Kinesis stored it on another shard than
// predicted (the map is stale) and that shard's range does not hold every
// one of its user records: a KCL 2.x consumer drops such an aggregate whole,
// so all of its user records are sent again.
func (p *pipeline) delivered(a *aggregate) {
	if a.landedAsPredicted() {
		p.report.acknowledge(a)
		return
	}
	want := a.predictedShard()
	p.report.stats.wrongShard.Add(1)
	if p.cfg.Verbose {
		p.cfg.Logger.Info("record landed on another shard than predicted", logValue("stream", p.report.stream),
			logValue("predicted", want), logValue("actual", a.result.shardID))
	}
	p.refresh()
	if a.plain() {
		p.report.acknowledge(a)
		return
	}
	if _, known := p.shards.index[a.result.shardID]; !known {
		// Whether a KCL consumer keeps it depends on the range of a shard
		// the map does not know yet: wait for the listing asked for.
		if len(p.unsure) == 0 {
			p.unsureSince = time.Now()
		}
		p.unsure = append(p.unsure, a)
		return
	}
	p.judge(a, false)
}

// judge acknowledges a misplaced aggregate whose shard (in the current map)
// holds all of its user records, and sends the records of any other again:
// in new aggregates, or plain when the map may still be stale.
func (p *pipeline) judge(a *aggregate, plain bool) {
	if p.holdsAll(a.result.shardID, a) {
		p.report.acknowledge(a)
		return
	}
	p.report.stats.resent.Add(int64(len(a.recs)))
	p.reroute(a, plain || a.smap == p.shards, true)
}

// unsureWait is how long a misplaced aggregate waits for a listing that
// tells the range of the shard it landed on; after that its records are
// sent again, as a KCL consumer may have dropped it.
const unsureWait = 3 * minRefreshGap

// settleUnsure decides on the misplaced aggregates waiting for a listing:
// those whose shard the map now knows, and all of them once they waited
// unsureWait (or when force is set).
func (p *pipeline) settleUnsure(now time.Time, force bool) {
	if len(p.unsure) == 0 {
		return
	}
	late := force || now.Sub(p.unsureSince) >= unsureWait
	kept := p.unsure[:0]
	for _, a := range p.unsure {
		if _, known := p.shards.index[a.result.shardID]; known || late {
			p.judge(a, !known)
			continue
		}
		kept = append(kept, a)
	}
	clear(p.unsure[len(kept):])
	p.unsure = kept
}

// holdsAll reports whether the shard id of the current map holds the hash
// of every user record of a.
func (p *pipeline) holdsAll(id string, a *aggregate) bool {
	i, ok := p.shards.index[id]
	if !ok {
		return false
	}
	for j := range a.recs {
		if h := a.routeHash(j); h.less(p.shards.starts[i]) || p.shards.ends[i].less(h) {
			return false
		}
	}
	return true
}

// failed handles a record whose call or entry failed: it fails for good,
// or waits for its backoff at the head of its stage. Throttling lowers the
// shard's rate and does not count toward MaxAttempts.
func (p *pipeline) failed(a *aggregate, now time.Time) {
	cause := a.result.err
	a.lastErr = cause
	throttle := a.result.throttled()
	n := 0
	if throttle {
		p.report.stats.throttled.Add(1)
		a.throttles++
		n = a.throttles
	} else {
		a.attempts++
		a.throttles = 0
		n = a.attempts
	}
	switch {
	case a.result.final:
		p.report.fail(a, fmt.Errorf("%w: %w", ErrNotRetryable, cause))
	case p.cfg.FailIfThrottled && throttle:
		p.report.fail(a, fmt.Errorf("%w: %w", ErrThrottled, cause))
	case p.cfg.MaxAttempts > 0 && a.attempts >= p.cfg.MaxAttempts:
		p.report.fail(a, fmt.Errorf("%w after %d attempts: %w", ErrAttemptsExhausted, a.sends, cause))
	case p.expired(a, now):
		p.failExpired(a)
	default:
		a.notBefore = now.Add(p.backoff.ForAttempt(float64(n - 1)))
		if p.cfg.RecordTTL > 0 {
			// Fail it when its time is up rather than after the backoff.
			if end := a.created.Add(p.cfg.RecordTTL); end.Before(a.notBefore) {
				a.notBefore = end
			}
		}
		p.retry(a)
	}
}

// retry queues a again, at the head of its shard's stage. Built with a map
// that has since been replaced, it keeps its place if its shard is still
// there; otherwise its user records go out plain, each to its shard.
func (p *pipeline) retry(a *aggregate) {
	if a.smap != p.shards {
		if a.plain() {
			a.smap, a.shard = p.shards, p.shards.find(a.routeHash(0))
		} else if i := p.shards.indexOf(a.smap, a.shard); i >= 0 {
			a.smap, a.shard = p.shards, i
		} else {
			p.split(a, true)
			return
		}
	}
	p.enqueue(a, true)
}

// split sends the user records of a as plain records, each predicted with
// the current map, keeping a's age, attempts and flush epoch. A plain
// record is stored where its own key says, so it cannot be misplaced.
func (p *pipeline) split(a *aggregate, retry bool) {
	for i := range a.recs {
		s := newAggregate()
		r := a.record(i)
		s.add(&r, &p.lim)
		s.created, s.attempts, s.lastErr, s.epoch, s.notBefore = a.created, a.attempts, a.lastErr, a.epoch, a.notBefore
		s.sends = a.sends
		s.outerHash = s.plainHashKey()
		s.shard, s.smap = -1, p.shards
		if p.shards != nil {
			s.shard = p.shards.find(s.routeHash(0))
		} else {
			s.shard = 0
		}
		p.enqueue(s, retry)
	}
	a.release()
}

// reroute sends the user records of a again through routing: into the open
// aggregates of their shards when a belongs to the current flush epoch and
// plain is not set, else as plain records (a FlushSync waiting for an
// earlier epoch must keep counting them).
func (p *pipeline) reroute(a *aggregate, plain, retry bool) {
	if plain || a.epoch != p.epoch || a.plain() {
		p.split(a, retry)
		return
	}
	a.epoch.complete(len(a.recs)) // counted again when emitted anew
	p.readd(a)
}

// readd puts the user records of a into the open aggregates of their
// shards, keeping their age, and frees a.
func (p *pipeline) readd(a *aggregate) {
	for i := range a.recs {
		r := a.record(i)
		p.add(&r, a.created)
	}
	a.release()
}

func (p *pipeline) expired(a *aggregate, now time.Time) bool {
	return p.cfg.RecordTTL > 0 && now.Sub(a.created) >= p.cfg.RecordTTL
}

func (p *pipeline) failExpired(a *aggregate) {
	if a.lastErr != nil {
		p.report.fail(a, fmt.Errorf("%w after %d attempts: %w", ErrRecordExpired, a.sends, a.lastErr))
		return
	}
	p.report.fail(a, fmt.Errorf("%w before it could be sent", ErrRecordExpired))
}

func (p *pipeline) failAborted(a *aggregate) {
	p.report.stats.aborted.Add(int64(len(a.recs)))
	p.report.fail(a, fmt.Errorf("%w after %d attempts", p.aborted, a.sends))
}

// abortAll fails every record not yet sent: Shutdown's deadline passed.
// Calls under way are cancelled with the same cause and fail when they
// come back.
func (p *pipeline) abortAll(cause error) {
	p.aborted = cause
	for i := range p.stages {
		st := &p.stages[i]
		if st.agg != nil {
			p.emit(st.agg, i) // fails at once
		}
		for _, q := range []*fifo{&st.retries, &st.fresh} {
			for _, a := range q.drain() {
				p.dequeued(st, a)
				p.failAborted(a)
			}
		}
		st.active = false
	}
	p.active = p.active[:0]
	for _, a := range p.batch {
		p.failAborted(a)
	}
	p.batch, p.batchBytes = p.batch[:0], 0
	// Kinesis stored these, but a KCL consumer may drop them: there is no
	// time left to find out or to send them again.
	for _, a := range p.unsure {
		p.failAborted(a)
	}
	p.unsure = nil
}

// nextEpoch seals the current epoch after a flush and starts the next, which
// waits for this one.
func (p *pipeline) nextEpoch(m *flushMarker) {
	old := p.epoch
	next := &epoch{done: make(chan struct{})}
	next.pending.Store(2) // its seal and its predecessor
	old.next = next
	p.epoch = next
	old.complete(1)
	if m.sealed != nil {
		m.sealed <- old
	}
}

// installMap makes m the current shard map (nil: none) with a stage per
// shard, and publishes its gates for Put. A shard that stays keeps its rate
// limiter, so that a refresh is no occasion for a burst. The caller re-homes
// what the old stages held.
func (p *pipeline) installMap(m *shardMap) {
	kept := make(map[string]*shardLimiter)
	if p.shards != nil {
		for i, id := range p.shards.ids {
			if l := p.stages[i].limit; l != nil {
				kept[id] = l
			}
		}
	}
	n := 1
	if m != nil {
		n = len(m.ids)
	}
	p.shards = m
	p.stages = make([]stage, n+1)
	p.active = p.active[:0]
	p.queuedRecs, p.queuedBytes = 0, 0
	rt := &routes{m: m, gates: make([]*gate, n), views: make([]*shardView, n+1)}
	now := time.Now()
	for i := range p.stages {
		st := &p.stages[i]
		st.index = i
		st.maxRecs, st.maxBytes = 2*p.cfg.BatchCount, 2*p.cfg.BatchSize
		st.view = &shardView{}
		if m != nil && i < n {
			st.view.id = m.ids[i]
		}
		rt.views[i] = st.view
		if i == n {
			continue // records outside every shard: never held back
		}
		st.gate = &gate{closed: &rt.closed}
		rt.gates[i] = st.gate
		if m != nil && p.cfg.RateLimit > 0 {
			st.limit = kept[m.ids[i]]
			if st.limit == nil {
				st.limit = newShardLimiter(p.cfg.RateLimit, now)
			}
			st.maxRecs, st.maxBytes = 2, 2*p.cfg.AggregateBatchSize
			st.publishRate()
		}
	}
	p.setBounds(n)
	old := p.routes.Swap(rt)
	if old != nil {
		for _, g := range old.gates {
			g.open() // waiting Puts look their record up again
		}
	}
}

// setBounds sets how much all stages may queue before the pipeline takes no
// new records: two full batches, enough to fill a connection as soon as one
// is free, or, with rate limits, about holdSeconds of the shards' ceiling,
// at most MaxConnections full batches. Queuing more would only hold memory
// while the connections are busy.
func (p *pipeline) setBounds(shards int) {
	p.maxRecs, p.maxBytes = 2*p.cfg.BatchCount, 2*p.cfg.BatchSize
	if p.shards != nil && p.cfg.RateLimit > 0 {
		f := float64(p.cfg.RateLimit) / 100 * holdSeconds * float64(shards)
		p.maxRecs = clamp(int(f*shardRecordsPerSecond), p.maxRecs, p.cfg.MaxConnections*p.cfg.BatchCount)
		p.maxBytes = clamp(int(f*shardBytesPerSecond), p.maxBytes, p.cfg.MaxConnections*p.cfg.BatchSize)
	}
}

func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }

// swapMap installs a new shard map and re-homes every record not yet sent:
// the open aggregates, the stages' queues and the batch. Records of a shard
// that stays keep their place; the others are aggregated anew for their
// new shards (or sent plain when they were tried before or belong to a
// sealed flush epoch). Nothing is lost or sent twice.
func (p *pipeline) swapMap(m *shardMap) {
	oldMap, oldStages, batch := p.shards, p.stages, p.batch
	p.batch, p.batchBytes, p.urgent = nil, 0, false
	p.installMap(m)
	p.report.stats.mapUpdates.Add(1)
	moved := 0
	home := func(a *aggregate, retry bool) {
		if a.plain() {
			a.smap, a.shard = m, m.find(a.routeHash(0))
			p.enqueue(a, retry)
			return
		}
		if a.smap != nil && a.shard >= 0 {
			if i := m.indexOf(a.smap, a.shard); i >= 0 {
				a.smap, a.shard = m, i
				p.enqueue(a, retry)
				return
			}
		}
		moved += len(a.recs)
		p.reroute(a, a.sends > 0, retry)
	}
	for _, a := range batch {
		home(a, a.sends > 0)
	}
	for i := range oldStages {
		st := &oldStages[i]
		for _, a := range st.retries.drain() {
			home(a, true)
		}
		for _, a := range st.fresh.drain() {
			home(a, false)
		}
	}
	for i := range oldStages {
		a := oldStages[i].agg
		if a == nil {
			continue
		}
		if j := m.indexOf(oldMap, i); j >= 0 {
			p.stages[j].agg = a
			continue
		}
		moved += len(a.recs)
		p.readd(a)
	}
	p.cfg.Logger.Info("shard map updated", logValue("stream", p.report.stream),
		logValue("shards", len(m.ids)), logValue("rehomed_records", moved))
}
