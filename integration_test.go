package producer_test

// Integration tests: the producer against a real Kinesis-compatible server
// (kinesalite, started by internal/kinesistest), read back with GetRecords
// and deaggregated with package deaggregator. This file holds TestMain, the
// shared bookkeeping (what was put, what came back) and the bulk tests; the
// other integration_*_test.go files hold resharding, faults, bad input and
// Stop.

import (
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"math/rand"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/kinesis"

	"github.com/kplgo/producer"
	"github.com/kplgo/producer/deaggregator"
	"github.com/kplgo/producer/internal/kinesistest"
)

// TestMain shares one kinesalite server between the tests of the package and
// stops it at the end.
func TestMain(m *testing.M) { kinesistest.Main(m) }

// maxKinesisRecord is the size limit of one Kinesis record (data plus
// partition key) the read-back checks enforce.
const maxKinesisRecord = producer.DefaultMaxRecordSize

// hashSpace is 2^128, one past the largest hash key.
var hashSpace = new(big.Int).Lsh(big.NewInt(1), 128)

// ---------------------------------------------------------------------------
// Records and the ledger of what was put.

// userRec is the UserRecord the integration tests put with PutUserRecord.
type userRec struct {
	key  string
	ehk  *big.Int
	data []byte
}

// PartitionKey implements producer.UserRecord.
func (r *userRec) PartitionKey() string { return r.key }

// ExplicitHashKey implements producer.UserRecord.
func (r *userRec) ExplicitHashKey() *big.Int { return r.ehk }

// Data implements producer.UserRecord.
func (r *userRec) Data() []byte { return r.data }

// Size implements producer.UserRecord.
func (r *userRec) Size() int { return len(r.data) }

// ident identifies a user record by its partition key and data. Records of 8
// bytes or more start with a unique serial number, so they have their own
// identity; tiny records may share one, and are then counted.
type ident [md5.Size]byte

func identOf(key string, data []byte) ident {
	h := md5.New()
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(key)))
	h.Write(n[:])
	h.Write([]byte(key))
	h.Write(data)
	var id ident
	h.Sum(id[:0])
	return id
}

// entry is what the ledger knows of one identity.
type entry struct {
	key    string
	ehk    *big.Int // explicit hash key, nil for none
	size   int
	put    int // times Put accepted it
	read   int // times it was read back
	inKCL  int // of which copies inside the hash range of their shard
	failed int // times it came out on the failure channel
}

// ledger records every user record a producer accepted and every failure it
// reported, for comparison with what is read back from the stream.
type ledger struct {
	mu      sync.Mutex
	entries map[ident]*entry
	put     int
	failed  int
	// unknownFailures counts failure records that match nothing put.
	unknownFailures int
}

func newLedger() *ledger { return &ledger{entries: make(map[ident]*entry)} }

// add records a user record Put accepted.
func (l *ledger) add(key string, ehk *big.Int, data []byte) {
	id := identOf(key, data)
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entries[id]
	if e == nil {
		e = &entry{key: key, ehk: ehk, size: len(data)}
		l.entries[id] = e
	}
	e.put++
	l.put++
}

// fail records the user records of a failure.
func (l *ledger) fail(recs []producer.UserRecord) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range recs {
		e := l.entries[identOf(r.PartitionKey(), r.Data())]
		if e == nil {
			l.unknownFailures++
			continue
		}
		e.failed++
		l.failed++
	}
}

// count returns the number of user records accepted so far.
func (l *ledger) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.put
}

// serial numbers the records of all tests, so that no two records of 8 bytes
// or more have the same data.
var serial atomic.Uint64

// recordData returns size bytes of random data; from 8 bytes on, the first
// eight are a serial number unique in the test binary.
func recordData(rng *rand.Rand, size int) []byte {
	b := make([]byte, size)
	rng.Read(b)
	if size >= 8 {
		binary.BigEndian.PutUint64(b, serial.Add(1))
	}
	return b
}

// randomHashKey returns a random 128-bit explicit hash key.
func randomHashKey(rng *rand.Rand) *big.Int {
	var b [16]byte
	rng.Read(b[:])
	return new(big.Int).SetBytes(b[:])
}

