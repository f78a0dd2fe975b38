package engine

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// The limiter is judged here in a simulation with a virtual clock: one or
// more producers, each with its own shardLimiter, send Kinesis records to
// one simulated shard that enforces a capacity with a one-second token
// bucket (as Kinesis and faultinject.ShardLimits do) and may throttle
// entries at random besides. The figures are those the integration load
// tests judge by (at least 90% of the capacity, at most 10% throttled);
// the simulation is deterministic, so they hold on any machine, under the
// race detector too.

const (
	simStep = 10 * time.Millisecond
	simRTT  = 20 * time.Millisecond
)

// simShard is a shard with a byte capacity (bytes a second; 0 for none)
// and random throttling: randCalls of the calls have each entry throttled
// with probability randEntries, whatever the rate.
type simShard struct {
	capacity               float64
	tokens                 float64
	randCalls, randEntries float64
	hotUntil               time.Time // every entry throttled before then
	rng                    *rand.Rand
	entries, throttled     int
}

func (s *simShard) refill(d time.Duration) {
	if s.capacity > 0 {
		s.tokens = min(s.capacity, s.tokens+d.Seconds()*s.capacity)
	}
}

// call answers one call of n entries of size bytes: how many were accepted.
func (s *simShard) call(now time.Time, n, size int) (ok int) {
	unlucky := s.rng.Float64() < s.randCalls
	for range n {
		s.entries++
		switch {
		case now.Before(s.hotUntil), unlucky && s.rng.Float64() < s.randEntries:
		case s.capacity > 0 && s.tokens < float64(size):
		default:
			if s.capacity > 0 {
				s.tokens -= float64(size)
			}
			ok++
			continue
		}
		s.throttled++
	}
	return ok
}

// simProducer is one producer's limiter and the calls it has in flight.
type simProducer struct {
	limit    *shardLimiter
	demand   float64 // Kinesis records a second it would send; 0 for no bound
	credit   float64
	inFlight []simCall
	okBytes  int // accepted after the warm-up
	factors  []float64
	perCall  int // entries of the shard in one call; 0 for 500
}

type simCall struct {
	sent, due time.Time
	n         int
}

// simulate runs producers against shard for d with records of size bytes
// and reports the bytes each had accepted after warm.
func simulate(shard *simShard, producers []*simProducer, size int, start time.Time, d, warm time.Duration) {
	order := append([]*simProducer(nil), producers...)
	for now := start; now.Before(start.Add(d)); now = now.Add(simStep) {
		shard.refill(simStep)
		// Calls reach the shard in no fixed order.
		shard.rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, p := range order {
			// Answers due now.
			kept := p.inFlight[:0]
			for _, c := range p.inFlight {
				if c.due.After(now) {
					kept = append(kept, c)
					continue
				}
				ok := shard.call(now, c.n, size)
				if now.Sub(start) >= warm {
					p.okBytes += ok * size
				}
				p.limit.answered(now, ok, c.n-ok)
			}
			p.inFlight = kept
			// Send what the demand and the limiter allow.
			want := 1 << 30
			if p.demand > 0 {
				p.credit += p.demand * simStep.Seconds()
				want = int(p.credit)
			}
			perCall := p.perCall
			if perCall == 0 {
				perCall = 500
			}
			for {
				n := 0
				for n < want && n < perCall && p.limit.take(now, size) {
					n++
				}
				p.credit -= float64(n)
				want -= n
				if n == 0 {
					break
				}
				p.inFlight = append(p.inFlight, simCall{sent: now, due: now.Add(simRTT + time.Duration(shard.rng.IntN(4))*simStep), n: n})
			}
			p.factors = append(p.factors, p.limit.factor)
		}
	}
}

func newSimProducers(n int, start time.Time, demand float64) []*simProducer {
	ps := make([]*simProducer, n)
	for i := range ps {
		ps[i] = &simProducer{limit: newShardLimiter(DefaultRateLimit, start), demand: demand}
	}
	return ps
}

// capacityBytes is a shard's byte limit.
const capacityBytes = shardBytesPerSecond

// TestLimiterAtShardLimits: 2.5 times the capacity offered to a shard that
// enforces it: at least 90% of the capacity delivered, at most 10% of the
// entries throttled.
func TestLimiterAtShardLimits(t *testing.T) {
	start := time.Unix(0, 0)
	for _, tc := range []struct {
		name         string
		size         int
		minDelivered float64
	}{
		{"bytes bound", 50 << 10, 0.9},
		{"records bound", 200, 0.9},
	} {
		shard := &simShard{capacity: capacityBytes, tokens: capacityBytes, rng: rand.New(rand.NewPCG(3, 4))}
		capacity := float64(capacityBytes)
		if tc.size*shardRecordsPerSecond < capacityBytes {
			// The record count binds: model it as bytes of the same rate.
			capacity = float64(tc.size * shardRecordsPerSecond)
			shard.capacity, shard.tokens = capacity, capacity
		}
		ps := newSimProducers(1, start, 2.5*capacity/float64(tc.size))
		const d, warm = 60 * time.Second, 2 * time.Second
		simulate(shard, ps, tc.size, start, d, warm)
		delivered := float64(ps[0].okBytes) / (d - warm).Seconds() / capacity
		throttled := float64(shard.throttled) / float64(shard.entries)
		t.Logf("%s: delivered %.1f%% of capacity, %.1f%% of entries throttled", tc.name, 100*delivered, 100*throttled)
		if delivered < tc.minDelivered {
			t.Errorf("%s: delivered %.1f%% of the capacity, want at least %.0f%%", tc.name, 100*delivered, 100*tc.minDelivered)
		}
		if throttled > 0.1 {
			t.Errorf("%s: %.1f%% of the entries throttled, want at most 10%%", tc.name, 100*throttled)
		}
	}
}

