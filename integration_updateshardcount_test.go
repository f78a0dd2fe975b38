package producer_test

import (
	"fmt"
	"math/rand"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kplgo/producer"
	"github.com/kplgo/producer/deaggregator"
	"github.com/kplgo/producer/internal/kinesistest"
)

// TestIntegrationUpdateShardCount puts records at a steady rate while the
// stream is resharded with UpdateShardCount 4 -> 6 -> 3 (kinesis-local;
// kinesalite has no UpdateShardCount), with a producer in its default
// configuration plus GetKinesisShardsFunc. It then reads every shard back,
// closed parents included, as a KCL 2.x consumer would: an aggregate with any
// sub-record outside the hash range of the shard it was stored on is dropped
// whole. No record may be lost to such a consumer or fail, Stop must be
// prompt, and duplicates (aggregates sent again after landing on the wrong
// shard) must stay few.
//
// The default ShardRefreshInterval (1 min) is kept on purpose: the whole run
// is shorter than one interval, so the producer sees each new shard map only
// through its reaction to wrong-shard answers, which should list the shards
// again within about a second.
func TestIntegrationUpdateShardCount(t *testing.T) { forEachDoor(t, testIntegrationUpdateShardCount) }

func testIntegrationUpdateShardCount(t *testing.T, d door) {
	t.Parallel()
	const (
		initialShards = 4
		goroutines    = 4
		tick          = 10 * time.Millisecond
		perTick       = 4   // records per goroutine per tick: 1,600 records/s in all
		minSize       = 150 // data bytes; about 200 on average, ~330 KB/s with keys
		maxSize       = 250
		warmUp        = 2 * time.Second
		settle        = 4 * time.Second // after each UpdateShardCount
		stopLimit     = 5 * time.Second
		stopGiveUp    = 40 * time.Second
		dupShareLimit = 0.05
	)
	srv := kinesistest.SharedKinesisLocal(t)
	client := srv.Client(t, nil)
	stream := srv.CreateStream(t, initialShards)

	cfg := &producer.Config{
		StreamName: stream,
		Client:     client,
		Logger:     &testLogger{tb: t, quiet: true},
	}
	h := startProducer(t, d, cfg, client)

	var putErrs atomic.Int64
	load := startPutters(t, goroutines, func(g int, done <-chan struct{}) {
		rng := rand.New(rand.NewSource(int64(4630 + g)))
		ticker := time.NewTicker(tick)
		defer ticker.Stop()
		for {
			select {
			case <-done:
				return
			case <-ticker.C:
			}
			for i := 0; i < perTick; i++ {
				key := fmt.Sprintf("%016x", rng.Uint64())
				data := recordData(rng, minSize+rng.Intn(maxSize-minSize+1))
				if err := h.put(key, nil, data, false); err != nil {
					if putErrs.Add(1) <= errorLimit {
						t.Errorf("goroutine %d: Put: %v", g, err)
					}
					return
				}
			}
		}
	})

	// reshard changes the shard count while records flow, then lets them
	// flow for settle, watching for the producer's next shard map. It
	// returns how long after the stream was ACTIVE again the producer had a
	// new map (0 if it had one by then), or -1 if it had none by the end.
	reshard := func(target int) time.Duration {
		begin := time.Now()
		before := h.p.Stats()
		shards := kinesistest.UpdateShardCount(t, client, stream, target)
		active := time.Now()
		t.Logf("UpdateShardCount -> %d after %d records took %v; open shards %v (producer so far: %d map updates, %d wrong-shard)",
			target, h.ledger.count(), active.Sub(begin).Round(time.Millisecond), openShardIDs(shards),
			before.ShardMapUpdates, before.WrongShard)
		took := time.Duration(-1)
		for end := active.Add(settle); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
			if took < 0 && h.p.Stats().ShardMapUpdates > before.ShardMapUpdates {
				took = time.Since(active)
			}
		}
		return took
	}
	time.Sleep(warmUp)
	mapAfter6 := reshard(6)
	mapAfter3 := reshard(3)
	load.stop()

	stopped := make(chan time.Duration, 1)
	go func() {
		begin := time.Now()
		h.p.Stop()
		stopped <- time.Since(begin)
	}()
	var stopTook time.Duration
	select {
	case stopTook = <-stopped:
	case <-time.After(stopGiveUp):
		st := h.p.Stats()
		t.Fatalf("Stop has not returned after %v; stats %+v", stopGiveUp, st)
	}
	h.stop() // waits for the failure channel to close

	shards := kinesistest.Shards(t, client, stream)
	recs := kinesistest.ReadAll(t, client, stream)
	kcl, err := kinesistest.KCL2View(recs, shards)
	if err != nil {
		t.Fatalf("%v", err)
	}
	st := h.p.Stats()

	// Compare what a KCL 2.x consumer receives with what was put.
	h.ledger.mu.Lock()
	put, failed := h.ledger.put, h.ledger.failed
	delivered := make(map[ident]int, len(kcl.Records))
	unexpected := 0
	for _, r := range kcl.Records {
		id := identOf(r.PartitionKey, r.Data)
		if h.ledger.entries[id] == nil {
			unexpected++
			continue
		}
		delivered[id]++
	}
	lost, duplicates, rawOnly := 0, 0, 0
	var lostExamples []string
	for id, e := range h.ledger.entries {
		n := delivered[id]
		if n == 0 && e.failed == 0 {
			lost += e.put
			if len(lostExamples) < errorLimit {
				lostExamples = append(lostExamples, fmt.Sprintf("key %s (%d bytes)", e.key, e.size))
			}
		}
		if n > e.put {
			duplicates += n - e.put
		}
	}
	// Records a plain GetRecords reader would see that KCL drops entirely.
	rawSeen := map[ident]bool{}
	for _, r := range recs {
		subs, err := deaggregator.Deaggregate(r.Data, r.PartitionKey, "")
		if err != nil {
			continue
		}
		for _, s := range subs {
			rawSeen[identOf(s.PartitionKey, s.Data)] = true
		}
	}
	for id := range rawSeen {
		if e := h.ledger.entries[id]; e != nil && delivered[id] == 0 && e.failed == 0 {
			rawOnly += e.put
		}
	}
	h.ledger.mu.Unlock()

	t.Logf("UpdateShardCount 4 -> 6 -> 3 under load: put %d user records, failed %d, lost for a KCL 2.x consumer %d "+
		"(of which %d stored only inside dropped aggregates), duplicates %d (%.2f%%), unexpected %d; "+
		"Kinesis records read %d (%d aggregates), aggregates dropped by the KCL rule %d (%d sub-records); "+
		"Stop took %v; Stats: ShardMapUpdates %d, WrongShard %d, Retries %d, Requests %d, UserRecordsPut %d, UserRecordsFailed %d",
		put, failed, lost, rawOnly, duplicates, 100*float64(duplicates)/float64(max(put, 1)), unexpected,
		kcl.KinesisRecords, kcl.Aggregates, kcl.DroppedAggregates, kcl.DroppedUserRecords,
		stopTook.Round(time.Millisecond), st.ShardMapUpdates, st.WrongShard, st.Retries, st.Requests,
		st.UserRecordsPut, st.UserRecordsFailed)
	for _, step := range []struct {
		what string
		took time.Duration
	}{{"4 -> 6", mapAfter6}, {"6 -> 3", mapAfter3}} {
		if step.took < 0 {
			t.Errorf("after UpdateShardCount %s the producer installed no new shard map within %v", step.what, settle)
		} else {
			t.Logf("after UpdateShardCount %s the producer had a new shard map %v after the stream was ACTIVE",
				step.what, step.took.Round(time.Millisecond))
		}
	}
	// A producer never writes an aggregate KCL cannot read whole.
	if kcl.Malformed != 0 || kcl.BadHashKeys != 0 {
		t.Errorf("%d records with the aggregation prefix are not valid aggregates, %d aggregates have an explicit hash key "+
			"that is not a number", kcl.Malformed, kcl.BadHashKeys)
	}
	if failed != 0 {
		t.Errorf("%d user records failed: %s", failed, h.failures)
	}
	if lost != 0 {
		t.Errorf("%d user records are lost to a KCL 2.x consumer (never delivered, never reported failed), e.g. %v; shards:%s",
			lost, lostExamples, describeShards(shards))
	}
	if unexpected != 0 {
		t.Errorf("%d user records delivered that were never put", unexpected)
	}
	if stopTook > stopLimit {
		t.Errorf("Stop took %v, want at most %v", stopTook, stopLimit)
	}
	if limit := int(dupShareLimit * float64(put)); duplicates > limit {
		t.Errorf("%d duplicates delivered, want at most %d (%.0f%% of %d records)", duplicates, limit, 100*dupShareLimit, put)
	}
	if put < 5000 {
		t.Errorf("only %d records were put; the load did not flow", put)
	}
}
