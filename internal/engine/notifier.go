package engine

import "sync"

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
