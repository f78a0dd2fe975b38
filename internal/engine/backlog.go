package engine

import (
	"context"
	"sync"
)

// backlog is the bounded buffer between Put and the drain goroutine. Put
// appends under a mutex; the drain goroutine takes everything buffered at
// once, swapping in an empty slice, so that it pays one lock and one wake-up
// per burst of records rather than per record, as a channel would cost.
type backlog struct {
	mu     sync.Mutex
	items  []record
	max    int
	closed bool
	ready  chan struct{} // holds a token while records wait to be taken (or after close)
	space  chan struct{} // closed, and replaced, when a full backlog is emptied
}

func newBacklog(max int) *backlog {
	return &backlog{
		items: make([]record, 0, max),
		max:   max,
		ready: make(chan struct{}, 1),
		space: make(chan struct{}),
	}
}

// push appends r, waiting while the backlog is full. It returns
// ErrStoppedProducer once the backlog is closed, or ctx.Err() when ctx ends
// first; r is then not accepted.
func (b *backlog) push(ctx context.Context, r *record) error {
	b.mu.Lock()
	for len(b.items) >= b.max && !b.closed {
		space := b.space
		b.mu.Unlock()
		select {
		case <-space:
		case <-ctx.Done():
			return ctx.Err()
		}
		b.mu.Lock()
	}
	if b.closed {
		b.mu.Unlock()
		return ErrStoppedProducer
	}
	b.items = append(b.items, *r)
	first := len(b.items) == 1
	b.mu.Unlock()
	if first {
		b.signal()
	}
	return nil
}

func (b *backlog) signal() {
	select {
	case b.ready <- struct{}{}:
	default:
	}
}

// take returns everything buffered, in order, and whether the backlog is
// closed; spare (emptied) becomes the new buffer. Only the drain goroutine
// calls it.
func (b *backlog) take(spare []record) (items []record, closed bool) {
	b.mu.Lock()
	items, closed = b.items, b.closed
	b.items = spare[:0]
	if len(items) >= b.max && !closed {
		close(b.space) // wake the Puts waiting for room
		b.space = make(chan struct{})
	}
	b.mu.Unlock()
	return items, closed
}

// close stops accepting records: waiting and later pushes return
// ErrStoppedProducer. What was accepted is still taken.
func (b *backlog) close() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.space)
	}
	b.mu.Unlock()
	b.signal()
}

// len returns the number of records waiting to be taken.
func (b *backlog) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.items)
}