// keyPool returns n partition keys of every kind a user may send: short
// ASCII, UUID-like, multi-byte UTF-8 (two-, three- and four-byte
// characters), and keys of exactly 256 characters (ASCII and three-byte
// characters).
func keyPool(rng *rand.Rand, n int) []string {
	keys := make([]string, 0, n)
	for i := 0; len(keys) < n; i++ {
		var k string
		switch i % 8 {
		case 0, 1:
			k = fmt.Sprintf("k%d", i)
		case 2:
			var b [16]byte
			rng.Read(b[:])
			k = fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
		case 3:
			k = fmt.Sprintf("ключ-%d-ñandú", i)
		case 4:
			k = fmt.Sprintf("键-%d-パーティション", i)
		case 5:
			k = fmt.Sprintf("🔑%d🚀", i)
		case 6:
			// 256 three-byte characters: 768 bytes, the longest key there is.
			var b strings.Builder
			for j := 0; j < 256; j++ {
				b.WriteRune(rune(0x4E00 + rng.Intn(0x5000)))
			}
			k = b.String()
		case 7:
			k = fmt.Sprintf("%0256d", i)
		}
		if utf8.RuneCountInString(k) > 256 {
			panic("key too long: " + k)
		}
		keys = append(keys, k)
	}
	return keys
}

// ---------------------------------------------------------------------------
// Producer set-up.

// testLogger is a producer.Logger writing to the test log.
type testLogger struct {
	tb     testing.TB
	quiet  bool
	errors atomic.Int64
}

// Info implements producer.Logger.
func (l *testLogger) Info(msg string, values ...producer.LogValue) {
	if !l.quiet {
		l.tb.Logf("producer: %s %v", msg, values)
	}
}

// Error implements producer.Logger.
func (l *testLogger) Error(msg string, err error, values ...producer.LogValue) {
	l.errors.Add(1)
	if !l.quiet {
		l.tb.Logf("producer: ERROR %s %v: %v", msg, values, err)
	}
}

// failureStats sums the failures a producer reported, by reason.
type failureStats struct {
	mu        sync.Mutex
	records   int            // user records reported
	reports   int            // FailureRecords received
	byReason  map[string]int // user records per sentinel error
	firstErrs []error
}

func (f *failureStats) add(fr *producer.FailureRecord) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.byReason == nil {
		f.byReason = make(map[string]int)
	}
	f.reports++
	f.records += len(fr.UserRecords)
	reason := "other"
	for _, s := range []struct {
		name string
		err  error
	}{
		{"attempts exhausted", producer.ErrAttemptsExhausted},
		{"record expired", producer.ErrRecordExpired},
		{"not retryable", producer.ErrNotRetryable},
	} {
		if errors.Is(fr.Err, s.err) {
			reason = s.name
			break
		}
	}
	f.byReason[reason] += len(fr.UserRecords)
	if len(f.firstErrs) < 5 {
		f.firstErrs = append(f.firstErrs, fr.Err)
	}
}

// String summarizes the failures for the test log.
func (f *failureStats) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return fmt.Sprintf("%d user records in %d failure reports, by reason %v, first errors %v",
		f.records, f.reports, f.byReason, f.firstErrs)
}

// harness is a started producer whose failures are read into a ledger.
type harness struct {
	t        testing.TB
	p        testProducer
	ledger   *ledger
	failures *failureStats
	onFail   func(*producer.FailureRecord) // called for each failure, if set
	done     chan struct{}                 // closed when the failure channel is closed
	log      *testLogger
	stopOnce sync.Once
}

// startProducer creates a producer for cfg through door d (with a shard map
// listed through lister, when set) and starts it, reading its failure
// channel (asked for before Start) into a ledger. The producer is stopped
// when the test ends, if the test did not stop it.
func startProducer(t testing.TB, d door, cfg *producer.Config, lister *kinesis.Kinesis) *harness {
	t.Helper()
	h := &harness{t: t, ledger: newLedger(), failures: &failureStats{}, done: make(chan struct{})}
	if cfg.Logger == nil {
		h.log = &testLogger{tb: t}
		cfg.Logger = h.log
	}
	h.p = d.open(cfg, lister)
	ch := h.p.NotifyFailures()
	go func() {
		defer close(h.done)
		for fr := range ch {
			h.failures.add(fr)
			h.ledger.fail(fr.UserRecords)
			if h.onFail != nil {
				h.onFail(fr)
			}
		}
	}()
	if err := h.p.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(h.stop)
	return h
}

