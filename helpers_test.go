package producer

import (
	"bytes"
	"crypto/md5"
	"fmt"
	"io"
	"log"
	"math/big"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/kinesis"
	"github.com/kplgo/producer/deaggregator"
	"github.com/kplgo/producer/internal/kplpb"
)

// sentRecord is one Kinesis record a fake client accepted.
type sentRecord struct {
	PartitionKey    string
	ExplicitHashKey string
	Data            []byte
}

// fakeClient is a PutRecords client for unit tests. It accepts every entry
// unless answer says otherwise, and keeps what it accepted.
//
// The answers name no shard unless shards is set: then every acknowledged
// entry that answer left without a shard id gets the id of the shard its
// hash falls in, as Kinesis does. (An answer that names a shard the record
// does not belong to makes a shard-map producer resend the sub-records of
// an aggregate as plain records.)
type fakeClient struct {
	mu      sync.Mutex
	calls   int
	sent    []sentRecord
	answer  func(call int, in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error)
	checkIn func(in *kinesis.PutRecordsInput) error
	shards  []*kinesis.Shard
}

// shardOf returns the id of the shard of c.shards that a Kinesis record with
// this key and explicit hash key is stored on, or "".
func (c *fakeClient) shardOf(key, ehk string) string {
	h, ok := new(big.Int).SetString(ehk, 10)
	if !ok {
		h = md5Big(key)
	}
	for _, s := range c.shards {
		start, _ := new(big.Int).SetString(aws.StringValue(s.HashKeyRange.StartingHashKey), 10)
		end, _ := new(big.Int).SetString(aws.StringValue(s.HashKeyRange.EndingHashKey), 10)
		if start != nil && end != nil && h.Cmp(start) >= 0 && h.Cmp(end) <= 0 {
			return aws.StringValue(s.ShardId)
		}
	}
	return ""
}

func (c *fakeClient) PutRecords(in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
	c.mu.Lock()
	c.calls++
	call := c.calls
	c.mu.Unlock()
	if c.checkIn != nil {
		if err := c.checkIn(in); err != nil {
			return nil, err
		}
	}
	var out *kinesis.PutRecordsOutput
	if c.answer != nil {
		var err error
		if out, err = c.answer(call, in); err != nil {
			return nil, err
		}
	}
	if out == nil {
		out = &kinesis.PutRecordsOutput{FailedRecordCount: aws.Int64(0)}
		for range in.Records {
			out.Records = append(out.Records, &kinesis.PutRecordsResultEntry{SequenceNumber: aws.String("1")})
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, e := range in.Records {
		if r := out.Records[i]; r.ErrorCode == nil && r.ShardId == nil && c.shards != nil {
			r.ShardId = aws.String(c.shardOf(aws.StringValue(e.PartitionKey), aws.StringValue(e.ExplicitHashKey)))
		}
		if out.Records[i].ErrorCode == nil {
			c.sent = append(c.sent, sentRecord{aws.StringValue(e.PartitionKey), aws.StringValue(e.ExplicitHashKey), append([]byte(nil), e.Data...)})
		}
	}
	return out, nil
}

// userRecords deaggregates everything the client accepted.
func (c *fakeClient) userRecords(t testing.TB) []deaggregator.Record {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var all []deaggregator.Record
	for _, s := range c.sent {
		recs, err := deaggregator.Deaggregate(s.Data, s.PartitionKey, s.ExplicitHashKey)
		if err != nil {
			t.Fatalf("deaggregate: %v", err)
		}
		all = append(all, recs...)
	}
	return all
}

// checkAllDelivered compares delivered user records with what was put, keyed
// by data, which tests make unique.
func checkAllDelivered(t testing.TB, want map[string]string, got []deaggregator.Record) {
	t.Helper()
	seen := make(map[string]bool, len(got))
	for _, r := range got {
		key, ok := want[string(r.Data)]
		if !ok {
			t.Fatalf("delivered a record that was never put: %q", r.Data)
		}
		if key != r.PartitionKey {
			t.Fatalf("record %q: partition key %q, want %q", r.Data, r.PartitionKey, key)
		}
		if seen[string(r.Data)] {
			t.Fatalf("record %q delivered twice", r.Data)
		}
		seen[string(r.Data)] = true
	}
	if len(seen) != len(want) {
		t.Fatalf("delivered %d distinct records, put %d", len(seen), len(want))
	}
}

func testConfig(c *fakeClient) *Config {
	return &Config{
		StreamName:      "test",
		Client:          c,
		FlushInterval:   50 * time.Millisecond,
		RetryBackoffMin: time.Millisecond,
		RetryBackoffMax: 5 * time.Millisecond,
		Logger:          quietLogger(),
	}
}

func recordData(i int) []byte { return []byte(fmt.Sprintf("record-%06d", i)) }

// quietLogger is a Logger that discards every line.
func quietLogger() Logger { return Standard(log.New(io.Discard, "", 0)) }

// bufferLogger is a Logger that keeps every line, for tests that read them.
type bufferLogger struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *bufferLogger) logger() Logger { return Standard(log.New(l, "", 0)) }

func (l *bufferLogger) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}

