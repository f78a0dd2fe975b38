// Package faultinject provides an http.RoundTripper that injects Kinesis
// PutRecords failures between an aws-sdk-go (v1) client and a server, so
// tests can check that a producer survives them without losing records.
//
// Only requests whose X-Amz-Target header is Kinesis_20131202.PutRecords are
// affected; all other calls pass through untouched. For each PutRecords call
// the transport picks at most one call-level fault:
//
//   - InternalError: answer HTTP 500 InternalFailure without forwarding.
//   - Throttle: answer HTTP 400 ProvisionedThroughputExceededException without
//     forwarding.
//   - ConnectionError: fail with a connection error without forwarding.
//   - LostResponse: forward (the server stores the records), then drop the
//     answer and fail with a connection error. A retry duplicates records.
//   - Slow: wait SlowDelay (or until the request's context ends, which fails
//     the call), then forward.
//
// A call that is forwarded may additionally fail partially: each entry fails
// with probability EntryFailure. Failed entries are removed from the request
// before it is forwarded and put back into the answer, at their original
// positions, with an ErrorCode and ErrorMessage, and FailedRecordCount is
// adjusted. If every entry fails the call is answered without forwarding.
//
// Decisions come from a math/rand source seeded with Config.Seed, so a
// sequence of calls made one after the other sees the same faults on every
// run.
//
// ShardLimits is a second RoundTripper, for load tests: it enforces the
// write limits Kinesis puts on each shard, answering the excess entries of a
// PutRecords call with ProvisionedThroughputExceededException as Kinesis
// does, and can make one shard hot or the whole service unreachable for a
// while.
package faultinject

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go/aws/awserr"
)

// PutRecordsTarget is the X-Amz-Target header value of PutRecords calls, the
// only calls the transport interferes with.
const PutRecordsTarget = "Kinesis_20131202.PutRecords"

// Error codes used in injected answers.
const (
	CodeInternalFailure       = "InternalFailure"
	CodeProvisionedThroughput = "ProvisionedThroughputExceededException"
)

const amzJSON = "application/x-amz-json-1.1"

// injected is the type of the errors the transport returns.
type injected string

func (e injected) Error() string { return string(e) }

// Is makes every injected error match ErrInjected.
func (e injected) Is(target error) bool { return target == ErrInjected }

// Errors returned, wrapped in a *net.OpError, by RoundTrip. All of them
// match ErrInjected with errors.Is; IsInjected also sees through the SDK's
// error wrapping.
var (
	// ErrInjected matches every error the transport injects.
	ErrInjected error = injected("injected fault")
	// ErrConnectionReset is returned for ConnectionError faults; the request
	// never reached the server.
	ErrConnectionReset error = injected("injected: connection reset")
	// ErrResponseLost is returned for LostResponse faults; the server
	// processed the request.
	ErrResponseLost error = injected("injected: response lost")
)

// IsInjected reports whether err is, or wraps, an error injected by the
// transport. Unlike errors.Is it also follows aws-sdk-go's awserr.Error
// chains (OrigErr), which do not implement Unwrap.
func IsInjected(err error) bool {
	for depth := 0; err != nil && depth < 32; depth++ {
		if errors.Is(err, ErrInjected) {
			return true
		}
		switch e := err.(type) {
		case awserr.BatchedErrors:
			for _, inner := range e.OrigErrs() {
				if IsInjected(inner) {
					return true
				}
			}
			return false
		case awserr.Error:
			err = e.OrigErr()
		case interface{ Unwrap() error }:
			err = e.Unwrap()
		default:
			return false
		}
	}
	return false
}

