package producer_test

// Load tests against the write limits Kinesis enforces per shard (1 MiB/s
// of data plus keys and 1,000 records/s), put in front of kinesalite by
// faultinject.ShardLimits: a saturated stream, a stream shared by three
// producers, a hot shard and an outage. Each test reads the stream back as a
// KCL 2.x consumer would (kinesistest.KCL2View) and accounts for every
// record Put accepted: delivered, failed with a reason, or lost.
//
// The durations below are those the figures are judged by; shorten them for
// a quick run (the thresholds are rates and shares, and hold for shorter
// runs too, less reliably).

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand"
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
	// limitsOffer is how long the saturation tests offer records.
	limitsOffer = 16 * time.Second
	// limitsHotBefore is how long the hot-shard test measures the shards'
	// rates before the window (after limitsWarmUp).
	limitsHotBefore = 2 * time.Second
	// limitsHotWindow is how long the hot shard throttles every entry.
	limitsHotWindow = 5 * time.Second
	// limitsHotAfter is how long records flow after the hot window.
	limitsHotAfter = 2 * time.Second
	// limitsOutage is how long the outage lasts.
	limitsOutage = 8 * time.Second
	// limitsOutageAround is how long records flow before and after the
	// outage.
	limitsOutageAround = 3 * time.Second
	// limitsSettle is the start of a saturation run left out of the
	// throttling figure (the whole run's is logged too).
	limitsSettle = 3 * time.Second
	// limitsWarmUp is the start of a run left out of the rate measurements.
	limitsWarmUp = time.Second

	// limitsDataSize is the data size of every record; with its 16-byte
	// partition key a record counts 1,040 bytes against a shard's limit.
	limitsDataSize = 1024
	// limitsKeyLen is the length of the random partition keys.
	limitsKeyLen = 16
	// limitsSaturation is the offered load of the saturation tests, in
	// multiples of the stream's capacity.
	limitsSaturation = 2.5
	// limitsShare is the share of each shard's capacity the hot-shard test
	// offers.
	limitsShare = 0.6
	// limitsOutageShare is the share of capacity offered in the outage test.
	limitsOutageShare = 0.4

	// limitsMinDelivered is the least share of the capacity a saturated
	// stream must deliver.
	limitsMinDelivered = 0.9
	// limitsMaxThrottled is the largest share of PutRecords entries
	// (retries included) Kinesis may throttle.
	limitsMaxThrottled = 0.1
	// limitsMinShare is the least share of the capacity each of several
	// producers sharing a saturated stream must deliver.
	limitsMinShare = 0.25
	// limitsMinHotRate is the least share of their earlier rate the other
	// shards keep while one is hot.
	limitsMinHotRate = 0.8
	// limitsMaxBlock is the longest a Put for a key of a healthy shard may
	// block while another shard is hot.
	limitsMaxBlock = 200 * time.Millisecond
	// limitsDrainLimit bounds the wait for the goroutines that Put after the
	// offer ends, and for the failure channel after Stop.
	limitsDrainLimit = 60 * time.Second
)

// shardCapacity is a shard's write limit in bytes a second.
const shardCapacity = faultinject.DefaultShardBytesPerSecond

// recordCost is what one record counts against its shard's byte limit.
const recordCost = limitsDataSize + limitsKeyLen

// limSerial numbers the records of the load tests; unique in the binary.
var limSerial atomic.Uint64

// limData returns the data of record serial: the serial number, then a
// pattern derived from it, so that a record read back can be verified.
func limData(serial uint64, size int) []byte {
	b := make([]byte, size)
	binary.BigEndian.PutUint64(b, serial)
	for i := 8; i < size; i++ {
		b[i] = byte(serial*7 + uint64(i)*13)
	}
	return b
}

// limSerialOf returns the serial number of a record's data; ok is false if
// the data is not a load-test record.
func limSerialOf(data []byte) (uint64, bool) {
	if len(data) < 8 {
		return 0, false
	}
	s := binary.BigEndian.Uint64(data)
	return s, bytes.Equal(data, limData(s, len(data)))
}

// limKey returns a random partition key.
func limKey(rng *rand.Rand) string {
	return fmt.Sprintf("%016x", rng.Uint64())
}

