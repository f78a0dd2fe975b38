package engine

import (
	"sync/atomic"
	"time"
)

// shardSet is the stages of the current shard map and what bounds them: a
// stage per shard (one without a map) and, last, one for records whose hash
// falls outside every known shard; the records queued in all of them; how
// much each stage and all of them may hold; and the routes published for
// Put. Every reader of the rate-limit bound is here. The drain goroutine
// owns it.
type shardSet struct {
	cfg    *Config
	routes *atomic.Pointer[routes] // published for Put and Stats
	m      *shardMap               // nil without a shard map
	stages []stage
	active []int // stages with queued records, in no order

	queuedRecs, queuedBytes int // in every stage's queue
	maxRecs, maxBytes       int // beyond which no new records are taken

	touched []*stage // scratch for adapt
}

func newShardSet(cfg *Config, rt *atomic.Pointer[routes]) *shardSet {
	return &shardSet{cfg: cfg, routes: rt}
}

// install makes m the current shard map (nil: none) with a stage per shard,
// publishes its gates for Put, and returns the stages it replaces, whose
// records the caller re-homes. A shard that stays keeps its rate limiter,
// so that a refresh is no occasion for a burst.
func (s *shardSet) install(m *shardMap) []stage {
	kept := make(map[string]*shardLimiter)
	if s.m != nil {
		for i, id := range s.m.ids {
			if l := s.stages[i].limit; l != nil {
				kept[id] = l
			}
		}
	}
	n := 1
	if m != nil {
		n = len(m.ids)
	}
	old, oldMap := s.stages, s.m
	s.m = m
	s.stages = make([]stage, n+1)
	s.active = s.active[:0]
	s.queuedRecs, s.queuedBytes = 0, 0
	rt := &routes{m: m, gates: make([]*gate, n), views: make([]*shardView, n+1)}
	now := time.Now()
	for i := range s.stages {
		st := &s.stages[i]
		st.index = i
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
		if m != nil && s.cfg.RateLimit > 0 {
			st.limit = kept[m.ids[i]]
			if st.limit == nil {
				st.limit = newShardLimiter(s.cfg.RateLimit, now)
			}
			st.publishRate()
		}
	}
	if s.cfg.ordered() {
		s.chainLanes(old, oldMap, m)
	}
	s.setBounds(n)
	if prev := s.routes.Swap(rt); prev != nil {
		for _, g := range prev.gates {
			g.open() // waiting Puts look their record up again
		}
	}
	return old
}

// chainLanes gives every new stage a lane, which waits for each busy lane
// of old (the stages of the map before m) whose shard's range overlaps its
// own: the same shard before a refresh, a parent after a split or a merge.
// The stage of records outside every shard, and every stage of a set
// without a map, is taken to overlap them all.
func (s *shardSet) chainLanes(old []stage, prev, m *shardMap) {
	for j := range s.stages {
		heir := &lane{}
		s.stages[j].lane = heir
		for i := range old {
			if overlaps(prev, i, m, j) {
				old[i].lane.inherit(heir)
			}
		}
	}
}

// overlaps reports whether shard i of a and shard j of b share hashes. An
// index past a map's shards (the stage of records outside them) or a nil
// map overlaps everything.
func overlaps(a *shardMap, i int, b *shardMap, j int) bool {
	if a == nil || b == nil || i >= len(a.ids) || j >= len(b.ids) {
		return true
	}
	return !a.ends[i].less(b.starts[j]) && !b.ends[j].less(a.starts[i])
}

// setBounds sets how much all stages may queue before the pipeline takes no
// new records: two full batches, enough to fill a connection as soon as one
// is free, or, with rate limits, about holdSeconds of the shards' ceiling,
// at most MaxConnections full batches. Queuing more would only hold memory
// while the connections are busy.
func (s *shardSet) setBounds(shards int) {
	s.maxRecs, s.maxBytes = 2*s.cfg.BatchCount, 2*s.cfg.BatchSize
	if s.m != nil && s.cfg.RateLimit > 0 {
		f := float64(s.cfg.RateLimit) / 100 * holdSeconds * float64(shards)
		s.maxRecs = clamp(int(f*shardRecordsPerSecond), s.maxRecs, s.cfg.MaxConnections*s.cfg.BatchCount)
		s.maxBytes = clamp(int(f*shardBytesPerSecond), s.maxBytes, s.cfg.MaxConnections*s.cfg.BatchSize)
	}
}

