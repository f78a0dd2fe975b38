package producer

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/kinesis"
	"github.com/kplgo/producer/internal/kinesistest"
)

// slowClient acknowledges every entry after a delay, and keeps nothing.
type slowClient struct {
	delay time.Duration
	calls atomic.Int64
}

func (c *slowClient) PutRecords(in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
	c.calls.Add(1)
	time.Sleep(c.delay)
	out := &kinesis.PutRecordsOutput{Records: make([]*kinesis.PutRecordsResultEntry, len(in.Records))}
	ok := &kinesis.PutRecordsResultEntry{SequenceNumber: aws.String("1")}
	for i := range out.Records {
		out.Records[i] = ok
	}
	return out, nil
}

// TestMemoryBoundedUnderSlowClient puts 200 times BacklogCount records of
// 1 KiB, each in a fresh slice, through a producer whose client takes 20ms
// per call with 2 connections, so that Put must wait for the client. The heap in
// use (sampled after a GC every 20ms while putting) must stay within what the
// producer is allowed to hold: the backlog (twice: the buffer Put fills and
// the one the drain goroutine empties), the batches in flight or waiting for
// a connection (user data, encoded copy and request structures), the open
// aggregates of the shards, and a fixed slack. A producer that buffered
// every record would hold the ~200 MiB put.
//
// What waits in the shards' queues (for a connection, or for tokens when
// the rate limit is the bottleneck instead of the client) is bounded too:
// the pipeline takes no new records once MaxConnections x BatchSize bytes
// are queued.
func TestMemoryBoundedUnderSlowClient(t *testing.T) {
	for _, tc := range []struct {
		name      string
		rateLimit int
		delay     time.Duration
		total     int // records put, in BacklogCounts
		factor    int // how many times the bound the test puts, at least
	}{
		{"client bound", -1, 20 * time.Millisecond, 200, 4},
		{"rate limit bound", 150, time.Millisecond, 50, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testMemoryBound(t, tc.rateLimit, tc.delay, tc.total, tc.factor)
		})
	}
}

func testMemoryBound(t *testing.T, rateLimit int, delay time.Duration, totalBacklogs, factor int) {
	const (
		recSize    = 1024
		backlog    = 1000
		conns      = 2
		batchSize  = 1 << 20 // the least BatchSize allowed
		shards     = 8
		goroutines = 4
		slack      = 8 << 20
	)
	total := totalBacklogs * backlog
	client := &slowClient{delay: delay}
	cfg := &Config{
		StreamName:     "memory",
		Client:         client,
		BacklogCount:   backlog,
		MaxConnections: conns,
		BatchSize:      batchSize,
		GetShards:      StaticGetShardsFunc(shards),
		RateLimit:      rateLimit,
		Logger:         quietLogger(),
	}
	held := conns * batchSize // bytes the shards' queues may hold
	// What the producer may hold, in bytes and in user records.
	bound := 2*backlog*recSize + // backlog, double-buffered
		(conns+1)*batchSize*3 + // batches: user data, encoded copy, request structures
		shards*DefaultAggregateBatchSize*2 + // open aggregates: user data and records
		2*held + // queued: user data and records
		slack
	// The count allows one batch more, as Outstanding is not an atomic
	// snapshot: acknowledgements may land while it reads its counters.
	recordBound := int64(2*backlog + (conns+2)*(batchSize/recSize) + shards*(DefaultAggregateBatchSize/recSize) + held/recSize + shards*DefaultAggregateBatchSize/recSize)
	if total*recSize < factor*bound {
		t.Fatalf("the test puts %d bytes, not clearly more than the bound of %d", total*recSize, bound)
	}

	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse

	p := New(cfg)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	var peak uint64
	var peakOutstanding int64
	samples := 0
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			peakOutstanding = max(peakOutstanding, p.Outstanding())
			samples++
		}
	}()

	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	keys := kinesistest.UUIDKeys(4096)
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(total) {
					return
				}
				data := make([]byte, recSize)
				data[0] = byte(i)
				if err := p.Put(data, keys[i%int64(len(keys))]); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	putTime := time.Since(start)
	close(stop)
	<-sampled
	p.Stop()
	elapsed := time.Since(start)

	st := p.Stats()
	grown := int64(peak) - int64(base)
	t.Logf("put %d records of %d bytes (%.1f MiB) in %v (Stop after %v), %d PutRecords calls of %v",
		total, recSize, float64(total*recSize)/(1<<20), putTime.Round(time.Millisecond),
		elapsed.Round(time.Millisecond), client.calls.Load(), client.delay)
	t.Logf("heap in use: %.1f MiB before, peak %.1f MiB (+%.1f MiB) over %d samples; bound +%.1f MiB",
		float64(base)/(1<<20), float64(peak)/(1<<20), float64(grown)/(1<<20), samples, float64(bound)/(1<<20))
	t.Logf("outstanding user records: peak %d, bound %d", peakOutstanding, recordBound)
	if st.UserRecordsPut != int64(total) || st.UserRecordsFailed != 0 {
		t.Errorf("acknowledged %d and failed %d of %d records", st.UserRecordsPut, st.UserRecordsFailed, total)
	}
	if samples < 5 {
		t.Errorf("only %d heap samples", samples)
	}
	if grown > int64(bound) {
		t.Errorf("the heap grew by %.1f MiB, over the bound of %.1f MiB", float64(grown)/(1<<20), float64(bound)/(1<<20))
	}
	if peakOutstanding > recordBound {
		t.Errorf("%d user records outstanding, over the bound of %d", peakOutstanding, recordBound)
	}
}