// limKeysFor returns n random partition keys of the shard with index i of
// shards (open shards as the stream lists them).
func limKeysFor(shards []*kinesis.Shard, i, n int, rng *rand.Rand) []string {
	id := aws.StringValue(shards[i].ShardId)
	keys := make([]string, 0, n)
	for len(keys) < n {
		k := limKey(rng)
		if sh := kinesistest.ShardForHashKey(shards, kinesistest.HashKey(k)); sh != nil && aws.StringValue(sh.ShardId) == id {
			keys = append(keys, k)
		}
	}
	return keys
}

// limEntry is what the ledger knows of one record.
type limEntry struct {
	key    string
	size   int
	shard  int // index of the shard the test meant it for, -1 if none
	failed int
	reason string // reason of the first failure
	seen   int    // copies a KCL 2.x consumer receives
}

// limLedger accounts for every record Put accepted.
type limLedger struct {
	mu       sync.Mutex
	entries  map[uint64]*limEntry
	unknown  int // failed records that were never put
	failures map[string]int
}

func newLimLedger() *limLedger {
	return &limLedger{entries: make(map[uint64]*limEntry), failures: make(map[string]int)}
}

// put puts one record and records it if Put accepted it. The record is in
// the ledger before Put is called, so that a failure reported at once finds
// it.
func (l *limLedger) put(p testProducer, key string, shard int) error {
	serial := limSerial.Add(1)
	l.mu.Lock()
	l.entries[serial] = &limEntry{key: key, size: limitsDataSize, shard: shard}
	l.mu.Unlock()
	err := p.Put(limData(serial, limitsDataSize), key)
	if err != nil {
		l.mu.Lock()
		delete(l.entries, serial)
		l.mu.Unlock()
	}
	return err
}

// limReason names the reason of a failure for the figures.
func limReason(err error) string {
	if errors.Is(err, producer.ErrRecordExpired) {
		return "record expired"
	}
	s := fmt.Sprint(err)
	if len(s) > 100 {
		s = s[:100] + "..."
	}
	return s
}

// fail records a failure.
func (l *limLedger) fail(fr *producer.FailureRecord) {
	reason := limReason(fr.Err)
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range fr.UserRecords {
		s, ok := limSerialOf(r.Data())
		e := l.entries[s]
		if !ok || e == nil || e.key != r.PartitionKey() {
			l.unknown++
			continue
		}
		e.failed++
		if e.failed == 1 {
			e.reason = reason
		}
		l.failures[reason]++
	}
}

// limOutcome is the account of a load test.
type limOutcome struct {
	Put             int   // records Put accepted
	Delivered       int   // distinct records a KCL 2.x consumer receives
	DeliveredBytes  int64 // their data plus partition key bytes
	Duplicates      int   // extra copies it receives
	Failed          int   // records reported as failed
	FailedDelivered int   // of which delivered all the same
	Lost            int   // neither delivered nor failed
	Unexpected      int   // records received that were never put, or corrupt
	UnknownFailures int   // failures of records that were never put
	FailedBy        map[string]int
	LostSample      []uint64
}

func (o limOutcome) String() string {
	return fmt.Sprintf("put %d, delivered %d (%.1f MiB), failed %d (%d of them delivered), lost %d, duplicates %d, "+
		"unexpected %d, unknown failures %d; failures by reason %v",
		o.Put, o.Delivered, float64(o.DeliveredBytes)/(1<<20), o.Failed, o.FailedDelivered, o.Lost, o.Duplicates,
		o.Unexpected, o.UnknownFailures, o.FailedBy)
}

