package producer_test

// Integration tests of the strict per-key order (Config.Ordering =
// OrderPerKey) against the real servers: records of 1,000 partition keys,
// each key's records put one after the other from one goroutine, through
// the real per-shard limits, through faults, and while the stream is
// resharded. Every test reads the stream back as a KCL 2.x consumer does
// (kinesistest.ReadKCL2, parents read before children) and checks, with
// one checker (checkOrder), that each key's records are first received in
// the order Put accepted them, that nothing accepted is lost, and that
// duplicates come only from sends whose fate was unknown. The same checker
// must find reordering with the mode off (TestIntegrationOrderingOffReorders),
// or it proves nothing.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/kinesis"

	"github.com/kplgo/producer"
	"github.com/kplgo/producer/internal/faultinject"
	"github.com/kplgo/producer/internal/kinesistest"
)

const (
	// orderKeys is the number of partition keys of the ordering tests.
	orderKeys = 1000
	// orderShards is the number of shards the streams start with.
	orderShards = 4
	// orderRecords is the number of records put against kinesalite.
	orderRecords = 100_000
	// orderLocalRecords is the number put against kinesis-local, which
	// takes well under 1 MiB/s.
	orderLocalRecords = 20_000
	// orderGoroutines is the number of putting goroutines; each owns the
	// keys whose index it has modulo orderGoroutines.
	orderGoroutines = 8
	// orderHeader is the length of the data's header: key index (4 bytes)
	// and sequence number (8 bytes).
	orderHeader = 12
	// orderShutdown bounds the wait for the last records after the load.
	orderShutdown = 60 * time.Second
)

// orderKey returns the partition key of key index i.
func orderKey(i int) string { return fmt.Sprintf("ordered-%04d", i) }

// orderSize returns the data size of record seq of key i: 100 to 300 bytes.
func orderSize(i int, seq uint64) int {
	return 100 + int((uint64(i)*7919+seq*104729)%201)
}

// orderData returns the data of record seq of key i: the key index, the
// sequence number, then a pattern derived from both, so that a record read
// back is recognised and verified.
func orderData(i int, seq uint64) []byte {
	b := make([]byte, orderSize(i, seq))
	binary.BigEndian.PutUint32(b, uint32(i))
	binary.BigEndian.PutUint64(b[4:], seq)
	for j := orderHeader; j < len(b); j++ {
		b[j] = byte(uint64(i)*31 + seq*7 + uint64(j)*13)
	}
	return b
}

// orderParse returns the key index and sequence number of data; ok is false
// when data is not exactly orderData of them.
func orderParse(data []byte) (i int, seq uint64, ok bool) {
	if len(data) < orderHeader {
		return 0, 0, false
	}
	i = int(binary.BigEndian.Uint32(data))
	seq = binary.BigEndian.Uint64(data[4:])
	if i >= orderKeys || seq > 1<<32 {
		return 0, 0, false
	}
	return i, seq, bytes.Equal(data, orderData(i, seq))
}

// orderLoad puts the records of orderKeys keys from orderGoroutines
// goroutines. Goroutine g owns the keys i with i % orderGoroutines == g and
// puts each key's records one after the other, with sequence numbers 0, 1,
// 2, ... in the data; one in ten goes through PutUserRecord.
type orderLoad struct {
	h     *harness
	rate  float64         // records a second, all goroutines together; 0: as fast as Put takes them
	min   int             // records to put at least
	until <-chan struct{} // if set, the goroutines go on past min until it is closed

	// sent[i] is the number of records of key i Put accepted: their
	// sequence numbers are 0..sent[i]-1. Each is written by the key's
	// goroutine only, and read after wait.
	sent     []uint64
	accepted atomic.Int64
	refused  atomic.Int64
	firstErr atomic.Pointer[string]
	marks    []orderMark

	putters  *putters
	finished sync.WaitGroup
	start    time.Time
	took     time.Duration // from start to the last Put, set by wait
}

