package producer_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kplgo/producer"
	"github.com/kplgo/producer/internal/faultinject"
	"github.com/kplgo/producer/internal/kinesistest"
)

const (
	// randomOffer is how long TestRandomThrottles offers records, per run.
	randomOffer = 5 * time.Second
	// randomShare is the share of the stream's capacity it offers: a
	// stream with room to spare, whose throttles come at random.
	randomShare = 0.6
	// randomMinRatio is the least share of the throughput with the rate
	// limit off that the adaptive rate must keep.
	randomMinRatio = 0.8
	// randomMaxStop bounds Stop after the offer.
	randomMaxStop = 15 * time.Second
)

// randomFaults throttles at random, whatever the rate: 30% of the entries
// of 20% of the calls, besides 10% HTTP 500s, 5% refused connections and
// 5% answers lost after the server stored the records.
func randomFaults(seed int64) faultinject.Config {
	return faultinject.Config{
		Seed:              seed,
		InternalError:     0.1,
		ConnectionError:   0.05,
		LostResponse:      0.05,
		EntryFailure:      0.3,
		EntryFailureCalls: 0.2,
	}
}

// randomRun is the account of one run of TestRandomThrottles.
type randomRun struct {
	out        limOutcome
	offer, put time.Duration // the offer, and the offer plus Stop
	stop       time.Duration
	stats      producer.Stats
	shards     []producer.ShardStats
	faults     faultinject.Stats
}

// throughput is what was delivered per second of putting and stopping.
func (r randomRun) throughput() float64 { return float64(r.out.DeliveredBytes) / r.put.Seconds() }

func (r randomRun) String() string {
	return fmt.Sprintf("%.0f KiB/s (delivered %.1f MiB in %v, Stop %v); %v; throttled %d, retries %d",
		r.throughput()/1024, float64(r.out.DeliveredBytes)/(1<<20), r.put.Round(time.Millisecond),
		r.stop.Round(time.Millisecond), r.faults, r.stats.Throttled, r.stats.Retries)
}

// runRandomThrottles offers randomShare of a four-shard stream's capacity
// for randomOffer through randomFaults, with the given RateLimit, and reads
// the stream back.
func runRandomThrottles(t *testing.T, rateLimit int, seed int64) randomRun {
	t.Helper()
	const shards = 4
	srv := kinesistest.Shared(t)
	tr := faultinject.New(nil, randomFaults(seed))
	t.Cleanup(tr.CloseIdleConnections)
	stream := srv.CreateStream(t, shards)
	client := srv.Client(t, tr)
	ledger := newLimLedger()
	r := startLimProducerWith(t, doors[0], &producer.Config{
		StreamName:  stream,
		Client:      client,
		BatchCount:  10,
		RateLimit:   rateLimit,
		MaxAttempts: 100,
	}, srv.Client(t, nil), ledger)
	p := r.p
	o := &limOffer{run: r, goroutines: 8, rate: randomShare * shards * shardCapacity / recordCost, key: limKey, shard: -1}
	start := time.Now()
	o.offer(seed, start.Add(randomOffer))()
	offered := time.Since(start)
	shardStats := p.ShardStats()
	stop := r.stop()
	run := randomRun{offer: offered, put: time.Since(start), stop: stop, stats: p.Stats(), shards: shardStats, faults: tr.Stats()}
	run.out = ledger.check(limRead(t, srv, stream), nil)
	return run
}

// TestRandomThrottles: throttles that come at random, whatever the rate,
// on a stream with room to spare, must not make the adaptive rate back off
// for good. With the default RateLimit the producer delivers at least
// randomMinRatio of what it delivers with the rate limit off, loses
// nothing and stops promptly.
func TestRandomThrottles(t *testing.T) {
	t.Parallel()
	runExclusively(t)
	measure := func() (missed string) {
		lag := startLagMeter()
		on := runRandomThrottles(t, 0, 9500)
		off := runRandomThrottles(t, -1, 9500)
		lost, worst := lag.finish()
		t.Logf("the test lost %.1f%% of its time to late wake-ups (worst %v)", 100*lost, worst.Round(time.Millisecond))
		for _, r := range []randomRun{on, off} {
			if r.out.Lost != 0 || r.out.Failed != 0 || r.out.Unexpected != 0 {
				t.Errorf("%v", r.out)
			}
			if r.stop > randomMaxStop {
				t.Errorf("Stop took %v, want at most %v", r.stop, randomMaxStop)
			}
		}
		var rates []string
		for _, s := range on.shards {
			rates = append(rates, fmt.Sprintf("%s %.0f%% (%v)", s.ShardID, 100*s.RateBytes/shardCapacity, s.RateReason))
		}
		ratio := on.throughput() / off.throughput()
		t.Logf("rate limit on: %v; shards' rates at the end of the offer: %s", on, strings.Join(rates, ", "))
		t.Logf("rate limit off: %v", off)
		t.Logf("FIGURES random throttles: %.0f KiB/s with the adaptive rate, %.0f KiB/s without (%.1f%%); Stop %v and %v; lost %d and %d",
			on.throughput()/1024, off.throughput()/1024, 100*ratio, on.stop.Round(time.Millisecond), off.stop.Round(time.Millisecond),
			on.out.Lost, off.out.Lost)
		if ratio < randomMinRatio && lost > lagStarved {
			t.Logf("not judged, the machine starved the test: %.1f%% of the throughput without the adaptive rate", 100*ratio)
		} else if ratio < randomMinRatio {
			return fmt.Sprintf("the adaptive rate delivered %.1f%% of the throughput without it, want at least %.0f%%", 100*ratio, 100*randomMinRatio)
		}
		return ""
	}
	if missed := measure(); missed != "" {
		t.Logf("%s: measuring once more", missed)
		if missed := measure(); missed != "" {
			t.Error(missed)
		}
	}
}