// TestLimiterSharedShard: three producers share one shard at 2.5 times its
// capacity: together at least 90% of it, each at least 25%, at most 10% of
// the entries throttled.
func TestLimiterSharedShard(t *testing.T) {
	start := time.Unix(0, 0)
	const size = 20 << 10
	shard := &simShard{capacity: capacityBytes, tokens: capacityBytes, rng: rand.New(rand.NewPCG(5, 6))}
	ps := newSimProducers(3, start, 2.5*capacityBytes/size/3)
	const d, warm = 60 * time.Second, 2 * time.Second
	simulate(shard, ps, size, start, d, warm)
	total := 0
	for _, p := range ps {
		total += p.okBytes
	}
	secs := (d - warm).Seconds()
	throttled := float64(shard.throttled) / float64(shard.entries)
	t.Logf("together %.1f%% of capacity; %.1f%% throttled", 100*float64(total)/secs/capacityBytes, 100*throttled)
	if got := float64(total) / secs / capacityBytes; got < 0.9 {
		t.Errorf("together %.1f%% of the capacity, want at least 90%%", 100*got)
	}
	for i, p := range ps {
		if share := float64(p.okBytes) / secs / capacityBytes; share < 0.25 {
			t.Errorf("producer %d: %.1f%% of the capacity, want at least 25%%", i, 100*share)
		}
	}
	if throttled > 0.1 {
		t.Errorf("%.1f%% of the entries throttled, want at most 10%%", 100*throttled)
	}
}

// TestLimiterHotShardRecovers: a shard that refuses everything for 6 s is
// backed off from, not stormed, and the producer is back to its demand
// within 5 s of the shard's recovery.
func TestLimiterHotShardRecovers(t *testing.T) {
	start := time.Unix(0, 0)
	const size = 10 << 10
	demand := 0.6 * capacityBytes / size
	shard := &simShard{capacity: capacityBytes, tokens: capacityBytes, rng: rand.New(rand.NewPCG(7, 8)),
		hotUntil: start.Add(9 * time.Second)}
	ps := newSimProducers(1, start, demand)
	simulate(shard, ps, size, start, 3*time.Second, time.Hour) // warm, before the hot window
	shard.hotUntil = start.Add(9 * time.Second)
	ps[0].okBytes = 0
	simulate(shard, ps, size, start.Add(3*time.Second), 6*time.Second, 0)
	if f := ps[0].limit.factor; f > 0.1 {
		t.Errorf("after 6 s of refusals the rate is at %.2f of the ceiling, want backed off", f)
	}
	simulate(shard, ps, size, start.Add(9*time.Second), 5*time.Second, 0)
	ps[0].okBytes = 0
	simulate(shard, ps, size, start.Add(14*time.Second), 10*time.Second, 0)
	if got, want := float64(ps[0].okBytes)/10, 0.9*demand*size; got < want {
		t.Errorf("5 s after the shard recovered: %.0f B/s accepted, want at least %.0f (90%% of the demand)", got, want)
	}
}

// TestLimiterRandomThrottles: throttles that come at random, whatever the
// rate (30% of the entries of 20% of the calls), on a shard with room to
// spare: the producer keeps at least 90% of its demand (less the share
// throttled, which it retries) instead of backing off to the floor, and
// the limit stays above the demand.
func TestLimiterRandomThrottles(t *testing.T) {
	start := time.Unix(0, 0)
	for _, tc := range []struct {
		size    int     // of a Kinesis record
		demand  float64 // of a shard's capacity
		perCall int     // the shard's entries in one call
	}{
		{512, 0.6, 3}, {512, 0.9, 10}, {8 << 10, 0.3, 2}, {20 << 10, 0.6, 3}, {50 << 10, 0.6, 1}, {50 << 10, 0.9, 2},
	} {
		name := fmt.Sprintf("%d B at %.0f%%", tc.size, 100*tc.demand)
		shard := &simShard{randCalls: 0.2, randEntries: 0.3, rng: rand.New(rand.NewPCG(9, 10))}
		perSec := min(float64(shardRecordsPerSecond), float64(shardBytesPerSecond)/float64(tc.size))
		p := &simProducer{limit: newShardLimiter(DefaultRateLimit, start), demand: tc.demand * perSec, perCall: tc.perCall}
		const d, warm = 30 * time.Second, 2 * time.Second
		simulate(shard, []*simProducer{p}, tc.size, start, d, warm)
		want := tc.demand * perSec * float64(tc.size) * (d - warm).Seconds() * (1 - 0.06)
		got := float64(p.okBytes) / want
		t.Logf("%s: %.1f%% of the demand accepted; rate at the end %.2f of the ceiling (%v)", name, 100*got, p.limit.factor, p.limit.reason)
		if got < 0.9 {
			t.Errorf("%s: %.1f%% of the demand accepted, want at least 90%%", name, 100*got)
		}
	}
}