// orderMark is closed when Put has accepted n records.
type orderMark struct {
	n  int64
	ch chan struct{}
}

// at returns a channel closed once Put has accepted n records. Call it
// before run.
func (l *orderLoad) at(n int) <-chan struct{} {
	m := orderMark{int64(n), make(chan struct{})}
	l.marks = append(l.marks, m)
	return m.ch
}

// startReshardLoad creates an orderShards stream on srv and starts a
// producer with OrderPerKey that lists the shards every 200ms, and a load of
// at least records at rate, which runs until finishReshardLoad closes
// resharded. The load passes atFifth and atHalf at a fifth and at half of
// records.
func startReshardLoad(t *testing.T, srv *kinesistest.Server, rate float64, records int, seed int64) (
	client *kinesis.Kinesis, stream string, l *orderLoad, resharded chan struct{}, atFifth, atHalf <-chan struct{}) {
	t.Helper()
	client = srv.Client(t, nil)
	stream = srv.CreateStream(t, orderShards)
	cfg := orderConfig(t, client, stream, producer.OrderPerKey)
	cfg.ShardRefreshInterval = 200 * time.Millisecond
	h := startProducer(t, doors[0], cfg, client)
	resharded = make(chan struct{})
	l = &orderLoad{h: h, rate: rate, min: records, until: resharded}
	atFifth, atHalf = l.at(records/5), l.at(records/2)
	l.run(t, seed)
	return client, stream, l, resharded, atFifth, atHalf
}

// finishReshardLoad ends the load of startReshardLoad, reads the stream
// back and checks the order, failing the test too when no key was read from
// more than one shard (the resharding did not happen under load).
func finishReshardLoad(t *testing.T, srv *kinesistest.Server, client *kinesis.Kinesis, stream string, l *orderLoad,
	resharded chan struct{}, what string) {
	t.Helper()
	close(resharded)
	st, stopTook := orderFinish(t, l.h, l)
	view := limRead(t, srv, stream)
	shards := kinesistest.Shards(t, client, stream)
	o := checkOrder(t, view, shards, l)
	orderFigures(t, what, o, st, view, l, stopTook)
	o.judge(t, st, l.h, view, true)
	if o.KeysOnSeveral == 0 {
		t.Errorf("no key was read from more than one shard: the resharding did not happen under load; shards:%s", describeShards(shards))
	}
}

// reshardAt waits until the load reaches at, reshards the stream with do
// (which returns the shards after it) and waits until the producer has the
// new map.
func (l *orderLoad) reshardAt(t *testing.T, what string, at <-chan struct{}, do func() []*kinesis.Shard) {
	t.Helper()
	select {
	case <-at:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: only %d records put after 30s", what, l.accepted.Load())
	}
	before := l.h.p.Stats().ShardMapUpdates
	begin := time.Now()
	shards := do()
	waitMapUpdate(t, l.h.p, before, 10*time.Second)
	t.Logf("%s after %d records, %v until the producer had the new map: open shards %v",
		what, l.accepted.Load(), time.Since(begin).Round(time.Millisecond), openShardIDs(shards))
}

