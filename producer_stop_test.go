package producer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/service/kinesis"
)

// TestStopUnderLoad: goroutines put while Stop runs. Every Put that
// returned nil ends delivered or failed, exactly once; every Put after Stop
// returns ErrStoppedProducer.
func TestStopUnderLoad(t *testing.T) {
	for _, shards := range []int{0, 3} {
		t.Run(fmt.Sprint("shards=", shards), func(t *testing.T) {
			before := runtime.NumGoroutine()
			var mu sync.Mutex
			rng := rand.New(rand.NewPCG(41, 42))
			c := &fakeClient{}
			c.answer = func(_ int, in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
				mu.Lock()
				defer mu.Unlock()
				time.Sleep(time.Duration(rng.IntN(3)) * time.Millisecond)
				return failEntries(in, "InternalFailure", func(int) bool { return rng.IntN(2) == 0 }), nil
			}
			cfg := testConfig(c)
			cfg.MaxAttempts = 2
			cfg.AggregateBatchCount = 20
			cfg.BacklogCount = 50
			cfg.MaxConnections = 4
			cfg.RateLimit = -1
			if shards > 0 {
				cfg.GetShards = StaticGetShardsFunc(shards)
				cfg.ShardRefreshInterval = 5 * time.Millisecond
				c.shards = staticShards(t, shards)
			}
			p := New(cfg)
			f := collectFailures(p)
			if err := p.Start(); err != nil {
				t.Fatal(err)
			}
			var accepted sync.Map
			var nAccepted, nStopped atomic.Int64
			var wg sync.WaitGroup
			for g := 0; g < 8; g++ {
				wg.Add(1)
				go func(g int) {
					defer wg.Done()
					for i := 0; ; i++ {
						data := recordData(g*1000000 + i)
						var err error
						if i%2 == 0 {
							err = p.Put(data, fmt.Sprint("k", i%31))
						} else {
							err = p.PutUserRecord(&testRecord{key: fmt.Sprint("u", i%17), data: data})
						}
						switch {
						case err == nil:
							accepted.Store(string(data), true)
							nAccepted.Add(1)
						case errors.Is(err, ErrStoppedProducer):
							nStopped.Add(1)
							// Once stopped, always stopped.
							if err := p.Put([]byte("late"), "k"); !errors.Is(err, ErrStoppedProducer) {
								t.Errorf("Put after a stopped error: %v", err)
							}
							return
						default:
							t.Errorf("Put: %v", err)
							return
						}
					}
				}(g)
			}
			time.Sleep(50 * time.Millisecond)
			p.Stop()
			wg.Wait()
			if nStopped.Load() != 8 {
				t.Fatalf("%d goroutines saw ErrStoppedProducer, want 8", nStopped.Load())
			}
			fs := f.wait(t)
			settled := map[string]int{}
			for _, r := range c.userRecords(t) {
				settled[string(r.Data)]++
			}
			for _, fr := range fs {
				for _, u := range fr.UserRecords {
					settled[string(u.Data())]++
				}
			}
			n := 0
			accepted.Range(func(k, _ any) bool {
				n++
				if settled[k.(string)] != 1 {
					t.Errorf("record %q settled %d times", k, settled[k.(string)])
				}
				return true
			})
			if int64(n) != nAccepted.Load() || len(settled) != n {
				t.Fatalf("%d accepted, %d settled", n, len(settled))
			}
			if n < 100 || len(fs) == 0 {
				t.Fatalf("too little happened: %d accepted, %d failures", n, len(fs))
			}
			if st := p.Stats(); st.Outstanding != 0 || st.UserRecordsPut+st.UserRecordsFailed != int64(n) {
				t.Fatalf("stats %+v for %d accepted", st, n)
			}
			calls := c.callCount()
			time.Sleep(20 * time.Millisecond)
			if c.callCount() != calls {
				t.Fatal("PutRecords called after Stop returned")
			}
			checkNoLeak(t, before)
		})
	}
}

