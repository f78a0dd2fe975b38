package producer

// Tests that drive the established package's API as a migrating user's
// code and tests do: hand-written fake Putters that answer the way such
// fakes answer, the standalone Aggregator and ShardMap, and the old names.

import (
	"errors"
	"fmt"
	"log"
	"math/big"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/awserr"
	"github.com/aws/aws-sdk-go/service/kinesis"
	"github.com/kplgo/producer/deaggregator"
	"google.golang.org/protobuf/proto"
)

// The old names, with the old signatures.
var (
	_ Putter                                                                = (*kinesis.Kinesis)(nil)
	_ ShardLister                                                           = (*kinesis.Kinesis)(nil)
	_ func(ShardLister, string) GetShardsFunc                               = GetKinesisShardsFunc
	_ func([]byte, string) *DataRecord                                      = NewDataRecord
	_ UserRecord                                                            = (*DataRecord)(nil)
	_ func(*string) *Aggregator                                             = NewAggregator
	_ func([]byte, *string, *string, []UserRecord) *AggregatedRecordRequest = NewAggregatedRecordRequest
	_ func([]*kinesis.Shard, int) *ShardMap                                 = NewShardMap
	_ error                                                                 = (*ShardBucketError)(nil)
	_ Logger                                                                = (*NopLogger)(nil)
	_ Logger                                                                = &StdLogger{log.New(os.Stdout, "", log.LstdFlags)}
)

// oldStyleClient is a Putter as users of the established package wrote them
// for their tests: it keeps what it was sent, fails calls with err while
// failing is set, and answers every other call with FailedRecordCount 0
// and no Records at all.
type oldStyleClient struct {
	mu      sync.Mutex
	calls   int
	err     error
	failing int // calls still to fail with err
	entries []*kinesis.PutRecordsRequestEntry
}

func (c *oldStyleClient) PutRecords(in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if c.failing > 0 {
		c.failing--
		return nil, c.err
	}
	for _, e := range in.Records {
		cp := &kinesis.PutRecordsRequestEntry{
			Data:         append([]byte(nil), e.Data...), // the producer reuses its buffers
			PartitionKey: aws.String(aws.StringValue(e.PartitionKey)),
		}
		if e.ExplicitHashKey != nil {
			cp.ExplicitHashKey = aws.String(*e.ExplicitHashKey)
		}
		c.entries = append(c.entries, cp)
	}
	return &kinesis.PutRecordsOutput{FailedRecordCount: aws.Int64(0)}, nil
}

// delivered returns the user records of what the client stored, as a
// consumer would read them: key -> data.
func (c *oldStyleClient) delivered(t *testing.T) map[string]string {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	got := map[string]string{}
	for _, e := range c.entries {
		recs, err := deaggregator.Deaggregate(e.Data, *e.PartitionKey, aws.StringValue(e.ExplicitHashKey))
		if err != nil {
			t.Fatalf("entry does not decode: %v", err)
		}
		for _, r := range recs {
			if _, dup := got[r.PartitionKey]; dup {
				t.Fatalf("record %s stored twice", r.PartitionKey)
			}
			got[r.PartitionKey] = string(r.Data)
		}
	}
	return got
}

// TestMigrationAnswerWithoutRecords: a fake answering FailedRecordCount 0
// without Records acknowledges the whole call, with or without a shard
// map, for Put and PutUserRecord alike: every record is delivered once,
// none fails, and one call carries each batch (nothing is retried).
func TestMigrationAnswerWithoutRecords(t *testing.T) {
	for _, shards := range []int{0, 10} {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) {
			c := &oldStyleClient{}
			cfg := &Config{StreamName: "old", Client: c, BacklogCount: 10000, Logger: &NopLogger{}}
			if shards > 0 {
				cfg.GetShards = StaticGetShardsFunc(shards)
			}
			p := New(cfg)
			failures := p.NotifyFailures()
			p.Start()
			want := map[string]string{}
			for i := range 2000 {
				key, data := fmt.Sprintf("key-%d", i), fmt.Sprintf("data-%d", i)
				want[key] = data
				var err error
				if i%2 == 0 {
					err = p.Put([]byte(data), key)
				} else {
					err = p.PutUserRecord(NewDataRecord([]byte(data), key))
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			p.Stop()
			for f := range failures {
				t.Errorf("failure: %v", f.Err)
			}
			got := c.delivered(t)
			if len(got) != len(want) {
				t.Fatalf("delivered %d records, put %d", len(got), len(want))
			}
			for k, v := range want {
				if got[k] != v {
					t.Fatalf("record %s: delivered %q, put %q", k, got[k], v)
				}
			}
			if s := p.Stats(); s.UserRecordsPut != int64(len(want)) || s.Retries != 0 {
				t.Errorf("stats %+v: want %d put and no retry", s, len(want))
			}
		})
	}
}

