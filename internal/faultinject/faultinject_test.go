package faultinject_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/awserr"
	"github.com/aws/aws-sdk-go/service/kinesis"

	"github.com/kplgo/producer/internal/faultinject"
	"github.com/kplgo/producer/internal/kinesistest"
)

func TestMain(m *testing.M) { kinesistest.Main(m) }

// setup returns a stream and a client whose calls go through a transport
// configured with cfg.
func setup(t *testing.T, cfg faultinject.Config, opts ...kinesistest.ClientOption) (*kinesis.Kinesis, *faultinject.Transport, string) {
	t.Helper()
	return through(t, faultinject.New(nil, cfg), 2, opts...)
}

// through returns a client of the shared server whose calls go through tr,
// tr itself and a new stream with the given number of shards. When the test
// ends, tr's idle connections are closed and its statistics logged.
func through[T interface {
	http.RoundTripper
	CloseIdleConnections()
}](t *testing.T, tr T, shards int, opts ...kinesistest.ClientOption) (*kinesis.Kinesis, T, string) {
	t.Helper()
	srv := kinesistest.Shared(t)
	t.Cleanup(tr.CloseIdleConnections)
	t.Cleanup(func() { t.Log(tr) })
	return srv.Client(t, tr, opts...), tr, srv.CreateStream(t, shards)
}

func entries(prefix string, n int) []*kinesis.PutRecordsRequestEntry {
	out := make([]*kinesis.PutRecordsRequestEntry, n)
	for i := range out {
		out[i] = &kinesis.PutRecordsRequestEntry{
			PartitionKey: aws.String(fmt.Sprintf("%s-%03d", prefix, i)),
			Data:         []byte(fmt.Sprintf("data of %s record %d", prefix, i)),
		}
	}
	return out
}

func put(client *kinesis.Kinesis, stream string, recs []*kinesis.PutRecordsRequestEntry) (*kinesis.PutRecordsOutput, error) {
	return client.PutRecords(&kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: recs})
}

// streamKeys reads the stream with a plain client and counts records by key.
func streamKeys(t *testing.T, stream string) map[string]int {
	t.Helper()
	srv := kinesistest.Shared(t)
	got := map[string]int{}
	for _, r := range kinesistest.ReadAll(t, srv.Client(t, nil), stream) {
		got[r.PartitionKey]++
	}
	return got
}

func requireRequestFailure(t *testing.T, err error, status int, code string) {
	t.Helper()
	var rf awserr.RequestFailure
	if !errors.As(err, &rf) {
		t.Fatalf("error %v (%T), want an awserr.RequestFailure", err, err)
	}
	if rf.StatusCode() != status || rf.Code() != code {
		t.Fatalf("got HTTP %d %s (%v), want HTTP %d %s", rf.StatusCode(), rf.Code(), err, status, code)
	}
	if faultinject.IsInjected(err) {
		t.Errorf("IsInjected(%v) = true for an error answer", err)
	}
}

func TestOtherCallsPassThrough(t *testing.T) {
	t.Parallel()
	client, tr, stream := setup(t, faultinject.Config{InternalError: 1, EntryFailure: 1})

	if _, err := client.DescribeStream(&kinesis.DescribeStreamInput{StreamName: aws.String(stream)}); err != nil {
		t.Fatalf("DescribeStream: %v", err)
	}
	if _, err := client.PutRecord(&kinesis.PutRecordInput{
		StreamName: aws.String(stream), PartitionKey: aws.String("single"), Data: []byte("x"),
	}); err != nil {
		t.Fatalf("PutRecord (not PutRecords) was affected: %v", err)
	}
	if got := kinesistest.ReadAll(t, client, stream); len(got) != 1 || got[0].PartitionKey != "single" {
		t.Fatalf("ReadAll through the transport: %+v", got)
	}
	if s := tr.Stats(); s.Calls != 0 || s.Faults() != 0 {
		t.Fatalf("stats after non-PutRecords calls: %+v", s)
	}
}