// stop stops the producer and waits until its failure channel is closed.
func (h *harness) stop() {
	h.stopOnce.Do(func() {
		h.p.Stop()
		select {
		case <-h.done:
		case <-time.After(30 * time.Second):
			h.t.Errorf("the failure channel is still open 30s after Stop returned")
		}
	})
}

// putters are goroutines that put load until they are stopped.
type putters struct {
	done chan struct{} // closed to tell the goroutines to return
	wg   sync.WaitGroup
	once sync.Once
}

// startPutters runs put(g, done) in n goroutines, g from 0 to n-1; each must
// return soon after done is closed. A cleanup stops them when the test ends;
// registered after startProducer's, it runs before the producer's Stop if the
// test fails early.
func startPutters(t testing.TB, n int, put func(g int, done <-chan struct{})) *putters {
	ps := &putters{done: make(chan struct{})}
	t.Cleanup(ps.stop)
	for g := 0; g < n; g++ {
		ps.wg.Add(1)
		go func(g int) {
			defer ps.wg.Done()
			put(g, ps.done)
		}(g)
	}
	return ps
}

// stop tells the goroutines to return and waits until they have. Later calls
// only wait.
func (ps *putters) stop() {
	ps.once.Do(func() { close(ps.done) })
	ps.wg.Wait()
}

// put puts one record with Put, or with PutUserRecord when viaUser is set or
// ehk is not nil, and records it in the ledger when it was accepted.
func (h *harness) put(key string, ehk *big.Int, data []byte, viaUser bool) error {
	var err error
	if viaUser || ehk != nil {
		err = h.p.PutUserRecord(&userRec{key: key, ehk: ehk, data: data})
	} else {
		err = h.p.Put(data, key)
	}
	if err == nil {
		h.ledger.add(key, ehk, data)
	}
	return err
}

// ---------------------------------------------------------------------------
// Reading back and checking.

// shardRange is a shard's hash key range.
type shardRange struct {
	lo, hi *big.Int
	open   bool
}

func shardRanges(t testing.TB, shards []*kinesis.Shard) map[string]shardRange {
	t.Helper()
	m := make(map[string]shardRange, len(shards))
	for _, sh := range shards {
		lo, ok1 := new(big.Int).SetString(aws.StringValue(sh.HashKeyRange.StartingHashKey), 10)
		hi, ok2 := new(big.Int).SetString(aws.StringValue(sh.HashKeyRange.EndingHashKey), 10)
		if !ok1 || !ok2 {
			t.Fatalf("shard %s has a bad hash key range", aws.StringValue(sh.ShardId))
		}
		open := sh.SequenceNumberRange == nil || sh.SequenceNumberRange.EndingSequenceNumber == nil
		m[aws.StringValue(sh.ShardId)] = shardRange{lo, hi, open}
	}
	return m
}

func (r shardRange) holds(h *big.Int) bool { return h.Cmp(r.lo) >= 0 && h.Cmp(r.hi) <= 0 }

// checkOptions says what a read-back check tolerates.
type checkOptions struct {
	// duplicates allows user records to be read more than once (faults that
	// lose answers make a producer send records again).
	duplicates bool
	// kclTolerant reports sub-records outside their shard's hash range in
	// the outcome instead of failing the test, as long as another copy of
	// each such record lies inside the range of the shard it was read from
	// (a KCL consumer sees that copy). A record with no such copy fails the
	// test all the same.
	kclTolerant bool
}

