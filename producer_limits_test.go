package producer

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/kplgo/producer/internal/kinesistest"
	"github.com/kplgo/producer/internal/kplpb"
)

// kplSize is the size of the aggregated record of recs, from proto.Marshal
// (through kplpb): magic, protobuf, MD5.
func kplSize(t testing.TB, recs []kplpb.Sub) int {
	t.Helper()
	b, err := kplpb.Marshal(kplpb.Build(recs))
	if err != nil {
		t.Fatal(err)
	}
	return 4 + len(b) + 16
}

// runPuts starts a producer on cfg, puts n records made by mk, stops it and
// returns the requests the client saw.
func runPuts(t *testing.T, c *fakeClient, cfg *Config, n int, mk func(i int) (data []byte, key string)) (*requestLog, map[string]wantRec) {
	t.Helper()
	log := &requestLog{}
	c.checkIn = log.checkIn
	p := New(cfg)
	f := collectFailures(p)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	want := make(map[string]wantRec, n)
	for i := 0; i < n; i++ {
		data, key := mk(i)
		want[string(data)] = wantRec{key: key}
		if err := p.Put(data, key); err != nil {
			t.Fatalf("Put %d: %v", i, err)
		}
	}
	p.Stop()
	if fs := f.wait(t); len(fs) > 0 {
		t.Fatalf("%d failures, first: %v", len(fs), fs[0].Err)
	}
	checkDelivered(t, want, c.userRecords(t))
	return log, want
}

func requestCounts(reqs [][]sentRecord) []int {
	var n []int
	for _, r := range reqs {
		n = append(n, len(r))
	}
	slices.Sort(n)
	return n
}

func TestBatchCountExact(t *testing.T) {
	c := &fakeClient{}
	cfg := limitConfig(c)
	cfg.BatchCount = 10
	cfg.AggregateBatchCount = 1 // every user record is a Kinesis record
	log, _ := runPuts(t, c, cfg, 37, func(i int) ([]byte, string) { return recordData(i), fmt.Sprint("k", i) })
	if got := fmt.Sprint(requestCounts(log.all())); got != "[7 10 10 10]" {
		t.Fatalf("request sizes %s, want [7 10 10 10]", got)
	}
	for _, req := range log.all() {
		for _, e := range req {
			if isKPL(e.Data) {
				t.Fatal("an aggregate with AggregateBatchCount 1")
			}
		}
	}
}

func TestBatchSizeExact(t *testing.T) {
	for _, tc := range []struct {
		name       string
		dataLen    int
		wantCounts string
		wantBytes  int // the largest request
	}{
		// 100 bytes a record: ten fill 1000 bytes exactly.
		{"lands on the limit", 90, "[5 10 10 10]", 1000},
		// 101 bytes a record: the tenth would overshoot by 10.
		{"one byte over", 91, "[8 9 9 9]", 909},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &fakeClient{}
			cfg := limitConfig(c)
			cfg.MaxRecordSize, cfg.AggregateBatchSize, cfg.BatchSize = 1000, 1000, 1000
			cfg.AggregateBatchCount = 1
			log, _ := runPuts(t, c, cfg, 35, func(i int) ([]byte, string) {
				data := []byte(fmt.Sprintf("%0*d", tc.dataLen, i))
				return data, fmt.Sprintf("key-%06d", i) // 10 bytes
			})
			reqs := log.all()
			if got := fmt.Sprint(requestCounts(reqs)); got != tc.wantCounts {
				t.Fatalf("request sizes %s, want %s", got, tc.wantCounts)
			}
			largest := 0
			for _, r := range reqs {
				if b := requestBytes(r); b > cfg.BatchSize {
					t.Fatalf("request of %d bytes, BatchSize %d", b, cfg.BatchSize)
				} else if b > largest {
					largest = b
				}
			}
			if largest != tc.wantBytes {
				t.Fatalf("largest request %d bytes, want %d", largest, tc.wantBytes)
			}
		})
	}
}

// TestBatchesFilledGreedily: with one connection the requests go out in
// order, and each one is full: the next record would not have fitted.
func TestBatchesFilledGreedily(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	c := &fakeClient{}
	cfg := limitConfig(c)
	cfg.MaxConnections = 1
	cfg.MaxRecordSize, cfg.AggregateBatchSize, cfg.BatchSize = 1000, 1000, 5000
	cfg.BatchCount = 7
	cfg.AggregateBatchCount = 1
	log, _ := runPuts(t, c, cfg, 600, func(i int) ([]byte, string) {
		key := fmt.Sprintf("k%d", i)
		return []byte(fmt.Sprintf("%06d%s", i, strings.Repeat("x", rng.IntN(1000-6-len(key)+1)))), key
	})
	reqs := log.all()
	hitCount, hitSize := false, false
	for i, r := range reqs {
		b := requestBytes(r)
		if len(r) > cfg.BatchCount || b > cfg.BatchSize {
			t.Fatalf("request %d: %d records, %d bytes", i, len(r), b)
		}
		if i+1 == len(reqs) {
			break // Stop sent what was left
		}
		next := len(reqs[i+1][0].Data) + len(reqs[i+1][0].PartitionKey)
		switch {
		case len(r) == cfg.BatchCount:
			hitCount = true
		case b+next > cfg.BatchSize:
			hitSize = true
		default:
			t.Fatalf("request %d (%d records, %d bytes) was sent while the next record (%d bytes) fitted", i, len(r), b, next)
		}
	}
	if !hitCount || !hitSize {
		t.Fatalf("the test did not reach both limits: count %v, size %v", hitCount, hitSize)
	}
}