// TestMigrationErrorClasses: a call error that is neither a retryable AWS
// error nor a failure on the way fails the call's records at once, with
// that error, after one call; throttling, 5xx and network errors are
// retried until the records are delivered.
func TestMigrationErrorClasses(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for _, tc := range []struct {
		name  string
		err   error
		fails bool
	}{
		{"plain error naming a code", errors.New("ResourceNotFoundException: Stream foo under account X not found"), true},
		{"AccessDenied", awserr.NewRequestFailure(awserr.New("AccessDeniedException", "no", nil), 400, "r1"), true},
		{"KMS key disabled", awserr.New("KMSDisabledException", "disabled", nil), true},
		{"unknown 4xx code", awserr.NewRequestFailure(awserr.New("SomethingNewException", "?", nil), 400, "r2"), true},
		{"throttled call", awserr.New("ProvisionedThroughputExceededException", "slow down", nil), false},
		{"503", awserr.NewRequestFailure(awserr.New("ServiceUnavailable", "busy", nil), 503, "r3"), false},
		{"unknown 5xx code", awserr.NewRequestFailure(awserr.New("SomethingBroke", "?", nil), 502, "r4"), false},
		{"network (sdk)", awserr.New("RequestError", "send request failed", refused), false},
		{"network (raw)", refused, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &oldStyleClient{err: tc.err, failing: 2}
			p := New(&Config{
				StreamName: "old", Client: c, Logger: &NopLogger{}, AggregateBatchCount: 10, BatchCount: 1,
				RecordTTL: time.Hour, RetryBackoffMin: time.Millisecond, RetryBackoffMax: 2 * time.Millisecond,
			})
			failures := p.NotifyFailures()
			p.Start()
			for i := range 10 {
				if err := p.Put([]byte("bar"), fmt.Sprint("bar", i)); err != nil {
					t.Fatal(err)
				}
			}
			p.Stop() // waits for the record's fate: with RecordTTL an hour, a retried record is delivered
			failed := 0
			for f := range failures {
				failed += len(f.UserRecords)
				if !errors.Is(f.Err, tc.err) || !errors.Is(f.Err, ErrNotRetryable) {
					t.Errorf("failure %v does not wrap the call's error and ErrNotRetryable", f.Err)
				}
				if f.PartitionKey != "bar0" || f.ExplicitHashKey != "" {
					t.Errorf("failure keys %q, %q; want the aggregate's bar0 and none", f.PartitionKey, f.ExplicitHashKey)
				}
			}
			if tc.fails {
				if failed != 10 || c.calls != 1 {
					t.Fatalf("%d records failed after %d calls, want 10 after 1", failed, c.calls)
				}
				return
			}
			if failed != 0 || len(c.delivered(t)) != 10 || c.calls != 3 {
				t.Fatalf("%d failed, %d delivered after %d calls; want 0, 10 after 3", failed, len(c.delivered(t)), c.calls)
			}
		})
	}
}