// Config sets how often each fault happens. Probabilities are in [0, 1].
// The call-level probabilities (InternalError, Throttle, ConnectionError,
// LostResponse, Slow) are exclusive and must not add up to more than 1.
type Config struct {
	// Seed seeds the random source deciding which calls and entries fail.
	Seed int64

	// InternalError is the probability of an HTTP 500 InternalFailure.
	InternalError float64
	// Throttle is the probability of an HTTP 400
	// ProvisionedThroughputExceededException for the whole call.
	Throttle float64
	// ConnectionError is the probability of a connection error before the
	// request is sent.
	ConnectionError float64
	// LostResponse is the probability that the request is processed by the
	// server but its answer is replaced by a connection error.
	LostResponse float64
	// Slow is the probability that the call is held for SlowDelay before it
	// is forwarded. Set SlowDelay above the caller's timeout to provoke
	// timeouts.
	Slow float64
	// SlowDelay is how long slow calls are held. Required if Slow > 0.
	SlowDelay time.Duration

	// EntryFailure is the probability that each entry of a forwarded call
	// fails individually.
	EntryFailure float64
	// EntryFailureCalls, when set, is the probability that a forwarded
	// call is one whose entries may fail (each with EntryFailure); the
	// entries of the other calls all succeed. Zero means every call, so
	// that failures come spread evenly; set it to have them come in
	// bursts, a few unlucky calls at a time, as a partition hot for a
	// moment throttles them.
	EntryFailureCalls float64
	// EntryInternalFailure is the share of failed entries that report
	// InternalFailure; the others report
	// ProvisionedThroughputExceededException.
	EntryInternalFailure float64
}

// Validate reports whether the configuration is usable.
func (c Config) Validate() error {
	probs := []struct {
		name string
		p    float64
	}{
		{"InternalError", c.InternalError},
		{"Throttle", c.Throttle},
		{"ConnectionError", c.ConnectionError},
		{"LostResponse", c.LostResponse},
		{"Slow", c.Slow},
		{"EntryFailure", c.EntryFailure},
		{"EntryFailureCalls", c.EntryFailureCalls},
		{"EntryInternalFailure", c.EntryInternalFailure},
	}
	for _, p := range probs {
		if !(p.p >= 0 && p.p <= 1) {
			return fmt.Errorf("faultinject: %s = %v, want a probability in [0, 1]", p.name, p.p)
		}
	}
	if sum := c.InternalError + c.Throttle + c.ConnectionError + c.LostResponse + c.Slow; sum > 1+1e-9 {
		return fmt.Errorf("faultinject: call-level probabilities add up to %v, more than 1", sum)
	}
	if c.Slow > 0 && c.SlowDelay <= 0 {
		return fmt.Errorf("faultinject: Slow = %v needs a positive SlowDelay", c.Slow)
	}
	return nil
}

// Stats counts what the transport saw and injected.
type Stats struct {
	Calls            int64 // PutRecords calls received
	Forwarded        int64 // PutRecords calls sent on to the server
	InternalErrors   int64 // calls answered with HTTP 500
	Throttles        int64 // calls answered with HTTP 400 throughput exceeded
	ConnectionErrors int64 // calls failed before forwarding
	LostResponses    int64 // calls forwarded whose answer was dropped
	SlowCalls        int64 // calls held for SlowDelay
	SlowCancelled    int64 // slow calls whose context ended while held
	PartialFailures  int64 // calls answered with at least one injected entry failure
	Entries          int64 // entries in all PutRecords calls received
	EntriesFailed    int64 // entries failed by the transport
}

// Faults returns the number of calls affected by an injected fault.
func (s Stats) Faults() int64 {
	return s.InternalErrors + s.Throttles + s.ConnectionErrors + s.LostResponses + s.SlowCalls + s.PartialFailures
}

// String summarizes the counters for test logs.
func (s Stats) String() string {
	return fmt.Sprintf("faultinject: %d PutRecords calls (%d forwarded): %d internal errors, %d throttled, "+
		"%d connection errors, %d lost responses, %d slow (%d cancelled), %d partial failures; "+
		"%d of %d entries failed",
		s.Calls, s.Forwarded, s.InternalErrors, s.Throttles, s.ConnectionErrors, s.LostResponses,
		s.SlowCalls, s.SlowCancelled, s.PartialFailures, s.EntriesFailed, s.Entries)
}

type counters struct {
	calls, forwarded, internalErrors, throttles, connectionErrors, lostResponses,
	slowCalls, slowCancelled, partialFailures, entries, entriesFailed atomic.Int64
}

