package engine

import "sync/atomic"

// flushMarker travels through the backlog like a record, so that a flush
// comes after every record accepted before it.
type flushMarker struct {
	sealed chan *epoch // receives the epoch the marker closed; nil for Flush
}

// epoch counts the user records handed to workers between two flush
// markers, so that FlushSync waits for exactly the records accepted before
// it. Aggregates never span epochs: a marker first flushes every open one.
//
// pending holds the records in flight plus two tokens: one released when the
// epoch is sealed by a marker, one when the epoch before it is done. It
// reaches zero, and done closes, only when both tokens are released and
// every record of this epoch and the ones before it is settled.
type epoch struct {
	pending atomic.Int64
	done    chan struct{}
	next    *epoch
}

func newEpoch() *epoch {
	e := &epoch{done: make(chan struct{})}
	e.pending.Store(1) // the seal; the first epoch has no predecessor
	return e
}

// sealed reports whether a flush marker has closed the epoch: only the
// current one is open. The drain goroutine, which seals epochs, asks.
func (e *epoch) sealed() bool { return e.next != nil }

func (e *epoch) add(n int) { e.pending.Add(int64(n)) }

// complete settles n records (or releases a token).
func (e *epoch) complete(n int) {
	if e.pending.Add(-int64(n)) == 0 {
		close(e.done)
		if e.next != nil {
			e.next.complete(1)
		}
	}
}
