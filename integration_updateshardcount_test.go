package producer_test

import (
	"crypto/md5"
	"fmt"
	"math/big"
	"math/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/kinesis"
	"google.golang.org/protobuf/proto"

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
func TestIntegrationUpdateShardCount(t *testing.T) {
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
		GetShards:  producer.GetKinesisShardsFunc(client, stream),
		Logger:     &testLogger{tb: t, quiet: true},
	}
	h := startProducer(t, cfg)

	stopPut := make(chan struct{})
	var wg sync.WaitGroup
	var stopOnce sync.Once
	stopPutting := func() {
		stopOnce.Do(func() { close(stopPut) })
		wg.Wait()
	}
	t.Cleanup(stopPutting) // runs before the producer's Stop if the test fails early
	var putErrs atomic.Int64
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(4630 + g)))
			ticker := time.NewTicker(tick)
			defer ticker.Stop()
			for {
				select {
				case <-stopPut:
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
		}(g)
	}

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
	stopPutting()

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
	kcl := kclDeliverLocal(t, shards, recs)
	st := h.p.Stats()

	// Compare what a KCL 2.x consumer receives with what was put.
	h.ledger.mu.Lock()
	put, failed := h.ledger.put, h.ledger.failed
	delivered := make(map[ident]int, len(kcl.records))
	unexpected := 0
	for _, r := range kcl.records {
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
		len(recs), kcl.aggregates, kcl.droppedAggregates, kcl.droppedRecords,
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

// kclOutcome is what a KCL 2.x consumer makes of the records of a stream.
type kclOutcome struct {
	records           []deaggregator.Record // user records delivered, in read order
	aggregates        int                   // aggregated Kinesis records read
	droppedAggregates int                   // aggregates dropped whole by the hash range rule
	droppedRecords    int                   // user records in those aggregates
}

// kclDeliverLocal applies KCL 2.x's deaggregation (AggregatorUtil.deaggregate)
// to records read from the stream's shards: a plain record is delivered as
// is; an aggregate is delivered sub-record by sub-record, unless any
// sub-record's hash key (its explicit hash key, else the MD5 of its partition
// key as a 128-bit big-endian integer) lies outside the hash key range of the
// shard the aggregate was stored on, in which case the whole aggregate is
// dropped. An aggregate whose checksum does not match is delivered as one
// plain record, as KCL does.
//
// It is local to this file until internal/kinesistest offers the same check;
// then this file should use that one.
func kclDeliverLocal(t testing.TB, shards []*kinesis.Shard, recs []kinesistest.Record) kclOutcome {
	t.Helper()
	type span struct{ lo, hi *big.Int }
	ranges := make(map[string]span, len(shards))
	for _, sh := range shards {
		lo, ok1 := new(big.Int).SetString(aws.StringValue(sh.HashKeyRange.StartingHashKey), 10)
		hi, ok2 := new(big.Int).SetString(aws.StringValue(sh.HashKeyRange.EndingHashKey), 10)
		if !ok1 || !ok2 {
			t.Fatalf("shard %s has a bad hash key range", aws.StringValue(sh.ShardId))
		}
		ranges[aws.StringValue(sh.ShardId)] = span{lo, hi}
	}
	var o kclOutcome
	for _, r := range recs {
		sr, ok := ranges[r.ShardID]
		if !ok {
			t.Fatalf("record %s read from unknown shard %s", r.SequenceNumber, r.ShardID)
		}
		if !deaggregator.IsAggregated(r.Data) {
			o.records = append(o.records, deaggregator.Record{PartitionKey: r.PartitionKey, Data: r.Data})
			continue
		}
		subs, err := deaggregator.Deaggregate(r.Data, r.PartitionKey, "")
		if err != nil {
			// KCL hands a record with a bad checksum on as it is; a producer
			// never writes one, so report it.
			t.Errorf("record %s on %s: %v", r.SequenceNumber, r.ShardID, err)
			o.records = append(o.records, deaggregator.Record{PartitionKey: r.PartitionKey, Data: r.Data})
			continue
		}
		o.aggregates++
		inRange := true
		for _, s := range subs {
			hash := kinesistest.HashKey(s.PartitionKey)
			if s.ExplicitHashKey != "" {
				ehk, ok := new(big.Int).SetString(s.ExplicitHashKey, 10)
				if !ok {
					t.Errorf("record %s on %s: sub-record with bad explicit hash key %q", r.SequenceNumber, r.ShardID, s.ExplicitHashKey)
					inRange = false
					break
				}
				hash = ehk
			}
			if hash.Cmp(sr.lo) < 0 || hash.Cmp(sr.hi) > 0 {
				inRange = false
				break
			}
		}
		if !inRange {
			o.droppedAggregates++
			o.droppedRecords += len(subs)
			continue
		}
		o.records = append(o.records, subs...)
	}
	return o
}

// TestKCLDeliverLocal checks the KCL 2.x rule of kclDeliverLocal on records
// built by hand.
func TestKCLDeliverLocal(t *testing.T) {
	t.Parallel()
	half := new(big.Int).Lsh(big.NewInt(1), 127)
	last := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1))
	shards := []*kinesis.Shard{
		{ShardId: aws.String("low"), HashKeyRange: &kinesis.HashKeyRange{
			StartingHashKey: aws.String("0"), EndingHashKey: aws.String(new(big.Int).Sub(half, big.NewInt(1)).String())}},
		{ShardId: aws.String("high"), HashKeyRange: &kinesis.HashKeyRange{
			StartingHashKey: aws.String(half.String()), EndingHashKey: aws.String(last.String())}},
	}
	// A partition key whose MD5 hash lies in the high half.
	highKey := ""
	for i := 0; highKey == ""; i++ {
		if k := fmt.Sprintf("key-%d", i); kinesistest.HashKey(k).Cmp(half) >= 0 {
			highKey = k
		}
	}
	aggregate := func(subs ...[3]string) []byte { // partition key, explicit hash key, data
		ar := &producer.AggregatedRecord{}
		for i, s := range subs {
			ar.PartitionKeyTable = append(ar.PartitionKeyTable, s[0])
			r := &producer.Record{PartitionKeyIndex: proto.Uint64(uint64(i)), Data: []byte(s[2])}
			if s[1] != "" {
				r.ExplicitHashKeyIndex = proto.Uint64(uint64(len(ar.ExplicitHashKeyTable)))
				ar.ExplicitHashKeyTable = append(ar.ExplicitHashKeyTable, s[1])
			}
			ar.Records = append(ar.Records, r)
		}
		body, err := proto.Marshal(ar)
		if err != nil {
			t.Fatal(err)
		}
		sum := md5.Sum(body)
		return append(append(append([]byte(nil), deaggregator.Magic...), body...), sum[:]...)
	}
	inRange := aggregate([3]string{"a", "1", "in-1"}, [3]string{"b", "5", "in-2"})
	stray := aggregate([3]string{"c", "2", "kept-by-range"}, [3]string{"d", half.String(), "outside"})
	byKey := aggregate([3]string{highKey, "", "high-by-md5"})
	badSum := append([]byte(nil), inRange...)
	badSum[len(badSum)-1] ^= 0xff
	recs := []kinesistest.Record{
		{ShardID: "low", SequenceNumber: "1", PartitionKey: "a", Data: inRange},
		{ShardID: "low", SequenceNumber: "2", PartitionKey: "c", Data: stray},
		{ShardID: "low", SequenceNumber: "3", PartitionKey: "x", Data: []byte("plain, wherever it is")},
		{ShardID: "high", SequenceNumber: "4", PartitionKey: highKey, Data: byKey},
		{ShardID: "low", SequenceNumber: "5", PartitionKey: highKey, Data: byKey},
	}
	o := kclDeliverLocal(t, shards, recs)
	var got []string
	for _, r := range o.records {
		got = append(got, string(r.Data))
	}
	want := []string{"in-1", "in-2", "plain, wherever it is", "high-by-md5"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("delivered %q, want %q", got, want)
	}
	if o.aggregates != 4 || o.droppedAggregates != 2 || o.droppedRecords != 3 {
		t.Errorf("aggregates %d, dropped %d with %d records; want 4, 2, 3", o.aggregates, o.droppedAggregates, o.droppedRecords)
	}

	// A checksum mismatch is an error of the check (a producer never writes
	// one); the record itself is delivered as a plain record, as KCL does.
	ft := &kclErrorRecorder{TB: t}
	o = kclDeliverLocal(ft, shards, []kinesistest.Record{{ShardID: "low", SequenceNumber: "6", PartitionKey: "a", Data: badSum}})
	if !ft.failed || len(o.records) != 1 || string(o.records[0].Data) != string(badSum) {
		t.Errorf("bad checksum: reported %v, delivered %d records", ft.failed, len(o.records))
	}
}

// kclErrorRecorder records Errorf calls instead of failing the test.
type kclErrorRecorder struct {
	testing.TB
	failed bool
}

func (f *kclErrorRecorder) Errorf(string, ...any) { f.failed = true }
func (f *kclErrorRecorder) Helper()               {}