// Transport is an http.RoundTripper injecting PutRecords faults. Create it
// with New. It is safe for concurrent use.
type Transport struct {
	next    http.RoundTripper
	cfg     Config
	enabled atomic.Bool

	mu  sync.Mutex
	rng *rand.Rand

	n counters
}

// New returns a transport that injects faults as configured and sends
// requests on through next (nil: a new plain http.Transport that uses no
// proxy). Faults are enabled. New panics if cfg is invalid (see
// Config.Validate).
func New(next http.RoundTripper, cfg Config) *Transport {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	if next == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.Proxy = nil
		next = tr
	}
	t := &Transport{next: next, cfg: cfg, rng: rand.New(rand.NewSource(cfg.Seed))}
	t.enabled.Store(true)
	return t
}

// SetEnabled switches fault injection on or off. While off, every request
// passes through untouched (PutRecords calls are still counted), so a test
// can let the final retries succeed.
func (t *Transport) SetEnabled(on bool) { t.enabled.Store(on) }

// Enabled reports whether faults are being injected.
func (t *Transport) Enabled() bool { return t.enabled.Load() }

// Stats returns a snapshot of the counters.
func (t *Transport) Stats() Stats {
	return Stats{
		Calls:            t.n.calls.Load(),
		Forwarded:        t.n.forwarded.Load(),
		InternalErrors:   t.n.internalErrors.Load(),
		Throttles:        t.n.throttles.Load(),
		ConnectionErrors: t.n.connectionErrors.Load(),
		LostResponses:    t.n.lostResponses.Load(),
		SlowCalls:        t.n.slowCalls.Load(),
		SlowCancelled:    t.n.slowCancelled.Load(),
		PartialFailures:  t.n.partialFailures.Load(),
		Entries:          t.n.entries.Load(),
		EntriesFailed:    t.n.entriesFailed.Load(),
	}
}

// String summarizes the counters for test logs.
func (t *Transport) String() string { return t.Stats().String() }

// CloseIdleConnections closes idle connections of the next transport, if it
// supports that.
func (t *Transport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// fault is a call-level fault.
type fault int

const (
	faultNone fault = iota
	faultInternalError
	faultThrottle
	faultConnectionError
	faultLostResponse
	faultSlow
)

// entryFault is the injected error of one entry; code "" means none.
type entryFault struct {
	code, message string
}

// decide draws the call-level fault and the per-entry faults of a call with
// n entries, under one lock so that a call's draws are contiguous.
func (t *Transport) decide(n int) (fault, []entryFault) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := faultNone
	x := t.rng.Float64()
	for _, c := range []struct {
		p float64
		f fault
	}{
		{t.cfg.InternalError, faultInternalError},
		{t.cfg.Throttle, faultThrottle},
		{t.cfg.ConnectionError, faultConnectionError},
		{t.cfg.LostResponse, faultLostResponse},
		{t.cfg.Slow, faultSlow},
	} {
		if x < c.p {
			f = c.f
			break
		}
		x -= c.p
	}
	if t.cfg.EntryFailure == 0 {
		return f, nil
	}
	if t.cfg.EntryFailureCalls > 0 && t.rng.Float64() >= t.cfg.EntryFailureCalls {
		return f, nil
	}
	entries := make([]entryFault, n)
	for i := range entries {
		if t.rng.Float64() >= t.cfg.EntryFailure {
			continue
		}
		if t.rng.Float64() < t.cfg.EntryInternalFailure {
			entries[i] = entryFault{CodeInternalFailure, "Internal service failure. (injected)"}
		} else {
			entries[i] = entryFault{CodeProvisionedThroughput,
				"Rate exceeded for shard in stream under account 000000000000. (injected)"}
		}
	}
	return f, entries
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("X-Amz-Target") != PutRecordsTarget {
		return t.next.RoundTrip(req)
	}
	t.n.calls.Add(1)

	body, err := readBody(req)
	if err != nil {
		return nil, err
	}
	var in map[string]json.RawMessage
	var records []json.RawMessage
	if err := json.Unmarshal(body, &in); err == nil {
		_ = json.Unmarshal(in["Records"], &records)
	}
	t.n.entries.Add(int64(len(records)))

	if !t.enabled.Load() {
		return t.forward(req, body)
	}

	f, entries := t.decide(len(records))
	switch f {
	case faultInternalError:
		t.n.internalErrors.Add(1)
		return errorResponse(req, http.StatusInternalServerError, CodeInternalFailure, "injected"), nil
	case faultThrottle:
		t.n.throttles.Add(1)
		return errorResponse(req, http.StatusBadRequest, CodeProvisionedThroughput,
			"Rate exceeded for stream under account 000000000000. (injected)"), nil
	case faultConnectionError:
		t.n.connectionErrors.Add(1)
		return nil, opError("write", req, ErrConnectionReset)
	case faultSlow:
		t.n.slowCalls.Add(1)
		if err := sleep(req.Context(), t.cfg.SlowDelay); err != nil {
			t.n.slowCancelled.Add(1)
			return nil, fmt.Errorf("faultinject: slow answer held %v: %w", t.cfg.SlowDelay, err)
		}
	}

	if f == faultLostResponse {
		entries = nil // the answer is dropped: entry failures would go unseen
	}
	resp, err := t.forwardPartial(req, body, in, records, entries)
	if err != nil {
		return nil, err
	}
	if f == faultLostResponse {
		t.n.lostResponses.Add(1)
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return nil, opError("read", req, ErrResponseLost)
	}
	return resp, nil
}

