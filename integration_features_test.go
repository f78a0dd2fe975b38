package producer_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/kplgo/producer"
	"github.com/kplgo/producer/deaggregator"
	"github.com/kplgo/producer/internal/faultinject"
	"github.com/kplgo/producer/internal/kinesistest"
)

// TestIntegrationSuccessResults checks every SuccessRecord against the
// stream: the shard id and sequence number it reports name a Kinesis record
// that holds exactly its user records, in order.
func TestIntegrationSuccessResults(t *testing.T) { forEachDoor(t, testIntegrationSuccessResults) }

func testIntegrationSuccessResults(t *testing.T, d door) {
	t.Parallel()
	srv := kinesistest.Shared(t)
	client := srv.Client(t, nil)
	stream := srv.CreateStream(t, 4)
	cfg := bulkConfig(client, stream)
	p := d.open(cfg, client)
	results := p.NotifySuccesses()
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	got := make(chan []*producer.SuccessRecord)
	go func() {
		var all []*producer.SuccessRecord
		for r := range results {
			all = append(all, r)
		}
		got <- all
	}()
	rng := rand.New(rand.NewSource(61))
	keys := keyPool(rng, 200)
	const n = 4000
	for i := 0; i < n; i++ {
		data := []byte(fmt.Sprintf("success-%05d-%s", i, recordData(rng, rng.Intn(400))))
		if err := p.Put(data, keys[rng.Intn(len(keys))]); err != nil {
			t.Fatal(err)
		}
	}
	p.Stop()
	successes := <-got

	type at struct{ shard, seq string }
	stored := map[at][]deaggregator.Record{}
	for _, r := range kinesistest.ReadAll(t, client, stream) {
		subs, err := deaggregator.Deaggregate(r.Data, r.PartitionKey, "")
		if err != nil {
			t.Fatal(err)
		}
		stored[at{r.ShardID, r.SequenceNumber}] = subs
	}
	users := 0
	for _, s := range successes {
		subs, ok := stored[at{s.ShardID, s.SequenceNumber}]
		if !ok {
			t.Fatalf("success on %s at %s names no stored Kinesis record", s.ShardID, s.SequenceNumber)
		}
		if len(subs) != len(s.UserRecords) {
			t.Fatalf("success at %s reports %d user records, the stream holds %d", s.SequenceNumber, len(s.UserRecords), len(subs))
		}
		for i, u := range s.UserRecords {
			if string(u.Data()) != string(subs[i].Data) || u.PartitionKey() != subs[i].PartitionKey {
				t.Fatalf("success at %s, sub-record %d differs from the stream", s.SequenceNumber, i)
			}
		}
		if s.Attempts != 1 {
			t.Errorf("success at %s took %d attempts without faults", s.SequenceNumber, s.Attempts)
		}
		users += len(s.UserRecords)
	}
	if users != n || len(successes) != len(stored) {
		t.Fatalf("results cover %d user records in %d Kinesis records; put %d, stream holds %d Kinesis records",
			users, len(successes), n, len(stored))
	}
}

// TestIntegrationFlushSync reads the stream right after FlushSync, without
// Stop: everything put before it is there.
func TestIntegrationFlushSync(t *testing.T) { forEachDoor(t, testIntegrationFlushSync) }

func testIntegrationFlushSync(t *testing.T, d door) {
	t.Parallel()
	srv := kinesistest.Shared(t)
	client := srv.Client(t, nil)
	stream := srv.CreateStream(t, 2)
	cfg := bulkConfig(client, stream)
	cfg.FlushInterval, cfg.RecordMaxBufferedTime = time.Hour, -1 // only FlushSync sends
	h := startProducer(t, d, cfg, client)
	rng := rand.New(rand.NewSource(67))
	for round, total := 0, 0; round < 3; round++ {
		for i := 0; i < 500; i++ {
			if err := h.put(fmt.Sprint("key-", rng.Intn(50)), nil, recordData(rng, 1+rng.Intn(200)), false); err != nil {
				t.Fatal(err)
			}
		}
		total += 500
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := h.p.FlushSync(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		read := 0
		for _, r := range kinesistest.ReadAll(t, client, stream) {
			subs, err := deaggregator.Deaggregate(r.Data, r.PartitionKey, "")
			if err != nil {
				t.Fatal(err)
			}
			read += len(subs)
		}
		if read != total {
			t.Fatalf("after FlushSync %d: %d user records in the stream, put %d", round, read, total)
		}
	}
	h.stop()
	readBack(t, client, stream, h.ledger, checkOptions{})
}

// TestIntegrationRateLimit holds a one-shard stream to 20% of its record
// limit (200 Kinesis records a second) and checks the pace and the delivery.
func TestIntegrationRateLimit(t *testing.T) { forEachDoor(t, testIntegrationRateLimit) }

func testIntegrationRateLimit(t *testing.T, d door) {
	t.Parallel()
	srv := kinesistest.Shared(t)
	client := srv.Client(t, nil)
	stream := srv.CreateStream(t, 1)
	cfg := bulkConfig(client, stream)
	cfg.RateLimit = 20
	cfg.AggregateBatchCount = 1 // one Kinesis record per user record
	h := startProducer(t, d, cfg, client)
	rng := rand.New(rand.NewSource(71))
	start := time.Now()
	const n = 400
	for i := 0; i < n; i++ {
		if err := h.put(fmt.Sprint("k", i), nil, recordData(rng, 50), false); err != nil {
			t.Fatal(err)
		}
	}
	h.stop()
	// A full bucket of 200 goes at once; the other 200 need a second.
	if d := time.Since(start); d < 800*time.Millisecond {
		t.Fatalf("%d records at 200 a second took only %v", n, d)
	}
	o := readBack(t, client, stream, h.ledger, checkOptions{})
	if o.Delivered != n {
		t.Fatalf("delivered %d of %d", o.Delivered, n)
	}
}

// TestIntegrationShutdownDeadline stops a producer whose calls hang: Shutdown
// returns at its deadline, says how many records it could not deliver, and
// every one of them comes out on the failure channel.
func TestIntegrationShutdownDeadline(t *testing.T) { forEachDoor(t, testIntegrationShutdownDeadline) }

func testIntegrationShutdownDeadline(t *testing.T, d door) {
	t.Parallel()
	srv := kinesistest.Shared(t)
	fi := faultinject.New(nil, faultinject.Config{Seed: 73, Slow: 1, SlowDelay: time.Minute})
	client := srv.Client(t, fi)
	stream := srv.CreateStream(t, 1)
	cfg := bulkConfig(client, stream)
	cfg.RequestTimeout = time.Minute
	h := startProducer(t, d, cfg, nil)
	rng := rand.New(rand.NewSource(79))
	const n = 300
	for i := 0; i < n; i++ {
		if err := h.put(fmt.Sprint("k", i%7), nil, recordData(rng, 100), false); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := h.p.Shutdown(ctx)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Shutdown took %v with a 300ms deadline", d)
	}
	if !errors.Is(err, producer.ErrStopDeadline) {
		t.Fatalf("Shutdown = %v, want ErrStopDeadline", err)
	}
	h.stop() // waits for the failure channel to close
	if h.ledger.failed != n {
		t.Fatalf("%d records failed, want all %d (%v)", h.ledger.failed, n, err)
	}
}