func TestPutAfterStop(t *testing.T) {
	c := &fakeClient{}
	p := New(testConfig(c))
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	p.Stop()
	if err := p.Put([]byte("x"), "k"); !errors.Is(err, ErrStoppedProducer) {
		t.Errorf("Put: %v", err)
	}
	if err := p.PutUserRecord(&testRecord{key: "k", data: []byte("x")}); !errors.Is(err, ErrStoppedProducer) {
		t.Errorf("PutUserRecord: %v", err)
	}
	if err := p.PutContext(context.Background(), []byte("x"), "k"); !errors.Is(err, ErrStoppedProducer) {
		t.Errorf("PutContext: %v", err)
	}
	// Bad input is still reported as bad input.
	if err := p.Put(nil, "k"); !errors.Is(err, ErrNilData) {
		t.Errorf("Put(nil): %v", err)
	}
	if n := len(c.sentRecords()); n != 0 {
		t.Fatalf("%d records sent", n)
	}
}

func TestStopTwiceAndConcurrently(t *testing.T) {
	before := runtime.NumGoroutine()
	c := &fakeClient{}
	p := New(testConfig(c))
	f := collectFailures(p)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for i := 0; i < 100; i++ {
		want[string(recordData(i))] = "k"
		if err := p.Put(recordData(i), "k"); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.Stop()
		}()
	}
	wg.Wait()
	p.Stop()
	if len(f.wait(t)) != 0 {
		t.Fatal("failures")
	}
	checkAllDelivered(t, want, c.userRecords(t))
	checkNoLeak(t, before)
}

func TestStopWithoutStartDelivers(t *testing.T) {
	for _, shards := range []bool{false, true} {
		t.Run(fmt.Sprint("shards=", shards), func(t *testing.T) {
			before := runtime.NumGoroutine()
			c := &fakeClient{}
			cfg := testConfig(c)
			cfg.BacklogCount = 100
			if shards {
				cfg.GetShards = StaticGetShardsFunc(4)
			}
			p := New(cfg)
			f := collectFailures(p)
			want := map[string]string{}
			for i := 0; i < 100; i++ {
				want[string(recordData(i))] = fmt.Sprint("k", i%3)
				if err := p.Put(recordData(i), fmt.Sprint("k", i%3)); err != nil {
					t.Fatal(err)
				}
			}
			if n := len(c.sentRecords()); n != 0 {
				t.Fatalf("%d records sent before Start", n)
			}
			p.Stop()
			if len(f.wait(t)) != 0 {
				t.Fatal("failures")
			}
			checkAllDelivered(t, want, c.userRecords(t))
			checkNoLeak(t, before)
		})
	}
}

func TestStartAfterStop(t *testing.T) {
	for _, started := range []bool{false, true} {
		p := New(testConfig(&fakeClient{}))
		if started {
			if err := p.Start(); err != nil {
				t.Fatal(err)
			}
		}
		p.Stop()
		if err := p.Start(); err == nil {
			t.Errorf("Start after Stop (started before: %v) returned nil", started)
		} else if !errors.Is(err, ErrStoppedProducer) {
			t.Errorf("Start after Stop: %v, want ErrStoppedProducer", err)
		}
	}
}

func TestStartTwice(t *testing.T) {
	c := &fakeClient{}
	p := New(testConfig(c))
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatalf("second Start: %v", err)
	}
	if err := p.Put([]byte("x"), "k"); err != nil {
		t.Fatal(err)
	}
	p.Stop()
	checkAllDelivered(t, map[string]string{"x": "k"}, c.userRecords(t))
}

// TestNoGoroutineLeft runs the producer with everything that starts a
// goroutine (shard refresh, failures, successes, retries) and checks that
// nothing is left once Stop returned and the channels were drained.
func TestNoGoroutineLeft(t *testing.T) {
	before := runtime.NumGoroutine()
	c := &fakeClient{answer: func(call int, in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
		return failEntries(in, "InternalFailure", func(i int) bool { return (i+call)%2 == 0 }), nil
	}}
	cfg := testConfig(c)
	cfg.GetShards = StaticGetShardsFunc(4)
	c.shards = staticShards(t, 4)
	cfg.ShardRefreshInterval = 2 * time.Millisecond
	cfg.MaxAttempts = 2
	p := New(cfg)
	f := collectFailures(p)
	succ := p.NotifySuccesses()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range succ {
		}
	}()
	want := putAll(t, p, 2000, 50)
	fs := f.wait(t)
	wg.Wait()
	if got := userRecordCount(fs) + len(c.userRecords(t)); got != len(want) {
		t.Fatalf("%d settled, %d put", got, len(want))
	}
	checkNoLeak(t, before)
}