// TestMigrationShardMapUpdateShards drives the standalone ShardMap as the
// old producer did: Put from several goroutines, UpdateShards through
// resharding (2 -> 4 -> 3 shards, and a listing that fails), Drain at the
// end. Every record comes out exactly once, and every aggregate passes
// KCL's check against the shard of the map it was drained from.
func TestMigrationShardMapUpdateShards(t *testing.T) {
	maps := [][]*kinesis.Shard{staticShards(t, 2), staticShards(t, 4), staticShards(t, 3)}
	m := NewShardMap(maps[0], 50)
	var mu sync.Mutex
	var out []*AggregatedRecordRequest
	seen := map[string]int{} // user records checked, by key
	checked := 0             // of out
	keep := func(rs ...*AggregatedRecordRequest) {
		mu.Lock()
		out = append(out, rs...)
		mu.Unlock()
	}
	check := func(shards []*kinesis.Shard) {
		// Everything drained so far was built with shards.
		mu.Lock()
		defer mu.Unlock()
		rs := rangesOf(t, shards)
		for _, r := range out[checked:] {
			ehk, _ := new(big.Int).SetString(aws.StringValue(r.Entry.ExplicitHashKey), 10)
			i := findRange(rs, ehk)
			if i < 0 {
				t.Fatalf("aggregate hash key %v outside the map", ehk)
			}
			recs, err := deaggregator.DeaggregateShard(r.Entry.Data, *r.Entry.PartitionKey, *r.Entry.ExplicitHashKey, rs[i].start, rs[i].end)
			if err != nil {
				t.Fatalf("KCL would not deliver an aggregate of shard %s: %v", rs[i].id, err)
			}
			if len(recs) != len(r.UserRecords) {
				t.Fatalf("aggregate of %d records lists %d", len(recs), len(r.UserRecords))
			}
			for j, rec := range recs {
				if u := r.UserRecords[j]; rec.PartitionKey != u.PartitionKey() || string(rec.Data) != string(u.Data()) {
					t.Fatalf("sub-record %d is %s, its user record %s", j, rec.PartitionKey, u.PartitionKey())
				}
				seen[rec.PartitionKey]++
			}
		}
		checked = len(out)
	}
	put := func(from, to int) {
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := from + g; i < to; i += 4 {
					d, err := m.Put(NewDataRecord([]byte(fmt.Sprint("data-", i)), fmt.Sprint("key-", i)))
					if err != nil {
						t.Error(err)
						return
					}
					if d != nil {
						keep(d)
					}
				}
			}()
		}
		wg.Wait()
	}
	update := func(shards []*kinesis.Shard, err error) {
		before := m.Size()
		drained, gotErr := m.UpdateShards(func(old []*kinesis.Shard) ([]*kinesis.Shard, bool, error) {
			return shards, err == nil, err
		})
		if !errors.Is(gotErr, err) {
			t.Fatalf("UpdateShards = %v, want %v", gotErr, err)
		}
		if err != nil && m.Size() != before {
			t.Fatalf("a failed update changed the map: size %d, was %d", m.Size(), before)
		}
		keep(drained...)
	}
	put(0, 3000)
	check(maps[0])
	update(maps[1], nil)
	check(maps[1])
	put(3000, 6000)
	check(maps[1])
	listing := errors.New("listing failed")
	update(nil, listing)
	update(maps[2], nil)
	check(maps[2])
	put(6000, 9000)
	all, errs := m.Drain()
	if errs != nil {
		t.Fatal(errs)
	}
	keep(all...)
	check(maps[2])
	if m.Size() != 0 {
		t.Errorf("size %d after Drain", m.Size())
	}
	if len(seen) != 9000 {
		t.Fatalf("%d records came out, 9000 were put", len(seen))
	}
	for k, n := range seen {
		if n != 1 {
			t.Fatalf("record %s came out %d times", k, n)
		}
	}
}

// TestMigrationShardBucketError: a hash outside every shard is refused with
// a ShardBucketError naming the record, and the record is not kept.
func TestMigrationShardBucketError(t *testing.T) {
	shards := []*kinesis.Shard{{
		ShardId:      aws.String("shardId-000000000000"),
		HashKeyRange: &kinesis.HashKeyRange{StartingHashKey: aws.String("0"), EndingHashKey: aws.String("1000")},
	}}
	m := NewShardMap(shards, 10)
	r := &testRecord{key: "k", data: []byte("x"), ehk: big.NewInt(5000)}
	_, err := m.Put(r)
	var be *ShardBucketError
	if !errors.As(err, &be) || be.UserRecord != r {
		t.Fatalf("Put = %v, want a ShardBucketError for the record", err)
	}
	if m.Size() != 0 {
		t.Errorf("the refused record was kept: size %d", m.Size())
	}
	if _, err := m.Put(&testRecord{key: "k", data: []byte("x"), ehk: big.NewInt(-1)}); !errors.Is(err, ErrIllegalExplicitHashKey) {
		t.Errorf("Put of a negative hash key = %v, want ErrIllegalExplicitHashKey", err)
	}
}

