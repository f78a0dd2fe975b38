package sdkv2_test

import (
	"bytes"
	"context"
	"fmt"
	"math/big"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/kplgo/producer/sdkv2"
)

// TestProducerRetriesTheRightEntries runs a producer over a fake v2 client
// whose answers fail some entries of each PutRecords call: exactly those
// entries must be sent again, every other entry once, and every success must
// carry the shard and sequence number that the answer gave its entry.
func TestProducerRetriesTheRightEntries(t *testing.T) {
	for _, shardMap := range []bool{false, true} {
		t.Run(fmt.Sprintf("shardMap=%v", shardMap), func(t *testing.T) {
			const n = 600
			fake := &fakeKinesis{}
			cfg := testConfig(fake)
			if shardMap {
				// Aggregates of several user records, each of one shard.
				fake.shards = staticShards(t, 4)
				cfg.GetShards = sdkv2.GetKinesisShardsFunc(fake, "stream")
				cfg.AggregateBatchCount = 7
			} else {
				cfg.AggregateBatchCount = 1 // every user record a Kinesis record of its own
			}

			// An entry is known by its data: the first time each entry at an
			// odd position of a call is seen, it fails.
			var mu sync.Mutex
			sends := map[string]int{}
			failedFirst := map[string]bool{}
			type ack struct {
				shard string
				entry sentRecord
			}
			acks := map[string]ack{} // by sequence number
			fake.answer = func(call int, recs []sentRecord) (*kinesis.PutRecordsOutput, error) {
				mu.Lock()
				defer mu.Unlock()
				out := ackAll(recs)
				for i, r := range recs {
					id := string(r.Data)
					sends[id]++
					if sends[id] == 1 && i%2 == 1 {
						failedFirst[id] = true
						code := "InternalFailure"
						if i%4 == 3 {
							code = "ProvisionedThroughputExceededException"
						}
						out.Records[i] = types.PutRecordsResultEntry{ErrorCode: aws.String(code), ErrorMessage: aws.String("injected")}
						continue
					}
					seq := fmt.Sprintf("seq-%d-%d", call, i)
					shard := "shard-of-call-" + fmt.Sprint(call) // any id is fine without a shard map
					if shardMap {
						shard = shardOf(fake.shards, r.PartitionKey, r.ExplicitHashKey)
					}
					out.Records[i].ShardId, out.Records[i].SequenceNumber = aws.String(shard), aws.String(seq)
					acks[seq] = ack{shard, r}
				}
				return out, nil
			}

			p := sdkv2.New(cfg)
			res := collect(p, true)
			if err := p.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			want := map[string]string{} // data -> key
			for i := 0; i < n; i++ {
				data, key := fmt.Sprintf("data-%04d", i), fmt.Sprintf("key-%04d", i)
				want[data] = key
				if err := p.Put(context.Background(), []byte(data), key); err != nil {
					t.Fatal(err)
				}
			}
			p.Stop()
			res.wait(t)

			for _, f := range res.failures {
				t.Errorf("failure: %v", f)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(failedFirst) == 0 {
				t.Fatal("no entry failed: the test proves nothing")
			}
			for id, k := range sends {
				w := 1
				if failedFirst[id] {
					w = 2
				}
				if k != w {
					t.Errorf("entry %.40q sent %d times, want %d", id, k, w)
				}
			}
			seen := map[string]bool{}
			for _, s := range res.successes {
				a, ok := acks[s.SequenceNumber]
				if !ok {
					t.Errorf("success with sequence number %q, which no answer gave", s.SequenceNumber)
					continue
				}
				if s.ShardID != a.shard {
					t.Errorf("success %s on shard %q, the answer said %q", s.SequenceNumber, s.ShardID, a.shard)
				}
				if w := sends[string(a.entry.Data)]; s.Attempts != w {
					t.Errorf("success %s took %d attempts, its entry was sent %d times", s.SequenceNumber, s.Attempts, w)
				}
				users := a.entry.userRecords(t)
				if len(users) != len(s.UserRecords) {
					t.Errorf("success %s has %d user records, its entry %d", s.SequenceNumber, len(s.UserRecords), len(users))
					continue
				}
				for i, u := range s.UserRecords {
					d := string(u.Data())
					if u.PartitionKey() != users[i].PartitionKey || d != string(users[i].Data) || u.PartitionKey() != want[d] {
						t.Errorf("success %s, user record %d: %q/%q, its entry holds %q/%q",
							s.SequenceNumber, i, u.PartitionKey(), d, users[i].PartitionKey, users[i].Data)
					}
					if seen[d] {
						t.Errorf("user record %q acknowledged twice", d)
					}
					seen[d] = true
					if shardMap && shardOf(fake.shards, u.PartitionKey(), "") != s.ShardID {
						t.Errorf("user record %q acknowledged on %s, its key belongs to another shard", d, s.ShardID)
					}
				}
			}
			if len(seen) != n {
				t.Errorf("%d user records acknowledged, want %d", len(seen), n)
			}
			st := p.Stats()
			if st.UserRecordsPut != n || st.UserRecordsFailed != 0 || st.Outstanding != 0 || st.WrongShard != 0 {
				t.Errorf("stats %+v", st)
			}
			if st.Retries != int64(len(failedFirst)) {
				t.Errorf("Stats().Retries = %d, %d entries failed once", st.Retries, len(failedFirst))
			}
		})
	}
}

// TestProducerPutUserRecord checks that explicit hash keys reach the v2
// request and decide the shard, and that each PutUserRecord value is handed
// back in its success.
func TestProducerPutUserRecord(t *testing.T) {
	fake := &fakeKinesis{shards: staticShards(t, 4)}
	cfg := testConfig(fake)
	cfg.GetShards = sdkv2.GetKinesisShardsFunc(fake, "stream")
	p := sdkv2.New(cfg)
	res := collect(p, true)
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	const n = 200
	put := map[*userRecord]bool{}
	for i := 0; i < n; i++ {
		// Spread over the whole key space: the hash key, not the partition
		// key, decides the shard.
		h := new(big.Int).Lsh(big.NewInt(int64(i)), 120)
		r := &userRecord{key: "same-key", hash: h, data: []byte(fmt.Sprintf("record-%d", i))}
		put[r] = true
		if err := p.PutUserRecord(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	p.Stop()
	res.wait(t)
	for _, f := range res.failures {
		t.Errorf("failure: %v", f)
	}
	got := 0
	shards := map[string]bool{}
	for _, s := range res.successes {
		for _, u := range s.UserRecords {
			r, ok := u.(*userRecord)
			if !ok || !put[r] {
				t.Fatalf("success hands back %T %v, not a value that was put", u, u)
			}
			delete(put, r)
			got++
			if want := shardOf(fake.shards, r.key, r.hash.String()); s.ShardID != want {
				t.Errorf("%s on %s, its hash key belongs to %s", r.data, s.ShardID, want)
			}
			shards[s.ShardID] = true
		}
	}
	if got != n || len(shards) != 4 {
		t.Errorf("%d user records acknowledged on %d shards, want %d on 4", got, len(shards), n)
	}
	for _, r := range fake.delivered(t) {
		h, ok := new(big.Int).SetString(r.ExplicitHashKey, 10)
		if !ok || !bytes.HasPrefix(r.Data, []byte("record-")) {
			t.Errorf("delivered %q with explicit hash key %q", r.Data, r.ExplicitHashKey)
			continue
		}
		var i int64
		fmt.Sscanf(string(r.Data), "record-%d", &i)
		if h.Cmp(new(big.Int).Lsh(big.NewInt(i), 120)) != 0 {
			t.Errorf("%s delivered with explicit hash key %s", r.Data, h)
		}
	}
}

// userRecord is a caller's own UserRecord.
type userRecord struct {
	key  string
	hash *big.Int
	data []byte
}

func (r *userRecord) PartitionKey() string      { return r.key }
func (r *userRecord) ExplicitHashKey() *big.Int { return r.hash }
func (r *userRecord) Data() []byte              { return r.data }
func (r *userRecord) Size() int                 { return len(r.data) }
