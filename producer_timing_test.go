package producer

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/service/kinesis"
)

// TestFlushIntervalSendsWithoutStop: a lone record goes out within about
// FlushInterval, without Stop.
func TestFlushIntervalSendsWithoutStop(t *testing.T) {
	const interval = 150 * time.Millisecond
	c := &fakeClient{}
	cfg := testConfig(c)
	cfg.FlushInterval = interval
	cfg.RecordMaxBufferedTime = -1 // FlushInterval alone decides
	p := New(cfg)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	time.Sleep(interval / 3) // not right at a tick
	for i := 0; i < 2; i++ {
		start := time.Now()
		if err := p.Put(recordData(i), "k"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "the record to be sent", func() bool { return len(c.sentRecords()) > i })
		if d := time.Since(start); d > interval+time.Second {
			t.Fatalf("record %d sent after %v, FlushInterval %v", i, d, interval)
		}
	}
}

func TestFlushIntervalHoldsRecords(t *testing.T) {
	c := &fakeClient{}
	cfg := testConfig(c)
	cfg.FlushInterval = time.Hour
	cfg.RecordMaxBufferedTime = -1
	p := New(cfg)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if err := p.Put(recordData(i), "k"); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond)
	if n := c.callCount(); n != 0 {
		t.Fatalf("%d calls before FlushInterval with nothing full", n)
	}
	if n := p.Outstanding(); n != 10 {
		t.Fatalf("Outstanding %d, want 10", n)
	}
	p.Stop()
	if n := len(c.userRecords(t)); n != 10 {
		t.Fatalf("%d delivered after Stop", n)
	}
	// Everything was in one aggregate in one call.
	if n := c.callCount(); n != 1 || len(c.sentRecords()) != 1 {
		t.Fatalf("%d calls, %d Kinesis records, want 1 and 1", n, len(c.sentRecords()))
	}
}

// concurrencyClient counts PutRecords calls under way.
type concurrencyClient struct {
	fakeClient
	now, most atomic.Int32
	hold      time.Duration
}

func (c *concurrencyClient) PutRecords(in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
	n := c.now.Add(1)
	defer c.now.Add(-1)
	for {
		m := c.most.Load()
		if n <= m || c.most.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(c.hold)
	return c.fakeClient.PutRecords(in)
}

func TestMaxConnections(t *testing.T) {
	for _, maxConn := range []int{1, 3, 8} {
		t.Run(fmt.Sprint(maxConn), func(t *testing.T) {
			c := &concurrencyClient{hold: 3 * time.Millisecond}
			// Fail some entries so that retries hold connections too.
			c.answer = func(call int, in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
				return failEntries(in, "InternalFailure", func(int) bool { return call%5 == 0 }), nil
			}
			cfg := testConfig(&c.fakeClient)
			cfg.Client = c
			cfg.MaxConnections = maxConn
			cfg.BatchCount = 1
			cfg.AggregateBatchCount = 1
			p := New(cfg)
			want := map[string]string{}
			var mu sync.Mutex
			var wg sync.WaitGroup
			if err := p.Start(); err != nil {
				t.Fatal(err)
			}
			for g := 0; g < 4; g++ {
				wg.Add(1)
				go func(g int) {
					defer wg.Done()
					for i := 0; i < 40; i++ {
						data := recordData(g*1000 + i)
						mu.Lock()
						want[string(data)] = "k"
						mu.Unlock()
						if err := p.Put(data, "k"); err != nil {
							t.Error(err)
							return
						}
					}
				}(g)
			}
			wg.Wait()
			p.Stop()
			checkAllDelivered(t, want, c.userRecords(t))
			if most := int(c.most.Load()); most > maxConn {
				t.Fatalf("%d concurrent PutRecords calls, MaxConnections %d", most, maxConn)
			} else if most < maxConn {
				t.Fatalf("at most %d concurrent calls: MaxConnections %d was never reached", most, maxConn)
			}
		})
	}
}

// TestOutstandingCountsBufferedAndInFlight: Outstanding counts what was put
// and is not yet acknowledged, including records held in a PutRecords call.
func TestOutstandingCountsBufferedAndInFlight(t *testing.T) {
	release := make(chan struct{})
	c := &fakeClient{answer: func(int, *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
		<-release
		return nil, nil
	}}
	cfg := testConfig(c)
	p := New(cfg)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 25; i++ {
		if err := p.Put(recordData(i), "k"); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, "a call", func() bool { return c.callCount() > 0 })
	if n := p.Outstanding(); n != 25 {
		t.Fatalf("Outstanding %d with every record in flight, want 25", n)
	}
	if st := p.Stats(); st.InFlight < 1 {
		t.Fatalf("InFlight %d during a call", st.InFlight)
	}
	close(release)
	p.Stop()
	if n := p.Outstanding(); n != 0 {
		t.Fatalf("Outstanding %d after Stop", n)
	}
}
