package engine

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// stage is one shard's step of the pipeline (the only one without a shard
// map): the aggregate being filled for the shard, the shard's rate limiter,
// and its queue of closed Kinesis records waiting to be sent, retries ahead
// of new ones. The pipeline owns every stage; only the gate is shared, with
// Put.
//
// Retries and fresh records are kept apart so that a strict-ordering mode
// can be added here alone: it would let a stage have one Kinesis record in
// flight at a time and serve fresh records only when no retry waits.
type stage struct {
	agg   *aggregate
	keys  keyTables     // lent to agg while it is open (see useTables)
	limit *shardLimiter // nil when rate limiting is off, and for records outside every shard
	// retries are Kinesis records sent before and coming back, each due at
	// its notBefore; fresh are closed records not sent yet. Both in order.
	retries, fresh fifo
	answers        answers // of the call being settled, for the limiter
	active         bool    // listed in pipeline.active
	index          int     // in pipeline.stages
	gate           *gate
	view           *shardView // what Stats and metrics see of the stage
	// maxRecs and maxBytes bound what a stage without a limiter holds
	// before its gate closes; with a limiter the bound follows the rate.
	maxRecs, maxBytes int
}

// shardView is what a stage shows of itself to other goroutines (Stats,
// metrics read when scraped). The pipeline writes it; readers load it.
type shardView struct {
	id       string       // the shard's id; "" for the stage of a producer without a shard map
	records  atomic.Int64 // Kinesis records queued
	bytes    atomic.Int64 // their bytes (the stage's own count: full reads it)
	heldBack atomic.Bool  // the rate limit refused the stage's next record at its last try
	rateRecs atomic.Uint64
	rateByts atomic.Uint64 // the limiter's current rates (float64 bits); 0 without one
	rateWhy  atomic.Uint32 // RateReason of the last change
	rateAt   atomic.Int64  // when the rate last changed, Unix nanoseconds
}

// publishRate shows the limiter's current rates in the view.
func (st *stage) publishRate() {
	if st.limit == nil || st.view == nil {
		return
	}
	r, b := st.limit.rate()
	st.view.rateRecs.Store(math.Float64bits(r))
	st.view.rateByts.Store(math.Float64bits(b))
	st.view.rateWhy.Store(uint32(st.limit.reason))
	st.view.rateAt.Store(st.limit.changed.UnixNano())
}

// answers counts what one call's answer said of a stage's records.
type answers struct{ ok, throttled int }

// queued returns the number of Kinesis records waiting in the stage.
func (st *stage) queued() int { return st.retries.len() + st.fresh.len() }

// full reports whether the stage holds as much as it may before Put blocks
// for its keys: about holdSeconds of the shard's current rate, in records
// and bytes, and never less than two aggregates.
func (st *stage) full() bool {
	maxRecs, maxBytes := st.maxRecs, st.maxBytes
	if st.limit != nil {
		r, b := st.limit.rate()
		maxRecs = max(maxRecs, int(r*holdSeconds))
		maxBytes = max(maxBytes, int(b*holdSeconds))
	}
	return st.queued() >= maxRecs || st.view.bytes.Load() >= int64(maxBytes)
}

// head returns the next Kinesis record to send and the queue it is in: the
// first retry once it is due, else the first fresh record.
func (st *stage) head(now time.Time) (*aggregate, *fifo) {
	if a := st.retries.peek(); a != nil && !a.notBefore.After(now) {
		return a, &st.retries
	}
	if a := st.fresh.peek(); a != nil {
		return a, &st.fresh
	}
	return nil, nil
}

// fifo is a queue of Kinesis records.
type fifo struct {
	items []*aggregate
	first int
}

func (q *fifo) len() int { return len(q.items) - q.first }

func (q *fifo) push(a *aggregate) {
	if q.first > 0 && len(q.items) == cap(q.items) {
		// Slide down rather than grow.
		n := copy(q.items, q.items[q.first:])
		clear(q.items[n:])
		q.items, q.first = q.items[:n], 0
	}
	q.items = append(q.items, a)
}

func (q *fifo) peek() *aggregate {
	if q.first == len(q.items) {
		return nil
	}
	return q.items[q.first]
}

func (q *fifo) pop() *aggregate {
	a := q.items[q.first]
	q.items[q.first] = nil
	q.first++
	if q.first == len(q.items) {
		q.items, q.first = q.items[:0], 0
	}
	return a
}

// drain removes and returns every record, in order.
func (q *fifo) drain() []*aggregate {
	out := append([]*aggregate(nil), q.items[q.first:]...)
	clear(q.items)
	q.items, q.first = q.items[:0], 0
	return out
}

// gate makes Put wait while its shard's stage is full. The pipeline closes
// and opens it; Put reads it. Gates belong to one shard map: when the map is
// replaced, every old gate opens, and Put looks its record up again.
type gate struct {
	shut   atomic.Bool   // read without the lock on Put's fast path
	closed *atomic.Int32 // the routes' count of shut gates
	mu     sync.Mutex
	wake   chan struct{} // closed when the gate opens
}

// close makes later Puts for the gate's shard wait.
func (g *gate) close() {
	g.mu.Lock()
	if !g.shut.Load() {
		g.wake = make(chan struct{})
		g.closed.Add(1)
		g.shut.Store(true)
	}
	g.mu.Unlock()
}

// open lets waiting and later Puts through.
func (g *gate) open() {
	g.mu.Lock()
	if g.shut.Load() {
		g.shut.Store(false)
		g.closed.Add(-1)
		close(g.wake)
	}
	g.mu.Unlock()
}

// wait returns a channel closed when the gate opens, or nil when it is open.
func (g *gate) wait() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.shut.Load() {
		return nil
	}
	return g.wake
}

// routes is what Put needs to find its record's gate: the shard map and a
// gate per shard (one gate without a map). The pipeline publishes a new
// routes with each map.
type routes struct {
	m      *shardMap // nil without a shard map
	gates  []*gate
	views  []*shardView // one per stage, the stage of records outside every shard last
	closed atomic.Int32 // gates shut: while none is, Put looks up no shard
}

// gateFor returns the gate of the shard that owns h, or nil for a hash
// outside every known shard (such records never wait).
func (rt *routes) gateFor(h hash128) *gate {
	if rt.closed.Load() == 0 {
		return nil
	}
	if rt.m == nil {
		return rt.gates[0]
	}
	if i := rt.m.find(h); i >= 0 {
		return rt.gates[i]
	}
	return nil
}
