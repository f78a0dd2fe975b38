package sdkv2

import (
	"math"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	v1kinesis "github.com/aws/aws-sdk-go/service/kinesis"
)

// The conversions copy every pointer field into a new variable, so that the
// v1 and v2 values share no pointers; record data ([]byte) is shared, not
// copied. A nil entry of a v1 list becomes a zero v2 entry, which keeps the
// positions of the entries (and the server rejects it as it would reject the
// v1 request).

// clone returns a pointer to a copy of *p, or nil.
func clone[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// putRecordsInputToV2 converts a v1 PutRecords request.
func putRecordsInputToV2(in *v1kinesis.PutRecordsInput) *kinesis.PutRecordsInput {
	if in == nil {
		return &kinesis.PutRecordsInput{}
	}
	out := &kinesis.PutRecordsInput{
		StreamName: clone(in.StreamName),
		StreamARN:  clone(in.StreamARN),
	}
	if in.Records != nil {
		out.Records = make([]types.PutRecordsRequestEntry, len(in.Records))
		for i, e := range in.Records {
			if e == nil {
				continue
			}
			out.Records[i] = types.PutRecordsRequestEntry{
				Data:            e.Data,
				PartitionKey:    clone(e.PartitionKey),
				ExplicitHashKey: clone(e.ExplicitHashKey),
			}
		}
	}
	return out
}

// putRecordsOutputToV1 converts a v2 PutRecords answer.
func putRecordsOutputToV1(in *kinesis.PutRecordsOutput) *v1kinesis.PutRecordsOutput {
	if in == nil {
		return nil
	}
	out := &v1kinesis.PutRecordsOutput{}
	if in.FailedRecordCount != nil {
		n := int64(*in.FailedRecordCount)
		out.FailedRecordCount = &n
	}
	if in.EncryptionType != "" {
		s := string(in.EncryptionType)
		out.EncryptionType = &s
	}
	if in.Records != nil {
		out.Records = make([]*v1kinesis.PutRecordsResultEntry, len(in.Records))
		for i := range in.Records {
			r := &in.Records[i]
			out.Records[i] = &v1kinesis.PutRecordsResultEntry{
				SequenceNumber: clone(r.SequenceNumber),
				ShardId:        clone(r.ShardId),
				ErrorCode:      clone(r.ErrorCode),
				ErrorMessage:   clone(r.ErrorMessage),
			}
		}
	}
	return out
}

// listShardsInputToV2 converts a v1 ListShards request. MaxResults beyond
// the range of an int32 is clamped to it (the server allows 1..10000, so the
// request stays as invalid as it was).
func listShardsInputToV2(in *v1kinesis.ListShardsInput) *kinesis.ListShardsInput {
	if in == nil {
		return &kinesis.ListShardsInput{}
	}
	out := &kinesis.ListShardsInput{
		StreamName:              clone(in.StreamName),
		StreamARN:               clone(in.StreamARN),
		NextToken:               clone(in.NextToken),
		ExclusiveStartShardId:   clone(in.ExclusiveStartShardId),
		StreamCreationTimestamp: clone(in.StreamCreationTimestamp),
	}
	if in.MaxResults != nil {
		n := int32(max(min(*in.MaxResults, math.MaxInt32), math.MinInt32))
		out.MaxResults = &n
	}
	if f := in.ShardFilter; f != nil {
		out.ShardFilter = &types.ShardFilter{
			ShardId:   clone(f.ShardId),
			Timestamp: clone(f.Timestamp),
		}
		if f.Type != nil {
			out.ShardFilter.Type = types.ShardFilterType(*f.Type)
		}
	}
	return out
}

// listShardsOutputToV1 converts a v2 ListShards answer.
func listShardsOutputToV1(in *kinesis.ListShardsOutput) *v1kinesis.ListShardsOutput {
	if in == nil {
		return nil
	}
	out := &v1kinesis.ListShardsOutput{NextToken: clone(in.NextToken)}
	if in.Shards != nil {
		out.Shards = make([]*v1kinesis.Shard, len(in.Shards))
		for i := range in.Shards {
			out.Shards[i] = shardToV1(&in.Shards[i])
		}
	}
	return out
}

// shardToV1 converts one shard of a ListShards answer.
func shardToV1(s *types.Shard) *v1kinesis.Shard {
	out := &v1kinesis.Shard{
		ShardId:               clone(s.ShardId),
		ParentShardId:         clone(s.ParentShardId),
		AdjacentParentShardId: clone(s.AdjacentParentShardId),
	}
	if r := s.HashKeyRange; r != nil {
		out.HashKeyRange = &v1kinesis.HashKeyRange{
			StartingHashKey: clone(r.StartingHashKey),
			EndingHashKey:   clone(r.EndingHashKey),
		}
	}
	if r := s.SequenceNumberRange; r != nil {
		out.SequenceNumberRange = &v1kinesis.SequenceNumberRange{
			StartingSequenceNumber: clone(r.StartingSequenceNumber),
			EndingSequenceNumber:   clone(r.EndingSequenceNumber),
		}
	}
	return out
}