// outcome is what a read-back found.
type outcome struct {
	Put             int // user records Put accepted
	Failed          int // user records reported as failures
	KinesisRecords  int // Kinesis records read
	KinesisBytes    int // data bytes of the Kinesis records read
	Aggregated      int // of which KPL aggregates
	UserRecordsRead int // user records read (after deaggregation)
	Delivered       int // distinct user records read
	Missing         int // user records neither read nor failed
	Duplicates      int // extra copies read
	FailedDelivered int // user records reported failed that were read all the same
	Unexpected      int // user records read that were never put
	Oversize        int // Kinesis records over the size limit
	KCLViolations   int // sub-records outside the hash range of the shard they were read from
	KCLLost         int // user records read only outside their shard's range: lost to a KCL consumer
	// ViolationsByShard counts KCL violations by shard id, with the shard's
	// range and the aggregates involved.
	ViolationsByShard map[string]int
	ViolatingAggs     int // aggregates with at least one sub-record outside their shard
	PerShard          map[string]int
}

// String summarizes the outcome for the test log.
func (o outcome) String() string {
	return fmt.Sprintf("put %d, failed %d, read %d user records in %d Kinesis records (%d aggregated, %.1f user records each, %d bytes): "+
		"delivered %d, missing %d, duplicates %d, failed but delivered %d, unexpected %d, oversize %d, KCL violations %d in %d aggregates %v (records lost to KCL %d); per shard %v",
		o.Put, o.Failed, o.UserRecordsRead, o.KinesisRecords, o.Aggregated,
		float64(o.UserRecordsRead)/float64(max(o.KinesisRecords, 1)), o.KinesisBytes,
		o.Delivered, o.Missing, o.Duplicates, o.FailedDelivered, o.Unexpected, o.Oversize,
		o.KCLViolations, o.ViolatingAggs, o.ViolationsByShard, o.KCLLost, o.PerShard)
}

// errorLimit caps the number of errors of one kind a check reports.
const errorLimit = 10

