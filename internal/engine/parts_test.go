package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"sync/atomic"
	"testing"
	"time"
)

// The tests of the drain goroutine's parts build them as the pipeline does,
// around a fake sender that keeps the batches handed to it, and feed them
// records and call results directly: no server, no goroutine but the test's.

// testParts are the drain goroutine's parts, wired as newPipeline wires them.
type testParts struct {
	t         *testing.T
	cfg       Config
	report    *reporter
	set       *shardSet
	route     *router
	collect   *collector
	retry     *retrier
	out       *fakeCaller
	failures  <-chan *FailureRecord
	refreshes int // early listings the retrier asked for
	shutdown  context.CancelCauseFunc
}

// fakeCaller is a sender with slots connection slots that keeps each batch.
type fakeCaller struct {
	slots int
	sent  [][]*aggregate
}

func (f *fakeCaller) free() bool { return len(f.sent) < f.slots }

func (f *fakeCaller) send(batch []*aggregate, _ time.Time) { f.sent = append(f.sent, batch) }

// take returns the batches sent so far and frees their slots.
func (f *fakeCaller) take() [][]*aggregate {
	b := f.sent
	f.sent = nil
	return b
}

// refuseClient is a Client the parts never call.
type refuseClient struct{}

func (refuseClient) PutRecords(context.Context, []Entry, []Result) error {
	return errors.New("not called")
}
func (refuseClient) Failure(error) CallFailure { return CallFailure{} }

// newParts builds the parts for cfg (defaults for its zero fields, rate
// limiting off unless cfg.RateLimit is set) over a map of shards (none when
// nil). The fake sender has as many slots as cfg.MaxConnections.
func newParts(t *testing.T, cfg Config, shards []Shard) *testParts {
	t.Helper()
	cfg.StreamName, cfg.Client = "s", refuseClient{}
	cfg.Logger = Standard(log.New(io.Discard, "", 0))
	if cfg.RateLimit == 0 {
		cfg.RateLimit = -1 // off: WithDefaults would turn it on
	}
	c, err := cfg.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	p := &testParts{t: t, cfg: c}
	if c.RateLimit < 0 {
		p.cfg.RateLimit = 0
	}
	p.report = newReporter(nil, c.Logger, "s", 1000)
	p.failures = p.report.failures.channel()
	t.Cleanup(p.report.close)
	abort, cancel := context.WithCancelCause(context.Background())
	p.shutdown = cancel
	t.Cleanup(func() { cancel(nil) })
	var rt atomic.Pointer[routes]
	p.set = newShardSet(&p.cfg, &rt)
	lim := limits{count: c.AggregateBatchCount, size: c.AggregateBatchSize, recordMax: c.MaxRecordSize, seed: 1}
	p.route = newRouter(p.set, p.report, lim, abort)
	p.out = &fakeCaller{slots: c.MaxConnections}
	p.collect = newCollector(&p.cfg, p.set, p.report, p.out)
	p.retry = newRetrier(&p.cfg, p.set, p.route, p.report, func() { p.refreshes++ }, abort)
	p.route.install(mapOf(t, shards), nil)
	return p
}

// mapOf returns a shard map of shards, nil for none.
func mapOf(t *testing.T, shards []Shard) *shardMap {
	t.Helper()
	if shards == nil {
		return nil
	}
	m, err := newShardMap(shards, 1)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// halves are two shards that split the hash space at 2^127: "low" and "high".
func halves() []Shard {
	mid := new(big.Int).Lsh(big.NewInt(1), 127)
	top := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1))
	return []Shard{
		{ID: "low", StartingHashKey: "0", EndingHashKey: new(big.Int).Sub(mid, big.NewInt(1)).String()},
		{ID: "high", StartingHashKey: mid.String(), EndingHashKey: top.String()},
	}
}

// keysIn returns n partition keys whose hashes fall in shard i of m.
func keysIn(t *testing.T, m *shardMap, i, n int) []string {
	t.Helper()
	var keys []string
	for k := 0; len(keys) < n; k++ {
		if k > 1_000_000 {
			t.Fatalf("no %d keys for shard %d", n, i)
		}
		key := fmt.Sprintf("key-%d", k)
		if m.find(hashKey(key)) == i {
			keys = append(keys, key)
		}
	}
	return keys
}

// put routes a record for each key, with the key as its data.
func (p *testParts) put(keys ...string) {
	for _, k := range keys {
		r := record{data: []byte(k), key: k, hash: hashKey(k)}
		p.route.add(&r, time.Time{})
	}
}

// sendAll closes the open aggregates and sends everything the limits let
// through, as a flush does; it returns the batches sent.
func (p *testParts) sendAll(now time.Time) [][]*aggregate {
	p.route.closeAll()
	p.collect.flush()
	p.collect.pump(now, false, false)
	return p.out.take()
}

// answer settles batch as a call's result: each record's outcome is what
// of returns for it. Like the sender, it tells the collector the call
// came back; unlike it, it leaves every record to the retrier.
func (p *testParts) answer(batch []*aggregate, now time.Time, of func(a *aggregate) outcome) {
	for _, a := range batch {
		a.result = of(a)
	}
	p.collect.returned()
	p.retry.settle(&call{batch: append([]*aggregate(nil), batch...)}, now)
}

// stored is the outcome of a record Kinesis stored on the shard predicted.
func stored(a *aggregate) outcome {
	return outcome{shardID: a.predictedShard(), sequence: "1"}
}

// storedOn returns the outcome of a record Kinesis stored on shard id.
func storedOn(id string) func(*aggregate) outcome {
	return func(*aggregate) outcome { return outcome{shardID: id, sequence: "1"} }
}

// throttledOutcome is an entry Kinesis refused for the shard's limit.
func throttledOutcome(*aggregate) outcome {
	return outcome{err: &PutRecordError{Code: throttleCode}, code: throttleCode}
}

// internalFailure is an entry that failed inside Kinesis.
func internalFailure(*aggregate) outcome {
	return outcome{err: &PutRecordError{Code: "InternalFailure"}, code: "InternalFailure"}
}

// failure returns the next failure, or fails the test when none is there.
func (p *testParts) failure() *FailureRecord {
	p.t.Helper()
	select {
	case f := <-p.failures:
		return f
	case <-time.After(5 * time.Second):
		p.t.Fatal("no failure reported")
		return nil
	}
}

// noFailure fails the test when a failure is waiting.
func (p *testParts) noFailure() {
	p.t.Helper()
	select {
	case f := <-p.failures:
		p.t.Fatalf("unexpected failure: %v", f.Err)
	case <-time.After(10 * time.Millisecond):
	}
}

// queued returns the Kinesis records waiting in the stage of shard id (""
// for the stage of a producer without a map), retries first.
func (p *testParts) queued(id string) []*aggregate {
	p.t.Helper()
	for i := range p.set.stages {
		st := &p.set.stages[i]
		if st.view.id == id && i < len(p.set.stages)-1 {
			return append(append([]*aggregate(nil), st.retries.items[st.retries.first:]...), st.fresh.items[st.fresh.first:]...)
		}
	}
	p.t.Fatalf("no stage for shard %q", id)
	return nil
}

// userKeys returns the partition keys of the user records of aggs.
func userKeys(aggs ...*aggregate) []string {
	var keys []string
	for _, a := range aggs {
		for i := range a.recs {
			keys = append(keys, a.keys[a.recs[i].key])
		}
	}
	return keys
}