// TestUnreadFailuresDoNotBlockStop: a caller who asked for the failure
// channel and never reads it must not keep Stop from returning.
func TestUnreadFailuresDoNotBlockStop(t *testing.T) {
	c := &fakeClient{answer: func(int, *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
		return nil, fmt.Errorf("down")
	}}
	cfg := testConfig(c)
	cfg.BacklogCount = 5 // a small failure channel buffer
	cfg.MaxAttempts = 1
	cfg.AggregateBatchCount = 1
	p := New(cfg)
	_ = p.NotifyFailures()
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		if err := p.Put(recordData(i), "k"); err != nil {
			t.Fatal(err)
		}
	}
	stopped := make(chan struct{})
	go func() {
		p.Stop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Stop blocked on an unread failure channel")
	}
	if st := p.Stats(); st.UserRecordsFailed != 100 {
		t.Fatalf("%d records failed, want 100", st.UserRecordsFailed)
	}
}

// TestFailuresReadAfterStop: Stop does not wait for the reader of the
// failure channel; failures not yet read stay queued, and reading them after
// Stop gets every one, then the close, and then no goroutine is left.
func TestFailuresReadAfterStop(t *testing.T) {
	before := runtime.NumGoroutine()
	c := &fakeClient{answer: func(int, *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
		return nil, fmt.Errorf("down")
	}}
	cfg := testConfig(c)
	cfg.BacklogCount = 5 // the failure channel's buffer is far smaller than the failures
	cfg.MaxAttempts = 1
	cfg.AggregateBatchCount = 1
	p := New(cfg)
	failures := p.NotifyFailures()
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		if err := p.Put(recordData(i), "k"); err != nil {
			t.Fatal(err)
		}
	}
	p.Stop() // returns although nobody reads
	n := 0
	for f := range failures {
		n += len(f.UserRecords)
	}
	if n != 100 {
		t.Fatalf("read %d failed records after Stop, want 100", n)
	}
	checkNoLeak(t, before)
}

// TestFailuresLoggedWithoutReader: failures nobody asked for are logged, not
// lost silently, and the log never holds record data.
func TestFailuresLoggedWithoutReader(t *testing.T) {
	logs := &bufferLogger{}
	c := &fakeClient{answer: func(int, *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
		return nil, fmt.Errorf("down")
	}}
	cfg := testConfig(c)
	cfg.Logger = logs.logger()
	cfg.MaxAttempts = 2
	cfg.Verbose = true
	p := New(cfg)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if err := p.Put([]byte("SECRET-PAYLOAD-1234"), "k"); err != nil {
		t.Fatal(err)
	}
	p.Stop()
	out := logs.String()
	if !containsAll(out, "failed", "down") {
		t.Fatalf("failure not logged:\n%s", out)
	}
	if containsAll(out, "SECRET-PAYLOAD") {
		t.Fatalf("record data in the log:\n%s", out)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// TestStopWhilePutBlocks: Put blocked on a full backlog when Stop comes
// either gets its record in (and delivered) or ErrStoppedProducer.
func TestStopWhilePutBlocks(t *testing.T) {
	release := make(chan struct{})
	c := &fakeClient{answer: func(int, *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
		<-release
		return nil, nil
	}}
	cfg := testConfig(c)
	cfg.BacklogCount = 1
	cfg.MaxConnections = 1
	cfg.BatchCount = 1
	cfg.AggregateBatchCount = 1
	p := New(cfg)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	results := make(chan error, 20)
	for i := 0; i < 20; i++ {
		go func(i int) { results <- p.Put(recordData(i), "k") }(i)
	}
	time.Sleep(30 * time.Millisecond) // let them block
	stopped := make(chan struct{})
	go func() {
		p.Stop()
		close(stopped)
	}()
	time.Sleep(20 * time.Millisecond)
	close(release)
	<-stopped
	accepted := 0
	for i := 0; i < 20; i++ {
		switch err := <-results; {
		case err == nil:
			accepted++
		case !errors.Is(err, ErrStoppedProducer):
			t.Fatalf("Put: %v", err)
		}
	}
	if got := len(c.userRecords(t)); got != accepted {
		t.Fatalf("%d delivered, %d accepted", got, accepted)
	}
}