func TestInternalError(t *testing.T) {
	t.Parallel()
	client, tr, stream := setup(t, faultinject.Config{InternalError: 1})
	_, err := put(client, stream, entries("ie", 5))
	requireRequestFailure(t, err, http.StatusInternalServerError, faultinject.CodeInternalFailure)
	if !strings.Contains(err.Error(), "injected") {
		t.Errorf("error %q does not carry the injected message", err)
	}
	if got := streamKeys(t, stream); len(got) != 0 {
		t.Errorf("stream holds %d records, want none", len(got))
	}
	if s := tr.Stats(); s.Calls != 1 || s.InternalErrors != 1 || s.Forwarded != 0 || s.Entries != 5 {
		t.Errorf("stats: %+v", s)
	}
}

func TestThrottle(t *testing.T) {
	t.Parallel()
	client, tr, stream := setup(t, faultinject.Config{Throttle: 1})
	_, err := put(client, stream, entries("th", 5))
	requireRequestFailure(t, err, http.StatusBadRequest, kinesis.ErrCodeProvisionedThroughputExceededException)
	if got := streamKeys(t, stream); len(got) != 0 {
		t.Errorf("stream holds %d records, want none", len(got))
	}
	if s := tr.Stats(); s.Throttles != 1 || s.Forwarded != 0 {
		t.Errorf("stats: %+v", s)
	}
}

func TestConnectionError(t *testing.T) {
	t.Parallel()
	client, tr, stream := setup(t, faultinject.Config{ConnectionError: 1})
	_, err := put(client, stream, entries("ce", 5))
	if err == nil {
		t.Fatal("PutRecords succeeded, want a connection error")
	}
	if !faultinject.IsInjected(err) {
		t.Errorf("IsInjected(%v) = false", err)
	}
	var rf awserr.RequestFailure
	if errors.As(err, &rf) {
		t.Errorf("got an HTTP answer (%v), want a transport error", err)
	}
	if got := streamKeys(t, stream); len(got) != 0 {
		t.Errorf("stream holds %d records, want none", len(got))
	}
	if s := tr.Stats(); s.ConnectionErrors != 1 || s.Forwarded != 0 {
		t.Errorf("stats: %+v", s)
	}
}

func TestLostResponse(t *testing.T) {
	t.Parallel()
	client, tr, stream := setup(t, faultinject.Config{LostResponse: 1, EntryFailure: 0.5})
	recs := entries("lost", 10)
	_, err := put(client, stream, recs)
	if err == nil || !faultinject.IsInjected(err) {
		t.Fatalf("PutRecords: %v, want an injected error", err)
	}
	// The server stored every record although the call failed.
	got := streamKeys(t, stream)
	for _, r := range recs {
		if got[*r.PartitionKey] != 1 {
			t.Errorf("record %s stored %d times, want once", *r.PartitionKey, got[*r.PartitionKey])
		}
	}
	if s := tr.Stats(); s.LostResponses != 1 || s.Forwarded != 1 || s.EntriesFailed != 0 {
		t.Errorf("stats: %+v", s)
	}
}

func TestSlowAnswerTimesOut(t *testing.T) {
	t.Parallel()
	client, tr, stream := setup(t, faultinject.Config{Slow: 1, SlowDelay: 5 * time.Second},
		kinesistest.WithHTTPTimeout(200*time.Millisecond))
	start := time.Now()
	_, err := put(client, stream, entries("slow", 3))
	elapsed := time.Since(start)
	if err == nil {
		t.Fatal("PutRecords succeeded, want a timeout")
	}
	if elapsed > 2*time.Second {
		t.Errorf("PutRecords took %v; the transport ignored the request context", elapsed)
	}
	if faultinject.IsInjected(err) {
		t.Errorf("IsInjected(%v) = true for the caller's own timeout", err)
	}
	if got := streamKeys(t, stream); len(got) != 0 {
		t.Errorf("stream holds %d records, want none", len(got))
	}
	if s := tr.Stats(); s.SlowCalls != 1 || s.SlowCancelled != 1 || s.Forwarded != 0 {
		t.Errorf("stats: %+v", s)
	}
}