func (l *bufferLogger) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// sentRecords returns a copy of the Kinesis records the client accepted.
func (c *fakeClient) sentRecords() []sentRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]sentRecord(nil), c.sent...)
}

// callCount returns the number of PutRecords calls made so far.
func (c *fakeClient) callCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

// failEntries answers a PutRecords call with every entry for which fail
// returns true failed with code, and the rest acknowledged (without a shard
// id: see fakeClient.shards).
func failEntries(in *kinesis.PutRecordsInput, code string, fail func(i int) bool) *kinesis.PutRecordsOutput {
	out := &kinesis.PutRecordsOutput{}
	failed := int64(0)
	for i := range in.Records {
		if fail(i) {
			failed++
			out.Records = append(out.Records, &kinesis.PutRecordsResultEntry{ErrorCode: aws.String(code), ErrorMessage: aws.String("injected by the test")})
			continue
		}
		out.Records = append(out.Records, &kinesis.PutRecordsResultEntry{SequenceNumber: aws.String("1")})
	}
	out.FailedRecordCount = aws.Int64(failed)
	return out
}

// failureCollector reads a producer's failure channel until it is closed.
type failureCollector struct {
	mu   sync.Mutex
	recs []*FailureRecord
	done chan struct{}
}

// collectFailures starts reading p.NotifyFailures(); call it before Start.
func collectFailures(p *Producer) *failureCollector {
	f := &failureCollector{done: make(chan struct{})}
	ch := p.NotifyFailures()
	go func() {
		defer close(f.done)
		for r := range ch {
			f.mu.Lock()
			f.recs = append(f.recs, r)
			f.mu.Unlock()
		}
	}()
	return f
}

// wait returns every failure once the channel is closed (after Stop).
func (f *failureCollector) wait(t testing.TB) []*FailureRecord {
	t.Helper()
	select {
	case <-f.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the failure channel was not closed 10s after Stop")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.recs
}

// snapshot returns the failures read so far.
func (f *failureCollector) snapshot() []*FailureRecord {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*FailureRecord(nil), f.recs...)
}

// userRecordCount sums the user records of failures.
func userRecordCount(fs []*FailureRecord) int {
	n := 0
	for _, f := range fs {
		n += len(f.UserRecords)
	}
	return n
}

// testRecord is a UserRecord the tests build.
type testRecord struct {
	key  string
	ehk  *big.Int
	data []byte
}

func (r *testRecord) PartitionKey() string      { return r.key }
func (r *testRecord) ExplicitHashKey() *big.Int { return r.ehk }
func (r *testRecord) Data() []byte              { return r.data }
func (r *testRecord) Size() int                 { return len(r.data) }

// isKPL reports whether data carries the aggregation prefix.
func isKPL(data []byte) bool { return kplpb.IsAggregated(data) }

// hashRange is a shard's hash key range as big integers, for checks that do
// not trust the package's own shard map.
type hashRange struct {
	id         string
	start, end *big.Int
}

func rangesOf(t testing.TB, shards []*kinesis.Shard) []hashRange {
	t.Helper()
	rs := make([]hashRange, len(shards))
	for i, s := range shards {
		start, ok1 := new(big.Int).SetString(aws.StringValue(s.HashKeyRange.StartingHashKey), 10)
		end, ok2 := new(big.Int).SetString(aws.StringValue(s.HashKeyRange.EndingHashKey), 10)
		if !ok1 || !ok2 {
			t.Fatalf("shard %s: bad hash key range", aws.StringValue(s.ShardId))
		}
		rs[i] = hashRange{aws.StringValue(s.ShardId), start, end}
	}
	return rs
}

// findRange returns the index of the range holding h by a linear scan, or -1.
func findRange(rs []hashRange, h *big.Int) int {
	for i, r := range rs {
		if h.Cmp(r.start) >= 0 && h.Cmp(r.end) <= 0 {
			return i
		}
	}
	return -1
}

// md5Big is the hash Kinesis computes for a partition key.
func md5Big(key string) *big.Int {
	sum := md5.Sum([]byte(key))
	return new(big.Int).SetBytes(sum[:])
}