// TestMigrationAggregator: what Drain returns decodes with the generated
// AggregatedRecord and with the deaggregator alike; WillOverflow keeps the
// Kinesis record within 1 MiB, data plus partition key, to the byte.
func TestMigrationAggregator(t *testing.T) {
	ehk := "170141183460469231731687303715884105728"
	a := NewAggregator(&ehk)
	if r, err := a.Drain(); r != nil || err != nil {
		t.Fatalf("Drain of an empty aggregator = %v, %v", r, err)
	}
	var users []UserRecord
	for i := range 20 {
		u := UserRecord(NewDataRecord([]byte(fmt.Sprint("payload-", i)), fmt.Sprint("key-", i%7)))
		if i%5 == 0 {
			u = &testRecord{key: fmt.Sprint("key-", i%7), data: []byte(fmt.Sprint("payload-", i)), ehk: big.NewInt(int64(i))}
		}
		users = append(users, u)
		a.Put(u)
	}
	if a.Count() != 20 {
		t.Fatalf("Count %d", a.Count())
	}
	r, err := a.Drain()
	if err != nil || r == nil {
		t.Fatal(err)
	}
	if *r.Entry.PartitionKey != "key-0" || *r.Entry.ExplicitHashKey != ehk || a.Count() != 0 || a.Size() != 0 {
		t.Fatalf("entry keys %s, %s; count %d, size %d after Drain", *r.Entry.PartitionKey, *r.Entry.ExplicitHashKey, a.Count(), a.Size())
	}
	var m AggregatedRecord
	if err := proto.Unmarshal(r.Entry.Data[4:len(r.Entry.Data)-16], &m); err != nil {
		t.Fatal(err)
	}
	recs, err := deaggregator.Deaggregate(r.Entry.Data, *r.Entry.PartitionKey, ehk)
	if err != nil || len(recs) != 20 || len(m.GetRecords()) != 20 {
		t.Fatalf("decoded %d (deaggregator, %v) and %d (AggregatedRecord) records, want 20", len(recs), err, len(m.GetRecords()))
	}
	for i, u := range users {
		pb := m.GetRecords()[i]
		wantEHK := ""
		if h := u.ExplicitHashKey(); h != nil {
			wantEHK = h.String()
		}
		pbEHK := ""
		if pb.ExplicitHashKeyIndex != nil {
			pbEHK = m.GetExplicitHashKeyTable()[pb.GetExplicitHashKeyIndex()]
		}
		if m.GetPartitionKeyTable()[pb.GetPartitionKeyIndex()] != u.PartitionKey() || string(pb.GetData()) != string(u.Data()) || pbEHK != wantEHK {
			t.Errorf("record %d: AggregatedRecord has %s/%s/%q", i, m.GetPartitionKeyTable()[pb.GetPartitionKeyIndex()], pbEHK, pb.GetData())
		}
		if recs[i].PartitionKey != u.PartitionKey() || string(recs[i].Data) != string(u.Data()) || recs[i].ExplicitHashKey != wantEHK {
			t.Errorf("record %d: deaggregator gives %+v", i, recs[i])
		}
		if r.UserRecords[i] != u {
			t.Errorf("record %d: UserRecords does not hold the caller's value", i)
		}
	}

	// One record: an aggregate from Drain, a plain record from DrainPlain.
	a.Put(NewDataRecord([]byte("only"), "solo"))
	one, _ := a.Drain()
	if !deaggregator.IsAggregated(one.Entry.Data) {
		t.Error("Drain of one record is not an aggregate")
	}
	a.Put(&testRecord{key: "solo", data: []byte("only"), ehk: big.NewInt(42)})
	plain, _ := a.DrainPlain()
	if string(plain.Entry.Data) != "only" || *plain.Entry.PartitionKey != "solo" || aws.StringValue(plain.Entry.ExplicitHashKey) != "42" {
		t.Errorf("DrainPlain of one record = %q, %s, %v", plain.Entry.Data, *plain.Entry.PartitionKey, plain.Entry.ExplicitHashKey)
	}

	// Fill to the limit with records of random sizes, draining when
	// WillOverflow says so: no record is over 1 MiB, and the next record
	// would have made each one so.
	rng := rand.New(rand.NewPCG(1, 2))
	var next UserRecord
	for n := 0; n < 3; {
		u := NewDataRecord(make([]byte, rng.IntN(40000)), fmt.Sprint("k", rng.IntN(1000)))
		if !a.WillOverflow(u) {
			a.Put(u)
			continue
		}
		next = u
		full, _ := a.Drain()
		size := len(full.Entry.Data) + len(*full.Entry.PartitionKey)
		if size > DefaultMaxRecordSize {
			t.Fatalf("aggregate of %d bytes", size)
		}
		a.Put(full.UserRecords[0])
		for _, u := range full.UserRecords[1:] {
			a.Put(u)
		}
		a.Put(next)
		over, _ := a.Drain()
		if got := len(over.Entry.Data) + len(*over.Entry.PartitionKey); got <= DefaultMaxRecordSize {
			t.Fatalf("WillOverflow said yes, but the aggregate with the record has %d bytes", got)
		}
		n++
	}
}