// check compares what a KCL 2.x consumer receives with the ledger. filter,
// if set, selects the records counted.
func (l *limLedger) check(view *kinesistest.KCLResult, filter func(*limEntry) bool) limOutcome {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.entries {
		e.seen = 0
	}
	o := limOutcome{FailedBy: make(map[string]int), UnknownFailures: l.unknown}
	for _, r := range view.Records {
		s, ok := limSerialOf(r.Data)
		e := l.entries[s]
		if !ok || e == nil || e.key != r.PartitionKey {
			o.Unexpected++
			continue
		}
		e.seen++
	}
	serials := make([]uint64, 0, len(l.entries))
	for s := range l.entries {
		serials = append(serials, s)
	}
	sort.Slice(serials, func(i, j int) bool { return serials[i] < serials[j] })
	for _, s := range serials {
		e := l.entries[s]
		if filter != nil && !filter(e) {
			continue
		}
		o.Put++
		if e.seen > 0 {
			o.Delivered++
			o.DeliveredBytes += int64(e.size + len(e.key))
			o.Duplicates += e.seen - 1
		}
		if e.failed > 0 {
			o.Failed++
			o.FailedBy[e.reason]++
			if e.seen > 0 {
				o.FailedDelivered++
			}
		}
		if e.seen == 0 && e.failed == 0 {
			o.Lost++
			if len(o.LostSample) < 5 {
				o.LostSample = append(o.LostSample, s)
			}
		}
	}
	return o
}

// limRun is a started producer whose failures go into a ledger.
type limRun struct {
	t      *testing.T
	p      testProducer
	done   chan struct{} // closed when the failure channel is closed
	ledger *limLedger
}

// startLimProducer starts a producer through door d with the default Config
// plus a shard map from GetKinesisShardsFunc and a quiet logger. The test
// stops it; a cleanup stops it too if the test ends early.
func startLimProducer(t *testing.T, d door, client *kinesis.Kinesis, stream string, l *limLedger) *limRun {
	t.Helper()
	return startLimProducerWith(t, d, &producer.Config{StreamName: stream, Client: client}, client, l)
}

// startLimProducerWith is startLimProducer with cfg (a quiet logger added)
// and the shard map listed through lister.
func startLimProducerWith(t *testing.T, d door, cfg *producer.Config, lister *kinesis.Kinesis, l *limLedger) *limRun {
	t.Helper()
	cfg.Logger = producer.Standard(log.New(io.Discard, "", 0))
	p := d.open(cfg, lister)
	r := &limRun{t: t, p: p, done: make(chan struct{}), ledger: l}
	failures := p.NotifyFailures()
	go func() {
		defer close(r.done)
		for fr := range failures {
			l.fail(fr)
		}
	}()
	if err := p.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { r.stop() })
	return r
}

// stop stops the producer and waits for its failure channel to close. It
// returns how long Stop took.
func (r *limRun) stop() time.Duration {
	start := time.Now()
	r.p.Stop()
	took := time.Since(start)
	select {
	case <-r.done:
	case <-time.After(limitsDrainLimit):
		r.t.Errorf("the failure channel is still open %v after Stop returned", limitsDrainLimit)
	}
	return took
}

// limOffer is one class of offering goroutines.
type limOffer struct {
	run        *limRun
	goroutines int
	rate       float64                 // records a second, all goroutines together
	key        func(*rand.Rand) string // partition key of the next record
	shard      int                     // shard the keys belong to, -1 for any
	// splitAt divides the Puts for the longest-Put figures: those started
	// before it count in maxBlockBefore, the others in maxBlock.
	splitAt        time.Time
	maxBlock       atomic.Int64           // longest Put from splitAt on, in nanoseconds
	maxBlockBefore atomic.Int64           // longest Put started before splitAt
	accepted       atomic.Int64           // records Put accepted
	putErrors      atomic.Int64           // records Put refused
	firstErr       atomic.Pointer[string] // first refusal
}

// recordMax raises m to d if d is longer.
func recordMax(m *atomic.Int64, d time.Duration) {
	for {
		old := m.Load()
		if int64(d) <= old || m.CompareAndSwap(old, int64(d)) {
			return
		}
	}
}

