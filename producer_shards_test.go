package producer

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/kinesis"
	"github.com/kplgo/producer/internal/kinesistest"
	"github.com/kplgo/producer/internal/kplpb"
)

// checkShardedSends checks every Kinesis record the client accepted against
// the shard map rs: aggregates carry an explicit hash key and hold only
// sub-records of the shard it points to. It returns the number of aggregates.
func checkShardedSends(t testing.TB, rs []hashRange, sent []sentRecord) int {
	t.Helper()
	aggs := 0
	for _, s := range sent {
		if !isKPL(s.Data) {
			continue
		}
		aggs++
		checkKCLRule(t, rs, s, kplpb.MustDecode(t, s.Data))
	}
	return aggs
}

func TestShardMapModeKeepsAggregatesInTheirShard(t *testing.T) {
	for _, n := range []int{1, 4, 37} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(31, uint64(n)))
			list := staticShards(t, n)
			rs := rangesOf(t, list)
			c := &fakeClient{answer: shardAnswer(t, list)}
			cfg := testConfig(c)
			cfg.GetShards = StaticGetShardsFunc(n)
			cfg.RateLimit = -1
			p := New(cfg)
			f := collectFailures(p)
			if err := p.Start(); err != nil {
				t.Fatal(err)
			}
			// Explicit hash keys on and around the shard boundaries.
			var edges []*big.Int
			for _, r := range rs {
				edges = append(edges, r.start, r.end, new(big.Int).Add(r.start, big.NewInt(1)), kinesistest.BigSub(r.end, 1))
			}
			keys := make([]string, 300)
			for i := range keys {
				keys[i] = fmt.Sprintf("key-%d-%d", i, rng.Uint32())
			}
			want := map[string]wantRec{}
			for i := 0; i < 3000; i++ {
				data := recordData(i)
				key := keys[rng.IntN(len(keys))]
				var err error
				switch i % 4 {
				case 0:
					ehk := kinesistest.RandomHash(rng)
					if rng.IntN(2) == 0 {
						ehk = edges[rng.IntN(len(edges))]
					}
					want[string(data)] = wantRec{key, ehk.String()}
					err = p.PutUserRecord(&testRecord{key: key, data: data, ehk: ehk})
				case 1:
					want[string(data)] = wantRec{key: key}
					err = p.PutUserRecord(&testRecord{key: key, data: data})
				default:
					want[string(data)] = wantRec{key: key}
					err = p.Put(data, key)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			p.Stop()
			if fs := f.wait(t); len(fs) > 0 {
				t.Fatalf("%d failures, first: %v", len(fs), fs[0].Err)
			}
			checkDelivered(t, want, c.userRecords(t))
			sent := c.sentRecords()
			if aggs := checkShardedSends(t, rs, sent); aggs == 0 {
				t.Fatal("nothing was aggregated")
			}
			// Plain records carry the caller's explicit hash key or none.
			for _, s := range sent {
				if isKPL(s.Data) {
					continue
				}
				if w := want[string(s.Data)]; s.ExplicitHashKey != w.ehk || s.PartitionKey != w.key {
					t.Fatalf("plain record %q sent with key %q hash key %q, want %q %q", s.Data, s.PartitionKey, s.ExplicitHashKey, w.key, w.ehk)
				}
			}
			if st := p.Stats(); st.WrongShard != 0 {
				t.Errorf("%d records predicted on the wrong shard", st.WrongShard)
			}
		})
	}
}

