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
	// its own lane server (one goroutine) and laneWave hashers, so that
	// two cores can hash at once. A server scans every hasher it knows on
	// every pass, so their number is kept this small and fixed.
	laneSets = 2
)

// newLaneHasher returns SIMD lanes (16 with AVX-512, 8 with AVX2), or nil on
// a CPU without AVX2. The lane servers' goroutines start on first use.
func newLaneHasher() laneHasher {
	if !cpuid.CPU.Supports(cpuid.AVX2) {
		return nil
	}
	return &simdLanes{}
}

// simdLanes hashes messages with md5-simd servers: each message in a wave
// gets a hasher (a lane's stream) of a set, and the set's server hashes the
// blocks of up to 16 of them in one pass.
type simdLanes struct {
	mu     sync.Mutex
	sets   chan *laneSet // laneSets sets, once started (nil before)
	closed bool
}

// laneSet is one md5-simd server and laneWave of its hashers, reset.
type laneSet struct {
	srv md5simd.Server
	hs  []md5simd.Hasher
}

func (l *simdLanes) sum(msgs, sums [][]byte) {
	sets := l.start()
	if sets == nil { // closed: the caller is late, but still gets sums
		fallbackSums(msgs, sums)
		return
	}
	set := <-sets
	defer func() { sets <- set }()
	hs := set.hs
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

// start returns the sets of hashers, starting the servers on first use, or
// nil once closed.
func (l *simdLanes) start() chan *laneSet {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	if l.sets == nil {
		l.sets = make(chan *laneSet, laneSets)
		for range laneSets {
			set := &laneSet{srv: md5simd.NewServer(), hs: make([]md5simd.Hasher, laneWave)}
			for i := range set.hs {
				set.hs[i] = set.srv.NewHash()
			}
			l.sets <- set
		}
	}
	return l.sets
}

// close waits for the sums under way, then stops the hashers and the
// servers. A sum after close computes with crypto/md5.
func (l *simdLanes) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.closed = true
	if l.sets == nil {
		return
	}
	for range laneSets {
		set := <-l.sets
		for _, h := range set.hs {
			h.Close()
		}
		set.srv.Close() // its goroutine ends
	}
}
