package sdkv2_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"github.com/kplgo/producer/sdkv2"
)

// failFirst answers the first n calls with err and acknowledges the rest.
func failFirst(n int, err error) func(int, []sentRecord) (*kinesis.PutRecordsOutput, error) {
	return func(call int, recs []sentRecord) (*kinesis.PutRecordsOutput, error) {
		if call <= n {
			return nil, err
		}
		return nil, nil
	}
}

// codeMetrics records the codes of PutError.
type codeMetrics struct {
	mu    sync.Mutex
	codes []string
}

func (m *codeMetrics) UserRecordsAggregated(string, int, time.Duration) {}
func (m *codeMetrics) KinesisRecordPut(string, int, int, int)           {}
func (m *codeMetrics) Retry(string)                                     {}
func (m *codeMetrics) RateLimited(string)                               {}
func (m *codeMetrics) UserRecordsFailed(int, error)                     {}
func (m *codeMetrics) Request(int, time.Duration, string)               {}
func (m *codeMetrics) PutError(_, code string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.codes = append(m.codes, code)
}

func (m *codeMetrics) get() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.codes)
}

// putOne runs a producer made from cfg for one user record and returns its
// failures and successes.
func putOne(t *testing.T, cfg *sdkv2.Config) (*sdkv2.Producer, *results) {
	t.Helper()
	p := sdkv2.New(cfg)
	res := collect(p, true)
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := p.Put(context.Background(), []byte("data"), "key"); err != nil {
		t.Fatal(err)
	}
	p.Stop()
	return p, res.wait(t)
}

