package producer_test

import (
	"errors"
	"math/rand"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws/awserr"
	"github.com/aws/aws-sdk-go/service/kinesis"

	"github.com/kplgo/producer"
	"github.com/kplgo/producer/internal/faultinject"
	"github.com/kplgo/producer/internal/kinesistest"
)

// faultWorkload is the workload of the fault tests: 8 goroutines, mostly
// small records, a few too big to share an aggregate, some with explicit hash
// keys. Retries send records many times over; the volume stays small so that
// requests take well under the timeouts, even under the race detector.
func faultWorkload(seed int64, perG int) *workload {
	return &workload{
		goroutines: 8, perG: perG, ehkShare: 0.05, userShare: 0.05,
		keys:  keyPool(rand.New(rand.NewSource(seed)), 500),
		seed:  seed,
		sizes: faultSize,
	}
}

// faultSize draws the data sizes of the fault tests.
func faultSize(rng *rand.Rand) int {
	switch x := rng.Float64(); {
	case x < 0.95:
		return 1 + rng.Intn(300)
	case x < 0.998:
		return 300 + rng.Intn(4<<10)
	default:
		return 50<<10 + rng.Intn(10<<10) // over the aggregate size: sent alone
	}
}

// TestIntegrationFaults puts 12,000 records through a transport that
// injects every kind of fault: HTTP 500, throttling, connection errors,
// answers lost after the server stored the records, answers held past a
// timeout and per-entry failures of both codes: once with the client's HTTP
// timeout and a shard map on four shards, once with the producer's
// RequestTimeout and no shard map on one shard. With
// enough attempts every record is delivered or reported as a failure, and
// nothing else: the distinct records read back plus the failures account for
// every record put. Lost answers make the producer send records again, so
// duplicates are allowed; the test logs how many there were.
func TestIntegrationFaults(t *testing.T) { forEachDoor(t, testIntegrationFaults) }

func testIntegrationFaults(t *testing.T, d door) {
	t.Parallel()
	cases := []struct {
		name           string
		httpTimeout    time.Duration // the client's; 0 for the default
		requestTimeout time.Duration // the producer's; 0 for the default
		shards         int           // with a shard map when more than 1
	}{
		{name: "http-timeout", httpTimeout: 500 * time.Millisecond, shards: 4},
		{name: "request-timeout", requestTimeout: 500 * time.Millisecond, shards: 1},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := kinesistest.Shared(t)
			tr := faultinject.New(nil, faultinject.Config{
				Seed:                 int64(41 + i),
				InternalError:        0.08,
				Throttle:             0.08,
				ConnectionError:      0.08,
				LostResponse:         0.08,
				Slow:                 0.05,
				SlowDelay:            time.Second,
				EntryFailure:         0.15,
				EntryInternalFailure: 0.5,
			})
			t.Cleanup(tr.CloseIdleConnections)
			opts := []kinesistest.ClientOption{}
			if tc.httpTimeout > 0 {
				opts = append(opts, kinesistest.WithHTTPTimeout(tc.httpTimeout))
			}
			client := srv.Client(t, tr, opts...)
			plain := srv.Client(t, nil)
			stream := srv.CreateStream(t, tc.shards)

			cfg := bulkConfig(client, stream)
			// Few small requests at a time take well under the timeouts,
			// even under the race detector on a small machine: only the
			// slow faults run into them. Small aggregates and batches make
			// many calls, so that every kind of fault happens.
			cfg.BatchSize = 1 << 20
			cfg.BatchCount = 5
			cfg.AggregateBatchSize = 8 << 10
			cfg.MaxConnections = 8
			cfg.MaxAttempts = 40
			cfg.RecordTTL = -1
			cfg.RequestTimeout = tc.requestTimeout
			var lister *kinesis.Kinesis // a shard map only with several shards
			if tc.shards > 1 {
				lister = plain
			}
			h := startProducer(t, d, cfg, lister)
			start := time.Now()
			faultWorkload(int64(410+i), 1500).run(t, h)
			h.stop()
			elapsed := time.Since(start)

			o := readBack(t, plain, stream, h.ledger, checkOptions{duplicates: true})
			fs := tr.Stats()
			st := h.p.Stats()
			t.Logf("%d duplicates of %d records put (%.2f%%), %d failed, in %v",
				o.Duplicates, o.Put, 100*float64(o.Duplicates)/float64(o.Put), o.Failed, elapsed.Round(time.Millisecond))
			t.Logf("read back: %v", o)
			t.Logf("%v", fs)
			t.Logf("producer: %+v; failures: %s", st, h.failures)

			if o.Delivered+o.Failed-o.FailedDelivered != o.Put {
				t.Errorf("%d distinct records delivered + %d failed (%d of them delivered all the same) != %d put",
					o.Delivered, o.Failed, o.FailedDelivered, o.Put)
			}
			if o.Failed != 0 {
				t.Errorf("%d records failed with 40 attempts: %s", o.Failed, h.failures)
			}
			if st.UserRecordsPut+st.UserRecordsFailed != int64(o.Put) || st.Outstanding != 0 {
				t.Errorf("Stats: %d acknowledged + %d failed, %d outstanding; want %d put, 0 outstanding",
					st.UserRecordsPut, st.UserRecordsFailed, st.Outstanding, o.Put)
			}
			if st.Retries == 0 {
				t.Errorf("Stats: no retries under faults")
			}
			// Every kind of fault happened, or the test proves less than it says.
			for name, n := range map[string]int64{
				"internal errors": fs.InternalErrors, "throttles": fs.Throttles,
				"connection errors": fs.ConnectionErrors, "lost responses": fs.LostResponses,
				"slow calls cancelled": fs.SlowCancelled, "partial failures": fs.PartialFailures,
			} {
				if n == 0 {
					t.Errorf("no %s were injected", name)
				}
			}
		})
	}
}

