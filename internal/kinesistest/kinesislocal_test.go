package kinesistest_test

import (
	"math/big"
	"math/rand"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/kinesis"

	"github.com/kplgo/producer/internal/kinesistest"
)

func TestKinesisLocalPutListAndUpdateShardCount(t *testing.T) {
	t.Parallel()
	srv := kinesistest.SharedKinesisLocal(t)
	client := srv.Client(t, nil)
	stream := srv.CreateStream(t, 4)
	rng := rand.New(rand.NewSource(5))

	shards := kinesistest.Shards(t, client, stream)
	if len(shards) != 4 || len(kinesistest.OpenShards(shards)) != 4 {
		t.Fatalf("new stream has %d shards (%d open), want 4", len(shards), len(kinesistest.OpenShards(shards)))
	}
	checkCoverage(t, kinesistest.OpenShards(shards))
	want := putRandom(t, client, stream, rng, 200)

	for _, target := range []int{6, 3} {
		shards = kinesistest.UpdateShardCount(t, client, stream, target)
		open := kinesistest.OpenShards(shards)
		if len(open) != target {
			t.Fatalf("after UpdateShardCount(%d): %d open shards", target, len(open))
		}
		checkCoverage(t, open)
		// ListShards with a filter for the open shards agrees.
		out, err := client.ListShards(&kinesis.ListShardsInput{
			StreamName:  aws.String(stream),
			ShardFilter: &kinesis.ShardFilter{Type: aws.String(kinesis.ShardFilterTypeAtLatest)},
		})
		if err != nil {
			t.Fatalf("ListShards AT_LATEST: %v", err)
		}
		if len(out.Shards) != target {
			t.Errorf("ListShards AT_LATEST after UpdateShardCount(%d): %d shards", target, len(out.Shards))
		}
		for k, v := range putRandom(t, client, stream, rng, 200) {
			want[k] = v
		}
	}

	got := kinesistest.ReadAll(t, client, stream)
	checkRecords(t, got, want)
	// Every record sits on a shard whose range holds its hash key.
	byID := map[string]*kinesis.Shard{}
	for _, sh := range shards {
		byID[aws.StringValue(sh.ShardId)] = sh
	}
	for _, r := range got {
		sh := byID[r.ShardID]
		if sh == nil || !inRange(sh, kinesistest.HashKey(r.PartitionKey)) {
			t.Errorf("record %q stored on %s, outside its hash key range", r.PartitionKey, r.ShardID)
		}
	}
}

// checkCoverage checks that the open shards' hash key ranges cover
// 0..2^128-1 without gaps or overlaps.
func checkCoverage(t *testing.T, open []*kinesis.Shard) {
	t.Helper()
	type rng struct{ lo, hi *big.Int }
	var rs []rng
	for _, sh := range open {
		lo, _ := new(big.Int).SetString(aws.StringValue(sh.HashKeyRange.StartingHashKey), 10)
		hi, _ := new(big.Int).SetString(aws.StringValue(sh.HashKeyRange.EndingHashKey), 10)
		if lo == nil || hi == nil {
			t.Fatalf("shard %s has an invalid hash key range", aws.StringValue(sh.ShardId))
		}
		rs = append(rs, rng{lo, hi})
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].lo.Cmp(rs[j].lo) < 0 })
	next := big.NewInt(0)
	for _, r := range rs {
		if r.lo.Cmp(next) != 0 {
			t.Fatalf("open shards: range starts at %s, want %s", r.lo, next)
		}
		next = new(big.Int).Add(r.hi, big.NewInt(1))
	}
	if max := new(big.Int).Lsh(big.NewInt(1), 128); next.Cmp(max) != 0 {
		t.Fatalf("open shards end at %s, want 2^128-1", new(big.Int).Sub(next, big.NewInt(1)))
	}
}

func inRange(sh *kinesis.Shard, h *big.Int) bool {
	lo, _ := new(big.Int).SetString(aws.StringValue(sh.HashKeyRange.StartingHashKey), 10)
	hi, _ := new(big.Int).SetString(aws.StringValue(sh.HashKeyRange.EndingHashKey), 10)
	return lo != nil && hi != nil && h.Cmp(lo) >= 0 && h.Cmp(hi) <= 0
}
