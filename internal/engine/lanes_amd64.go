//go:build amd64 && !noasm

package engine

import (
	"sync"

	"github.com/klauspost/cpuid/v2"
	md5simd "github.com/minio/md5-simd"
)

// laneWindow is how many messages one sum call keeps in the lanes at once:
// enough to fill 16 AVX-512 lanes twice over while the earliest are summed.
const laneWindow = 16

// newLaneHasher returns SIMD lanes (16 with AVX-512, 8 with AVX2), or nil on
// a CPU without AVX2. The lane server's goroutine starts on first use.
func newLaneHasher() laneHasher {
	if !cpuid.CPU.Supports(cpuid.AVX2) {
		return nil
	}
	return &simdLanes{}
}

// simdLanes hashes messages with one md5-simd server: each message gets a
// hasher (a lane's stream) and the server hashes the blocks of up to 16 of
// them in one pass.
type simdLanes struct {
	mu     sync.Mutex
	srv    md5simd.Server   // nil until first use
	idle   []md5simd.Hasher // reset hashers, ready for a message
	closed bool
}

func (l *simdLanes) sum(msgs, sums [][]byte) {
	hs := l.take(min(len(msgs), laneWindow))
	if hs == nil { // closed: the caller is late, but still gets sums
		fallbackSums(msgs, sums)
		return
	}
	// In waves: write a message to each hasher, then collect every sum.
	// Summing while still writing would starve the lanes: a Sum waits for
	// its message's last block, and the next writes wait for it.
	for len(msgs) > 0 {
		n := min(len(msgs), len(hs))
		for i, m := range msgs[:n] {
			_, _ = hs[i].Write(m) // never fails on an open hasher
		}
		for i := range n {
			var s [16]byte
			hs[i].Sum(s[:0])
			copy(sums[i], s[:])
			hs[i].Reset()
		}
		msgs, sums = msgs[n:], sums[n:]
	}
	l.give(hs)
}

// take returns n hashers, starting the server if needed, or nil once closed.
func (l *simdLanes) take(n int) []md5simd.Hasher {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	if l.srv == nil {
		l.srv = md5simd.NewServer()
	}
	hs := make([]md5simd.Hasher, n)
	k := copy(hs, l.idle[max(len(l.idle)-n, 0):])
	clear(l.idle[len(l.idle)-k:])
	l.idle = l.idle[:len(l.idle)-k]
	for i := k; i < n; i++ {
		hs[i] = l.srv.NewHash()
	}
	return hs
}

// give returns hashers to the idle list.
func (l *simdLanes) give(hs []md5simd.Hasher) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		for _, h := range hs {
			h.Close()
		}
		return
	}
	l.idle = append(l.idle, hs...)
}

func (l *simdLanes) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.closed = true
	for _, h := range l.idle {
		h.Close()
	}
	l.idle = nil
	if l.srv != nil {
		l.srv.Close() // its goroutine ends
	}
}