// TestShardMapGapSendsAlone: a record whose hash falls between the known
// shards cannot be aggregated with anything: it goes out plain.
func TestShardMapGapSendsAlone(t *testing.T) {
	half := new(big.Int).Lsh(big.NewInt(1), 127)
	lowEnd := kinesistest.BigSub(half, 1<<40)
	highStart := new(big.Int).Add(half, big.NewInt(1<<40))
	list := []*kinesis.Shard{
		shard("low", "0", lowEnd.String(), false),
		shard("high", highStart.String(), maxHash, false),
	}
	rs := rangesOf(t, list)
	c := &fakeClient{shards: list}
	cfg := limitConfig(c)
	cfg.RateLimit = -1
	cfg.GetShards = func(old []*kinesis.Shard) ([]*kinesis.Shard, bool, error) {
		if old != nil {
			return nil, false, nil
		}
		return list, true, nil
	}
	p := New(cfg)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	want := map[string]wantRec{}
	inGap := map[string]bool{}
	for i := 0; i < 200; i++ {
		data := recordData(i)
		var ehk *big.Int
		switch i % 4 {
		case 0:
			ehk = new(big.Int).Add(lowEnd, big.NewInt(int64(1+i))) // in the gap
			inGap[string(data)] = true
		case 1:
			ehk = big.NewInt(int64(i))
		}
		r := &testRecord{key: fmt.Sprint("k", i%10), data: data, ehk: ehk}
		w := wantRec{key: r.key}
		if ehk != nil {
			w.ehk = ehk.String()
		}
		want[string(data)] = w
		if err := p.PutUserRecord(r); err != nil {
			t.Fatal(err)
		}
	}
	p.Stop()
	checkDelivered(t, want, c.userRecords(t))
	checkShardedSends(t, rs, c.sentRecords())
	plainGap := 0
	for _, s := range c.sentRecords() {
		if !isKPL(s.Data) && inGap[string(s.Data)] {
			plainGap++
		}
	}
	if plainGap != len(inGap) {
		t.Fatalf("%d of %d records in the gap went out plain", plainGap, len(inGap))
	}
}

// alternatingShards is a GetShardsFunc that switches between two maps at
// every call after the first.
type alternatingShards struct {
	maps  [2][]*kinesis.Shard
	calls atomic.Int32
}

func (a *alternatingShards) get(old []*kinesis.Shard) ([]*kinesis.Shard, bool, error) {
	n := a.calls.Add(1)
	return a.maps[(n-1)%2], true, nil
}

// TestShardMapRefreshLosesNothing swaps the map under the producer again and
// again while records are buffered: every record arrives once, and every
// aggregate respects the map it was built with.
func TestShardMapRefreshLosesNothing(t *testing.T) {
	alt := &alternatingShards{maps: [2][]*kinesis.Shard{staticShards(t, 3), staticShards(t, 5)}}
	maps := [][]hashRange{rangesOf(t, alt.maps[0]), rangesOf(t, alt.maps[1])}
	c := &fakeClient{}
	cfg := testConfig(c)
	cfg.RateLimit = -1
	cfg.GetShards = alt.get
	cfg.ShardRefreshInterval = 3 * time.Millisecond
	cfg.FlushInterval = 30 * time.Millisecond
	cfg.RecordMaxBufferedTime = -1
	p := New(cfg)
	f := collectFailures(p)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	want := map[string]wantRec{}
	var wg sync.WaitGroup
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 4000; i++ {
				data := recordData(g*100000 + i)
				key := fmt.Sprint("key-", i%113)
				mu.Lock()
				want[string(data)] = wantRec{key: key}
				mu.Unlock()
				if err := p.Put(data, key); err != nil {
					t.Error(err)
					return
				}
				if i%500 == 0 {
					time.Sleep(5 * time.Millisecond)
				}
			}
		}(g)
	}
	wg.Wait()
	p.Stop()
	if fs := f.wait(t); len(fs) > 0 {
		t.Fatalf("%d failures, first: %v", len(fs), fs[0].Err)
	}
	checkDelivered(t, want, c.userRecords(t))
	if n := p.Stats().ShardMapUpdates; n < 3 {
		t.Fatalf("only %d map updates during the test", n)
	}
	for _, s := range c.sentRecords() {
		if !isKPL(s.Data) {
			continue
		}
		m := kplpb.MustDecode(t, s.Data)
		ok := false
		for _, rs := range maps {
			if i := findRange(rs, recordHash(t, s.PartitionKey, s.ExplicitHashKey)); i >= 0 && kclViolation(rs[i], m) == "" {
				ok = true
			}
		}
		if !ok {
			t.Fatalf("aggregate with hash key %s fits neither shard map", s.ExplicitHashKey)
		}
	}
}