func TestSlowAnswerCompletes(t *testing.T) {
	t.Parallel()
	client, tr, stream := setup(t, faultinject.Config{Slow: 1, SlowDelay: 100 * time.Millisecond})
	start := time.Now()
	out, err := put(client, stream, entries("slowok", 3))
	if err != nil {
		t.Fatalf("PutRecords: %v", err)
	}
	if elapsed := time.Since(start); elapsed < 100*time.Millisecond {
		t.Errorf("PutRecords took %v, want at least the 100ms delay", elapsed)
	}
	if aws.Int64Value(out.FailedRecordCount) != 0 || len(streamKeys(t, stream)) != 3 {
		t.Errorf("slow call lost records: %v", out)
	}
	if s := tr.Stats(); s.SlowCalls != 1 || s.SlowCancelled != 0 || s.Forwarded != 1 {
		t.Errorf("stats: %+v", s)
	}
}

func TestPartialFailure(t *testing.T) {
	t.Parallel()
	client, tr, stream := setup(t, faultinject.Config{Seed: 7, EntryFailure: 0.5, EntryInternalFailure: 0.3})
	recs := entries("part", 100)
	out, err := put(client, stream, recs)
	if err != nil {
		t.Fatalf("PutRecords: %v", err)
	}
	if len(out.Records) != len(recs) {
		t.Fatalf("%d result entries for %d records", len(out.Records), len(recs))
	}

	// Read back with a plain client, indexed by partition key.
	srv := kinesistest.Shared(t)
	stored := map[string]kinesistest.Record{}
	for _, r := range kinesistest.ReadAll(t, srv.Client(t, nil), stream) {
		if _, dup := stored[r.PartitionKey]; dup {
			t.Errorf("record %s stored twice", r.PartitionKey)
		}
		stored[r.PartitionKey] = r
	}

	failed := 0
	codes := map[string]int{}
	for i, res := range out.Records {
		key := *recs[i].PartitionKey
		rec, ok := stored[key]
		if code := aws.StringValue(res.ErrorCode); code != "" {
			failed++
			codes[code]++
			if aws.StringValue(res.ErrorMessage) == "" {
				t.Errorf("entry %d: ErrorCode %s without ErrorMessage", i, code)
			}
			if res.SequenceNumber != nil || res.ShardId != nil {
				t.Errorf("failed entry %d has a sequence number or shard id: %v", i, res)
			}
			if ok {
				t.Errorf("entry %d (%s) failed but is in the stream", i, key)
			}
			continue
		}
		// The answer's entry i belongs to request entry i: the stored
		// record with that key has exactly this sequence number and shard.
		if !ok {
			t.Errorf("entry %d (%s) succeeded but is not in the stream", i, key)
			continue
		}
		if rec.SequenceNumber != aws.StringValue(res.SequenceNumber) || rec.ShardID != aws.StringValue(res.ShardId) {
			t.Errorf("entry %d (%s): answer says %s/%s, stream has %s/%s", i, key,
				aws.StringValue(res.ShardId), aws.StringValue(res.SequenceNumber), rec.ShardID, rec.SequenceNumber)
		}
		if !bytes.Equal(rec.Data, recs[i].Data) {
			t.Errorf("entry %d (%s): stored data differs", i, key)
		}
	}
	if got := aws.Int64Value(out.FailedRecordCount); got != int64(failed) {
		t.Errorf("FailedRecordCount = %d, but %d entries have an ErrorCode", got, failed)
	}
	if failed < 25 || failed > 75 {
		t.Errorf("%d of 100 entries failed with probability 0.5", failed)
	}
	if codes[faultinject.CodeInternalFailure] == 0 || codes[faultinject.CodeProvisionedThroughput] == 0 ||
		len(codes) != 2 {
		t.Errorf("error codes: %v, want both InternalFailure and ProvisionedThroughputExceededException", codes)
	}
	if len(stored) != 100-failed {
		t.Errorf("stream holds %d records, want %d", len(stored), 100-failed)
	}
	if s := tr.Stats(); s.PartialFailures != 1 || s.EntriesFailed != int64(failed) || s.Entries != 100 || s.Forwarded != 1 {
		t.Errorf("stats: %+v", s)
	}
}