// run starts the goroutines. A cleanup stops them if the test ends first.
func (l *orderLoad) run(t *testing.T, seed int64) {
	t.Helper()
	l.sent = make([]uint64, orderKeys)
	l.start = time.Now()
	l.finished.Add(orderGoroutines)
	l.putters = startPutters(t, orderGoroutines, func(g int, done <-chan struct{}) {
		defer l.finished.Done()
		rng := rand.New(rand.NewSource(seed + int64(g)))
		var own []int
		for i := g; i < orderKeys; i += orderGoroutines {
			own = append(own, i)
		}
		quota := l.min / orderGoroutines
		if g < l.min%orderGoroutines {
			quota++
		}
		var interval time.Duration
		if l.rate > 0 {
			interval = time.Duration(float64(orderGoroutines) * float64(time.Second) / l.rate)
		}
		next := time.Now().Add(time.Duration(rng.Int63n(int64(interval) + 1))) // spread the goroutines
		for n := 0; ; n++ {
			if n >= quota && !l.goOn() {
				return
			}
			select {
			case <-done:
				return
			default:
			}
			if interval > 0 {
				if d := time.Until(next); d > 0 {
					time.Sleep(d)
				}
				if now := time.Now(); now.Sub(next) > 100*time.Millisecond {
					next = now.Add(-100 * time.Millisecond) // catch up at most 100ms
				}
				next = next.Add(interval)
			}
			i := own[rng.Intn(len(own))]
			seq := l.sent[i]
			if err := l.h.put(orderKey(i), nil, orderData(i, seq), rng.Intn(10) == 0); err != nil {
				l.refused.Add(1)
				msg := fmt.Sprintf("key %s record %d: %v", orderKey(i), seq, err)
				l.firstErr.CompareAndSwap(nil, &msg)
				return // the next record of the key would follow a refused one
			}
			l.sent[i]++
			v := l.accepted.Add(1)
			for _, m := range l.marks {
				if v == m.n {
					close(m.ch)
				}
			}
		}
	})
}

// goOn reports whether the goroutines go on past min.
func (l *orderLoad) goOn() bool {
	if l.until == nil {
		return false
	}
	select {
	case <-l.until:
		return false
	default:
		return true
	}
}

// wait waits until every goroutine has put its records, and fails the test
// for a refused Put.
func (l *orderLoad) wait(t *testing.T) {
	t.Helper()
	l.finished.Wait()
	l.took = time.Since(l.start)
	l.putters.stop()
	if n := l.refused.Load(); n > 0 {
		t.Errorf("Put refused %d records, first: %s", n, *l.firstErr.Load())
	}
}

// orderConfig is the producer configuration of the ordering tests: the
// bulk tests' short flush interval and backoff, no limit on attempts and a
// time-to-live no scenario reaches, so that no record may fail.
func orderConfig(t *testing.T, client *kinesis.Kinesis, stream string, ordering producer.Ordering) *producer.Config {
	cfg := bulkConfig(client, stream)
	cfg.Ordering = ordering
	cfg.MaxAttempts = 0
	cfg.RecordTTL = 5 * time.Minute
	cfg.Logger = &testLogger{tb: t, quiet: true}
	return cfg
}

// orderFinish waits for the load, shuts the producer down (a deadline
// turns what is left into failures rather than a hung test) and returns the
// producer's totals and how long Shutdown took.
func orderFinish(t *testing.T, h *harness, l *orderLoad) (producer.Stats, time.Duration) {
	t.Helper()
	l.wait(t)
	ctx, cancel := context.WithTimeout(context.Background(), orderShutdown)
	defer cancel()
	begin := time.Now()
	if err := h.p.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v; stats %+v", err, h.p.Stats())
	}
	took := time.Since(begin)
	h.stop() // waits for the failure channel to close
	return h.p.Stats(), took
}

// consumerOrder returns the records of a KCL view in the order a consumer
// that reads every shard after its parents (ParentShardId and
// AdjacentParentShardId) receives them: shard by shard, parents first, and
// within a shard in sequence order (as ReadAll reads them). Shards not
// related by lineage keep the order the server lists them in.
func consumerOrder(recs []kinesistest.KCLRecord, shards []*kinesis.Shard) []kinesistest.KCLRecord {
	byID := make(map[string]*kinesis.Shard, len(shards))
	for _, sh := range shards {
		byID[aws.StringValue(sh.ShardId)] = sh
	}
	rank := make(map[string]int, len(shards))
	visiting := map[string]bool{}
	var visit func(id string)
	visit = func(id string) {
		sh := byID[id]
		if sh == nil || visiting[id] {
			return
		}
		if _, done := rank[id]; done {
			return
		}
		visiting[id] = true
		visit(aws.StringValue(sh.ParentShardId))
		visit(aws.StringValue(sh.AdjacentParentShardId))
		visiting[id] = false
		rank[id] = len(rank)
	}
	for _, sh := range shards {
		visit(aws.StringValue(sh.ShardId))
	}
	out := append([]kinesistest.KCLRecord(nil), recs...)
	sort.SliceStable(out, func(a, b int) bool { return rank[out[a].ShardID] < rank[out[b].ShardID] })
	return out
}