// aggregateCounts decodes every aggregate sent and returns their record
// counts, sorted, failing on any aggregate over sizeLimit.
func aggregateCounts(t *testing.T, reqs [][]sentRecord, sizeLimit int) (counts []int, sizes map[int]int) {
	sizes = map[int]int{}
	for _, r := range reqs {
		for _, e := range r {
			if !isKPL(e.Data) {
				counts = append(counts, 1)
				continue
			}
			m := kplpb.MustDecode(t, e.Data)
			if len(e.Data) > sizeLimit {
				t.Fatalf("aggregate of %d bytes, AggregateBatchSize %d", len(e.Data), sizeLimit)
			}
			counts = append(counts, len(m.Records))
			sizes[len(m.Records)] = max(sizes[len(m.Records)], len(e.Data))
		}
	}
	slices.Sort(counts)
	return counts, sizes
}

func TestAggregateBatchSizeExact(t *testing.T) {
	data := func(i int) []byte { return []byte(fmt.Sprintf("d-%07d", i)) } // 10 bytes
	ten := make([]kplpb.Sub, 10)
	for i := range ten {
		ten[i] = kplpb.Sub{Key: "k", Data: data(i)}
	}
	full := kplSize(t, ten)
	for _, tc := range []struct {
		limit   int
		perAgg  int
		wantLen int
	}{
		{full, 10, full},
		{full - 1, 9, kplSize(t, ten[:9])},
	} {
		t.Run(fmt.Sprint(tc.limit), func(t *testing.T) {
			c := &fakeClient{}
			cfg := limitConfig(c)
			cfg.AggregateBatchSize = tc.limit
			log, _ := runPuts(t, c, cfg, 10*tc.perAgg+5, func(i int) ([]byte, string) { return data(i), "k" })
			counts, sizes := aggregateCounts(t, log.all(), tc.limit)
			want := slices.Repeat([]int{tc.perAgg}, 10)
			want = append([]int{5}, want...)
			if fmt.Sprint(counts) != fmt.Sprint(want) {
				t.Fatalf("records per aggregate %v, want %v", counts, want)
			}
			if sizes[tc.perAgg] != tc.wantLen {
				t.Fatalf("full aggregates are %d bytes, want %d", sizes[tc.perAgg], tc.wantLen)
			}
		})
	}
}

func TestAggregateBatchCountExact(t *testing.T) {
	c := &fakeClient{}
	cfg := limitConfig(c)
	cfg.AggregateBatchCount = 7
	log, _ := runPuts(t, c, cfg, 7*12+3, func(i int) ([]byte, string) { return recordData(i), fmt.Sprint("k", i%5) })
	counts, _ := aggregateCounts(t, log.all(), DefaultAggregateBatchSize)
	want := append([]int{3}, slices.Repeat([]int{7}, 12)...)
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Fatalf("records per aggregate %v, want %v", counts, want)
	}
}

// TestMaxRecordSizeCountsTheOuterKey: with AggregateBatchSize equal to
// MaxRecordSize, an aggregate must leave room for its partition key.
func TestMaxRecordSizeCountsTheOuterKey(t *testing.T) {
	key := strings.Repeat("p", 100)
	data := func(i int) []byte { return []byte(fmt.Sprintf("d-%07d", i)) }
	recs := make([]kplpb.Sub, 40)
	for i := range recs {
		recs[i] = kplpb.Sub{Key: key, Data: data(i)}
	}
	limit := kplSize(t, recs[:20])
	// The most records whose aggregate, with the key, fits limit.
	most := 0
	for n := 2; n <= 20; n++ {
		if kplSize(t, recs[:n])+len(key) <= limit {
			most = n
		}
	}
	if most < 2 || most >= 20 {
		t.Fatalf("bad setup: %d", most)
	}
	c := &fakeClient{}
	cfg := limitConfig(c)
	cfg.MaxRecordSize, cfg.AggregateBatchSize, cfg.BatchSize = limit, limit, limit
	log, _ := runPuts(t, c, cfg, 5*most, func(i int) ([]byte, string) { return data(i), key })
	for _, r := range log.all() {
		for _, e := range r {
			if n := len(e.Data) + len(e.PartitionKey); n > limit {
				t.Fatalf("Kinesis record of %d bytes with its key, MaxRecordSize %d", n, limit)
			}
		}
	}
	counts, _ := aggregateCounts(t, log.all(), limit)
	if fmt.Sprint(counts) != fmt.Sprint(slices.Repeat([]int{most}, 5)) {
		t.Fatalf("records per aggregate %v, want 5 × %d", counts, most)
	}
}