// TestIntegrationAttemptsExhausted fails every PutRecords call with an
// internal error: with MaxAttempts 3 every record comes out on the failure
// channel with ErrAttemptsExhausted (wrapping the server's error),
// PutUserRecord values come back as the very values put, and nothing
// reaches the stream. (Throttling does not use attempts up.)
func TestIntegrationAttemptsExhausted(t *testing.T) { forEachDoor(t, testIntegrationAttemptsExhausted) }

func testIntegrationAttemptsExhausted(t *testing.T, d door) {
	t.Parallel()
	srv := kinesistest.Shared(t)
	tr := faultinject.New(nil, faultinject.Config{Seed: 5, InternalError: 1})
	t.Cleanup(tr.CloseIdleConnections)
	client := srv.Client(t, tr)
	plain := srv.Client(t, nil)
	stream := srv.CreateStream(t, 2)

	cfg := bulkConfig(client, stream)
	cfg.MaxAttempts = 3
	h := startProducer(t, d, cfg, plain)
	h.log.quiet = true

	var mu sync.Mutex
	wrongErr := 0
	var firstWrong error
	given := map[producer.UserRecord]bool{}
	returned := 0
	h.onFail = func(fr *producer.FailureRecord) {
		mu.Lock()
		defer mu.Unlock()
		if !errors.Is(fr.Err, producer.ErrAttemptsExhausted) || !strings.Contains(fr.Err.Error(), faultinject.CodeInternalFailure) {
			wrongErr += len(fr.UserRecords)
			if firstWrong == nil {
				firstWrong = fr.Err
			}
		}
		for _, r := range fr.UserRecords {
			if given[r] {
				returned++
			}
		}
	}
	rng := rand.New(rand.NewSource(6))
	keys := keyPool(rng, 200)
	for i := 0; i < 2000; i++ {
		key, data := keys[rng.Intn(len(keys))], recordData(rng, 1+rng.Intn(500))
		var err error
		if i%4 == 0 {
			r := &userRec{key: key, data: data}
			if i%8 == 0 {
				r.ehk = randomHashKey(rng)
			}
			mu.Lock()
			given[r] = true
			mu.Unlock()
			if err = h.p.PutUserRecord(r); err == nil {
				h.ledger.add(r.key, r.ehk, r.data)
			}
		} else {
			err = h.put(key, nil, data, false)
		}
		if err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
	}
	h.stop()

	o := readBack(t, plain, stream, h.ledger, checkOptions{})
	t.Logf("%v; %v; failures: %s", o, tr.Stats(), h.failures)
	if o.Failed != o.Put || o.UserRecordsRead != 0 {
		t.Errorf("%d of %d records failed and %d were read back; want all failed, none read", o.Failed, o.Put, o.UserRecordsRead)
	}
	mu.Lock()
	defer mu.Unlock()
	if wrongErr > 0 {
		t.Errorf("%d records failed with %v, want ErrAttemptsExhausted wrapping the internal error", wrongErr, firstWrong)
	}
	if returned != len(given) {
		t.Errorf("%d of the %d PutUserRecord values came back as themselves", returned, len(given))
	}
	if st := h.p.Stats(); st.UserRecordsFailed != int64(o.Put) || st.UserRecordsPut != 0 || st.Outstanding != 0 {
		t.Errorf("Stats: %d failed, %d put, %d outstanding; want %d, 0, 0", st.UserRecordsFailed, st.UserRecordsPut, st.Outstanding, o.Put)
	}
}