// orderOutcome is what checkOrder found.
type orderOutcome struct {
	Put             int // records Put accepted
	Delivered       int // distinct records a KCL 2.x consumer receives
	Duplicates      int // extra copies it receives
	Failed          int // records reported on NotifyFailures
	Lost            int // accepted, never failed, never received
	Unexpected      int // received records never accepted, or corrupt
	OutOfOrder      int // records first received after a later record of their key
	KeysOutOfOrder  int // keys with at least one such record
	KeysOnSeveral   int // keys received from more than one shard
	UnknownFailures int // failures of records never put
	Examples        []string
	LostExamples    []string
}

func (o orderOutcome) String() string {
	return fmt.Sprintf("put %d, delivered %d, duplicates %d, failed %d, lost %d, unexpected %d; "+
		"%d records of %d keys out of order; %d keys read from several shards",
		o.Put, o.Delivered, o.Duplicates, o.Failed, o.Lost, o.Unexpected, o.OutOfOrder, o.KeysOutOfOrder, o.KeysOnSeveral)
}

// checkOrder compares what a KCL 2.x consumer receives (view, read from a
// stream whose shards, closed ones included, are shards) with what l put:
// for every key, the first copy of each record must come after the first
// copies of the key's earlier records; every record accepted must be
// received or reported failed. Call it after the producer has stopped.
func checkOrder(t *testing.T, view *kinesistest.KCLResult, shards []*kinesis.Shard, l *orderLoad) orderOutcome {
	t.Helper()
	var o orderOutcome
	seen := make([][]int32, orderKeys)
	for i, n := range l.sent {
		seen[i] = make([]int32, n)
		o.Put += int(n)
	}
	last := make([]int64, orderKeys) // highest sequence number received so far
	lastShard := make([]string, orderKeys)
	shardsOf := make([]map[string]bool, orderKeys)
	badKey := make([]bool, orderKeys)
	for i := range last {
		last[i] = -1
	}
	for _, r := range consumerOrder(view.Records, shards) {
		i, seq, ok := orderParse(r.Data)
		if !ok || r.PartitionKey != orderKey(i) || seq >= l.sent[i] {
			o.Unexpected++
			continue
		}
		if shardsOf[i] == nil {
			shardsOf[i] = map[string]bool{}
		}
		shardsOf[i][r.ShardID] = true
		seen[i][seq]++
		if seen[i][seq] > 1 {
			o.Duplicates++
			continue
		}
		o.Delivered++
		if int64(seq) < last[i] {
			o.OutOfOrder++
			if !badKey[i] {
				badKey[i] = true
				o.KeysOutOfOrder++
			}
			if len(o.Examples) < errorLimit {
				o.Examples = append(o.Examples, fmt.Sprintf("key %s: record %d (shard %s, %s) first received after record %d (shard %s)",
					orderKey(i), seq, r.ShardID, r.SequenceNumber, last[i], lastShard[i]))
			}
			continue
		}
		last[i], lastShard[i] = int64(seq), r.ShardID
	}
	for _, m := range shardsOf {
		if len(m) > 1 {
			o.KeysOnSeveral++
		}
	}
	led := l.h.ledger
	led.mu.Lock()
	defer led.mu.Unlock()
	o.Failed, o.UnknownFailures = led.failed, led.unknownFailures
	if led.put != o.Put {
		t.Errorf("the ledger holds %d records Put accepted, the load counted %d", led.put, o.Put)
	}
	for i, s := range seen {
		for seq, n := range s {
			if n > 0 {
				continue
			}
			if e := led.entries[identOf(orderKey(i), orderData(i, uint64(seq)))]; e != nil && e.failed > 0 {
				continue
			}
			o.Lost++
			if len(o.LostExamples) < errorLimit {
				o.LostExamples = append(o.LostExamples, fmt.Sprintf("key %s record %d of %d", orderKey(i), seq, len(s)))
			}
		}
	}
	return o
}

