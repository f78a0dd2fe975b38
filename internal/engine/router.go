package engine

import (
	"context"
	"time"
)

// router decides where each user record goes: the shard of its hash in the
// shard set's current map, and the aggregate open for that shard. It closes
// aggregates into their stages, re-homes what was built with an earlier map
// (home), and turns an aggregate back into user records when its shard is
// gone. It keeps the flush epoch that new aggregates count toward. The
// drain goroutine owns it.
type router struct {
	set    *shardSet
	report *reporter
	abort  context.Context // once it ends, what would be queued fails instead
	lim    limits          // what an aggregate holds before it closes
	grow   limits          // what an open aggregate may hold: lim, or with OrderPerKey up to MaxRecordSize
	order  bool            // OrderPerKey: nothing newer of a shard overtakes what is older
	open   []*aggregate    // per stage of set: the aggregate being filled, or nil
	tables []keyTables     // per stage: lent to its open aggregate (see useTables)
	epoch  *epoch          // the flush epoch new aggregates count toward
}

func newRouter(set *shardSet, report *reporter, lim limits, abort context.Context) *router {
	rt := &router{set: set, report: report, lim: lim, grow: lim, abort: abort, epoch: newEpoch()}
	if set.cfg.ordered() {
		// A shard sends one Kinesis record a round trip: what arrives
		// meanwhile joins the open aggregate, up to a whole record.
		rt.order = true
		rt.grow.size = lim.recordMax
	}
	return rt
}

// install makes m the shard set's map and re-homes every record not yet
// sent: batch (records past their limiter, not sent), the replaced stages'
// queues and the open aggregates. Records of a shard that stays keep their
// place; the others are aggregated anew for their new shards, or sent plain
// when they were tried before or belong to a sealed flush epoch. Nothing is
// lost or sent twice. It returns how many user records changed aggregate.
func (rt *router) install(m *shardMap, batch []*aggregate) (moved int) {
	oldMap, oldOpen := rt.set.m, rt.open
	oldStages := rt.set.install(m)
	rt.open = make([]*aggregate, len(rt.set.stages))
	rt.tables = make([]keyTables, len(rt.set.stages))
	for _, a := range batch {
		moved += rt.home(a, a.sends > 0)
	}
	for i := range oldStages {
		st := &oldStages[i]
		for _, a := range st.retries.drain() {
			moved += rt.home(a, true)
		}
		for _, a := range st.fresh.drain() {
			moved += rt.home(a, false)
		}
	}
	for i, a := range oldOpen {
		if a == nil {
			continue
		}
		if j := m.indexOf(oldMap, i); j >= 0 {
			rt.open[j] = a
			continue
		}
		moved += len(a.recs)
		if rt.order {
			// Closed as emit would, then divided behind the queued
			// records of its keys' shards, in order.
			a.pos, a.epoch = nil, rt.epoch
			rt.epoch.add(len(a.recs))
			rt.divide(a, false)
		} else {
			rt.readd(a)
		}
	}
	return moved
}

// shardOf returns the index of the shard that owns h in the current map: 0
// without a map, -1 outside every known shard.
func (rt *router) shardOf(h hash128) int {
	if rt.set.m == nil {
		return 0
	}
	return rt.set.m.find(h)
}