// offer runs the offering goroutines until the deadline. Each paces itself
// to its share of the rate; a goroutine held up by Put goes on as fast as
// Put lets it, catching up at most 100ms of its schedule. Every loop is
// bounded in time and in count. offer returns a function that waits until
// the goroutines have ended (reporting in the test if that takes longer than
// limitsDrainLimit after the deadline).
func (o *limOffer) offer(seed int64, until time.Time) (wait func()) {
	var wg sync.WaitGroup
	per := o.rate / float64(o.goroutines)
	interval := time.Duration(float64(time.Second) / per)
	maxCount := int(per*time.Until(until).Seconds()*1.2) + 100
	for g := 0; g < o.goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(seed + int64(g)))
			next := time.Now().Add(time.Duration(rng.Int63n(int64(interval)))) // spread the goroutines
			for puts := 0; puts < maxCount; puts++ {
				if d := time.Until(next); d > 0 {
					time.Sleep(min(d, time.Until(until)))
				}
				now := time.Now()
				if !now.Before(until) {
					return
				}
				if now.Sub(next) > 100*time.Millisecond {
					next = now.Add(-100 * time.Millisecond)
				}
				next = next.Add(interval)
				start := time.Now()
				err := o.run.ledger.put(o.run.p, o.key(rng), o.shard)
				took := time.Since(start)
				if start.Before(o.splitAt) {
					recordMax(&o.maxBlockBefore, took)
				} else {
					recordMax(&o.maxBlock, took)
				}
				if err != nil {
					o.putErrors.Add(1)
					msg := err.Error()
					o.firstErr.CompareAndSwap(nil, &msg)
					continue
				}
				o.accepted.Add(1)
			}
		}(g)
	}
	return func() {
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(time.Until(until) + limitsDrainLimit):
			o.run.t.Errorf("Put still blocks %v after the offer ended", limitsDrainLimit)
		}
	}
}

// String describes what the class offered.
func (o *limOffer) String() string {
	longest := time.Duration(max(o.maxBlock.Load(), o.maxBlockBefore.Load()))
	s := fmt.Sprintf("%d accepted, %d refused, longest Put %v", o.accepted.Load(), o.putErrors.Load(),
		longest.Round(time.Millisecond))
	if e := o.firstErr.Load(); e != nil {
		s += ", first refusal: " + *e
	}
	return s
}

// limStream creates a stream with the given number of shards behind a new
// ShardLimits transport with the real limits.
func limStream(t *testing.T, shards int) (*kinesistest.Server, *faultinject.ShardLimits, string) {
	t.Helper()
	srv := kinesistest.Shared(t)
	tr := faultinject.NewShardLimits(nil, faultinject.ShardLimitsConfig{})
	t.Cleanup(tr.CloseIdleConnections)
	return srv, tr, srv.CreateStream(t, shards)
}

// limRead reads the stream back as a KCL 2.x consumer would.
func limRead(t *testing.T, srv *kinesistest.Server, stream string) *kinesistest.KCLResult {
	t.Helper()
	start := time.Now()
	view := kinesistest.ReadKCL2(t, srv.Client(t, nil), stream)
	t.Logf("%v (read in %v)", view, time.Since(start).Round(time.Millisecond))
	return view
}

// exclusive is held by the saturation, hot-shard and random-throttle tests
// while they run: together they would offer kinesalite, one Node.js
// process, over 10 MiB/s, and on a small machine (or under -race) the rates
// and blocking times would tell more about the machine than about the
// producer. The tests that run the compiler hold it too: its processes
// would take the CPU from them. The outage test, light, runs alongside.
var exclusive = make(chan struct{}, 1)

// runExclusively waits until no other test holds exclusive and holds it
// until the test ends.
func runExclusively(t *testing.T) {
	exclusive <- struct{}{}
	t.Cleanup(func() { <-exclusive })
}

// saturate offers limitsSaturation times the capacity of a two-shard stream
// for limitsOffer through the given number of producers, one client each
// over one ShardLimits transport, stops them and checks the figures.
//
// The rate figures depend on the machine as well as on the producer: on two
// cores shared with the race detector and other test packages, a run now
// and then misses them. So a run that misses only them is measured once
// more, with the reason logged, and a run in which the machine starved the
// test (lagMeter) logs its rate figures without judging them; records
// failed, lost or corrupt fail the test at once.
func saturate(t *testing.T, producers []door) {
	runExclusively(t)
	missed := saturateOnce(t, producers)
	if len(missed) == 0 {
		return
	}
	t.Logf("the rate figures were missed (%s): measuring once more", strings.Join(missed, "; "))
	for _, m := range saturateOnce(t, producers) {
		t.Error(m)
	}
}