// judge fails the test for what the producer must never do, in either
// mode: a record lost, failed, corrupt or unexpected, a duplicate without
// a send of unknown fate, totals that disagree with what was read. With
// ordered set, a key out of order fails it too.
func (o orderOutcome) judge(t *testing.T, st producer.Stats, h *harness, view *kinesistest.KCLResult, ordered bool) {
	t.Helper()
	if ordered && o.KeysOutOfOrder != 0 {
		t.Errorf("%d records of %d keys (of %d) were first received after a later record of their key, e.g.:\n  %s",
			o.OutOfOrder, o.KeysOutOfOrder, orderKeys, strings.Join(o.Examples, "\n  "))
	}
	if o.Lost != 0 {
		t.Errorf("%d records lost (accepted, never failed, never received by a KCL 2.x consumer), e.g. %v",
			o.Lost, o.LostExamples)
	}
	if o.Failed != 0 {
		t.Errorf("%d records failed, want none: %s", o.Failed, h.failures)
	}
	if o.Unexpected != 0 || o.UnknownFailures != 0 {
		t.Errorf("%d records received that were never accepted (or corrupt), %d failures of records never put",
			o.Unexpected, o.UnknownFailures)
	}
	if view.Malformed != 0 || view.BadHashKeys != 0 {
		t.Errorf("%d records with the aggregation prefix are not valid aggregates, %d aggregates have a bad explicit hash key",
			view.Malformed, view.BadHashKeys)
	}
	switch {
	case o.Duplicates > 0 && st.UnknownFate == 0:
		t.Errorf("%d duplicates received, but no send had an unknown fate (Stats.UnknownFate 0)", o.Duplicates)
	case int64(o.Duplicates) > st.UnknownFate:
		t.Errorf("%d duplicates received, more than the %d user records sent again after a send of unknown fate",
			o.Duplicates, st.UnknownFate)
	}
	if st.UserRecordsPut+st.UserRecordsFailed != int64(o.Put) || st.Outstanding != 0 {
		t.Errorf("Stats: %d acknowledged + %d failed, %d outstanding; want %d put, 0 outstanding",
			st.UserRecordsPut, st.UserRecordsFailed, st.Outstanding, o.Put)
	}
	if o.Put == 0 {
		t.Errorf("no record was put")
	}
}

// orderFigures logs the figures of a run.
func orderFigures(t *testing.T, what string, o orderOutcome, st producer.Stats, view *kinesistest.KCLResult, l *orderLoad, stopTook time.Duration) {
	t.Helper()
	secs := max(l.took.Seconds(), 1e-3)
	t.Logf("FIGURES %s: %v; Put took %v (%.0f records/s, %.2f MiB/s delivered); %.1f user records and %.1f KiB per Kinesis record; "+
		"Stats: Requests %d, KinesisRecordsPut %d, Retries %d, Throttled %d, UnknownFate %d, WrongShard %d, Resent %d, "+
		"ShardMapUpdates %d; KCL dropped %d aggregates (%d user records); Shutdown took %v",
		what, o, l.took.Round(time.Millisecond), float64(o.Put)/secs, float64(st.BytesPut)/(1<<20)/secs,
		float64(len(view.Records))/float64(max(view.KinesisRecords, 1)),
		float64(st.BytesPut)/1024/float64(max(st.KinesisRecordsPut, 1)),
		st.Requests, st.KinesisRecordsPut, st.Retries, st.Throttled, st.UnknownFate, st.WrongShard, st.Resent,
		st.ShardMapUpdates, view.DroppedAggregates, view.DroppedUserRecords, stopTook.Round(time.Millisecond))
}