func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }

// room reports whether the stages may take more records: while they hold
// all they may, the pipeline leaves the backlog alone, the backlog fills and
// Put blocks, which bounds memory.
func (s *shardSet) room() bool { return s.queuedRecs < s.maxRecs && s.queuedBytes < s.maxBytes }

// bound returns how much st may queue before its gate closes and Put blocks
// for its keys: two full batches without a rate limiter; with one, about
// holdSeconds of the shard's current rate, in records and bytes, and never
// less than two aggregates.
func (s *shardSet) bound(st *stage) (recs, bytes int) {
	if st.limit == nil {
		return 2 * s.cfg.BatchCount, 2 * s.cfg.BatchSize
	}
	r, b := st.limit.rate()
	return max(2, int(r*holdSeconds)), max(2*s.cfg.AggregateBatchSize, int(b*holdSeconds))
}

// full reports whether st holds as much as bound lets it.
func (s *shardSet) full(st *stage) bool {
	recs, bytes := s.bound(st)
	return st.queued() >= recs || st.view.bytes.Load() >= int64(bytes)
}

// of returns the stage of a Kinesis record predicted with the current map.
func (s *shardSet) of(a *aggregate) *stage {
	if a.shard < 0 {
		return &s.stages[len(s.stages)-1]
	}
	return &s.stages[a.shard]
}

// current returns the stage, in the current map, of the shard a record was
// sent to, or nil when the map no longer has that shard.
func (s *shardSet) current(ref shardRef) *stage {
	if ref.smap == nil || ref.shard < 0 {
		return nil
	}
	if ref.smap == s.m {
		return &s.stages[ref.shard]
	}
	if i := s.m.indexOf(ref.smap, ref.shard); i >= 0 {
		return &s.stages[i]
	}
	return nil
}

// push puts a, predicted with the current map, at the end of its stage's
// fresh records or of its retries, and closes the stage's gate when the
// stage is full.
func (s *shardSet) push(a *aggregate, retry bool) {
	st := s.of(a)
	if retry {
		st.retries.push(a)
	} else {
		st.fresh.push(a)
	}
	size := a.size()
	st.view.records.Add(1)
	st.view.bytes.Add(int64(size))
	s.queuedRecs++
	s.queuedBytes += size
	if !st.active {
		st.active = true
		s.active = append(s.active, st.index)
	}
	if st.gate != nil && s.full(st) {
		st.gate.close()
	}
}

// pop takes the first record of q, a queue of st, opening st's gate when
// there is room again.
func (s *shardSet) pop(st *stage, q *fifo) *aggregate {
	a := q.pop()
	size := a.size()
	st.view.records.Add(-1)
	st.view.bytes.Add(-int64(size))
	if st.queued() == 0 {
		st.view.heldBack.Store(false)
	}
	s.queuedRecs--
	s.queuedBytes -= size
	if st.gate != nil && st.gate.shut.Load() && !s.full(st) {
		st.gate.open()
	}
	return a
}

// drain empties every stage, retries first in each, and returns what they
// held.
func (s *shardSet) drain() []*aggregate {
	var out []*aggregate
	for i := range s.stages {
		st := &s.stages[i]
		for _, q := range []*fifo{&st.retries, &st.fresh} {
			for q.len() > 0 {
				out = append(out, s.pop(st, q))
			}
		}
		st.active = false
	}
	s.active = s.active[:0]
	return out
}

// prune drops the stages left empty from the active list.
func (s *shardSet) prune() {
	kept := s.active[:0]
	for _, i := range s.active {
		if s.stages[i].queued() > 0 {
			kept = append(kept, i)
		} else {
			s.stages[i].active = false
		}
	}
	s.active = kept
}

// adapt tells the limiter of each shard in the call how many of its records
// Kinesis took and how many it throttled.
func (s *shardSet) adapt(c *call, now time.Time) {
	touched := s.touched[:0]
	note := func(ref shardRef, ok bool) {
		st := s.current(ref)
		if st == nil || st.limit == nil {
			return
		}
		if st.ok == 0 && st.throttled == 0 {
			touched = append(touched, st)
		}
		if ok {
			st.ok++
		} else {
			st.throttled++
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
		st.limit.answered(now, st.ok, st.throttled)
		st.publishRate()
		st.ok, st.throttled = 0, 0
	}
	clear(touched)
	s.touched = touched[:0]
}
