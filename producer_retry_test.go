package producer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/awserr"
	"github.com/aws/aws-sdk-go/aws/request"
	"github.com/aws/aws-sdk-go/service/kinesis"
)

// putAll starts p, puts n records (keys k0..k{keys-1}) and stops it. It
// returns what was put, keyed by data.
func putAll(t *testing.T, p *Producer, n, keys int) map[string]wantRec {
	t.Helper()
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	want := make(map[string]wantRec, n)
	for i := 0; i < n; i++ {
		data := recordData(i)
		key := fmt.Sprint("k", i%keys)
		want[string(data)] = wantRec{key: key}
		if err := p.Put(data, key); err != nil {
			t.Fatalf("Put %d: %v", i, err)
		}
	}
	p.Stop()
	return want
}

func TestPartialFailuresAreRetried(t *testing.T) {
	for _, code := range []string{"ProvisionedThroughputExceededException", "InternalFailure"} {
		for _, aggregate := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/aggregate=%v", code, aggregate), func(t *testing.T) {
				c := &fakeClient{}
				c.answer = func(call int, in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
					if call > 6 {
						return nil, nil
					}
					return failEntries(in, code, func(i int) bool { return (i+call)%3 != 0 }), nil
				}
				cfg := testConfig(c)
				cfg.BatchCount = 20
				if !aggregate {
					cfg.AggregateBatchCount = 1
				} else {
					cfg.AggregateBatchCount = 5
				}
				p := New(cfg)
				f := collectFailures(p)
				want := putAll(t, p, 500, 37)
				if fs := f.wait(t); len(fs) > 0 {
					t.Fatalf("%d failures, first: %v", len(fs), fs[0].Err)
				}
				checkDelivered(t, want, c.userRecords(t))
				st := p.Stats()
				if st.Retries == 0 {
					t.Error("Stats.Retries is 0")
				}
				if st.UserRecordsPut != 500 || st.UserRecordsFailed != 0 || st.Outstanding != 0 {
					t.Errorf("stats %+v", st)
				}
				if got, want := st.Requests, int64(c.callCount()); got != want {
					t.Errorf("Stats.Requests %d, client saw %d calls", got, want)
				}
			})
		}
	}
}

// timeoutError is a net.Error that timed out.
type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

func TestWholeRequestFailuresAreRetried(t *testing.T) {
	for name, err := range map[string]error{
		"InternalFailure":      awserr.New("InternalFailure", "injected", nil),
		"503":                  awserr.NewRequestFailure(awserr.New("ServiceUnavailable", "injected", nil), 503, "req-1"),
		"500":                  awserr.NewRequestFailure(awserr.New("InternalFailure", "injected", nil), 500, "req-2"),
		"throttled request":    awserr.NewRequestFailure(awserr.New("ProvisionedThroughputExceededException", "slow down", nil), 400, "req-3"),
		"LimitExceeded":        awserr.New("LimitExceededException", "injected", nil),
		"ExpiredToken":         awserr.New("ExpiredTokenException", "injected", nil),
		"connection reset":     &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET},
		"net timeout":          timeoutError{},
		"request send failure": awserr.New(request.ErrCodeSerialization, "unexpected EOF", io.ErrUnexpectedEOF),
		"deadline":             context.DeadlineExceeded,
		"send request (sdk)":   awserr.New("RequestError", "send request failed", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}),
	} {
		t.Run(name, func(t *testing.T) {
			c := &fakeClient{}
			c.answer = func(call int, in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
				if call <= 3 {
					return nil, err
				}
				return nil, nil
			}
			cfg := testConfig(c)
			cfg.BatchCount = 50
			p := New(cfg)
			f := collectFailures(p)
			want := putAll(t, p, 300, 13)
			if fs := f.wait(t); len(fs) > 0 {
				t.Fatalf("%d failures, first: %v", len(fs), fs[0].Err)
			}
			checkDelivered(t, want, c.userRecords(t))
		})
	}
}

// badAnswerClient answers its first calls with nothing or with too few
// entries, and stores nothing for them.
type badAnswerClient struct {
	fakeClient
	bad atomic.Int32
}

func (c *badAnswerClient) PutRecords(in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
	switch c.bad.Add(1) {
	case 1:
		return nil, nil
	case 2:
		return &kinesis.PutRecordsOutput{Records: []*kinesis.PutRecordsResultEntry{}}, nil
	}
	return c.fakeClient.PutRecords(in)
}