// TestOrderingNeedsShardMap: with OrderPerKey and no GetShards, Start fails
// with an error wrapping ErrOrderingNeedsShardMap (and ErrInvalidConfig),
// and so does Put; with a shard map the same Config starts and delivers.
func TestOrderingNeedsShardMap(t *testing.T) { forEachDoor(t, testOrderingNeedsShardMap) }

func testOrderingNeedsShardMap(t *testing.T, d door) {
	t.Parallel()
	srv := kinesistest.Shared(t)
	client := srv.Client(t, nil)
	stream := srv.CreateStream(t, 2)

	p := d.open(orderConfig(t, client, stream, producer.OrderPerKey), nil)
	err := p.Start()
	if !errors.Is(err, producer.ErrOrderingNeedsShardMap) || !errors.Is(err, producer.ErrInvalidConfig) {
		t.Errorf("Start without GetShards: %v, want an error wrapping ErrOrderingNeedsShardMap and ErrInvalidConfig", err)
	}
	if err := p.Put([]byte("x"), "k"); !errors.Is(err, producer.ErrOrderingNeedsShardMap) {
		t.Errorf("Put: %v, want an error wrapping ErrOrderingNeedsShardMap", err)
	}
	p.Stop()

	// The mode off needs no map.
	p = d.open(orderConfig(t, client, stream, producer.OrderNone), nil)
	if err := p.Start(); err != nil {
		t.Errorf("Start with OrderNone and no GetShards: %v", err)
	}
	p.Stop()

	// With a map the mode starts and delivers.
	h := startProducer(t, d, orderConfig(t, client, stream, producer.OrderPerKey), client)
	for i := 0; i < 100; i++ {
		if err := h.put(orderKey(i%10), nil, orderData(i%10, uint64(i/10)), false); err != nil {
			t.Fatalf("Put: %v", err)
		}
	}
	h.stop()
	if st := h.p.Stats(); st.UserRecordsPut != 100 || st.UserRecordsFailed != 0 {
		t.Errorf("Stats: %d records acknowledged, %d failed; want 100, 0", st.UserRecordsPut, st.UserRecordsFailed)
	}
}

// TestIntegrationOrderingShardLimits puts orderRecords records of
// orderKeys keys in order through the real per-shard write limits
// (faultinject.ShardLimits) of a four-shard stream, offered at about twice
// the stream's capacity: no key out of order, nothing lost or failed, no
// duplicate (nothing has an unknown fate here). It logs the throughput and
// the throttled share. It holds the machine alone, as the other load tests
// at the limits do (see exclusive).
func TestIntegrationOrderingShardLimits(t *testing.T) {
	orderShardLimits(t, 0, orderRecords, "ordered at the shard limits")
}

// TestIntegrationOrderingShardLimitsRTT is TestIntegrationOrderingShardLimits
// with every HTTP round trip to the server 50ms longer (rttTransport, in
// front of the shard limits), as from a client far from the region, and
// half the records to keep the run short. The same checks hold; the
// throughput and throttled share are logged, not asserted.
func TestIntegrationOrderingShardLimitsRTT(t *testing.T) {
	orderShardLimits(t, 50*time.Millisecond, orderRecords/2, "ordered at the shard limits, RTT +50ms")
}