// readBack reads every shard of the stream (parents included), deaggregates
// every Kinesis record with checksums checked, and compares the user records
// with the ledger. It fails the test for anything lost, corrupt or
// unexpected, for a Kinesis record over 1 MiB, for duplicates unless
// opts.duplicates, and for a sub-record outside the hash range of the shard
// it was read from (the rule by which KCL 2.x drops sub-records) unless
// opts.kclTolerant. Call it after the producer has stopped.
func readBack(t testing.TB, client *kinesis.Kinesis, stream string, l *ledger, opts checkOptions) outcome {
	t.Helper()
	shards := kinesistest.Shards(t, client, stream)
	ranges := shardRanges(t, shards)
	recs := kinesistest.ReadAll(t, client, stream)

	l.mu.Lock()
	defer l.mu.Unlock()
	o := outcome{Put: l.put, Failed: l.failed, PerShard: map[string]int{}, ViolationsByShard: map[string]int{}}
	reported := map[string]int{}
	report := func(kind, format string, args ...any) {
		t.Helper()
		reported[kind]++
		if reported[kind] <= errorLimit {
			t.Errorf(kind+": "+format, args...)
		}
	}
	for _, r := range recs {
		o.KinesisRecords++
		o.KinesisBytes += len(r.Data)
		if n := len(r.Data) + len(r.PartitionKey); n > maxKinesisRecord {
			o.Oversize++
			report("oversize", "Kinesis record %s on %s has %d bytes of data and partition key, over %d",
				r.SequenceNumber, r.ShardID, n, maxKinesisRecord)
		}
		sr, ok := ranges[r.ShardID]
		if !ok {
			t.Fatalf("record read from unknown shard %s", r.ShardID)
		}
		subs, err := deaggregator.Deaggregate(r.Data, r.PartitionKey, "")
		if err != nil {
			report("corrupt", "Kinesis record %s on %s (%d bytes): %v", r.SequenceNumber, r.ShardID, len(r.Data), err)
			continue
		}
		aggregated := deaggregator.IsAggregated(r.Data)
		if aggregated {
			o.Aggregated++
		}
		violated := false
		for _, s := range subs {
			o.UserRecordsRead++
			o.PerShard[r.ShardID]++
			e := l.entries[identOf(s.PartitionKey, s.Data)]
			if e == nil {
				o.Unexpected++
				report("unexpected", "user record read from %s that was never put (or was corrupted): key %q (%d bytes), %d bytes of data",
					r.ShardID, abbrev(s.PartitionKey), len(s.PartitionKey), len(s.Data))
				continue
			}
			e.read++
			hash := kinesistest.HashKey(s.PartitionKey)
			switch {
			case s.ExplicitHashKey != "":
				ehk, ok := new(big.Int).SetString(s.ExplicitHashKey, 10)
				if !ok || e.ehk == nil || ehk.Cmp(e.ehk) != 0 {
					report("ehk", "user record %q read with explicit hash key %q, put with %v",
						abbrev(s.PartitionKey), s.ExplicitHashKey, e.ehk)
				}
				if ok {
					hash = ehk
				}
			case e.ehk != nil && aggregated:
				report("ehk", "user record %q put with explicit hash key %v read without one", abbrev(s.PartitionKey), e.ehk)
			case e.ehk != nil:
				// A plain record: GetRecords does not return the explicit
				// hash key; Kinesis placed it by the one put.
				hash = e.ehk
			}
			if sr.holds(hash) {
				e.inKCL++
			} else {
				o.KCLViolations++
				o.ViolationsByShard[r.ShardID]++
				violated = true
				if !opts.kclTolerant {
					report("KCL rule", "user record %q (hash %v) read from %s whose range is %v..%v (aggregated: %v)",
						abbrev(s.PartitionKey), hash, r.ShardID, sr.lo, sr.hi, aggregated)
				}
			}
		}
		if violated {
			o.ViolatingAggs++
		}
	}
	for _, e := range l.entries {
		switch {
		case e.read == 0 && e.failed == 0:
			o.Missing += e.put
			report("lost", "user record with key %q and %d bytes of data was put %d times, never read back and never reported as failed",
				abbrev(e.key), e.size, e.put)
		case e.read+e.failed < e.put:
			o.Missing += e.put - e.read - e.failed
			report("lost", "user record with key %q and %d bytes of data was put %d times, read %d times, failed %d times",
				abbrev(e.key), e.size, e.put, e.read, e.failed)
		}
		if e.read > 0 {
			o.Delivered += min(e.read, e.put)
		}
		if e.read > 0 && e.inKCL == 0 {
			o.KCLLost++
			report("lost to KCL", "user record with key %q and %d bytes of data was read %d times, never inside the hash range of its shard",
				abbrev(e.key), e.size, e.read)
		}
		if e.read > e.put {
			o.Duplicates += e.read - e.put
			if !opts.duplicates {
				report("duplicate", "user record with key %q and %d bytes of data was put %d times and read %d times",
					abbrev(e.key), e.size, e.put, e.read)
			}
		}
		if e.failed > 0 && e.read > 0 {
			o.FailedDelivered += min(e.failed, e.read)
		}
	}
	if l.unknownFailures > 0 {
		t.Errorf("%d failure records match no record that was put", l.unknownFailures)
	}
	for kind, n := range reported {
		if n > errorLimit {
			t.Errorf("%s: %d more", kind, n-errorLimit)
		}
	}
	return o
}

// abbrev shortens long keys for messages.
func abbrev(s string) string {
	if utf8.RuneCountInString(s) <= 24 {
		return s
	}
	r := []rune(s)
	return string(r[:12]) + "…" + string(r[len(r)-8:]) + fmt.Sprintf("(%d runes)", len(r))
}

// checkStats compares the producer's totals after Stop with the read-back of
// a run without faults: every user record acknowledged, nothing failed or
// outstanding, and as many Kinesis records and bytes as were read.
func checkStats(t testing.TB, p testProducer, o outcome) {
	t.Helper()
	st := p.Stats()
	if st.UserRecordsPut != int64(o.Put) || st.UserRecordsFailed != 0 || st.Outstanding != 0 {
		t.Errorf("Stats after Stop: %d user records put, %d failed, %d outstanding; want %d, 0, 0",
			st.UserRecordsPut, st.UserRecordsFailed, st.Outstanding, o.Put)
	}
	if st.KinesisRecordsPut != int64(o.KinesisRecords) || st.BytesPut != int64(o.KinesisBytes) {
		t.Errorf("Stats after Stop: %d Kinesis records and %d bytes put, %d records and %d bytes read back",
			st.KinesisRecordsPut, st.BytesPut, o.KinesisRecords, o.KinesisBytes)
	}
	if st.InFlight != 0 {
		t.Errorf("Stats after Stop: %d requests in flight", st.InFlight)
	}
}

