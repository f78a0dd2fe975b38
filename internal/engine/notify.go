package engine

import (
	"sync"
	"sync/atomic"
)

// notifier hands values (failures, or success results) from the producer's
// goroutines to the channel a caller reads. They never block on a slow reader: values wait in a queue
// that a forwarding goroutine empties into the channel. Once closed, the
// forwarder delivers what is queued and closes the channel.
type notifier[T any] struct {
	mu     sync.Mutex
	cond   sync.Cond
	out    chan T // nil until a caller asks for the channel
	queue  []T
	closed bool
	size   int
}

func (n *notifier[T]) init(size int) {
	n.cond.L = &n.mu
	n.size = size
}

// channel returns the channel, creating it and its forwarder on first use.
func (n *notifier[T]) channel() <-chan T {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.out == nil {
		n.out = make(chan T, n.size)
		if n.closed {
			close(n.out)
		} else {
			go n.forward()
		}
	}
	return n.out
}

// push queues v and reports whether a caller will see it: false when nobody
// has asked for the channel.
func (n *notifier[T]) push(v T) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.out == nil || n.closed {
		return false
	}
	n.queue = append(n.queue, v)
	n.cond.Signal()
	return true
}

// close lets the forwarder close the channel after the last queued value.
func (n *notifier[T]) close() {
	n.mu.Lock()
	n.closed = true
	n.cond.Signal()
	n.mu.Unlock()
}

func (n *notifier[T]) forward() {
	for {
		n.mu.Lock()
		for len(n.queue) == 0 && !n.closed {
			n.cond.Wait()
		}
		batch := n.queue
		n.queue = nil
		done := n.closed && len(batch) == 0
		n.mu.Unlock()
		if done {
			close(n.out)
			return
		}
		for _, v := range batch {
			n.out <- v
		}
	}
}

// reporter settles Kinesis records for good: it counts them, tells Metrics,
// hands results and failures to their channels and releases the records.
// The pipeline calls it; the facade reads its channels and counters.
type reporter struct {
	stats    counters
	failures notifier[*FailureRecord]
	success  notifier[*SuccessRecord]
	results  atomic.Bool // someone asked for NotifySuccesses
	metrics  Metrics
	logger   Logger
	stream   string
}

// acknowledge counts a delivered Kinesis record, reports it when results
// are on, and frees it.
func (r *reporter) acknowledge(a *aggregate) {
	r.stats.userRecordsPut.Add(int64(len(a.recs)))
	r.stats.kinesisRecordsPut.Add(1)
	r.stats.bytesPut.Add(int64(len(a.data)))
	if r.metrics != nil {
		r.metrics.KinesisRecordPut(a.storedShard(), len(a.recs), len(a.data), a.sends)
	}
	if r.results.Load() {
		r.success.push(&SuccessRecord{
			ShardID:        a.result.shardID,
			SequenceNumber: a.result.sequence,
			Attempts:       a.sends,
			UserRecords:    a.userRecords(),
		})
	}
	a.epoch.complete(len(a.recs))
	a.release()
}

// fail reports the user records of a as a failure and frees it.
func (r *reporter) fail(a *aggregate, err error) {
	users := a.userRecords()
	r.stats.userRecordsFailed.Add(int64(len(users)))
	if r.metrics != nil {
		r.metrics.UserRecordsFailed(len(users), err)
	}
	if !r.failures.push(&FailureRecord{Err: err, PartitionKey: a.outerKey, ExplicitHashKey: a.outerHash, UserRecords: users}) {
		r.logger.Error("user records failed (nobody reads NotifyFailures)", err,
			logValue("stream", r.stream), logValue("records", len(users)))
	}
	a.epoch.complete(len(a.recs))
	a.release()
}