// TestLimitsRandom runs producers with random limits and random records and
// checks every limit on every request, and that everything arrives once.
func TestLimitsRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	runs := 60
	if testing.Short() {
		runs = 10
	}
	aggregates, checked := 0, 0
	defer func() {
		if !t.Failed() && (aggregates < 100 || checked < 50) {
			t.Errorf("too little covered: %d aggregates, %d in shard-map mode", aggregates, checked)
		}
	}()
	for run := 0; run < runs; run++ {
		maxRecord := 300 + rng.IntN(3000)
		cfg := &Config{
			BatchCount:          1 + rng.IntN(20),
			MaxRecordSize:       maxRecord,
			AggregateBatchSize:  1 + rng.IntN(maxRecord),
			BatchSize:           maxRecord + rng.IntN(3*maxRecord),
			AggregateBatchCount: 1 + rng.IntN(30),
			MaxConnections:      1 + rng.IntN(4),
			RateLimit:           -1,
		}
		shards := 0
		if run%2 == 1 {
			shards = 1 + rng.IntN(8)
		}
		t.Run(fmt.Sprintf("%d/shards=%d", run, shards), func(t *testing.T) {
			c := &fakeClient{}
			log := &requestLog{}
			c.checkIn = log.checkIn
			full := limitConfig(c)
			full.BatchCount, full.MaxRecordSize, full.AggregateBatchSize = cfg.BatchCount, cfg.MaxRecordSize, cfg.AggregateBatchSize
			full.BatchSize, full.AggregateBatchCount, full.MaxConnections, full.RateLimit = cfg.BatchSize, cfg.AggregateBatchCount, cfg.MaxConnections, -1
			var rs []hashRange
			if shards > 0 {
				full.GetShards = StaticGetShardsFunc(shards)
				list := staticShards(t, shards)
				rs = rangesOf(t, list)
				c.answer = shardAnswer(t, list)
			}
			p := New(full)
			f := collectFailures(p)
			if err := p.Start(); err != nil {
				t.Fatal(err)
			}
			keys := []string{"a", "b", strings.Repeat("長", 1+rng.IntN(80)), kinesistest.RandomKey(rng), kinesistest.RandomKey(rng)}
			want := map[string]wantRec{}
			for i := 0; i < 400; i++ {
				key := keys[rng.IntN(len(keys))]
				if rng.IntN(4) == 0 {
					key = kinesistest.RandomKey(rng)
				}
				if len(key) > maxRecord-10 {
					key = "k"
				}
				room := maxRecord - len(key)
				n := rng.IntN(min(room, 200) + 1)
				if rng.IntN(20) == 0 {
					n = room // exactly at MaxRecordSize
				}
				data := []byte(fmt.Sprintf("%06d", i))
				if n > len(data) {
					data = append(data, strings.Repeat("z", n-len(data))...)
				}
				var err error
				if rng.IntN(3) == 0 {
					ehk := kinesistest.RandomHash(rng)
					want[string(data)] = wantRec{key, ehk.String()}
					err = p.PutUserRecord(&testRecord{key: key, data: data, ehk: ehk})
				} else {
					want[string(data)] = wantRec{key: key}
					err = p.Put(data, key)
				}
				if err != nil {
					t.Fatalf("put %d (%d+%d bytes, limit %d): %v", i, len(data), len(key), maxRecord, err)
				}
			}
			p.Stop()
			if fs := f.wait(t); len(fs) > 0 {
				t.Fatalf("%d failures, first: %v", len(fs), fs[0].Err)
			}
			checkDelivered(t, want, c.userRecords(t))
			for _, req := range log.all() {
				if len(req) > full.BatchCount || requestBytes(req) > full.BatchSize {
					t.Fatalf("request of %d records, %d bytes; limits %d and %d", len(req), requestBytes(req), full.BatchCount, full.BatchSize)
				}
				for _, e := range req {
					if n := len(e.Data) + len(e.PartitionKey); n > maxRecord {
						t.Fatalf("Kinesis record of %d bytes with its key, MaxRecordSize %d", n, maxRecord)
					}
					if !isKPL(e.Data) {
						continue
					}
					m := kplpb.MustDecode(t, e.Data)
					if len(e.Data) > full.AggregateBatchSize || len(m.Records) > full.AggregateBatchCount || len(m.Records) < 2 {
						t.Fatalf("aggregate of %d bytes and %d records; limits %d and %d", len(e.Data), len(m.Records), full.AggregateBatchSize, full.AggregateBatchCount)
					}
					aggregates++
					if shards > 0 {
						checkKCLRule(t, rs, e, m)
						checked++
					}
				}
			}
		})
	}
}