// orderShardLimits is the body of the shard-limits tests: records records
// offered at twice the capacity of an orderShards-shard stream through
// faultinject.ShardLimits, every round trip rtt longer (none if 0).
func orderShardLimits(t *testing.T, rtt time.Duration, records int, what string) {
	t.Parallel()
	runExclusively(t)
	srv, tr, stream := limStream(t, orderShards)
	var rt http.RoundTripper = tr
	if rtt > 0 {
		rt = &rttTransport{next: tr, delay: rtt}
	}
	client := srv.Client(t, rt)
	h := startProducer(t, doors[0], orderConfig(t, client, stream, producer.OrderPerKey), client)

	// A record counts its data (200 bytes on average) and its key against
	// the shard's byte limit, the binding one with aggregation.
	capacity := float64(orderShards*shardCapacity) / float64(200+len(orderKey(0)))
	l := &orderLoad{h: h, rate: 2 * capacity, min: records}
	l.run(t, 7100)
	st, stopTook := orderFinish(t, h, l)

	view := limRead(t, srv, stream)
	shards := kinesistest.Shards(t, srv.Client(t, nil), stream)
	o := checkOrder(t, view, shards, l)
	ls := tr.Stats()
	orderFigures(t, what, o, st, view, l, stopTook)
	total := l.took + stopTook
	t.Logf("FIGURES %s: offered %.0f records/s (2x the capacity of %.0f); delivered %.2f MiB in %v "+
		"(%.0f%% of the stream's %d MiB/s); throttled %d of %d entries (%.1f%%)",
		what, l.rate, capacity, float64(st.BytesPut)/(1<<20), total.Round(time.Millisecond),
		100*float64(st.BytesPut)/(float64(orderShards*shardCapacity)*total.Seconds()), orderShards,
		ls.Throttled, ls.Entries, 100*ls.ThrottledShare())
	t.Logf("%v", tr)
	o.judge(t, st, h, view, true)
}

// rttTransport makes every round trip delay longer: it waits delay, or
// until the request's context is done, before handing the request to next.
type rttTransport struct {
	next  http.RoundTripper
	delay time.Duration
}

func (r *rttTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	timer := time.NewTimer(r.delay)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-req.Context().Done():
		if req.Body != nil {
			req.Body.Close() // a RoundTripper must close the body, even on error
		}
		return nil, req.Context().Err()
	}
	return r.next.RoundTrip(req)
}

// orderFaults is the fault mix of the fault scenarios: about one
// PutRecords call in ten fails, with an HTTP 500 (not stored), a refused
// connection (not sent) or a lost answer (stored, the producer does not
// know it).
func orderFaults(seed int64) faultinject.Config {
	return faultinject.Config{Seed: seed, InternalError: 0.04, ConnectionError: 0.03, LostResponse: 0.03}
}

// orderFaultRun puts records records of orderKeys keys through orderFaults
// into a four-shard kinesalite stream with the given ordering and returns
// what checkOrder found; it fails the test for whatever judge fails in
// both modes.
func orderFaultRun(t *testing.T, d door, ordering producer.Ordering, records int, seed int64) orderOutcome {
	t.Helper()
	srv := kinesistest.Shared(t)
	tr := faultinject.New(nil, orderFaults(seed))
	t.Cleanup(tr.CloseIdleConnections)
	client := srv.Client(t, tr)
	plain := srv.Client(t, nil)
	stream := srv.CreateStream(t, orderShards)
	h := startProducer(t, d, orderConfig(t, client, stream, ordering), plain)

	l := &orderLoad{h: h, min: records}
	l.run(t, seed*10)
	st, stopTook := orderFinish(t, h, l)

	view := limRead(t, srv, stream)
	o := checkOrder(t, view, kinesistest.Shards(t, plain, stream), l)
	fs := tr.Stats()
	orderFigures(t, fmt.Sprintf("%s under faults", orderingName(ordering)), o, st, view, l, stopTook)
	t.Logf("%v", fs)
	o.judge(t, st, h, view, ordering == producer.OrderPerKey)
	if ordering != producer.OrderPerKey {
		return o // the control needs reordering, found or not, not every fault
	}
	// Every kind of fault met the ordered mode, or the test proves less
	// than it says.
	for name, n := range map[string]int64{
		"internal errors": fs.InternalErrors, "connection errors": fs.ConnectionErrors, "lost responses": fs.LostResponses,
	} {
		if n == 0 {
			t.Errorf("no %s were injected", name)
		}
	}
	return o
}