// isThrottle reports whether err wraps the AWS error of a throttled call.
func isThrottle(err error) bool {
	var ae awserr.Error
	return errors.As(err, &ae) && ae.Code() == faultinject.CodeProvisionedThroughput
}

// TestIntegrationRecordTTL fails every PutRecords call with HTTP 500: with
// unlimited attempts and a RecordTTL of 300ms every record fails with
// ErrRecordExpired, not much later than its time-to-live, and nothing
// reaches the stream.
func TestIntegrationRecordTTL(t *testing.T) { forEachDoor(t, testIntegrationRecordTTL) }

func testIntegrationRecordTTL(t *testing.T, d door) {
	t.Parallel()
	srv := kinesistest.Shared(t)
	tr := faultinject.New(nil, faultinject.Config{Seed: 7, InternalError: 1})
	t.Cleanup(tr.CloseIdleConnections)
	client := srv.Client(t, tr)
	plain := srv.Client(t, nil)
	stream := srv.CreateStream(t, 2)

	const ttl = 300 * time.Millisecond
	cfg := bulkConfig(client, stream)
	cfg.MaxAttempts = -1
	cfg.RecordTTL = ttl
	cfg.RetryBackoffMax = 50 * time.Millisecond
	h := startProducer(t, d, cfg, nil)
	h.log.quiet = true
	var mu sync.Mutex
	wrong := 0
	var firstWrong error
	h.onFail = func(fr *producer.FailureRecord) {
		if !errors.Is(fr.Err, producer.ErrRecordExpired) {
			mu.Lock()
			wrong += len(fr.UserRecords)
			firstWrong = fr.Err
			mu.Unlock()
		}
	}
	start := time.Now()
	w := faultWorkload(71, 250)
	w.run(t, h)
	h.stop()
	elapsed := time.Since(start)

	o := readBack(t, plain, stream, h.ledger, checkOptions{})
	t.Logf("%v in %v; %v; failures: %s", o, elapsed.Round(time.Millisecond), tr.Stats(), h.failures)
	if o.Failed != o.Put || o.UserRecordsRead != 0 {
		t.Errorf("%d of %d records failed and %d were read back; want all failed, none read", o.Failed, o.Put, o.UserRecordsRead)
	}
	if wrong > 0 {
		t.Errorf("%d records failed with %v, want ErrRecordExpired", wrong, firstWrong)
	}
	if elapsed > 10*time.Second {
		t.Errorf("Stop returned %v after the first Put, long after the %v time-to-live", elapsed, ttl)
	}
}
