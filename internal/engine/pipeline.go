package engine

import (
	"context"
	"sync/atomic"
	"time"
)

// pollTick is how often the pipeline looks again at records that wait for
// their shard's rate limit or for a retry's backoff.
const pollTick = 10 * time.Millisecond

// pipeline is the drain goroutine: the loop that takes records from the
// backlog, results from the sender and maps from the refresher, and hands
// each to the part that owns it. The parts are its own and touched by no
// other goroutine: the shard set (the stages of the current map and their
// bounds), the router (where each record goes, the open aggregates), the
// collector (the batch being built) and the retrier (the fate of each
// record after a call). It never blocks on the sender or on one shard.
type pipeline struct {
	cfg     *Config
	backlog *backlog
	send    *sender
	report  *reporter
	abort   context.Context // ends when Shutdown gives up
	done    chan struct{}   // closed when the pipeline has finished

	set     *shardSet
	route   *router
	collect *collector
	retry   *retrier

	draining bool // the backlog is closed: send everything and finish
}

func newPipeline(cfg *Config, lim limits, b *backlog, s *sender, r *reporter, rt *atomic.Pointer[routes],
	refresh func(), abort context.Context) *pipeline {
	set := newShardSet(cfg, rt)
	route := newRouter(set, r, lim, abort)
	return &pipeline{
		cfg: cfg, backlog: b, send: s, report: r, abort: abort, done: make(chan struct{}),
		set: set, route: route, collect: newCollector(cfg, set, r, s),
		retry: newRetrier(cfg, set, route, r, refresh, abort),
	}
}

// start installs the first shard map (nil for none), so that Put finds its
// gates once Start returns, and starts the drain goroutine, which owns the
// pipeline from then on and takes new maps from updates (nil for none).
func (p *pipeline) start(m *shardMap, updates <-chan *shardMap) {
	p.route.install(m, nil)
	go p.run(updates)
}

// run is the drain goroutine. It ends when the backlog is closed and every
// record is acknowledged or failed.
func (p *pipeline) run(updates <-chan *shardMap) {
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
		// Take no new records while the stages hold all they may: the
		// backlog fills and Put blocks, which bounds memory.
		var ready <-chan struct{}
		if !p.draining && p.set.room() {
			ready = p.backlog.ready
		}
		ticked := false
		var pollC <-chan time.Time
		if len(p.set.active) > 0 || p.retry.waiting() {
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
			p.collect.returned()
			p.retry.settle(c, time.Now())
		case now := <-tick.C:
			ticked = true
			if now.Sub(lastFlush) >= p.cfg.FlushInterval-period/2 {
				p.flush()
				lastFlush = now
			} else {
				p.route.closeOlder(now.Add(-p.cfg.RecordMaxBufferedTime / 2))
			}
		case m := <-updates:
			if m == nil {
				// The listing found no change: the shards the map does
				// not know are not coming.
				p.retry.settleUnsure(time.Now(), true)
			} else {
				p.swapMap(m)
			}
		case <-pollC:
		case <-abortC:
			abortC = nil
			p.abortAll(context.Cause(p.abort))
		}
		now := time.Now()
		p.retry.settleUnsure(now, false)
		if p.draining {
			p.flush() // records sent again while stopping need no waiting
		}
		p.route.closeReady(now)
		p.collect.pump(now, ticked, p.draining)
	}
}

// finished reports whether the pipeline may end: the backlog is closed and
// nothing is open, queued, in flight or waiting for a listing.
func (p *pipeline) finished() bool {
	return p.draining && p.set.queuedRecs == 0 && p.collect.idle() && !p.retry.waiting() && !p.route.anyOpen()
}

// take handles one item from the backlog: a record or a flush marker.
func (p *pipeline) take(r *record) {
	if r.marker != nil {
		p.report.stats.received.Add(-1) // counted with the records taken
		p.flush()
		p.route.nextEpoch(r.marker)
		return
	}
	p.route.add(r, time.Time{})
}

// flush closes every open aggregate and sends everything queued, however
// small the batches, as soon as the shards' rate limits allow.
func (p *pipeline) flush() {
	p.route.closeAll()
	p.collect.flush()
}

// swapMap installs a new shard map and re-homes every record not yet sent,
// the batch being built included (see router.install).
func (p *pipeline) swapMap(m *shardMap) {
	moved := p.route.install(m, p.collect.release())
	p.report.stats.mapUpdates.Add(1)
	p.cfg.Logger.Info("shard map updated", logValue("stream", p.report.stream),
		logValue("shards", len(m.ids)), logValue("rehomed_records", moved))
}

// abortAll fails every record not yet sent: Shutdown's deadline passed.
// Calls under way are cancelled with the same cause and fail when they
// come back.
func (p *pipeline) abortAll(cause error) {
	p.route.closeAll() // each fails at once
	for _, a := range p.set.drain() {
		p.report.failAborted(a, cause)
	}
	p.collect.abort(cause)
	p.retry.abortAll(cause)
}