// saturateOnce is one run of saturate on a stream of its own. It fails t
// for records failed, lost or corrupt, and returns the rate figures it
// missed.
func saturateOnce(t *testing.T, producers []door) (missed []string) {
	const shards = 2
	srv, tr, stream := limStream(t, shards)
	ledger := newLimLedger()
	rate := limitsSaturation * shards * shardCapacity / recordCost
	var runs []*limRun
	var offers []*limOffer
	for _, d := range producers {
		r := startLimProducer(t, d, srv.Client(t, tr), stream, ledger)
		runs = append(runs, r)
		offers = append(offers, &limOffer{run: r, goroutines: 8, rate: rate / float64(len(producers)), key: limKey, shard: -1})
	}
	lag := startLagMeter()
	start := time.Now()
	until := start.Add(limitsOffer)
	// The shards' use is judged over the offer period itself: after the
	// deadline no new record is offered, only Puts that were blocked finish.
	atDeadline := make(chan faultinject.ShardLimitStats, 1)
	time.AfterFunc(time.Until(until), func() { atDeadline <- tr.Stats() })
	// Throttling is judged once the producers have settled: at the start
	// every producer sends what its Put callers offer, at most a shard's
	// capacity per shard, and a stream shared by several is over its
	// limits until their first windows have been judged.
	settled := make(chan faultinject.ShardLimitStats, 1)
	time.AfterFunc(limitsSettle, func() { settled <- tr.Stats() })
	var waits []func()
	for i, o := range offers {
		waits = append(waits, o.offer(int64(9100+100*i), until))
	}
	for _, w := range waits {
		w()
	}
	offered := time.Since(start)
	lost, worst := lag.finish()
	atEnd := <-atDeadline
	stops := make([]time.Duration, len(runs))
	var stopping sync.WaitGroup
	for i, r := range runs {
		stopping.Add(1)
		go func() {
			defer stopping.Done()
			stops[i] = r.stop()
		}()
	}
	stopping.Wait()
	total := time.Since(start)
	final := tr.Stats()

	out := ledger.check(limRead(t, srv, stream), nil)
	// capacity is the figure delivery is judged by: what the stream takes
	// in limitsOffer. While records were offered (until the deadline), the
	// shards could take their rate over limitsOffer plus one second's burst.
	capacity := float64(shards * shardCapacity * limitsOffer.Seconds())
	offerCapacity := float64(shards*shardCapacity) * (limitsOffer.Seconds() + 1)
	var offerBytes int64
	for _, sh := range atEnd.Shards {
		offerBytes += sh.AcceptedBytes
	}
	delivered := float64(out.DeliveredBytes) / capacity
	used := float64(offerBytes) / offerCapacity
	atSettled := <-settled
	throttled := final.ThrottledShare()
	if n := final.Entries - atSettled.Entries; n > 0 {
		throttled = float64(final.Throttled-atSettled.Throttled) / float64(n)
	}
	accepted := int64(0)
	shares := make([]string, len(runs))
	minShare := 1.0
	for i, o := range offers {
		accepted += o.accepted.Load()
		st := runs[i].p.Stats()
		share := float64(st.BytesPut) / capacity
		minShare = min(minShare, share)
		shares[i] = fmt.Sprintf("%.1f%%", 100*share)
		t.Logf("producer %d (%s): %v; Stop took %v; %.1f%% of the capacity; stats %+v", i, producers[i].name, o,
			stops[i].Round(time.Millisecond), 100*share, st)
	}
	t.Logf("offered %.0f records/s (%.1fx capacity) for %v; Put accepted %d (%.0f/s)",
		rate, limitsSaturation, offered.Round(time.Millisecond), accepted, float64(accepted)/offered.Seconds())
	t.Logf("%v", tr)
	names := make([]string, len(producers))
	for i, d := range producers {
		names[i] = d.name
	}
	t.Logf("FIGURES producers=%s: delivered %.1f MiB of %.1f MiB capacity (%.1f%%); while offering, the shards took "+
		"%.1f MiB of %.1f MiB they could (%.1f%%); failed %d; lost %d; duplicates %d; throttled %d of %d entries "+
		"sent (%.1f%%), %.1f%% after the first %v; producers' shares of the capacity %s; all done in %v", strings.Join(names, "+"), float64(out.DeliveredBytes)/(1<<20), capacity/(1<<20),
		100*delivered, float64(offerBytes)/(1<<20), offerCapacity/(1<<20), 100*used, out.Failed, out.Lost,
		out.Duplicates, final.Throttled, final.Entries, 100*final.ThrottledShare(), 100*throttled, limitsSettle,
		strings.Join(shares, " "), total.Round(time.Millisecond))
	t.Logf("outcome: %v", out)

	if out.Failed != 0 {
		t.Errorf("%d records failed, want none: %v", out.Failed, out.FailedBy)
	}
	if out.Lost != 0 {
		t.Errorf("%d records lost (accepted, never failed, not delivered), e.g. serials %v", out.Lost, out.LostSample)
	}
	if out.Unexpected != 0 || out.UnknownFailures != 0 {
		t.Errorf("%d unexpected or corrupt records delivered, %d failures of records never put", out.Unexpected, out.UnknownFailures)
	}
	if delivered < limitsMinDelivered {
		missed = append(missed, fmt.Sprintf("delivered %.1f%% of the capacity, want at least %.0f%%", 100*delivered, 100*limitsMinDelivered))
	}
	if used < limitsMinDelivered {
		missed = append(missed, fmt.Sprintf("while records were offered the shards took %.1f%% of what they could, want at least %.0f%%",
			100*used, 100*limitsMinDelivered))
	}
	t.Logf("the test lost %.1f%% of the offer to late wake-ups (worst %v)", 100*lost, worst.Round(time.Millisecond))
	defer func() {
		if len(missed) > 0 && lost > lagStarved {
			t.Logf("rate figures not judged, the machine starved the test (%.1f%% of the time lost, worst wake-up %v late): %s",
				100*lost, worst.Round(time.Millisecond), strings.Join(missed, "; "))
			missed = nil
		}
	}()
	if len(runs) > 1 && minShare < limitsMinShare {
		missed = append(missed, fmt.Sprintf("a producer delivered %.1f%% of the capacity, want each at least %.0f%%", 100*minShare, 100*limitsMinShare))
	}
	if throttled > limitsMaxThrottled {
		missed = append(missed, fmt.Sprintf("%.1f%% of the entries sent after the first %v were throttled, want at most %.0f%%",
			100*throttled, limitsSettle, 100*limitsMaxThrottled))
	}
	return missed
}