func TestMalformedAnswersAreRetried(t *testing.T) {
	c := &badAnswerClient{}
	cfg := testConfig(&c.fakeClient)
	cfg.Client = c
	p := New(cfg)
	f := collectFailures(p)
	want := putAll(t, p, 100, 7)
	if fs := f.wait(t); len(fs) > 0 {
		t.Fatalf("%d failures, first: %v", len(fs), fs[0].Err)
	}
	checkDelivered(t, want, c.userRecords(t))
}

// contextClient has PutRecordsWithContext, and lets its first calls hang
// until their context ends.
type contextClient struct {
	fakeClient
	hang     int32
	calls    atomic.Int32
	timeouts atomic.Int32
}

func (c *contextClient) PutRecordsWithContext(ctx aws.Context, in *kinesis.PutRecordsInput, _ ...request.Option) (*kinesis.PutRecordsOutput, error) {
	if c.calls.Add(1) <= c.hang {
		<-ctx.Done()
		c.timeouts.Add(1)
		return nil, awserr.New(request.CanceledErrorCode, "request context canceled", ctx.Err())
	}
	return c.fakeClient.PutRecords(in)
}

func TestRequestTimeoutRetries(t *testing.T) {
	c := &contextClient{hang: 2}
	cfg := testConfig(&c.fakeClient)
	cfg.Client = c
	cfg.RequestTimeout = 20 * time.Millisecond
	cfg.MaxConnections = 1
	p := New(cfg)
	f := collectFailures(p)
	start := time.Now()
	want := putAll(t, p, 50, 3)
	if fs := f.wait(t); len(fs) > 0 {
		t.Fatalf("%d failures, first: %v", len(fs), fs[0].Err)
	}
	checkDelivered(t, want, c.userRecords(t))
	if n := c.timeouts.Load(); n != 2 {
		t.Fatalf("%d calls timed out, want 2", n)
	}
	if d := time.Since(start); d < 40*time.Millisecond || d > 5*time.Second {
		t.Fatalf("took %v with two 20ms timeouts", d)
	}
}