func TestAllEntriesFail(t *testing.T) {
	t.Parallel()
	client, tr, stream := setup(t, faultinject.Config{EntryFailure: 1})
	out, err := put(client, stream, entries("allfail", 20))
	if err != nil {
		t.Fatalf("PutRecords: %v", err)
	}
	if aws.Int64Value(out.FailedRecordCount) != 20 || len(out.Records) != 20 {
		t.Fatalf("answer: %d failed, %d entries; want 20 and 20", aws.Int64Value(out.FailedRecordCount), len(out.Records))
	}
	for i, r := range out.Records {
		if aws.StringValue(r.ErrorCode) != faultinject.CodeProvisionedThroughput {
			t.Errorf("entry %d: %v", i, r)
		}
	}
	if got := streamKeys(t, stream); len(got) != 0 {
		t.Errorf("stream holds %d records, want none", len(got))
	}
	if s := tr.Stats(); s.Forwarded != 0 || s.EntriesFailed != 20 {
		t.Errorf("stats: %+v", s)
	}
}

func TestSetEnabled(t *testing.T) {
	t.Parallel()
	client, tr, stream := setup(t, faultinject.Config{InternalError: 1})
	if _, err := put(client, stream, entries("off", 2)); err == nil {
		t.Fatal("PutRecords succeeded with faults on")
	}
	tr.SetEnabled(false)
	if tr.Enabled() {
		t.Fatal("Enabled() = true after SetEnabled(false)")
	}
	if _, err := put(client, stream, entries("off", 2)); err != nil {
		t.Fatalf("PutRecords with faults off: %v", err)
	}
	if got := streamKeys(t, stream); len(got) != 2 {
		t.Errorf("stream holds %d records, want 2", len(got))
	}
	if s := tr.Stats(); s.Calls != 2 || s.InternalErrors != 1 || s.Forwarded != 1 {
		t.Errorf("stats: %+v", s)
	}
}

// TestRetryLoopDeliversEverything mixes every fault and retries like a
// producer would: each record must end up in the stream at least once, and
// only lost responses may duplicate records.
func TestRetryLoopDeliversEverything(t *testing.T) {
	t.Parallel()
	client, tr, stream := setup(t, faultinject.Config{
		Seed:            42,
		InternalError:   0.1,
		Throttle:        0.1,
		ConnectionError: 0.1,
		LostResponse:    0.1,
		Slow:            0.1,
		SlowDelay:       time.Second,
		EntryFailure:    0.2,
	}, kinesistest.WithHTTPTimeout(300*time.Millisecond))

	pending := entries("loop", 300)
	for attempt := 0; len(pending) > 0; attempt++ {
		if attempt == 30 {
			tr.SetEnabled(false) // let the last retries through
		}
		if attempt > 40 {
			t.Fatalf("%d records still pending after %d attempts", len(pending), attempt)
		}
		var next []*kinesis.PutRecordsRequestEntry
		for len(pending) > 0 {
			n := min(len(pending), 50)
			batch := pending[:n]
			pending = pending[n:]
			out, err := put(client, stream, batch)
			if err != nil {
				next = append(next, batch...)
				continue
			}
			for i, r := range out.Records {
				if r.ErrorCode != nil {
					next = append(next, batch[i])
				}
			}
		}
		pending = next
	}

	s := tr.Stats()
	for name, n := range map[string]int64{
		"internal errors": s.InternalErrors, "throttles": s.Throttles, "connection errors": s.ConnectionErrors,
		"lost responses": s.LostResponses, "slow calls": s.SlowCalls, "partial failures": s.PartialFailures,
	} {
		if n == 0 {
			t.Errorf("no %s injected: %v", name, s)
		}
	}
	got := streamKeys(t, stream)
	dups := 0
	for _, r := range entries("loop", 300) {
		switch n := got[*r.PartitionKey]; {
		case n == 0:
			t.Errorf("record %s lost", *r.PartitionKey)
		case n > 1:
			dups += n - 1
		}
	}
	if dups > 0 && s.LostResponses == 0 {
		t.Errorf("%d duplicates without any lost response", dups)
	}
	t.Logf("%d duplicates from %d lost responses", dups, s.LostResponses)
}

