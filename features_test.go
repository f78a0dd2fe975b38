package producer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/kinesis"
)

// callGate is a fake client answer that blocks every call until opened.
type callGate chan struct{}

func (g callGate) answer(int, *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
	<-g
	return nil, nil
}

func TestFlushSyncWaitsForAcknowledgement(t *testing.T) {
	c := &fakeClient{answer: func(int, *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
		time.Sleep(20 * time.Millisecond)
		return nil, nil
	}}
	cfg := testConfig(c)
	cfg.FlushInterval = time.Hour // only the flush sends
	p := New(cfg)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	want := map[string]string{}
	for round := 0; round < 3; round++ {
		for i := 0; i < 300; i++ {
			data := recordData(round*1000 + i)
			want[string(data)] = fmt.Sprint("k", i%7)
			if err := p.Put(data, fmt.Sprint("k", i%7)); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.FlushSync(context.Background()); err != nil {
			t.Fatal(err)
		}
		// Everything put before FlushSync is in the client now.
		checkAllDelivered(t, want, c.userRecords(t))
		if n := p.Outstanding(); n != 0 {
			t.Fatalf("Outstanding after FlushSync = %d, want 0", n)
		}
	}
}

func TestFlushSyncGivesUpWithContext(t *testing.T) {
	g := make(callGate)
	c := &fakeClient{answer: g.answer}
	p := New(testConfig(c))
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if err := p.Put([]byte("x"), "k"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := p.FlushSync(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("FlushSync = %v, want deadline exceeded", err)
	}
	if n := p.Outstanding(); n != 1 {
		t.Fatalf("Outstanding = %d, want 1", n)
	}
	close(g)
	p.Stop()
	if got := len(c.userRecords(t)); got != 1 {
		t.Fatalf("delivered %d, want 1", got)
	}
}

func TestPutContextGivesUpWhenBacklogStaysFull(t *testing.T) {
	g := make(callGate)
	c := &fakeClient{answer: g.answer}
	cfg := testConfig(c)
	cfg.BacklogCount, cfg.MaxConnections, cfg.BatchCount, cfg.AggregateBatchCount = 1, 1, 1, 1
	p := New(cfg)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	accepted := 0
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		if err = p.PutContext(ctx, recordData(i), "k"); err == nil {
			accepted++
		}
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("PutContext = %v, want deadline exceeded", err)
	}
	close(g)
	p.Stop()
	if got := len(c.userRecords(t)); got != accepted {
		t.Fatalf("delivered %d, accepted %d", got, accepted)
	}
}

func TestShutdownDeadlineReportsUndelivered(t *testing.T) {
	c := &fakeClient{answer: func(int, *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	}}
	cfg := testConfig(c)
	cfg.MaxAttempts = -1
	cfg.RecordTTL = time.Hour
	cfg.RetryBackoffMin, cfg.RetryBackoffMax = 10*time.Millisecond, 20*time.Millisecond
	p := New(cfg)
	failures := p.NotifyFailures()
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		if err := p.Put(recordData(i), fmt.Sprint("k", i)); err != nil {
			t.Fatal(err)
		}
	}
	failed := make(chan int)
	go func() {
		n := 0
		for f := range failures {
			if !errors.Is(f.Err, ErrStopDeadline) {
				t.Errorf("failure %v does not wrap ErrStopDeadline", f.Err)
			}
			n += len(f.UserRecords)
		}
		failed <- n
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := p.Shutdown(ctx)
	if !errors.Is(err, ErrStopDeadline) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want ErrStopDeadline and deadline exceeded", err)
	}
	if n := <-failed; n != 50 {
		t.Fatalf("%d records failed, want 50", n)
	}
	if err := p.Put([]byte("late"), "k"); !errors.Is(err, ErrStoppedProducer) {
		t.Fatalf("Put after Shutdown = %v", err)
	}
}

func TestNotifySuccessesReportsShardAndSequence(t *testing.T) {
	c := &fakeClient{answer: func(call int, in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
		out := &kinesis.PutRecordsOutput{}
		for i := range in.Records {
			out.Records = append(out.Records, &kinesis.PutRecordsResultEntry{
				ShardId: aws.String("shardId-000000000007"), SequenceNumber: aws.String(fmt.Sprint(call*1000 + i))})
		}
		return out, nil
	}}
	p := New(testConfig(c))
	results := p.NotifySuccesses()
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for i := 0; i < 1000; i++ {
		want[string(recordData(i))] = true
		if err := p.Put(recordData(i), fmt.Sprint("k", i%13)); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan map[string]bool)
	go func() {
		got := map[string]bool{}
		for r := range results {
			if r.ShardID != "shardId-000000000007" || r.SequenceNumber == "" || r.Attempts != 1 {
				t.Errorf("result %+v", r)
			}
			for _, u := range r.UserRecords {
				got[string(u.Data())] = true
			}
		}
		done <- got
	}()
	p.Stop()
	got := <-done
	if len(got) != len(want) {
		t.Fatalf("results for %d records, want %d", len(got), len(want))
	}
	if s := p.Stats(); s.UserRecordsPut != 1000 || s.Outstanding != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestRateLimitHoldsShardToItsShare(t *testing.T) {
	c := &fakeClient{}
	cfg := testConfig(c)
	cfg.GetShards = StaticGetShardsFunc(1)
	cfg.RateLimit = 10 // 100 Kinesis records and ~102 KiB a second
	cfg.AggregateBatchCount = 1
	p := New(cfg)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := 0; i < 150; i++ {
		if err := p.Put(recordData(i), fmt.Sprint("k", i)); err != nil {
			t.Fatal(err)
		}
	}
	p.Stop()
	// The bucket starts full (100 records) and refills at 100 a second, so
	// 150 records need about half a second.
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Fatalf("150 records at 100/s took %v", d)
	}
	if got := len(c.userRecords(t)); got != 150 {
		t.Fatalf("delivered %d, want 150", got)
	}
	if s := p.Stats(); s.Outstanding != 0 || s.UserRecordsPut != 150 || s.RateLimited < 40 {
		t.Fatalf("stats %+v", s)
	}
}