// TestShardLimitsTwoShards saturates a two-shard stream at the real limits:
// 8 goroutines offer limitsSaturation times its capacity for limitsOffer.
// Nothing may fail or be lost, the stream must be used to at least 90% of
// its capacity, and at most 10% of the entries sent may be throttled.
//
// The load tests each run through one door: the limiter is the engine's,
// behind both, and each of these tests holds the machine alone for tens of
// seconds. This one takes the v1 door, TestHotShard the v2 door, and
// TestShardLimitsThreeProducers both.
func TestShardLimitsTwoShards(t *testing.T) {
	t.Parallel()
	saturate(t, []door{doors[0]})
}

// TestShardLimitsThreeProducers is TestShardLimitsTwoShards with three
// producers sharing the stream and its limits (one transport, a client
// each), the figures summed. The producers come through both doors (v1,
// v2, v1), as services on either SDK share a stream.
func TestShardLimitsThreeProducers(t *testing.T) {
	t.Parallel()
	saturate(t, []door{doors[0], doors[1], doors[0]})
}

// TestHotShard throttles every entry of shard 0 of four for limitsHotWindow
// while records flow to all four at limitsShare of their capacity. The other
// shards must keep at least 80% of their rate, a Put for their keys must not
// block longer than limitsMaxBlock, and shard 0's records must be delivered
// after the window or fail with ErrRecordExpired; none may be lost. It
// runs through the v2 door (see TestShardLimitsTwoShards).
func TestHotShard(t *testing.T) {
	t.Parallel()
	d := doors[1]
	runExclusively(t)
	const shards = 4
	srv, tr, stream := limStream(t, shards)
	client := srv.Client(t, tr)
	open := kinesistest.OpenShards(kinesistest.Shards(t, client, stream))
	ids := make([]string, shards)
	for i, sh := range open {
		ids[i] = aws.StringValue(sh.ShardId)
	}
	rng := rand.New(rand.NewSource(9300))
	ledger := newLimLedger()
	r := startLimProducer(t, d, client, stream, ledger)

	lag := startLagMeter()
	start := time.Now()
	beforeStart := start.Add(limitsWarmUp)
	windowStart := beforeStart.Add(limitsHotBefore)
	windowEnd := windowStart.Add(limitsHotWindow)
	until := windowEnd.Add(limitsHotAfter)
	offers := make([]*limOffer, shards)
	var waits []func()
	for i := range offers {
		keys := limKeysFor(open, i, 500, rng)
		offers[i] = &limOffer{
			run: r, goroutines: 2, rate: limitsShare * shardCapacity / recordCost, shard: i, splitAt: windowStart,
			key: func(rng *rand.Rand) string { return keys[rng.Intn(len(keys))] },
		}
		waits = append(waits, offers[i].offer(int64(9310+10*i), until))
	}

	// Snapshots of what each shard accepted, at the phase boundaries.
	snap := func(at time.Time) (faultinject.ShardLimitStats, time.Time) {
		time.Sleep(time.Until(at))
		return tr.Stats(), time.Now()
	}
	s0, t0 := snap(beforeStart)
	s1, t1 := snap(windowStart)
	tr.ThrottleShard(stream, ids[0], limitsHotWindow)
	s2, t2 := snap(windowEnd)
	lost, worst := lag.finish()
	t.Logf("the test lost %.1f%% of the time to the hot window's end to late wake-ups (worst %v)", 100*lost, worst.Round(time.Millisecond))
	// The rate figures of a starved run are logged, not judged (see lagMeter).
	judgeRate := t.Errorf
	if lost > lagStarved {
		judgeRate = func(format string, args ...any) {
			t.Logf("not judged, the machine starved the test: "+format, args...)
		}
	}
	for _, w := range waits {
		w()
	}
	stopTook := r.stop()
	total := time.Since(start)

	view := limRead(t, srv, stream)
	rate := func(a, b faultinject.ShardLimitStats, ta, tb time.Time, i int) float64 {
		return float64(b.Shard(stream, ids[i]).AcceptedBytes-a.Shard(stream, ids[i]).AcceptedBytes) / tb.Sub(ta).Seconds()
	}
	t.Logf("%v", tr)
	for i, o := range offers {
		t.Logf("shard %d (%s): %v (longest Put before the window %v)", i, ids[i], o,
			time.Duration(o.maxBlockBefore.Load()).Round(time.Millisecond))
	}
	t.Logf("producer stats %+v; Stop took %v; all done in %v", r.p.Stats(), stopTook.Round(time.Millisecond), total.Round(time.Millisecond))

	for i := 0; i < shards; i++ {
		before, during := rate(s0, s1, t0, t1, i), rate(s1, s2, t1, t2, i)
		out := ledger.check(view, func(e *limEntry) bool { return e.shard == i })
		block := time.Duration(offers[i].maxBlock.Load())
		t.Logf("FIGURES shard %d: %.0f KiB/s before, %.0f KiB/s during the hot window (%.1f%%); "+
			"longest Put from the window on %v; put %d, delivered %d, failed %d %v, lost %d, duplicates %d",
			i, before/1024, during/1024, 100*during/max(before, 1), block.Round(time.Millisecond),
			out.Put, out.Delivered, out.Failed, out.FailedBy, out.Lost, out.Duplicates)
		if offered := limitsShare * shardCapacity; before < 0.9*offered {
			t.Logf("shard %d took only %.0f%% of the %.0f KiB/s offered before the window: "+
				"the machine may be too slow for this test's figures", i, 100*before/offered, offered/1024)
		}
		if out.Lost != 0 {
			t.Errorf("shard %d: %d records lost, e.g. serials %v", i, out.Lost, out.LostSample)
		}
		if i == 0 {
			for reason, n := range out.FailedBy {
				if reason != "record expired" {
					t.Errorf("shard 0: %d records failed with %q, want only ErrRecordExpired", n, reason)
				}
			}
			continue
		}
		if out.Failed != 0 {
			t.Errorf("shard %d: %d records failed, want none: %v", i, out.Failed, out.FailedBy)
		}
		if during < limitsMinHotRate*before {
			judgeRate("shard %d: %.0f KiB/s during the hot window, less than %.0f%% of %.0f KiB/s before",
				i, during/1024, 100*limitsMinHotRate, before/1024)
		}
		if block > limitsMaxBlock {
			judgeRate("shard %d: a Put blocked %v from the hot window on, want at most %v", i, block, limitsMaxBlock)
		}
	}
	if out := ledger.check(view, nil); out.Unexpected != 0 || out.UnknownFailures != 0 {
		t.Errorf("%d unexpected or corrupt records delivered, %d failures of records never put", out.Unexpected, out.UnknownFailures)
	}
}

