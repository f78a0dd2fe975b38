package producer

import (
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/kinesis"
	"github.com/kplgo/producer/internal/kinesistest"
)

// TestStaticOwnerAgreesWithShardForHashKey checks the fast owner against the
// big.Int lookup the integration tests use, on random and edge hash keys.
func TestStaticOwnerAgreesWithShardForHashKey(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, count := range []int{0, 1, 2, 3, 10, 64, 500} {
		o := newStaticOwner(count)
		var shards []*kinesis.Shard
		for i := range o.ids {
			start := big.NewInt(0)
			if i > 0 {
				start = new(big.Int).Add(bigOf(o.ends[i-1]), big.NewInt(1))
			}
			shards = append(shards, &kinesis.Shard{ShardId: aws.String(o.ids[i]), HashKeyRange: &kinesis.HashKeyRange{
				StartingHashKey: aws.String(start.String()), EndingHashKey: aws.String(bigOf(o.ends[i]).String())}})
		}
		top := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1))
		hashes := []*big.Int{big.NewInt(0), top}
		for _, s := range shards {
			end, _ := new(big.Int).SetString(*s.HashKeyRange.EndingHashKey, 10)
			hashes = append(hashes, end, new(big.Int).Add(end, big.NewInt(1)))
		}
		for range 200 {
			hashes = append(hashes, kinesistest.RandomHash(rng))
		}
		for _, h := range hashes {
			if h.Cmp(top) > 0 {
				continue
			}
			want := *kinesistest.ShardForHashKey(shards, h).ShardId
			if got := *o.Owner("ignored", h.String()); got != want {
				t.Fatalf("%d shards, hash %s: %s, want %s", count, h, got, want)
			}
		}
		for range 200 {
			key := kinesistest.RandomKey(rng)
			want := *kinesistest.ShardForHashKey(shards, kinesistest.HashKey(key)).ShardId
			if got := *o.Owner(key, ""); got != want {
				t.Fatalf("%d shards, key %q: %s, want %s", count, key, got, want)
			}
		}
	}
	for _, bad := range []string{"x", "-1", "340282366920938463463374607431768211456", "1e3"} {
		if _, ok := parseDecimal128(bad); ok {
			t.Errorf("parseDecimal128(%q) accepted", bad)
		}
	}
}

func bigOf(v uint128) *big.Int {
	return new(big.Int).Or(new(big.Int).Lsh(new(big.Int).SetUint64(v.hi), 64), new(big.Int).SetUint64(v.lo))
}