// TestThrottlingIsRetried checks that a PutRecords call the v2 client fails
// with ProvisionedThroughputExceededException is throttling: retried without
// using an attempt, and counted in Stats().Throttled.
func TestThrottlingIsRetried(t *testing.T) {
	throttle := operationError("PutRecords", 400, "req-1",
		&types.ProvisionedThroughputExceededException{Message: aws.String("Rate exceeded for shard shardId-000000000000")})
	fake := &fakeKinesis{answer: failFirst(3, throttle)}
	m := &codeMetrics{}
	cfg := testConfig(fake)
	cfg.MaxAttempts = 1 // any failed attempt but throttling fails the record at once
	cfg.Metrics = m
	p, res := putOne(t, cfg)

	if len(res.failures) != 0 {
		t.Fatalf("failures: %v", res.failures)
	}
	if len(res.successes) != 1 || res.successes[0].Attempts != 4 {
		t.Fatalf("successes %+v, want one after 4 attempts", res.successes)
	}
	st := p.Stats()
	if st.Throttled != 3 || st.Requests != 4 || st.UserRecordsPut != 1 {
		t.Errorf("Throttled %d, Requests %d, UserRecordsPut %d; want 3, 4, 1", st.Throttled, st.Requests, st.UserRecordsPut)
	}
	want := []string{"ProvisionedThroughputExceededException", "ProvisionedThroughputExceededException", "ProvisionedThroughputExceededException"}
	if got := m.get(); !slices.Equal(got, want) {
		t.Errorf("PutError codes %q, want %q", got, want)
	}

	// With FailIfThrottled, the same answer fails the record at once, and
	// the v2 error is in the failure.
	fake = &fakeKinesis{answer: failFirst(3, throttle)}
	cfg = testConfig(fake)
	cfg.FailIfThrottled = true
	p, res = putOne(t, cfg)
	if len(res.failures) != 1 || len(fake.putCalls()) != 1 {
		t.Fatalf("%d failures after %d calls, want 1 after 1", len(res.failures), len(fake.putCalls()))
	}
	err := res.failures[0].Err
	var typed *types.ProvisionedThroughputExceededException
	if !errors.Is(err, sdkv2.ErrThrottled) || !errors.As(err, &typed) || typed.ErrorMessage() != "Rate exceeded for shard shardId-000000000000" {
		t.Errorf("failure %v: want ErrThrottled and the v2 exception", err)
	}
	if st := p.Stats(); st.Throttled != 1 || st.UserRecordsFailed != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestNotRetryableFailsAtOnce checks that an API error no retry can cure
// fails the record after one call, with ErrNotRetryable and the original v2
// error in the failure.
func TestNotRetryableFailsAtOnce(t *testing.T) {
	notFound := &types.ResourceNotFoundException{Message: aws.String("Stream stream under account 123456789012 not found.")}
	denied := &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized to perform kinesis:PutRecords", Fault: smithy.FaultClient}
	cases := []struct {
		name string
		err  error
		as   func(error) bool
	}{
		{"ResourceNotFoundException", operationError("PutRecords", 400, "req-2", notFound), func(err error) bool {
			var e *types.ResourceNotFoundException
			return errors.As(err, &e) && e == notFound
		}},
		{"AccessDeniedException", operationError("PutRecords", 400, "req-3", denied), func(err error) bool {
			var e smithy.APIError
			return errors.As(err, &e) && e.ErrorCode() == "AccessDeniedException" && e.ErrorMessage() == denied.Message
		}},
		{"KMSDisabledException", operationError("PutRecords", 400, "req-4", &types.KMSDisabledException{Message: aws.String("disabled")}), func(err error) bool {
			var e *types.KMSDisabledException
			return errors.As(err, &e)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fake := &fakeKinesis{answer: failFirst(1000, c.err)}
			m := &codeMetrics{}
			cfg := testConfig(fake)
			cfg.MaxAttempts = 5
			cfg.Metrics = m
			p, res := putOne(t, cfg)
			if n := len(fake.putCalls()); n != 1 {
				t.Errorf("%d PutRecords calls, want 1", n)
			}
			if len(res.failures) != 1 || len(res.successes) != 0 {
				t.Fatalf("%d failures and %d successes, want 1 failure", len(res.failures), len(res.successes))
			}
			f := res.failures[0]
			if !errors.Is(f.Err, sdkv2.ErrNotRetryable) || errors.Is(f.Err, sdkv2.ErrAttemptsExhausted) {
				t.Errorf("failure %v: want ErrNotRetryable", f.Err)
			}
			if !c.as(f.Err) {
				t.Errorf("failure %v: the v2 error is not reachable with errors.As", f.Err)
			}
			var op *smithy.OperationError
			if !errors.As(f.Err, &op) || op.Operation() != "PutRecords" || !errors.Is(f.Err, c.err) {
				t.Errorf("failure %v: the v2 OperationError is lost", f.Err)
			}
			if len(f.UserRecords) != 1 || f.UserRecords[0].PartitionKey() != "key" || string(f.UserRecords[0].Data()) != "data" {
				t.Errorf("failure covers %v", f.UserRecords)
			}
			if got := m.get(); !slices.Equal(got, []string{c.name}) {
				t.Errorf("PutError codes %q, want [%s]", got, c.name)
			}
			if st := p.Stats(); st.UserRecordsFailed != 1 || st.Throttled != 0 || st.Retries != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestInvalidParamsRetriesEntryByEntry checks that a multi-entry call the v2
// client refuses before sending (smithy.InvalidParamsError) is tried again
// entry by entry, so that only the bad entry fails.
func TestInvalidParamsRetriesEntryByEntry(t *testing.T) {
	const bad = "bad-key"
	fake := &fakeKinesis{}
	fake.answer = func(_ int, recs []sentRecord) (*kinesis.PutRecordsOutput, error) {
		for i, r := range recs {
			if r.PartitionKey == bad {
				// What the v2 client's validation returns, wrapped as it
				// wraps it.
				return nil, &smithy.OperationError{ServiceID: "Kinesis", OperationName: "PutRecords", Err: missingData(i)}
			}
		}
		return nil, nil
	}
	cfg := testConfig(fake)
	cfg.AggregateBatchCount = 1     // ten entries
	cfg.FlushInterval = time.Minute // one call for them, at Stop
	cfg.RecordMaxBufferedTime = -1  // (off)
	cfg.MaxAttempts = 5             // a retry would show
	p := sdkv2.New(cfg)
	res := collect(p, true)
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		key := fmt.Sprintf("key-%d", i)
		if i == 4 {
			key = bad
		}
		if err := p.Put(context.Background(), []byte(fmt.Sprint("data-", i)), key); err != nil {
			t.Fatal(err)
		}
	}
	p.Stop()
	res.wait(t)

	calls := fake.putCalls()
	if len(calls) != 11 || len(calls[0].Records) != 10 {
		t.Fatalf("%d calls (the first with %d entries), want one of 10 then 10 of one", len(calls), len(calls[0].Records))
	}
	for i, c := range calls[1:] {
		if len(c.Records) != 1 {
			t.Errorf("call %d has %d entries, want 1", i+2, len(c.Records))
		}
	}
	if len(res.failures) != 1 {
		t.Fatalf("%d failures, want 1", len(res.failures))
	}
	f := res.failures[0]
	var invalid smithy.InvalidParamsError
	if len(f.UserRecords) != 1 || f.UserRecords[0].PartitionKey() != bad ||
		!errors.Is(f.Err, sdkv2.ErrNotRetryable) || !errors.As(f.Err, &invalid) {
		t.Errorf("failure %v of %d user records: want the bad record alone, ErrNotRetryable and the InvalidParamsError", f.Err, len(f.UserRecords))
	}
	delivered := fake.delivered(t)
	if len(delivered) != 9 || len(res.successes) != 9 {
		t.Errorf("%d records delivered, %d successes, want 9", len(delivered), len(res.successes))
	}
	for _, r := range delivered {
		if r.PartitionKey == bad {
			t.Error("the bad record was delivered")
		}
	}
}

// missingData returns the error the v2 client's validation gives a
// PutRecords input whose entry i has no Data, nested as it nests it.
func missingData(i int) smithy.InvalidParamsError {
	entry := smithy.InvalidParamsError{Context: "PutRecordsRequestEntry"}
	entry.Add(smithy.NewErrParamRequired("Data"))
	list := smithy.InvalidParamsError{Context: "PutRecordsRequestEntryList"}
	list.AddNested(fmt.Sprintf("[%d]", i), entry)
	input := smithy.InvalidParamsError{Context: "PutRecordsInput"}
	input.AddNested("Records", list)
	return input
}

// TestNetworkErrorsAreRetried checks that a call the v2 client could not make
// (a reset connection) is retried, as an attempt, with the network error in
// the failure when the attempts run out.
func TestNetworkErrorsAreRetried(t *testing.T) {
	reset := sendError("PutRecords", &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)})

	t.Run("recovers", func(t *testing.T) {
		fake := &fakeKinesis{answer: failFirst(2, reset)}
		m := &codeMetrics{}
		cfg := testConfig(fake)
		cfg.MaxAttempts = 3
		cfg.Metrics = m
		p, res := putOne(t, cfg)
		if len(res.failures) != 0 || len(res.successes) != 1 || res.successes[0].Attempts != 3 {
			t.Fatalf("failures %v, successes %+v: want one success after 3 attempts", res.failures, res.successes)
		}
		if got := m.get(); !slices.Equal(got, []string{"ClientError", "ClientError"}) {
			t.Errorf("PutError codes %q, want two ClientError", got)
		}
		if st := p.Stats(); st.Retries != 2 || st.Throttled != 0 || st.UserRecordsPut != 1 {
			t.Errorf("stats %+v", st)
		}
	})

	t.Run("attempts exhausted", func(t *testing.T) {
		fake := &fakeKinesis{answer: failFirst(1000, reset)}
		cfg := testConfig(fake)
		cfg.MaxAttempts = 3
		_, res := putOne(t, cfg)
		if n := len(fake.putCalls()); n != 3 {
			t.Errorf("%d calls, want 3", n)
		}
		if len(res.failures) != 1 {
			t.Fatalf("%d failures, want 1", len(res.failures))
		}
		err := res.failures[0].Err
		var ne net.Error
		if !errors.Is(err, sdkv2.ErrAttemptsExhausted) || errors.Is(err, sdkv2.ErrNotRetryable) ||
			!errors.Is(err, syscall.ECONNRESET) || !errors.As(err, &ne) {
			t.Errorf("failure %v: want ErrAttemptsExhausted with the network error", err)
		}
	})

	t.Run("server error", func(t *testing.T) {
		internal := operationError("PutRecords", 500, "req-5", &smithy.GenericAPIError{Code: "InternalFailure", Message: "boom", Fault: smithy.FaultServer})
		fake := &fakeKinesis{answer: failFirst(1, internal)}
		cfg := testConfig(fake)
		cfg.MaxAttempts = 2
		_, res := putOne(t, cfg)
		if len(res.failures) != 0 || len(res.successes) != 1 || res.successes[0].Attempts != 2 {
			t.Fatalf("failures %v, successes %+v: want one success after 2 attempts", res.failures, res.successes)
		}
	})
}