// ---------------------------------------------------------------------------
// The bulk workload.

// workload puts a mix of records from several goroutines.
type workload struct {
	goroutines int
	perG       int     // records per goroutine, besides the extras
	ehkShare   float64 // share put with PutUserRecord and a random explicit hash key
	userShare  float64 // share put with PutUserRecord without an explicit hash key
	huge       int     // records of (nearly) 1 MiB, key included, spread over the goroutines
	extraEHKs  []*big.Int
	keys       []string
	seed       int64
	sizes      func(*rand.Rand) int // data sizes; randomSize when nil
}

// randomSize draws a data size: mostly small records, some around and
// above the 50 KiB aggregate size, a few of hundreds of KiB.
func randomSize(rng *rand.Rand) int {
	switch x := rng.Float64(); {
	case x < 0.94:
		return 1 + rng.Intn(400)
	case x < 0.985:
		return 400 + rng.Intn(4<<10)
	case x < 0.999:
		return 4<<10 + rng.Intn(60<<10) // 4..64 KiB, around the aggregate size
	default:
		return 64<<10 + rng.Intn(192<<10)
	}
}

// run puts the workload and returns once every goroutine is done.
func (w *workload) run(t testing.TB, h *harness) {
	t.Helper()
	sizes := w.sizes
	if sizes == nil {
		sizes = randomSize
	}
	var wg sync.WaitGroup
	errs := make(chan error, w.goroutines)
	for g := 0; g < w.goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(w.seed + int64(g)))
			fail := func(err error, key string, n int) {
				errs <- fmt.Errorf("goroutine %d: put %d bytes with key %q: %w", g, n, abbrev(key), err)
			}
			for i := 0; i < w.perG; i++ {
				key := w.keys[rng.Intn(len(w.keys))]
				if rng.Intn(5) == 0 {
					key = w.keys[rng.Intn(min(10, len(w.keys)))] // hot keys
				}
				var ehk *big.Int
				viaUser := false
				size := sizes(rng)
				switch x := rng.Float64(); {
				case x < w.ehkShare:
					ehk = randomHashKey(rng)
					size = max(size, 8)
				case x < w.ehkShare+w.userShare:
					viaUser = true
				}
				if size+len(key) > maxKinesisRecord {
					size = maxKinesisRecord - len(key)
				}
				if err := h.put(key, ehk, recordData(rng, size), viaUser); err != nil {
					fail(err, key, size)
					return
				}
			}
			for i := g; i < w.huge; i += w.goroutines {
				key := w.keys[rng.Intn(len(w.keys))]
				size := maxKinesisRecord - len(key) - i%2*rng.Intn(64)
				if err := h.put(key, nil, recordData(rng, size), i%2 == 1); err != nil {
					fail(err, key, size)
					return
				}
			}
			for i := g; i < len(w.extraEHKs); i += w.goroutines {
				key := w.keys[rng.Intn(len(w.keys))]
				if err := h.put(key, w.extraEHKs[i], recordData(rng, 8+rng.Intn(100)), true); err != nil {
					fail(err, key, 0)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// boundaryHashKeys returns explicit hash keys at and around every shard
// boundary, plus 0 and 2^128-1.
func boundaryHashKeys(shards []*kinesis.Shard) []*big.Int {
	one := big.NewInt(1)
	keys := []*big.Int{big.NewInt(0), new(big.Int).Sub(hashSpace, one)}
	for _, sh := range shards {
		lo, _ := new(big.Int).SetString(aws.StringValue(sh.HashKeyRange.StartingHashKey), 10)
		hi, _ := new(big.Int).SetString(aws.StringValue(sh.HashKeyRange.EndingHashKey), 10)
		keys = append(keys, lo, hi, new(big.Int).Add(lo, one), new(big.Int).Sub(hi, one))
	}
	var out []*big.Int
	for _, k := range keys {
		if k.Sign() >= 0 && k.Cmp(hashSpace) < 0 {
			out = append(out, k)
		}
	}
	return out
}

// bulkConfig is the producer configuration of the bulk tests: short flush
// interval and backoff so that the tests are quick.
func bulkConfig(client *kinesis.Kinesis, stream string) *producer.Config {
	return &producer.Config{
		StreamName:      stream,
		Client:          client,
		FlushInterval:   30 * time.Millisecond,
		RetryBackoffMin: 5 * time.Millisecond,
		RetryBackoffMax: 100 * time.Millisecond,
	}
}

// TestIntegrationShardMap puts 16,000 records, through each door, of every size and kind of key
// from 8 goroutines into streams of 4 and 8 shards, with the shard map from
// ListShards, and reads them back: nothing lost or duplicated, data and keys
// intact, every sub-record (and every explicit hash key) on the shard whose
// range holds its hash (the KCL 2.x rule), no Kinesis record over 1 MiB, and
// the producer's totals agree with what was read.
func TestIntegrationShardMap(t *testing.T) { forEachDoor(t, testIntegrationShardMap) }

func testIntegrationShardMap(t *testing.T, d door) {
	for _, shardCount := range []int{4, 8} {
		t.Run(fmt.Sprintf("shards=%d", shardCount), func(t *testing.T) {
			t.Parallel()
			srv := kinesistest.Shared(t)
			client := srv.Client(t, nil)
			stream := srv.CreateStream(t, shardCount)
			shards := kinesistest.Shards(t, client, stream)

			cfg := bulkConfig(client, stream)
			h := startProducer(t, d, cfg, client)
			seed := int64(100 + shardCount)
			w := &workload{
				goroutines: 8, perG: 2000, ehkShare: 0.05, userShare: 0.05, huge: 3,
				extraEHKs: boundaryHashKeys(shards),
				keys:      keyPool(rand.New(rand.NewSource(seed)), 2000),
				seed:      seed,
			}
			start := time.Now()
			w.run(t, h)
			h.stop()
			elapsed := time.Since(start)

			o := readBack(t, client, stream, h.ledger, checkOptions{})
			t.Logf("%v in %v: %s", o, elapsed.Round(time.Millisecond), h.failures)
			if o.Failed != 0 {
				t.Errorf("%d user records failed: %s", o.Failed, h.failures)
			}
			checkStats(t, h.p, o)
			if st := h.p.Stats(); st.WrongShard != 0 {
				t.Errorf("Stats: %d Kinesis records landed on another shard than predicted", st.WrongShard)
			}
			if len(o.PerShard) != shardCount {
				t.Errorf("records landed on %d shards, want %d", len(o.PerShard), shardCount)
			}
			if o.Aggregated == 0 || o.UserRecordsRead < 5*o.KinesisRecords {
				t.Errorf("little aggregation: %d user records in %d Kinesis records", o.UserRecordsRead, o.KinesisRecords)
			}
		})
	}
}

// TestIntegrationSingleShard puts the same mix without a shard map into a
// one-shard stream, where aggregating records of any key together is right,
// and reads everything back intact.
func TestIntegrationSingleShard(t *testing.T) { forEachDoor(t, testIntegrationSingleShard) }

func testIntegrationSingleShard(t *testing.T, d door) {
	t.Parallel()
	srv := kinesistest.Shared(t)
	client := srv.Client(t, nil)
	stream := srv.CreateStream(t, 1)

	h := startProducer(t, d, bulkConfig(client, stream), nil)
	w := &workload{
		goroutines: 8, perG: 2000, ehkShare: 0.05, userShare: 0.05, huge: 3,
		extraEHKs: boundaryHashKeys(kinesistest.Shards(t, client, stream)),
		keys:      keyPool(rand.New(rand.NewSource(7)), 2000),
		seed:      7,
	}
	start := time.Now()
	w.run(t, h)
	h.stop()
	elapsed := time.Since(start)

	o := readBack(t, client, stream, h.ledger, checkOptions{})
	t.Logf("%v in %v", o, elapsed.Round(time.Millisecond))
	if o.Failed != 0 {
		t.Errorf("%d user records failed: %s", o.Failed, h.failures)
	}
	checkStats(t, h.p, o)
	if o.Aggregated == 0 || o.UserRecordsRead < 5*o.KinesisRecords {
		t.Errorf("little aggregation: %d user records in %d Kinesis records", o.UserRecordsRead, o.KinesisRecords)
	}
}