// add puts r into the open aggregate of its shard. created, when not zero,
// is the time the record was first aggregated (kept when it is re-homed).
func (rt *router) add(r *record, created time.Time) {
	shard := rt.shardOf(r.hash)
	// aloneSize is below data plus key plus 100 bytes of framing.
	if shard < 0 || (len(r.data)+len(r.key)+100 > rt.lim.size && aloneSize(r) > rt.lim.size) {
		// Outside every known shard, or too big to share an aggregate:
		// the record goes out alone with its own key, after what its
		// shard holds open when order is kept.
		if rt.order && shard >= 0 && rt.open[shard] != nil {
			rt.emit(rt.open[shard], shard)
		}
		a := newAggregate()
		a.add(r, &rt.lim)
		a.created = stamp(created)
		rt.emit(a, shard)
		return
	}
	a := rt.open[shard]
	if a != nil && a.add(r, &rt.grow) {
		if !created.IsZero() && created.Before(a.created) {
			a.created = created
		}
	} else {
		if a != nil {
			rt.emit(a, shard)
		}
		a = newAggregate()
		a.useTables(&rt.tables[shard])
		a.created = stamp(created)
		a.add(r, &rt.grow)
		rt.open[shard] = a
	}
	if len(a.recs) >= rt.lim.count {
		rt.emit(a, shard) // and the shard has no open aggregate
	}
}

func stamp(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now()
	}
	return t
}

// emit closes a, predicted for shard (-1 for none), and queues it.
func (rt *router) emit(a *aggregate, shard int) {
	if shard >= 0 && rt.open[shard] == a {
		rt.open[shard] = nil
	}
	a.pos = nil // the shard's tables go to its next aggregate
	a.epoch = rt.epoch
	rt.epoch.add(len(a.recs))
	rt.predict(a, shard)
	rt.queue(a, false)
}

// predict records that a, closed, goes to shard of the current map (-1 for
// none) and gives it the explicit hash key that sends it there: its own
// record's when plain, else the shard's starting key, else (without a
// shard) its first record's explicit hash key, if any.
func (rt *router) predict(a *aggregate, shard int) {
	m := rt.set.m
	a.smap, a.shard = m, shard
	switch {
	case a.plain():
		a.outerHash = a.plainHashKey()
	case m != nil && shard >= 0:
		a.outerHash = m.startKeys[shard]
	case a.hashIdx[0] != noIndex:
		a.outerHash = a.hashes[a.hashIdx[0]].String()
	}
}

// queue puts a, predicted with the current map, into its stage: at the end
// of its retries or of its fresh records. After Shutdown's deadline it
// fails instead.
func (rt *router) queue(a *aggregate, retry bool) {
	if cause := aborted(rt.abort); cause != nil {
		rt.report.failAborted(a, cause)
		return
	}
	rt.set.push(a, retry)
}

// aborted returns the cause ctx ended with, or nil while it has not.
func aborted(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	default:
		return nil
	}
}

// home queues a, a closed Kinesis record, under the current map: as it is
// when it was predicted with this map or its shard is still there, in its
// own key's shard when it is plain, and otherwise by routing its user
// records anew (see reroute), whose number it then returns.
func (rt *router) home(a *aggregate, retry bool) (moved int) {
	if m := rt.set.m; a.smap != m {
		kept := -1 // a's shard in m
		if !a.plain() && a.smap != nil && a.shard >= 0 {
			kept = m.indexOf(a.smap, a.shard)
		}
		switch {
		case a.plain():
			a.smap, a.shard = m, rt.shardOf(a.routeHash(0))
		case kept >= 0:
			a.smap, a.shard = m, kept
		default:
			moved = len(a.recs)
			rt.reroute(a, a.sends > 0, retry)
			return moved
		}
	}
	rt.queue(a, retry)
	return 0
}

// reroute sends the user records of a again through routing: into the open
// aggregates of their shards when a belongs to the current flush epoch and
// plain is not set, else as plain records (a FlushSync waiting for an
// earlier epoch must keep counting them).
//
// With OrderPerKey the records go ahead of what is newer in their shards:
// divided among their shards' queues when the map changed since a was
// predicted, else (the map is stale) plain.
func (rt *router) reroute(a *aggregate, plain, retry bool) {
	if rt.order {
		if a.plain() || a.smap == rt.set.m {
			rt.split(a, retry)
		} else {
			rt.divide(a, retry)
		}
		return
	}
	if plain || a.epoch.sealed() || a.plain() {
		rt.split(a, retry)
		return
	}
	a.epoch.complete(len(a.recs)) // counted again when emitted anew
	rt.readd(a)
}