// checkFailedRecords compares the user records of failures with what was
// put: each exactly once, with its data, key and explicit hash key.
func checkFailedRecords(t *testing.T, fs []*FailureRecord, want map[string]wantRec) {
	t.Helper()
	seen := map[string]bool{}
	for _, f := range fs {
		if len(f.UserRecords) == 0 {
			t.Fatal("a failure without user records")
		}
		for _, u := range f.UserRecords {
			d := string(u.Data())
			w, ok := want[d]
			if !ok {
				t.Fatalf("failure for a record never put: %q", d)
			}
			ehk := ""
			if x := u.ExplicitHashKey(); x != nil {
				ehk = x.String()
			}
			if u.PartitionKey() != w.key || ehk != w.ehk {
				t.Fatalf("failed record %q: key %q hash key %q, want %q %q", d, u.PartitionKey(), ehk, w.key, w.ehk)
			}
			if u.Size() != len(u.Data()) {
				t.Fatalf("failed record %q: Size %d", d, u.Size())
			}
			if seen[d] {
				t.Fatalf("record %q failed twice", d)
			}
			seen[d] = true
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("%d records failed, %d put", len(seen), len(want))
	}
}

func TestAttemptsExhausted(t *testing.T) {
	entryFail := func(_ int, in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
		return failEntries(in, "InternalFailure", func(int) bool { return true }), nil
	}
	requestFail := func(int, *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
		return nil, awserr.NewRequestFailure(awserr.New("InternalFailure", "down", nil), 500, "req")
	}
	for name, tc := range map[string]struct {
		answer func(int, *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error)
		check  func(t *testing.T, err error)
	}{
		"entries": {entryFail, func(t *testing.T, err error) {
			var pe *PutRecordError
			if !errors.As(err, &pe) || pe.Code != "InternalFailure" {
				t.Fatalf("%v does not wrap the entry's PutRecordError", err)
			}
		}},
		"requests": {requestFail, func(t *testing.T, err error) {
			var ae awserr.RequestFailure
			if !errors.As(err, &ae) || ae.Code() != "InternalFailure" || ae.StatusCode() != 500 {
				t.Fatalf("%v does not wrap the AWS error", err)
			}
		}},
	} {
		t.Run(name, func(t *testing.T) {
			attempts := map[string]int{}
			var mu sync.Mutex
			c := &fakeClient{answer: tc.answer, checkIn: func(in *kinesis.PutRecordsInput) error {
				mu.Lock()
				defer mu.Unlock()
				for _, e := range in.Records {
					attempts[string(e.Data)]++
				}
				return nil
			}}
			cfg := testConfig(c)
			cfg.MaxAttempts = 3
			cfg.AggregateBatchCount = 4
			p := New(cfg)
			f := collectFailures(p)
			want := putAll(t, p, 200, 9)
			fs := f.wait(t)
			for _, fr := range fs {
				if !errors.Is(fr.Err, ErrAttemptsExhausted) {
					t.Fatalf("failure %v does not wrap ErrAttemptsExhausted", fr.Err)
				}
				if !errors.Is(fr, ErrAttemptsExhausted) {
					t.Fatal("FailureRecord does not unwrap to its Err")
				}
				tc.check(t, fr.Err)
			}
			checkFailedRecords(t, fs, want)
			if len(c.sentRecords()) != 0 {
				t.Fatal("the client stored records it failed")
			}
			for d, n := range attempts {
				if n != 3 {
					t.Fatalf("a Kinesis record (%d bytes) was tried %d times, MaxAttempts 3", len(d), n)
				}
			}
			if st := p.Stats(); st.UserRecordsFailed != 200 || st.UserRecordsPut != 0 || st.Outstanding != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestRecordTTLExpires(t *testing.T) {
	c := &fakeClient{answer: func(_ int, in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
		return failEntries(in, "InternalFailure", func(int) bool { return true }), nil
	}}
	cfg := testConfig(c)
	cfg.MaxAttempts = -1
	cfg.RecordTTL = 150 * time.Millisecond
	p := New(cfg)
	f := collectFailures(p)
	start := time.Now()
	want := putAll(t, p, 50, 5)
	elapsed := time.Since(start)
	fs := f.wait(t)
	checkFailedRecords(t, fs, want)
	for _, fr := range fs {
		if !errors.Is(fr.Err, ErrRecordExpired) {
			t.Fatalf("failure %v does not wrap ErrRecordExpired", fr.Err)
		}
		var pe *PutRecordError
		if !errors.As(fr.Err, &pe) || pe.Code != "InternalFailure" {
			t.Fatalf("failure %v does not wrap the last cause", fr.Err)
		}
	}
	if elapsed < cfg.RecordTTL {
		t.Fatalf("records expired after %v, RecordTTL %v", elapsed, cfg.RecordTTL)
	}
	if elapsed > 5*time.Second {
		t.Fatalf("took %v to expire records with a TTL of %v", elapsed, cfg.RecordTTL)
	}
	if c.callCount() < 3 {
		t.Fatalf("only %d calls before the records expired", c.callCount())
	}
}

// TestThrottlingDoesNotUseAttempts: throttled entries wait and go again
// however often they are throttled; MaxAttempts counts only failures, and
// RecordTTL is the bound for throttled records.
func TestThrottlingDoesNotUseAttempts(t *testing.T) {
	throttleFirst := func(n int) func(int, *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
		return func(call int, in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
			if call > n {
				return nil, nil
			}
			return failEntries(in, "ProvisionedThroughputExceededException", func(int) bool { return true }), nil
		}
	}
	c := &fakeClient{answer: throttleFirst(6)}
	cfg := testConfig(c)
	cfg.MaxAttempts = 2
	cfg.RetryBackoffMin, cfg.RetryBackoffMax = time.Millisecond, 5*time.Millisecond
	p := New(cfg)
	f := collectFailures(p)
	want := putAll(t, p, 100, 7)
	if fs := f.wait(t); len(fs) > 0 {
		t.Fatalf("%d failures, first: %v", len(fs), fs[0].Err)
	}
	checkDelivered(t, want, c.userRecords(t))
	if st := p.Stats(); st.Throttled == 0 || st.UserRecordsPut != 100 {
		t.Fatalf("stats %+v", st)
	}

	c = &fakeClient{answer: throttleFirst(1 << 30)}
	cfg = testConfig(c)
	cfg.MaxAttempts = 2
	cfg.RecordTTL = 200 * time.Millisecond
	cfg.RetryBackoffMin, cfg.RetryBackoffMax = time.Millisecond, 5*time.Millisecond
	p = New(cfg)
	f = collectFailures(p)
	want = putAll(t, p, 50, 5)
	fs := f.wait(t)
	checkFailedRecords(t, fs, want)
	for _, fr := range fs {
		var pe *PutRecordError
		if !errors.Is(fr.Err, ErrRecordExpired) || !errors.As(fr.Err, &pe) || pe.Code != "ProvisionedThroughputExceededException" {
			t.Fatalf("failure %v: want ErrRecordExpired wrapping the throttling", fr.Err)
		}
	}
	if c.callCount() < 3 {
		t.Fatalf("only %d calls before the records expired", c.callCount())
	}
}

func TestNotRetryable(t *testing.T) {
	for name, err := range map[string]error{
		"ResourceNotFound":        awserr.New("ResourceNotFoundException", "no such stream", nil),
		"AccessDenied (400)":      awserr.NewRequestFailure(awserr.New("AccessDeniedException", "no", nil), 400, "req"),
		"InvalidArgument wrapped": fmt.Errorf("calling: %w", awserr.New("InvalidArgumentException", "bad", nil)),
		"ValidationException":     awserr.New("ValidationException", "bad", nil),
	} {
		t.Run(name, func(t *testing.T) {
			c := &fakeClient{answer: func(int, *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) { return nil, err }}
			cfg := limitConfig(c)
			p := New(cfg)
			f := collectFailures(p)
			want := putAll(t, p, 40, 40)
			fs := f.wait(t)
			checkFailedRecords(t, fs, want)
			for _, fr := range fs {
				if !errors.Is(fr.Err, ErrNotRetryable) || !errors.Is(fr.Err, err) {
					t.Fatalf("failure %v does not wrap ErrNotRetryable and the cause", fr.Err)
				}
			}
			if n := c.callCount(); n != 1 {
				t.Fatalf("%d calls, want 1: no retry", n)
			}
		})
	}
}

// TestSomeFailSomeArrive: records the client always rejects fail, the rest
// arrive; none is lost or reported twice.
func TestSomeFailSomeArrive(t *testing.T) {
	c := &fakeClient{answer: func(_ int, in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
		return failEntries(in, "InternalFailure", func(i int) bool {
			return bytes.HasPrefix([]byte(aws.StringValue(in.Records[i].PartitionKey)), []byte("bad"))
		}), nil
	}}
	cfg := testConfig(c)
	cfg.AggregateBatchCount = 1
	cfg.MaxAttempts = 2
	p := New(cfg)
	f := collectFailures(p)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	good, bad := map[string]wantRec{}, map[string]wantRec{}
	for i := 0; i < 300; i++ {
		data := recordData(i)
		key := fmt.Sprint("good-", i%11)
		if i%3 == 0 {
			key = fmt.Sprint("bad-", i%7)
			bad[string(data)] = wantRec{key: key}
		} else {
			good[string(data)] = wantRec{key: key}
		}
		if err := p.Put(data, key); err != nil {
			t.Fatal(err)
		}
	}
	p.Stop()
	checkFailedRecords(t, f.wait(t), bad)
	checkDelivered(t, good, c.userRecords(t))
}

// TestPutUserRecordKeepsTheCallersValue: the failure hands back the very
// values that were put.
func TestPutUserRecordKeepsTheCallersValue(t *testing.T) {
	c := &fakeClient{answer: func(int, *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
		return nil, awserr.New("ResourceNotFoundException", "gone", nil)
	}}
	cfg := testConfig(c)
	p := New(cfg)
	f := collectFailures(p)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	put := map[UserRecord]bool{}
	for i := 0; i < 60; i++ {
		r := &testRecord{key: fmt.Sprint("k", i%4), data: recordData(i)}
		if i%2 == 0 {
			r.ehk = big.NewInt(int64(i) * 1000003)
		}
		put[r] = true
		if err := p.PutUserRecord(r); err != nil {
			t.Fatal(err)
		}
	}
	p.Stop()
	n := 0
	for _, fr := range f.wait(t) {
		for _, u := range fr.UserRecords {
			if !put[u] {
				t.Fatalf("failure carries %p, not a value that was put", u)
			}
			delete(put, u)
			n++
		}
	}
	if n != 60 || len(put) != 0 {
		t.Fatalf("%d values came back, %d missing", n, len(put))
	}
}