// TestLimiterReasons: the limiter says why its rate last changed.
func TestLimiterReasons(t *testing.T) {
	start := time.Unix(0, 0)
	l := newShardLimiter(DefaultRateLimit, start)
	if l.reason != RateInitial || l.factor != 1/1.5 {
		t.Fatalf("new limiter: factor %.3f, reason %v; want a shard's capacity (%.3f), initial", l.factor, l.reason, 1/1.5)
	}
	now := start
	send := func(n, throttled int) {
		for i := 0; i < n; i++ {
			l.take(now, 1<<10)
		}
		now = now.Add(rateWindow)
		l.answered(now, n-throttled, throttled)
	}
	send(40, 20)
	if l.reason != RateThrottled || l.changed != now || l.factor >= 1/1.5 {
		t.Fatalf("after a window half throttled: factor %.3f, reason %v at %v", l.factor, l.reason, l.changed)
	}
	cut := l.factor
	// Records wait for the limiter, the shard takes them all.
	for i := 0; i < 3000 && l.take(now, 1<<10); i++ {
	}
	send(10, 0)
	if l.reason != RateProbe || l.factor <= cut {
		t.Fatalf("after a clean window with records held back: factor %.3f (from %.3f), reason %v", l.factor, cut, l.reason)
	}
	if got := RateReason(9).String(); got != "unknown" {
		t.Errorf("RateReason(9) = %q", got)
	}
}

// TestLimiterFullShardRandomThrottles: a full shard that also throttles at
// random (30% of the entries of 20% of the calls): the rate is not cut to
// the floor by the random share; at least 60% of the capacity delivered
// (36-56% when every throttled window cuts).
func TestLimiterFullShardRandomThrottles(t *testing.T) {
	start := time.Unix(0, 0)
	for _, size := range []int{512, 20 << 10, 50 << 10} {
		capB := float64(capacityBytes)
		if size*shardRecordsPerSecond < capacityBytes {
			capB = float64(size * shardRecordsPerSecond)
		}
		for _, demand := range []float64{1.1, 2.5} {
			shard := &simShard{capacity: capB, tokens: capB, randCalls: 0.2, randEntries: 0.3, rng: rand.New(rand.NewPCG(3, 4))}
			ps := newSimProducers(1, start, demand*capB/float64(size))
			ps[0].perCall = 3
			const d, warm = 30 * time.Second, 2 * time.Second
			simulate(shard, ps, size, start, d, warm)
			delivered := float64(ps[0].okBytes) / (d - warm).Seconds() / capB
			t.Logf("%d B at %.1fx: delivered %.1f%% of the capacity, %.1f%% of the entries throttled, rate at the end %.2f (%v)",
				size, demand, 100*delivered, 100*float64(shard.throttled)/float64(shard.entries), ps[0].limit.factor, ps[0].limit.reason)
			if delivered < 0.6 {
				t.Errorf("%d B at %.1fx: delivered %.1f%% of the capacity, want at least 60%%", size, demand, 100*delivered)
			}
		}
	}
}

// TestLimiterSharedShardUnderTheirLimits: three producers each offer 45%
// of a shard's capacity, under their own limits but 1.35 times the shard
// together: the lasting throttling cuts them all the same; after 3 s at
// most 10% of the entries throttled, and the shard still full.
func TestLimiterSharedShardUnderTheirLimits(t *testing.T) {
	start := time.Unix(0, 0)
	for _, size := range []int{20 << 10, 50 << 10} {
		shard := &simShard{capacity: capacityBytes, tokens: capacityBytes, rng: rand.New(rand.NewPCG(11, 12))}
		ps := newSimProducers(3, start, 0.45*capacityBytes/float64(size))
		simulate(shard, ps, size, start, 3*time.Second, time.Hour)
		shard.throttled, shard.entries = 0, 0
		for _, p := range ps {
			p.okBytes = 0
		}
		const d = 20 * time.Second
		simulate(shard, ps, size, start.Add(3*time.Second), d, 0)
		total := 0
		for _, p := range ps {
			total += p.okBytes
		}
		got := float64(total) / d.Seconds() / capacityBytes
		throttled := float64(shard.throttled) / float64(shard.entries)
		t.Logf("%d B: together %.1f%% of the capacity, %.1f%% throttled", size, 100*got, 100*throttled)
		if got < 0.9 || throttled > 0.1 {
			t.Errorf("%d B: together %.1f%% of the capacity and %.1f%% throttled, want at least 90%% and at most 10%%", size, 100*got, 100*throttled)
		}
	}
}
