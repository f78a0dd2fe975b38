package sdkv2

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/kplgo/producer/internal/engine"
)

// GetShardsFunc returns the stream's open shards. It is called with the
// shards it returned last time (nil the first time) and reports whether the
// list changed; when it did not, it may return nil shards. ctx bounds the
// listing (Config.ListShardsTimeout, and Start's context for the first).
type GetShardsFunc func(ctx context.Context, old []types.Shard) ([]types.Shard, bool, error)

// GetKinesisShardsFunc returns a GetShardsFunc that lists the open shards of
// streamName with ListShards, following every NextToken page (a request with
// a NextToken carries no StreamName, as the API requires). Closed shards
// (those with an ending sequence number) are left out and the rest sorted by
// hash range. It reports changed=false when the open shards are the same as
// old. streamName may also be a stream ARN (starting with "arn:"), which is
// then sent as StreamARN.
func GetKinesisShardsFunc(client ShardLister, streamName string) GetShardsFunc {
	return func(ctx context.Context, old []types.Shard) ([]types.Shard, bool, error) {
		page := func(ctx context.Context, token string) ([]types.Shard, string, error) {
			input := &kinesis.ListShardsInput{NextToken: &token}
			switch {
			case token != "":
			case strings.HasPrefix(streamName, "arn:"):
				input = &kinesis.ListShardsInput{StreamARN: &streamName}
			default:
				input = &kinesis.ListShardsInput{StreamName: &streamName}
			}
			out, err := client.ListShards(ctx, input)
			if err != nil {
				return nil, "", err
			}
			return out.Shards, deref(out.NextToken), nil
		}
		shards, err := engine.ListOpenShards(ctx, streamName, page, viewShard)
		if err != nil {
			return nil, false, err
		}
		if engine.SameShards(old, shards, viewShard) {
			return nil, false, nil
		}
		return shards, true, nil
	}
}

// viewShard tells a v2 shard's id and range, and whether it is open.
func viewShard(s types.Shard) (engine.Shard, bool) {
	v := engine.Shard{ID: deref(s.ShardId)}
	if r := s.HashKeyRange; r != nil {
		v.StartingHashKey, v.EndingHashKey = deref(r.StartingHashKey), deref(r.EndingHashKey)
	}
	return v, s.SequenceNumberRange == nil || s.SequenceNumberRange.EndingSequenceNumber == nil
}

// StaticGetShardsFunc returns a GetShardsFunc with count shards that split
// the hash key space in equal ranges (the ranges of the root package's
// function), for tests and benchmarks. It reports a change only on its
// first call, and an error for a count below 1.
func StaticGetShardsFunc(count int) GetShardsFunc {
	return func(_ context.Context, old []types.Shard) ([]types.Shard, bool, error) {
		list, err := engine.StaticShards(count)
		if err == nil && count < 1 {
			err = fmt.Errorf("StaticGetShardsFunc: %d shards, need at least 1", count)
		}
		if err != nil || old != nil {
			return nil, false, err
		}
		shards := make([]types.Shard, len(list))
		for i, s := range list {
			zero := "0"
			shards[i] = types.Shard{
				ShardId:             &s.ID,
				HashKeyRange:        &types.HashKeyRange{StartingHashKey: &s.StartingHashKey, EndingHashKey: &s.EndingHashKey},
				SequenceNumberRange: &types.SequenceNumberRange{StartingSequenceNumber: &zero},
			}
		}
		return shards, true, nil
	}
}

// lister adapts f to the engine's ListShardsFunc.
func (f GetShardsFunc) lister() engine.ListShardsFunc { return engine.Lister(f, viewShard) }
