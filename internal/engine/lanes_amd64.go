//go:build amd64 && !noasm

package engine

import (
	"sync"

	"github.com/klauspost/cpuid/v2"
	md5simd "github.com/minio/md5-simd"
)

const (
	// laneWave is how many messages go to the lanes before their sums are
	// collected: the 16 lanes of AVX-512 (AVX2's 8, twice).
	laneWave = 16
	// laneSets is how many sum calls may use the lanes at once, each with
	// its own laneWave hashers: while one call collects its sums, another
	// fills the lanes. The lane server scans every hasher it knows on
	// every pass, so their number is kept this small and fixed.
	laneSets = 2
)

// newLaneHasher returns SIMD lanes (16 with AVX-512, 8 with AVX2), or nil on
// a CPU without AVX2. The lane server's goroutine starts on first use.
func newLaneHasher() laneHasher {
	if !cpuid.CPU.Supports(cpuid.AVX2) {
		return nil
	}
	return &simdLanes{}
}

// simdLanes hashes messages with one md5-simd server: each message in a
// wave gets a hasher (a lane's stream), and the server hashes the blocks of
// up to 16 of them in one pass.
type simdLanes struct {
	mu     sync.Mutex
	srv    md5simd.Server        // nil until first use
	sets   chan []md5simd.Hasher // laneSets sets of laneWave reset hashers, once started
	closed bool
}

func (l *simdLanes) sum(msgs, sums [][]byte) {
	sets := l.start()
	if sets == nil { // closed: the caller is late, but still gets sums
		fallbackSums(msgs, sums)
		return
	}
	hs := <-sets
	defer func() { sets <- hs }()
	// In waves: write a message to each hasher, then collect every sum.
	// Summing while still writing would starve the lanes: a Sum waits for
	// its message's last block, and the next writes wait for it.
	for len(msgs) > 0 {
		n := min(len(msgs), len(hs))
		for i, m := range msgs[:n] {
			_, _ = hs[i].Write(m) // never fails on an open hasher
		}
		for i := range n {
			hs[i].Sum(sums[i][:0]) // appends in place: sums[i] has room
			hs[i].Reset()
		}
		msgs, sums = msgs[n:], sums[n:]
	}
}

// start returns the sets of hashers, starting the server on first use, or
// nil once closed.
func (l *simdLanes) start() chan []md5simd.Hasher {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	if l.srv == nil {
		l.srv = md5simd.NewServer()
		l.sets = make(chan []md5simd.Hasher, laneSets)
		for range laneSets {
			hs := make([]md5simd.Hasher, laneWave)
			for i := range hs {
				hs[i] = l.srv.NewHash()
			}
			l.sets <- hs
		}
	}
	return l.sets
}

// close waits for the sums under way, then stops the hashers and the server.
func (l *simdLanes) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.closed = true
	if l.srv == nil {
		return
	}
	for range laneSets {
		for _, h := range <-l.sets {
			h.Close()
		}
	}
	l.srv.Close() // its goroutine ends
}
