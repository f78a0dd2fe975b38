package engine

import (
	"sync"
	"sync/atomic"
)

// gate makes Put wait while its shard's stage is full. The shard set closes
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