// TestOutage fails every PutRecords call for limitsOutage while records
// flow at limitsOutageShare of a two-shard stream's capacity. With the
// default Config no record may fail and none may be lost.
func TestOutage(t *testing.T) { forEachDoor(t, testOutage) }

func testOutage(t *testing.T, d door) {
	t.Parallel()
	const shards = 2
	srv, tr, stream := limStream(t, shards)
	ledger := newLimLedger()
	r := startLimProducer(t, d, srv.Client(t, tr), stream, ledger)
	o := &limOffer{run: r, goroutines: 4, rate: limitsOutageShare * shards * shardCapacity / recordCost, key: limKey, shard: -1}

	start := time.Now()
	outageStart := start.Add(limitsOutageAround)
	until := outageStart.Add(limitsOutage + limitsOutageAround)
	wait := o.offer(9400, until)
	time.Sleep(time.Until(outageStart))
	tr.Outage(limitsOutage)
	wait()
	stopTook := r.stop()
	total := time.Since(start)

	out := ledger.check(limRead(t, srv, stream), nil)
	t.Logf("%v", tr)
	t.Logf("offer: %v; producer stats %+v", o, r.p.Stats())
	t.Logf("FIGURES outage %v: put %d, delivered %d, failed %d %v, lost %d, duplicates %d; Stop took %v; all done in %v",
		limitsOutage, out.Put, out.Delivered, out.Failed, out.FailedBy, out.Lost, out.Duplicates,
		stopTook.Round(time.Millisecond), total.Round(time.Millisecond))
	if out.Failed != 0 {
		t.Errorf("%d records failed during a %v outage, want none: %v", out.Failed, limitsOutage, out.FailedBy)
	}
	if out.Lost != 0 {
		t.Errorf("%d records lost, e.g. serials %v", out.Lost, out.LostSample)
	}
	if out.Unexpected != 0 || out.UnknownFailures != 0 {
		t.Errorf("%d unexpected or corrupt records delivered, %d failures of records never put", out.Unexpected, out.UnknownFailures)
	}
	if s := tr.Stats(); s.OutageCalls == 0 {
		t.Errorf("no PutRecords call met the outage: %v", s)
	}
}