// forwardPartial forwards the call without the entries marked as failed and
// merges the failures back into the answer.
func (t *Transport) forwardPartial(req *http.Request, body []byte, in map[string]json.RawMessage,
	records []json.RawMessage, entries []entryFault) (*http.Response, error) {
	failed := countFailed(entries)
	if failed == 0 {
		return t.forward(req, body)
	}
	t.n.partialFailures.Add(1)
	t.n.entriesFailed.Add(int64(failed))
	keptBody := func() ([]byte, error) {
		var kept []json.RawMessage
		for i, r := range records {
			if entries[i].code == "" {
				kept = append(kept, r)
			}
		}
		keptJSON, err := json.Marshal(kept)
		if err != nil {
			return nil, fmt.Errorf("faultinject: encode kept records: %w", err)
		}
		in["Records"] = keptJSON
		newBody, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("faultinject: encode request: %w", err)
		}
		return newBody, nil
	}
	return sendPartial(req, entries, keptBody, func(b []byte) (*http.Response, error) {
		return t.forward(req, b)
	})
}

// countFailed returns the number of entries marked as failed.
func countFailed(entries []entryFault) int {
	n := 0
	for _, e := range entries {
		if e.code != "" {
			n++
		}
	}
	return n
}

// sendPartial answers a PutRecords call of which the entries marked in
// entries (one per record, at least one marked) fail: the other records are
// sent in one request through forward, with the body keptBody builds, and
// the failures are merged back into the answer at their original positions.
// If every entry fails, the call is answered without forwarding.
func sendPartial(req *http.Request, entries []entryFault, keptBody func() ([]byte, error),
	forward func(body []byte) (*http.Response, error)) (*http.Response, error) {
	kept := len(entries) - countFailed(entries)
	if kept == 0 {
		out, err := mergeResults(map[string]json.RawMessage{}, nil, entries)
		if err != nil {
			return nil, err
		}
		return jsonResponse(req, http.StatusOK, out), nil
	}

	newBody, err := keptBody()
	if err != nil {
		return nil, err
	}
	resp, err := forward(newBody)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return resp, nil // a real error of the server: pass it on
	}
	respBody, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("faultinject: read PutRecords answer: %w", err)
	}
	var out map[string]json.RawMessage
	var results []json.RawMessage
	if err := json.Unmarshal(respBody, &out); err != nil {
		return nil, fmt.Errorf("faultinject: decode PutRecords answer: %w", err)
	}
	if err := json.Unmarshal(out["Records"], &results); err != nil {
		return nil, fmt.Errorf("faultinject: decode PutRecords answer records: %w", err)
	}
	if len(results) != kept {
		return nil, fmt.Errorf("faultinject: server answered %d entries for %d records", len(results), kept)
	}
	merged, err := mergeResults(out, results, entries)
	if err != nil {
		return nil, err
	}
	setBody(resp, merged)
	return resp, nil
}

