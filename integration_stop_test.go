package producer_test

import (
	"errors"
	"math/big"
	"math/rand"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kplgo/producer"
	"github.com/kplgo/producer/internal/kinesistest"
)

// waitGoroutines waits up to grace for the number of goroutines to drop to
// at most want, and fails the test with the stacks of the extra goroutines
// if it does not.
func waitGoroutines(t *testing.T, want int, grace time.Duration) {
	t.Helper()
	deadline := time.Now().Add(grace)
	for {
		n := runtime.NumGoroutine()
		if n <= want {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 4<<20)
			buf = buf[:runtime.Stack(buf, true)]
			var ours []string
			for _, g := range strings.Split(string(buf), "\n\n") {
				if strings.Contains(g, "kplgo/producer") && !strings.Contains(g, "testing.tRunner") {
					ours = append(ours, g)
				}
			}
			t.Fatalf("%d goroutines run %v after Stop, %d before the producer started; goroutines in the module:\n%s",
				n, grace, want, strings.Join(ours, "\n\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestIntegrationStopUnderLoad stops a producer while 8 goroutines put
// records as fast as they can: every Put that returned nil is read back (or
// was reported failed), every Put after Stop returns ErrStoppedProducer,
// Stop can be called again, and no goroutine the producer started survives
// Stop. It does not run in parallel with other tests, so that it can count
// goroutines.
func TestIntegrationStopUnderLoad(t *testing.T) { forEachDoor(t, testIntegrationStopUnderLoad) }

func testIntegrationStopUnderLoad(t *testing.T, d door) {
	srv := kinesistest.Shared(t)
	// A transport of its own, whose connections the test closes before
	// counting goroutines.
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 100,
		IdleConnTimeout:     4 * time.Second,
	}
	client := srv.Client(t, tr)
	stream := srv.CreateStream(t, 4)
	before := runtime.NumGoroutine()

	cfg := bulkConfig(client, stream)
	cfg.ShardRefreshInterval = 100 * time.Millisecond
	cfg.BacklogCount = 2000
	h := startProducer(t, d, cfg, client)
	h.log.quiet = true

	keys := keyPool(rand.New(rand.NewSource(61)), 1000)
	var stopped atomic.Bool
	var afterStop, lateAccepted atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(610 + g)))
			for i := 0; ; i++ {
				key := keys[rng.Intn(len(keys))]
				var ehk *big.Int
				if i%10 == 0 {
					ehk = randomHashKey(rng)
				}
				wasStopped := stopped.Load()
				err := h.put(key, ehk, recordData(rng, 8+rng.Intn(500)), i%7 == 0)
				switch {
				case err == nil && wasStopped:
					lateAccepted.Add(1)
				case err == nil:
				case errors.Is(err, producer.ErrStoppedProducer):
					afterStop.Add(1)
					return
				default:
					t.Errorf("goroutine %d: put: %v", g, err)
					return
				}
			}
		}(g)
	}

	time.Sleep(500 * time.Millisecond)
	accepted := h.ledger.count()
	start := time.Now()
	h.p.Stop()
	stopped.Store(true)
	stopTook := time.Since(start)
	wg.Wait()
	h.stop() // waits for the failure channel to close
	h.p.Stop()

	if err := h.p.Put([]byte("late"), "late"); !errors.Is(err, producer.ErrStoppedProducer) {
		t.Errorf("Put after Stop: %v, want ErrStoppedProducer", err)
	}
	if err := h.p.PutUserRecord(&userRec{key: "late", data: []byte("late")}); !errors.Is(err, producer.ErrStoppedProducer) {
		t.Errorf("PutUserRecord after Stop: %v, want ErrStoppedProducer", err)
	}
	if n := lateAccepted.Load(); n > 0 {
		t.Errorf("%d Puts started after Stop returned were accepted", n)
	}
	if n := afterStop.Load(); n != 8 {
		t.Errorf("%d of 8 goroutines saw ErrStoppedProducer", n)
	}
	st := h.p.Stats()
	if st.Outstanding != 0 || st.InFlight != 0 {
		t.Errorf("Stats after Stop: %d outstanding, %d in flight", st.Outstanding, st.InFlight)
	}

	tr.CloseIdleConnections()
	waitGoroutines(t, before, 5*time.Second)

	o := readBack(t, client, stream, h.ledger, checkOptions{})
	t.Logf("%d records accepted before Stop was called, %d in all; Stop took %v; %v",
		accepted, o.Put, stopTook.Round(time.Millisecond), o)
	if o.Failed != 0 {
		t.Errorf("%d user records failed: %s", o.Failed, h.failures)
	}
	checkStats(t, h.p, o)
}