// checkKCLRule checks that every sub-record of the aggregate e hashes into
// the shard that holds e's explicit hash key, as the KCL requires.
func checkKCLRule(t testing.TB, rs []hashRange, e sentRecord, m *kplpb.AggregatedRecord) {
	t.Helper()
	if e.ExplicitHashKey == "" {
		t.Fatalf("aggregate sent without an explicit hash key in shard-map mode")
	}
	s := findRange(rs, recordHash(t, e.PartitionKey, e.ExplicitHashKey))
	if s < 0 {
		t.Fatalf("aggregate's explicit hash key %s is in no shard", e.ExplicitHashKey)
	}
	if err := kclViolation(rs[s], m); err != "" {
		t.Fatalf("aggregate on shard %s: %s", rs[s].id, err)
	}
}

// kclViolation returns why a KCL consumer reading shard r would drop a
// sub-record of m, or "".
func kclViolation(r hashRange, m *kplpb.AggregatedRecord) string {
	for i, sub := range m.Records {
		key := m.PartitionKeyTable[sub.GetPartitionKeyIndex()]
		h := md5Big(key)
		if sub.ExplicitHashKeyIndex != nil {
			h, _ = new(big.Int).SetString(m.ExplicitHashKeyTable[sub.GetExplicitHashKeyIndex()], 10)
		}
		if h.Cmp(r.start) < 0 || h.Cmp(r.end) > 0 {
			return fmt.Sprintf("sub-record %d (key %q) hashes to %s, outside %s..%s", i, key, h, r.start, r.end)
		}
	}
	return ""
}

func TestSingleRecordGoesOutPlain(t *testing.T) {
	for _, shards := range []int{0, 4} {
		t.Run(fmt.Sprint("shards=", shards), func(t *testing.T) {
			c := &fakeClient{}
			cfg := limitConfig(c)
			cfg.RateLimit = -1
			if shards > 0 {
				cfg.GetShards = StaticGetShardsFunc(shards)
			}
			p := New(cfg)
			if err := p.Start(); err != nil {
				t.Fatal(err)
			}
			if err := p.Put([]byte("alone"), "solo-key"); err != nil {
				t.Fatal(err)
			}
			p.Stop()
			ehk := big.NewInt(123456789)
			p = New(cfg)
			if err := p.Start(); err != nil {
				t.Fatal(err)
			}
			if err := p.PutUserRecord(&testRecord{key: "user-key", data: []byte("with hash key"), ehk: ehk}); err != nil {
				t.Fatal(err)
			}
			p.Stop()
			sent := c.sentRecords()
			want := []sentRecord{{"solo-key", "", []byte("alone")}, {"user-key", "123456789", []byte("with hash key")}}
			if len(sent) != 2 {
				t.Fatalf("%d records sent", len(sent))
			}
			for i, s := range sent {
				if s.PartitionKey != want[i].PartitionKey || s.ExplicitHashKey != want[i].ExplicitHashKey || string(s.Data) != string(want[i].Data) {
					t.Errorf("sent %+v, want %+v", s, want[i])
				}
			}
		})
	}
}

// TestTooBigToShareGoesOutAlone: a record whose aggregate alone would pass
// AggregateBatchSize goes out plain; the small ones around it are still
// aggregated.
func TestTooBigToShareGoesOutAlone(t *testing.T) {
	c := &fakeClient{}
	cfg := limitConfig(c)
	cfg.AggregateBatchSize = 200
	p := New(cfg)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	want := map[string]wantRec{}
	for i := 0; i < 30; i++ {
		data := recordData(i)
		if i%10 == 5 {
			data = append(data, strings.Repeat("B", 500)...)
		}
		want[string(data)] = wantRec{key: "k"}
		if err := p.Put(data, "k"); err != nil {
			t.Fatal(err)
		}
	}
	p.Stop()
	checkDelivered(t, want, c.userRecords(t))
	plain, big := 0, 0
	for _, s := range c.sentRecords() {
		if !isKPL(s.Data) {
			plain++
			if len(s.Data) > 200 {
				big++
			}
			continue
		}
		if len(s.Data) > 200 {
			t.Fatalf("aggregate of %d bytes, limit 200", len(s.Data))
		}
	}
	if big != 3 {
		t.Fatalf("%d big records sent plain, want 3", big)
	}
	if plain > big+1 {
		t.Fatalf("%d plain records: the small ones were not aggregated", plain)
	}
}