// mergeResults builds the PutRecords answer: the injected failures at their
// positions, the server's result entries (kept as they are) in the others,
// and FailedRecordCount counting both. Other fields of out are preserved.
func mergeResults(out map[string]json.RawMessage, results []json.RawMessage, entries []entryFault) ([]byte, error) {
	var serverFailed int64
	if raw, ok := out["FailedRecordCount"]; ok {
		if err := json.Unmarshal(raw, &serverFailed); err != nil {
			return nil, fmt.Errorf("faultinject: decode FailedRecordCount: %w", err)
		}
	}
	merged := make([]json.RawMessage, len(entries))
	failed := serverFailed
	next := 0
	for i, e := range entries {
		if e.code == "" {
			merged[i] = results[next]
			next++
			continue
		}
		failed++
		raw, err := json.Marshal(struct {
			ErrorCode    string
			ErrorMessage string
		}{e.code, e.message})
		if err != nil {
			return nil, fmt.Errorf("faultinject: encode failed entry: %w", err)
		}
		merged[i] = raw
	}
	recs, err := json.Marshal(merged)
	if err != nil {
		return nil, fmt.Errorf("faultinject: encode result entries: %w", err)
	}
	out["Records"] = recs
	out["FailedRecordCount"] = json.RawMessage(strconv.FormatInt(failed, 10))
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("faultinject: encode answer: %w", err)
	}
	return b, nil
}

// forward sends the request with the given body to the next transport.
func (t *Transport) forward(req *http.Request, body []byte) (*http.Response, error) {
	t.n.forwarded.Add(1)
	return forwardBody(t.next, req, body)
}

// forwardBody sends a copy of req with the given body through next.
func forwardBody(next http.RoundTripper, req *http.Request, body []byte) (*http.Response, error) {
	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	out.ContentLength = int64(len(body))
	if out.Header.Get("Content-Length") != "" {
		out.Header.Set("Content-Length", strconv.Itoa(len(body)))
	}
	return next.RoundTrip(out)
}

// readBody reads and closes the request body, as RoundTrip must close it.
func readBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	defer req.Body.Close()
	b, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, fmt.Errorf("faultinject: read request body: %w", err)
	}
	return b, nil
}

// errorResponse is an aws-json error answer like the ones Kinesis sends.
func errorResponse(req *http.Request, status int, code, message string) *http.Response {
	body, _ := json.Marshal(map[string]string{"__type": code, "message": message})
	resp := jsonResponse(req, status, body)
	resp.Header.Set("X-Amzn-Errortype", code)
	return resp
}

var requestIDs atomic.Int64

func jsonResponse(req *http.Request, status int, body []byte) *http.Response {
	resp := &http.Response{
		Status:     strconv.Itoa(status) + " " + http.StatusText(status),
		StatusCode: status,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     make(http.Header),
		Request:    req,
	}
	resp.Header.Set("Content-Type", amzJSON)
	resp.Header.Set("X-Amzn-Requestid", fmt.Sprintf("faultinject-%d", requestIDs.Add(1)))
	setBody(resp, body)
	return resp
}

func setBody(resp *http.Response, body []byte) {
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	resp.Header.Del("Content-Encoding")
	resp.Uncompressed = false
}

// opError wraps err the way the net package reports socket errors.
func opError(op string, req *http.Request, err error) error {
	var addr net.Addr
	if ap, perr := netip.ParseAddrPort(req.URL.Host); perr == nil {
		addr = net.TCPAddrFromAddrPort(ap)
	}
	return &net.OpError{Op: op, Net: "tcp", Addr: addr, Err: err}
}

// sleep waits for d or until ctx ends, returning ctx's error in that case.
func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