// TestWrongShardAnswerRefreshesEarly: a PutRecords answer that names another
// shard than predicted makes the producer list the shards again at once.
func TestWrongShardAnswerRefreshesEarly(t *testing.T) {
	for _, wrong := range []bool{false, true} {
		t.Run(fmt.Sprint("wrong=", wrong), func(t *testing.T) {
			list := staticShards(t, 2)
			var calls atomic.Int32
			static := StaticGetShardsFunc(2)
			c := &fakeClient{answer: shardAnswer(t, list)}
			if wrong {
				c.answer = func(_ int, in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
					out := &kinesis.PutRecordsOutput{}
					for range in.Records {
						out.Records = append(out.Records, &kinesis.PutRecordsResultEntry{ShardId: aws.String("shardId-999999999999"), SequenceNumber: aws.String("1")})
					}
					return out, nil
				}
			}
			cfg := limitConfig(c)
			cfg.RateLimit = -1
			cfg.ShardRefreshInterval = time.Hour
			cfg.GetShards = func(old []*kinesis.Shard) ([]*kinesis.Shard, bool, error) {
				calls.Add(1)
				return static(old)
			}
			p := New(cfg)
			if err := p.Start(); err != nil {
				t.Fatal(err)
			}
			defer p.Stop()
			for i := 0; i < 50; i++ {
				if err := p.Put(recordData(i), fmt.Sprint("k", i)); err != nil {
					t.Fatal(err)
				}
			}
			if err := p.FlushSync(context.Background()); err != nil {
				t.Fatal(err)
			}
			if wrong {
				waitFor(t, 5*time.Second, "an early shard listing", func() bool { return calls.Load() >= 2 })
				if p.Stats().WrongShard == 0 {
					t.Error("Stats.WrongShard is 0")
				}
				return
			}
			time.Sleep(50 * time.Millisecond)
			if n := calls.Load(); n != 1 {
				t.Fatalf("%d shard listings with correct predictions, want 1", n)
			}
		})
	}
}

// TestRetryAfterMapChangeSendsPlain: aggregates built with a map that was
// replaced while they were in flight are retried as plain records, which no
// consumer can drop.
func TestRetryAfterMapChangeSendsPlain(t *testing.T) {
	a, b := staticShards(t, 4), staticShards(t, 5)
	var listed atomic.Int32
	var p *Producer
	log := &requestLog{}
	c := &fakeClient{checkIn: log.checkIn}
	c.answer = func(call int, in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
		if call > 1 {
			return nil, nil
		}
		// Hold the first call until the new map is installed, then fail it.
		for deadline := time.Now().Add(5 * time.Second); p.Stats().ShardMapUpdates == 0 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		return failEntries(in, "ProvisionedThroughputExceededException", func(int) bool { return true }), nil
	}
	cfg := limitConfig(c)
	cfg.RateLimit = -1
	cfg.ShardRefreshInterval = 10 * time.Millisecond
	cfg.GetShards = func(old []*kinesis.Shard) ([]*kinesis.Shard, bool, error) {
		switch listed.Add(1) {
		case 1:
			return a, true, nil
		case 2:
			return b, true, nil
		}
		return nil, false, nil
	}
	p = New(cfg)
	f := collectFailures(p)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	want := map[string]wantRec{}
	for i := 0; i < 200; i++ {
		data := recordData(i)
		want[string(data)] = wantRec{key: fmt.Sprint("k", i%20)}
		if err := p.Put(data, fmt.Sprint("k", i%20)); err != nil {
			t.Fatal(err)
		}
	}
	p.Flush()
	waitFor(t, 5*time.Second, "the first call", func() bool { return c.callCount() >= 1 })
	waitFor(t, 5*time.Second, "the new shard map", func() bool { return p.Stats().ShardMapUpdates >= 1 })
	waitFor(t, 5*time.Second, "the retry", func() bool { return c.callCount() >= 2 })
	p.Stop()
	if fs := f.wait(t); len(fs) > 0 {
		t.Fatalf("%d failures, first: %v", len(fs), fs[0].Err)
	}
	checkDelivered(t, want, c.userRecords(t))
	reqs := log.all()
	// What the first call carried, by user record.
	first := map[string]bool{}
	aggregated := false
	for _, e := range reqs[0] {
		if isKPL(e.Data) {
			aggregated = true
			for _, r := range kplpb.MustDecode(t, e.Data).Records {
				first[string(r.GetData())] = true
			}
		} else {
			first[string(e.Data)] = true
		}
	}
	if !aggregated {
		t.Fatal("the first call held no aggregate: the test proves nothing")
	}
	for _, req := range reqs[1:] {
		for _, e := range req {
			if first[string(e.Data)] || !isKPL(e.Data) {
				continue
			}
			for _, r := range kplpb.MustDecode(t, e.Data).Records {
				if first[string(r.GetData())] {
					t.Fatalf("record %q of a stale aggregate was retried inside an aggregate", r.GetData())
				}
			}
		}
	}
}