// fakeKinesis answers PutRecords like Kinesis, with every entry stored.
type fakeKinesis struct{ bodies [][]byte }

func (f *fakeKinesis) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	req.Body.Close()
	if int64(len(body)) != req.ContentLength {
		return nil, fmt.Errorf("body has %d bytes, ContentLength says %d", len(body), req.ContentLength)
	}
	f.bodies = append(f.bodies, body)
	var in struct{ Records []json.RawMessage }
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, err
	}
	type entry struct{ ShardId, SequenceNumber string }
	out := struct {
		FailedRecordCount int
		Records           []entry
		EncryptionType    string
	}{EncryptionType: "NONE"}
	for i := range in.Records {
		out.Records = append(out.Records, entry{"shardId-000000000000", fmt.Sprint(1000 + i)})
	}
	b, _ := json.Marshal(out)
	return &http.Response{
		StatusCode:    http.StatusOK,
		Header:        http.Header{"Content-Type": {"application/x-amz-json-1.1"}},
		Body:          io.NopCloser(bytes.NewReader(b)),
		ContentLength: int64(len(b)),
		Request:       req,
	}, nil
}

// outcomes runs n PutRecords calls of 10 entries through a transport and
// describes what happened to each.
func outcomes(t *testing.T, cfg faultinject.Config, n int) []string {
	t.Helper()
	tr := faultinject.New(&fakeKinesis{}, cfg)
	var got []string
	for i := 0; i < n; i++ {
		body := `{"StreamName":"s","Records":[` + strings.TrimSuffix(strings.Repeat(`{"Data":"eA==","PartitionKey":"k"},`, 10), ",") + `]}`
		req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:1/", strings.NewReader(body))
		req.Header.Set("X-Amz-Target", faultinject.PutRecordsTarget)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			got = append(got, "error: "+err.Error())
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got = append(got, fmt.Sprintf("%d %s", resp.StatusCode, b))
	}
	return got
}

func TestDeterministicWithSeed(t *testing.T) {
	t.Parallel()
	cfg := faultinject.Config{Seed: 1, InternalError: 0.2, Throttle: 0.2, ConnectionError: 0.2, EntryFailure: 0.3}
	a, b := outcomes(t, cfg, 50), outcomes(t, cfg, 50)
	if strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Fatalf("same seed, different outcomes:\n%v\n%v", a, b)
	}
	cfg.Seed = 2
	if c := outcomes(t, cfg, 50); strings.Join(a, "\n") == strings.Join(c, "\n") {
		t.Fatalf("seeds 1 and 2 gave identical outcomes")
	}
}