// split sends the user records of a as plain records, each predicted with
// the current map, keeping a's age, attempts and flush epoch. A plain
// record is stored where its own key says, so it cannot be misplaced.
func (rt *router) split(a *aggregate, retry bool) {
	for i := range a.recs {
		s := newAggregate()
		r := a.record(i)
		s.add(&r, &rt.lim)
		s.keepFate(a)
		rt.predict(s, rt.shardOf(s.routeHash(0)))
		rt.queue(s, retry)
	}
	a.release()
}

// divide queues the user records of a, in order, in new aggregates for
// their shards in the current map, one or more a shard, each keeping a's
// age, attempts and flush epoch: at the end of the shards' retries, or of
// their fresh records.
func (rt *router) divide(a *aggregate, retry bool) {
	parts := make(map[int]*aggregate)
	for i := range a.recs {
		r := a.record(i)
		shard := rt.shardOf(r.hash)
		p := parts[shard]
		if p != nil && p.add(&r, &rt.grow) {
			continue
		}
		if p != nil {
			rt.queuePart(p, a, shard, retry)
		}
		p = newAggregate()
		p.add(&r, &rt.grow)
		parts[shard] = p
	}
	for shard, p := range parts {
		rt.queuePart(p, a, shard, retry)
	}
	a.release()
}

// queuePart closes p, a part of a for shard, with a's age, attempts and
// flush epoch, and queues it.
func (rt *router) queuePart(p, a *aggregate, shard int, retry bool) {
	p.keepFate(a)
	rt.predict(p, shard)
	rt.queue(p, retry)
}

// readd puts the user records of a into the open aggregates of their
// shards, keeping their age, and frees a.
func (rt *router) readd(a *aggregate) {
	for i := range a.recs {
		r := a.record(i)
		rt.add(&r, a.created)
	}
	a.release()
}

// closeAll closes every open aggregate.
func (rt *router) closeAll() {
	for i, a := range rt.open {
		if a != nil {
			rt.emit(a, i)
		}
	}
}

// closeOlder closes the open aggregates created at or before cut. Called
// every half RecordMaxBufferedTime, it keeps every record's wait under that
// bound.
//
// With OrderPerKey it leaves the aggregates of shards that cannot send now:
// they grow meanwhile, and closeReady closes them once the shard can.
func (rt *router) closeOlder(cut time.Time) {
	for i, a := range rt.open {
		if a != nil && !a.created.After(cut) && (!rt.order || rt.set.stages[i].idle()) {
			rt.emit(a, i)
		}
	}
}

// closeReady, with OrderPerKey, closes the open aggregate of every shard
// that can send it now (its lane is free and nothing waits before it) once
// it is as big as AggregateBatchSize or as old as half
// RecordMaxBufferedTime: an aggregate waits for its shard's round trip
// growing, and leaves as soon as the shard is free.
func (rt *router) closeReady(now time.Time) {
	if !rt.order {
		return
	}
	cut := now.Add(-rt.set.cfg.RecordMaxBufferedTime / 2)
	for i, a := range rt.open {
		if a != nil && rt.set.stages[i].idle() && (a.size() >= rt.lim.size || !a.created.After(cut)) {
			rt.emit(a, i)
		}
	}
}

// anyOpen reports whether some shard has an open aggregate.
func (rt *router) anyOpen() bool {
	for _, a := range rt.open {
		if a != nil {
			return true
		}
	}
	return false
}

// nextEpoch seals the current flush epoch after a flush and starts the
// next, which waits for this one. Every open aggregate must be closed first.
func (rt *router) nextEpoch(m *flushMarker) {
	old := rt.epoch
	next := &epoch{done: make(chan struct{})}
	next.pending.Store(2) // its seal and its predecessor
	old.next = next
	rt.epoch = next
	old.complete(1)
	if m.sealed != nil {
		m.sealed <- old
	}
}