func TestStartShardListingErrors(t *testing.T) {
	cause := errors.New("listing exploded")
	for name, get := range map[string]GetShardsFunc{
		"error": func([]*kinesis.Shard) ([]*kinesis.Shard, bool, error) { return nil, false, cause },
		"none":  func([]*kinesis.Shard) ([]*kinesis.Shard, bool, error) { return nil, true, nil },
		"overlap": func([]*kinesis.Shard) ([]*kinesis.Shard, bool, error) {
			return []*kinesis.Shard{shard("a", "0", "10", false), shard("b", "5", maxHash, false)}, true, nil
		},
		"static 0": StaticGetShardsFunc(0),
	} {
		t.Run(name, func(t *testing.T) {
			c := &fakeClient{}
			cfg := testConfig(c)
			cfg.GetShards = get
			p := New(cfg)
			err := p.Start()
			if !errors.Is(err, ErrShardListing) {
				t.Fatalf("Start: %v, want ErrShardListing", err)
			}
			if name == "error" && !errors.Is(err, cause) {
				t.Fatalf("Start: %v does not wrap the cause", err)
			}
			// The producer still takes records and Stop still delivers them.
			if err := p.Put([]byte("x"), "k"); err != nil {
				t.Fatal(err)
			}
			p.Stop()
			checkAllDelivered(t, map[string]string{"x": "k"}, c.userRecords(t))
		})
	}
}

// kclVisible returns the user records a KCL consumer reads from what the
// client stored: each Kinesis record is read from the shard (of c.shards)
// that holds it, and a sub-record whose hash lies outside that shard is
// dropped, as the KCL does.
func kclVisible(t testing.TB, c *fakeClient) (seen map[string]int, dropped int) {
	t.Helper()
	rs := rangesOf(t, c.shards)
	seen = map[string]int{}
	for _, s := range c.sentRecords() {
		i := findRange(rs, recordHash(t, s.PartitionKey, s.ExplicitHashKey))
		if i < 0 {
			t.Fatalf("record stored outside every shard")
		}
		if !isKPL(s.Data) {
			seen[string(s.Data)]++
			continue
		}
		m := kplpb.MustDecode(t, s.Data)
		for _, sub := range m.Records {
			key := m.PartitionKeyTable[sub.GetPartitionKeyIndex()]
			ehk := ""
			if sub.ExplicitHashKeyIndex != nil {
				ehk = m.ExplicitHashKeyTable[sub.GetExplicitHashKeyIndex()]
			}
			h := recordHash(t, key, ehk)
			if h.Cmp(rs[i].start) < 0 || h.Cmp(rs[i].end) > 0 {
				dropped++
				continue
			}
			seen[string(sub.GetData())]++
		}
	}
	return seen, dropped
}