func TestPartialAnswerKeepsServerFields(t *testing.T) {
	t.Parallel()
	fake := &fakeKinesis{}
	tr := faultinject.New(fake, faultinject.Config{Seed: 3, EntryFailure: 0.5})
	body := `{"StreamName":"s","Records":[{"Data":"MA==","PartitionKey":"0"},{"Data":"MQ==","PartitionKey":"1"},` +
		`{"Data":"Mg==","PartitionKey":"2"},{"Data":"Mw==","PartitionKey":"3"},{"Data":"NA==","PartitionKey":"4"},` +
		`{"Data":"NQ==","PartitionKey":"5"},{"Data":"Ng==","PartitionKey":"6"},{"Data":"Nw==","PartitionKey":"7"}]}`
	req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:1/", strings.NewReader(body))
	req.Header.Set("X-Amz-Target", faultinject.PutRecordsTarget)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.ContentLength != int64(len(b)) || resp.Header.Get("Content-Length") != fmt.Sprint(len(b)) {
		t.Errorf("Content-Length %d / %q for a %d-byte body", resp.ContentLength, resp.Header.Get("Content-Length"), len(b))
	}
	var out struct {
		FailedRecordCount int
		EncryptionType    string
		Records           []struct{ ShardId, SequenceNumber, ErrorCode, ErrorMessage string }
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("answer %s: %v", b, err)
	}
	if out.EncryptionType != "NONE" {
		t.Errorf("EncryptionType dropped: %s", b)
	}
	if len(fake.bodies) != 1 {
		t.Fatalf("forwarded %d requests, want 1", len(fake.bodies))
	}
	var fwd struct {
		StreamName string
		Records    []struct{ PartitionKey string }
	}
	if err := json.Unmarshal(fake.bodies[0], &fwd); err != nil {
		t.Fatal(err)
	}
	if fwd.StreamName != "s" {
		t.Errorf("forwarded request lost StreamName: %s", fake.bodies[0])
	}
	// Forwarded entries are the non-failed ones, in order; the answer's
	// successful entries carry the fake's sequence numbers in that order.
	failed, next := 0, 0
	for i, r := range out.Records {
		if r.ErrorCode != "" {
			failed++
			continue
		}
		if next >= len(fwd.Records) || fwd.Records[next].PartitionKey != fmt.Sprint(i) {
			t.Fatalf("entry %d succeeded but was not forwarded in position %d: %s", i, next, fake.bodies[0])
		}
		if r.SequenceNumber != fmt.Sprint(1000+next) || r.ShardId == "" {
			t.Errorf("entry %d: %+v, want sequence number %d", i, r, 1000+next)
		}
		next++
	}
	if failed == 0 || failed == 8 || out.FailedRecordCount != failed || next != len(fwd.Records) {
		t.Errorf("failed %d, FailedRecordCount %d, forwarded %d: %s", failed, out.FailedRecordCount, len(fwd.Records), b)
	}
}

func TestInjectedErrors(t *testing.T) {
	t.Parallel()
	for _, err := range []error{faultinject.ErrConnectionReset, faultinject.ErrResponseLost} {
		if !errors.Is(err, faultinject.ErrInjected) {
			t.Errorf("errors.Is(%v, ErrInjected) = false", err)
		}
		wrapped := awserr.New("RequestError", "send request failed", &net.OpError{Op: "read", Net: "tcp", Err: err})
		if !faultinject.IsInjected(wrapped) {
			t.Errorf("IsInjected(%v) = false", wrapped)
		}
		if !faultinject.IsInjected(awserr.NewRequestFailure(wrapped, 0, "id")) {
			t.Errorf("IsInjected does not see through a RequestFailure")
		}
	}
	if faultinject.IsInjected(errors.New("connection reset")) || faultinject.IsInjected(nil) {
		t.Error("IsInjected is true for a foreign error")
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	bad := []faultinject.Config{
		{InternalError: -0.1},
		{EntryFailure: 1.5},
		{InternalError: 0.5, Throttle: 0.3, LostResponse: 0.3},
		{Slow: 0.1},
	}
	for _, cfg := range bad {
		if cfg.Validate() == nil {
			t.Errorf("Validate(%+v) = nil, want an error", cfg)
		}
	}
	if err := (faultinject.Config{InternalError: 0.5, Throttle: 0.5, EntryFailure: 1}).Validate(); err != nil {
		t.Errorf("valid config rejected: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("New accepted an invalid config")
		}
	}()
	faultinject.New(nil, bad[0])
}

// TestEntryFailureCalls: with EntryFailureCalls the entry failures come in
// a share of the calls only; the other calls succeed whole.
func TestEntryFailureCalls(t *testing.T) {
	t.Parallel()
	const calls = 400
	got := outcomes(t, faultinject.Config{Seed: 5, EntryFailure: 1, EntryFailureCalls: 0.2}, calls)
	failed := 0
	for _, o := range got {
		switch {
		case strings.Contains(o, `"FailedRecordCount":0`):
		case strings.Contains(o, `"FailedRecordCount":10`):
			failed++
		default:
			t.Fatalf("a call with some entries failed, want none or all: %s", o)
		}
	}
	if share := float64(failed) / calls; share < 0.14 || share > 0.26 {
		t.Errorf("%d of %d calls had failed entries (%.0f%%), want about 20%%", failed, calls, 100*share)
	}
	if err := (faultinject.Config{EntryFailureCalls: 1.5}).Validate(); err == nil {
		t.Errorf("EntryFailureCalls 1.5 validated")
	}
}