func TestFailIfThrottled(t *testing.T) {
	c := &fakeClient{answer: func(_ int, in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
		out := &kinesis.PutRecordsOutput{FailedRecordCount: aws.Int64(int64(len(in.Records)))}
		for range in.Records {
			out.Records = append(out.Records, &kinesis.PutRecordsResultEntry{
				ErrorCode: aws.String("ProvisionedThroughputExceededException"), ErrorMessage: aws.String("slow down")})
		}
		return out, nil
	}}
	cfg := testConfig(c)
	cfg.FailIfThrottled = true
	p := New(cfg)
	failures := p.NotifyFailures()
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if err := p.Put(recordData(i), "k"); err != nil {
			t.Fatal(err)
		}
	}
	p.Stop()
	n := 0
	for f := range failures {
		var pe *PutRecordError
		if !errors.Is(f.Err, ErrThrottled) || !errors.As(f.Err, &pe) || pe.Code != "ProvisionedThroughputExceededException" {
			t.Fatalf("failure %v", f.Err)
		}
		n += len(f.UserRecords)
	}
	if n != 10 {
		t.Fatalf("%d failed, want 10", n)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls != 1 {
		t.Fatalf("%d calls, want 1 (no retry)", c.calls)
	}
}

func TestRecordMaxBufferedTimeBoundsTheWait(t *testing.T) {
	c := &fakeClient{}
	cfg := testConfig(c)
	cfg.FlushInterval = time.Hour
	cfg.RecordMaxBufferedTime = 60 * time.Millisecond
	p := New(cfg)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	for i := 0; i < 3; i++ {
		start := time.Now()
		if err := p.Put(recordData(i), "k"); err != nil {
			t.Fatal(err)
		}
		for len(c.userRecords(t)) <= i {
			if time.Since(start) > 2*time.Second {
				t.Fatalf("record %d not sent within 2s", i)
			}
			time.Sleep(5 * time.Millisecond)
		}
		// The bound is 60ms; allow scheduling slack under -race.
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Fatalf("record %d waited %v", i, d)
		}
	}
}

func TestStreamARNIsSentInsteadOfTheName(t *testing.T) {
	const arn = "arn:aws:kinesis:us-east-1:123456789012:stream/orders"
	c := &fakeClient{checkIn: func(in *kinesis.PutRecordsInput) error {
		if aws.StringValue(in.StreamARN) != arn || in.StreamName != nil {
			return fmt.Errorf("stream name %v, ARN %v", in.StreamName, in.StreamARN)
		}
		return nil
	}}
	cfg := testConfig(c)
	cfg.StreamName, cfg.StreamARN, cfg.MaxAttempts = "", arn, 1
	p := New(cfg)
	failures := p.NotifyFailures()
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if err := p.Put([]byte("x"), "k"); err != nil {
		t.Fatal(err)
	}
	p.Stop()
	for f := range failures {
		t.Fatalf("failure: %v", f.Err)
	}
	if len(c.userRecords(t)) != 1 {
		t.Fatal("record not delivered")
	}
	bad := testConfig(c)
	bad.StreamName, bad.StreamARN = "", "orders"
	if err := New(bad).Start(); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("Start with a bad ARN = %v", err)
	}
}

func TestRecordTTLAppliesWhileHeldByTheRateLimit(t *testing.T) {
	c := &fakeClient{}
	cfg := testConfig(c)
	cfg.GetShards = StaticGetShardsFunc(1)
	cfg.RateLimit = 1 // 10 Kinesis records a second
	cfg.AggregateBatchCount = 1
	cfg.RecordTTL = 200 * time.Millisecond
	p := New(cfg)
	failures := p.NotifyFailures()
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 60; i++ {
		if err := p.Put(recordData(i), fmt.Sprint("k", i)); err != nil {
			t.Fatal(err)
		}
	}
	p.Stop()
	failed := 0
	for f := range failures {
		if !errors.Is(f.Err, ErrRecordExpired) {
			t.Fatalf("failure %v, want ErrRecordExpired", f.Err)
		}
		failed += len(f.UserRecords)
	}
	sent := len(c.userRecords(t))
	// About 10 go at once and a few more before the TTL; the rest expire
	// unsent instead of trickling out for seconds.
	if sent+failed != 60 || failed < 30 {
		t.Fatalf("sent %d, expired %d of 60", sent, failed)
	}
}