// recordHash is the hash that places a record: its explicit hash key when it
// has one, else the MD5 of its partition key.
func recordHash(t testing.TB, key, ehk string) *big.Int {
	t.Helper()
	if ehk == "" {
		return md5Big(key)
	}
	h, ok := new(big.Int).SetString(ehk, 10)
	if !ok {
		t.Fatalf("explicit hash key %q is not a decimal", ehk)
	}
	return h
}

// shardAnswer returns a fakeClient answer that acknowledges every entry with
// the id of the shard Kinesis would store it on.
func shardAnswer(t testing.TB, shards []*kinesis.Shard) func(int, *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
	rs := rangesOf(t, shards)
	return func(_ int, in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
		out := &kinesis.PutRecordsOutput{FailedRecordCount: aws.Int64(0)}
		for _, e := range in.Records {
			i := findRange(rs, recordHash(t, aws.StringValue(e.PartitionKey), aws.StringValue(e.ExplicitHashKey)))
			id := "shardId-nowhere"
			if i >= 0 {
				id = rs[i].id
			}
			out.Records = append(out.Records, &kinesis.PutRecordsResultEntry{ShardId: aws.String(id), SequenceNumber: aws.String("1")})
		}
		return out, nil
	}
}

// staticShards returns the shards of StaticGetShardsFunc(n).
func staticShards(t testing.TB, n int) []*kinesis.Shard {
	t.Helper()
	shards, _, err := StaticGetShardsFunc(n)(nil)
	if err != nil {
		t.Fatal(err)
	}
	return shards
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// checkNoLeak fails the test when more goroutines run than before, after a
// short grace for goroutines that are on their way out.
func checkNoLeak(t testing.TB, before int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= before {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines running, %d before:\n%s", n, before, leakedStacks(string(buf)))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// leakedStacks keeps the stacks that belong to this package, for a short report.
func leakedStacks(all string) string {
	var keep []string
	for _, g := range strings.Split(all, "\n\n") {
		if strings.Contains(g, "kplgo/producer.") && !strings.Contains(g, "testing.tRunner") {
			keep = append(keep, g)
		}
	}
	sort.Strings(keep)
	return strings.Join(keep, "\n\n")
}

// limitConfig is testConfig without timed flushes: batches and aggregates
// close only on their limits, and Stop sends the rest.
func limitConfig(c *fakeClient) *Config {
	cfg := testConfig(c)
	cfg.FlushInterval = time.Hour
	cfg.RecordMaxBufferedTime = -1
	return cfg
}

// wantRec is what a test put: partition key and explicit hash key ("" for none).
type wantRec struct{ key, ehk string }

// checkDelivered is checkAllDelivered that also compares explicit hash keys.
func checkDelivered(t testing.TB, want map[string]wantRec, got []deaggregator.Record) {
	t.Helper()
	seen := make(map[string]bool, len(got))
	for _, r := range got {
		w, ok := want[string(r.Data)]
		if !ok {
			t.Fatalf("delivered a record that was never put: %q", trimBytes(r.Data))
		}
		if w.key != r.PartitionKey || w.ehk != r.ExplicitHashKey {
			t.Fatalf("record %q: key %q hash key %q, want %q and %q", trimBytes(r.Data), r.PartitionKey, r.ExplicitHashKey, w.key, w.ehk)
		}
		if seen[string(r.Data)] {
			t.Fatalf("record %q delivered twice", trimBytes(r.Data))
		}
		seen[string(r.Data)] = true
	}
	if len(seen) != len(want) {
		t.Fatalf("delivered %d distinct records, put %d", len(seen), len(want))
	}
}

func trimBytes(b []byte) string {
	if len(b) > 40 {
		return fmt.Sprintf("%s...(%d bytes)", b[:40], len(b))
	}
	return string(b)
}

// requestLog keeps the shape of every PutRecords request: entry count,
// bytes (data plus partition keys) and the entries themselves.
type requestLog struct {
	mu       sync.Mutex
	requests [][]sentRecord
}

func (l *requestLog) checkIn(in *kinesis.PutRecordsInput) error {
	req := make([]sentRecord, len(in.Records))
	for i, e := range in.Records {
		req[i] = sentRecord{aws.StringValue(e.PartitionKey), aws.StringValue(e.ExplicitHashKey), append([]byte(nil), e.Data...)}
	}
	l.mu.Lock()
	l.requests = append(l.requests, req)
	l.mu.Unlock()
	return nil
}

func (l *requestLog) all() [][]sentRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([][]sentRecord(nil), l.requests...)
}

// requestBytes is what a request counts against BatchSize.
func requestBytes(req []sentRecord) int {
	n := 0
	for _, e := range req {
		n += len(e.Data) + len(e.PartitionKey)
	}
	return n
}