func orderingName(o producer.Ordering) string {
	if o == producer.OrderPerKey {
		return "ordered"
	}
	return "unordered"
}

// TestIntegrationOrderingFaults puts orderRecords records in order while
// about 10% of the PutRecords calls fail (HTTP 500, refused connections,
// lost answers): no key out of order, nothing lost or failed, duplicates
// only as many as the records sent again after a lost answer.
func TestIntegrationOrderingFaults(t *testing.T) {
	t.Parallel()
	runExclusively(t)
	orderFaultRun(t, doors[0], producer.OrderPerKey, orderRecords, 71)
}

// TestIntegrationOrderingOffReorders is the control: the faults scenario
// with Ordering off must reorder some keys, found by the same checker (the
// other checks hold in this mode too). A run that happens to keep every key
// in order is tried again, up to three runs.
func TestIntegrationOrderingOffReorders(t *testing.T) {
	t.Parallel()
	runExclusively(t)
	for attempt := 0; attempt < 3; attempt++ {
		o := orderFaultRun(t, doors[0], producer.OrderNone, orderRecords/5, int64(81+attempt))
		if o.KeysOutOfOrder > 0 {
			t.Logf("with Ordering off, the checker found %d records of %d keys out of order (run %d), e.g.:\n  %s",
				o.OutOfOrder, o.KeysOutOfOrder, attempt+1, strings.Join(o.Examples[:min(3, len(o.Examples))], "\n  "))
			return
		}
		t.Logf("run %d with Ordering off kept every key in order; trying again", attempt+1)
	}
	t.Errorf("with Ordering off, three runs under faults kept every key in order: the checker proves nothing")
}

// TestIntegrationOrderingReshard puts orderRecords records in order into a
// four-shard kinesalite stream while shard 0 is split and its two children
// are then merged, with a producer that lists the shards every 200ms: a
// key of shard 0 has records on three generations of shards, which a KCL
// consumer reads parents first. No key out of order, nothing lost or
// failed.
func TestIntegrationOrderingReshard(t *testing.T) {
	t.Parallel()
	runExclusively(t)
	srv := kinesistest.Shared(t)
	client, stream, l, resharded, atSplit, atMerge := startReshardLoad(t, srv, 25_000, orderRecords, 7300)

	l.reshardAt(t, "split shard 0", atSplit, func() []*kinesis.Shard {
		return kinesistest.SplitShard(t, client, stream, "shardId-000000000000")
	})
	l.reshardAt(t, "merge its children", atMerge, func() []*kinesis.Shard {
		open := openShardIDs(kinesistest.Shards(t, client, stream))
		return kinesistest.MergeShards(t, client, stream, open[0], open[1])
	})
	finishReshardLoad(t, srv, client, stream, l, resharded, "ordered while resharding")
}

// TestIntegrationOrderingUpdateShardCount puts orderLocalRecords records in
// order into a four-shard kinesis-local stream while UpdateShardCount takes
// it to 6 shards and then to 3, with a producer that lists the shards every
// 200ms. No key out of order, nothing lost or failed.
func TestIntegrationOrderingUpdateShardCount(t *testing.T) {
	t.Parallel()
	srv := kinesistest.SharedKinesisLocal(t)
	client, stream, l, resharded, at6, at3 := startReshardLoad(t, srv, 2_500, orderLocalRecords, 7400)

	for _, step := range []struct {
		target int
		at     <-chan struct{}
	}{{6, at6}, {3, at3}} {
		l.reshardAt(t, fmt.Sprintf("UpdateShardCount -> %d", step.target), step.at, func() []*kinesis.Shard {
			return kinesistest.UpdateShardCount(t, client, stream, step.target)
		})
	}
	finishReshardLoad(t, srv, client, stream, l, resharded, "ordered through UpdateShardCount 4 -> 6 -> 3")
}