// TestStaleMapLosesNothingToKCL: the stream was resharded (a shard split in
// two children) and the producer's map does not know yet. Aggregates built
// for the parent land on a child; the sub-records the child's consumer would
// drop must be sent again, so that a KCL consumer reads every record.
func TestStaleMapLosesNothingToKCL(t *testing.T) {
	half := new(big.Int).Lsh(big.NewInt(1), 127)
	threeQuarters := new(big.Int).Add(half, new(big.Int).Lsh(big.NewInt(1), 126))
	parent := []*kinesis.Shard{
		shard("shardId-000000000000", "0", kinesistest.BigSub(half, 1).String(), false),
		shard("shardId-000000000001", half.String(), maxHash, false),
	}
	children := []*kinesis.Shard{
		parent[0],
		shard("shardId-000000000002", half.String(), kinesistest.BigSub(threeQuarters, 1).String(), false),
		shard("shardId-000000000003", threeQuarters.String(), maxHash, false),
	}
	var listed atomic.Int32
	c := &fakeClient{shards: children}
	cfg := testConfig(c)
	cfg.RateLimit = -1
	cfg.ShardRefreshInterval = time.Hour // only a wrong-shard answer refreshes
	cfg.GetShards = func(old []*kinesis.Shard) ([]*kinesis.Shard, bool, error) {
		if listed.Add(1) == 1 {
			return parent, true, nil
		}
		if len(old) == len(children) {
			return nil, false, nil
		}
		return children, true, nil
	}
	p := New(cfg)
	f := collectFailures(p)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(61, 62))
	want := map[string]bool{}
	for i := 0; i < 3000; i++ {
		data := recordData(i)
		want[string(data)] = true
		var err error
		if i%5 == 0 {
			err = p.PutUserRecord(&testRecord{key: fmt.Sprint("u", i), data: data, ehk: kinesistest.RandomHash(rng)})
		} else {
			err = p.Put(data, fmt.Sprintf("key-%d", rng.IntN(400)))
		}
		if err != nil {
			t.Fatal(err)
		}
		if i == 500 {
			// Let the first aggregates go out with the stale map.
			if err := p.FlushSync(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	}
	p.Stop()
	if fs := f.wait(t); len(fs) > 0 {
		t.Fatalf("%d failures, first: %v", len(fs), fs[0].Err)
	}
	seen, dropped := kclVisible(t, c)
	for d := range want {
		if seen[d] == 0 {
			t.Fatalf("record %q never reaches a KCL consumer (%d sub-records dropped in all)", d, dropped)
		}
	}
	for d := range seen {
		if !want[d] {
			t.Fatalf("unknown record %q", d)
		}
	}
	st := p.Stats()
	if st.WrongShard == 0 || dropped == 0 {
		t.Fatalf("the stale map was never noticed: %d wrong-shard answers, %d dropped sub-records", st.WrongShard, dropped)
	}
	if st.ShardMapUpdates == 0 {
		t.Fatal("the wrong-shard answer did not bring the new map")
	}
	if st.UserRecordsPut != 3000 || st.Outstanding != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestMergedShardKeepsAggregates: after a merge the map still names the two
// parents, so aggregates land on the merged shard, which the map does not
// know. The producer waits for the listing; the merged shard holds every
// record of each aggregate, so a KCL consumer keeps them: they count as
// delivered, and nothing is sent twice.
func TestMergedShardKeepsAggregates(t *testing.T) {
	half := new(big.Int).Lsh(big.NewInt(1), 127)
	parents := []*kinesis.Shard{
		shard("shardId-000000000000", "0", kinesistest.BigSub(half, 1).String(), false),
		shard("shardId-000000000001", half.String(), maxHash, false),
	}
	merged := []*kinesis.Shard{shard("shardId-000000000002", "0", maxHash, false)}
	var listed atomic.Int32
	c := &fakeClient{shards: merged}
	cfg := testConfig(c)
	cfg.ShardRefreshInterval = time.Hour // only a wrong-shard answer refreshes
	cfg.GetShards = func(old []*kinesis.Shard) ([]*kinesis.Shard, bool, error) {
		if listed.Add(1) == 1 {
			return parents, true, nil
		}
		if len(old) == len(merged) {
			return nil, false, nil
		}
		return merged, true, nil
	}
	p := New(cfg)
	f := collectFailures(p)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	want := map[string]wantRec{}
	for i := 0; i < 2000; i++ {
		data, key := recordData(i), fmt.Sprintf("key-%d", i%300)
		want[string(data)] = wantRec{key: key}
		if err := p.Put(data, key); err != nil {
			t.Fatal(err)
		}
	}
	p.Stop()
	if fs := f.wait(t); len(fs) > 0 {
		t.Fatalf("%d failures, first: %v", len(fs), fs[0].Err)
	}
	got := c.userRecords(t)
	checkDelivered(t, want, got)
	st := p.Stats()
	if len(got) != len(want) || st.Resent != 0 {
		t.Fatalf("%d user records stored for %d put, %d re-sent", len(got), len(want), st.Resent)
	}
	if st.WrongShard == 0 || st.ShardMapUpdates == 0 {
		t.Fatalf("the merge was never noticed: %+v", st)
	}
}
