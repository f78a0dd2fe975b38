package engine

import (
	"math"
	"time"
)

// stage is one shard's queue in the pipeline (the only one without a shard
// map): its closed Kinesis records waiting to be sent, retries ahead of new
// ones, and the shard's rate limiter. The shard set owns every stage (see
// shardSet); only the gate is shared, with Put, and the view, with Stats.
//
// With OrderPerKey the stage has a lane: it serves a record only while the
// lane is free, and fresh records only while no retry waits.
type stage struct {
	limit *shardLimiter // nil when rate limiting is off, and for records outside every shard
	// retries are Kinesis records sent before and coming back, each due at
	// its notBefore; fresh are closed records not sent yet. Both in order.
	retries, fresh fifo
	// ok and throttled count what the call being settled said of the
	// stage's records, for the limiter (see shardSet.adapt).
	ok, throttled int
	active        bool // listed in shardSet.active
	index         int  // in shardSet.stages
	gate          *gate
	view          *shardView // what Stats and metrics see of the stage
	lane          *lane      // nil unless the order of keys is kept
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

// idle reports whether the stage could send a record now, rate limits
// aside: its lane is free (or it has none) and nothing is queued.
func (st *stage) idle() bool { return !st.lane.busy() && st.queued() == 0 }

// queued returns the number of Kinesis records waiting in the stage.
func (st *stage) queued() int { return st.retries.len() + st.fresh.len() }

// head returns the next Kinesis record to send and the queue it is in: the
// first retry once it is due, else the first fresh record.
//
// With a lane, nothing while the lane is busy, and no fresh record while a
// retry waits for its backoff: it goes first.
func (st *stage) head(now time.Time) (*aggregate, *fifo) {
	if st.lane.busy() {
		return nil, nil
	}
	if a := st.retries.peek(); a != nil {
		if !a.notBefore.After(now) {
			return a, &st.retries
		}
		if st.lane != nil {
			return nil, nil
		}
	}
	if a := st.fresh.peek(); a != nil {
		return a, &st.fresh
	}
	return nil, nil
}