// lagMeter measures how much of the CPU the machine gives the test: a
// goroutine sleeps 10 ms at a time and adds up how late it wakes. On a
// machine shared with the race detector, the compiler and other test
// packages, the producers and the fault transport can be held up for
// hundreds of milliseconds and then run at once, which says nothing of the
// producer's rate control: a starved run's rate figures are logged, not
// judged (records lost or failed still fail the test).
type lagMeter struct {
	stop, done chan struct{}
	start      time.Time
	late       time.Duration // lateness beyond lagSlack, summed
	worst      time.Duration
}

const (
	lagTick  = 10 * time.Millisecond
	lagSlack = 5 * time.Millisecond
	// lagStarved is the share of a run lost to late wake-ups that makes it
	// starved.
	lagStarved = 0.05
)

func startLagMeter() *lagMeter {
	m := &lagMeter{stop: make(chan struct{}), done: make(chan struct{}), start: time.Now()}
	go func() {
		defer close(m.done)
		for {
			select {
			case <-m.stop:
				return
			default:
			}
			before := time.Now()
			time.Sleep(lagTick)
			if d := time.Since(before) - lagTick; d > lagSlack {
				m.late += d - lagSlack
				m.worst = max(m.worst, d)
			}
		}
	}()
	return m
}

// finish stops the meter and returns the share of the time lost and the
// worst lateness.
func (m *lagMeter) finish() (lost float64, worst time.Duration) {
	close(m.stop)
	<-m.done
	return m.late.Seconds() / time.Since(m.start).Seconds(), m.worst
}
