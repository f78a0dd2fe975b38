package producer

import (
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/kinesis"
)

// GetShardsFunc returns the stream's open shards. It is called with the
// shards it returned last time (nil the first time) and reports whether the
// list changed; when it did not, it may return nil shards.
type GetShardsFunc func(old []*kinesis.Shard) ([]*kinesis.Shard, bool, error)

// ListShardsAPI is the call GetKinesisShardsFunc needs from a Kinesis client.
// *kinesis.Kinesis of aws-sdk-go (v1) satisfies it.
type ListShardsAPI interface {
	ListShards(*kinesis.ListShardsInput) (*kinesis.ListShardsOutput, error)
}

// GetKinesisShardsFunc returns a GetShardsFunc that lists the open shards of
// streamName with ListShards, following every NextToken page (a request with a
// NextToken carries no StreamName, as the API requires). Closed shards (those
// with an ending sequence number) are left out and the rest sorted by hash
// range. It reports updated=false when the open shards are the same as old.
// streamName may also be a stream ARN (starting with "arn:"), which is then
// sent as StreamARN.
func GetKinesisShardsFunc(client ListShardsAPI, streamName string) GetShardsFunc {
	return func(old []*kinesis.Shard) ([]*kinesis.Shard, bool, error) {
		var shards []*kinesis.Shard
		input := &kinesis.ListShardsInput{StreamName: aws.String(streamName)}
		if strings.HasPrefix(streamName, "arn:") {
			input = &kinesis.ListShardsInput{StreamARN: aws.String(streamName)}
		}
		for page := 0; ; page++ {
			out, err := client.ListShards(input)
			if err != nil {
				return nil, false, fmt.Errorf("ListShards of stream %s (page %d): %w", streamName, page+1, err)
			}
			for _, s := range out.Shards {
				if s == nil || (s.SequenceNumberRange != nil && s.SequenceNumberRange.EndingSequenceNumber != nil) {
					continue
				}
				shards = append(shards, s)
			}
			if out.NextToken == nil || *out.NextToken == "" {
				break
			}
			input = &kinesis.ListShardsInput{NextToken: out.NextToken}
		}
		if err := sortShards(shards); err != nil {
			return nil, false, fmt.Errorf("ListShards of stream %s: %w", streamName, err)
		}
		if sameShards(old, shards) {
			return nil, false, nil
		}
		return shards, true, nil
	}
}

// StaticGetShardsFunc returns a GetShardsFunc with count shards that split
// the hash key space in equal ranges, for tests and benchmarks. It reports an
// update only on its first call.
func StaticGetShardsFunc(count int) GetShardsFunc {
	return func(old []*kinesis.Shard) ([]*kinesis.Shard, bool, error) {
		if count < 1 {
			return nil, false, fmt.Errorf("StaticGetShardsFunc: %d shards, need at least 1", count)
		}
		if old != nil {
			return nil, false, nil
		}
		space := new(big.Int).Lsh(big.NewInt(1), 128)
		step := new(big.Int).Div(space, big.NewInt(int64(count)))
		shards := make([]*kinesis.Shard, count)
		for i := range shards {
			start := new(big.Int).Mul(step, big.NewInt(int64(i)))
			end := new(big.Int).Add(start, step)
			if i == count-1 {
				end = space
			}
			end.Sub(end, big.NewInt(1))
			shards[i] = &kinesis.Shard{
				ShardId: aws.String(fmt.Sprintf("shardId-%012d", i)),
				HashKeyRange: &kinesis.HashKeyRange{
					StartingHashKey: aws.String(start.String()),
					EndingHashKey:   aws.String(end.String()),
				},
				SequenceNumberRange: &kinesis.SequenceNumberRange{StartingSequenceNumber: aws.String("0")},
			}
		}
		return shards, true, nil
	}
}

// sortShards orders shards by their starting hash key.
func sortShards(shards []*kinesis.Shard) error {
	starts := make(map[*kinesis.Shard]hash128, len(shards))
	for _, s := range shards {
		if s.HashKeyRange == nil {
			return fmt.Errorf("shard %s has no hash key range", aws.StringValue(s.ShardId))
		}
		h, err := parseHash(aws.StringValue(s.HashKeyRange.StartingHashKey))
		if err != nil {
			return fmt.Errorf("shard %s: %w", aws.StringValue(s.ShardId), err)
		}
		starts[s] = h
	}
	sort.SliceStable(shards, func(i, j int) bool { return starts[shards[i]].less(starts[shards[j]]) })
	return nil
}

// sameShards reports whether a and b hold the same shards with the same ranges.
func sameShards(a, b []*kinesis.Shard) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if aws.StringValue(a[i].ShardId) != aws.StringValue(b[i].ShardId) ||
			aws.StringValue(a[i].HashKeyRange.StartingHashKey) != aws.StringValue(b[i].HashKeyRange.StartingHashKey) ||
			aws.StringValue(a[i].HashKeyRange.EndingHashKey) != aws.StringValue(b[i].HashKeyRange.EndingHashKey) {
			return false
		}
	}
	return true
}

// shardMap is an immutable snapshot of the open shards, sorted by hash range,
// for lookups of a 128-bit hash by binary search on two uint64s.
type shardMap struct {
	shards    []*kinesis.Shard
	ids       []string
	starts    []hash128
	ends      []hash128
	startKeys []string       // decimal StartingHashKey: the outer hash key of an aggregate
	index     map[string]int // shard id -> index
	gen       uint64
}

// newShardMap builds a map from shards; the ranges must not overlap.
func newShardMap(shards []*kinesis.Shard, gen uint64) (*shardMap, error) {
	shards = append([]*kinesis.Shard(nil), shards...)
	if err := sortShards(shards); err != nil {
		return nil, err
	}
	m := &shardMap{
		shards:    shards,
		ids:       make([]string, len(shards)),
		starts:    make([]hash128, len(shards)),
		ends:      make([]hash128, len(shards)),
		startKeys: make([]string, len(shards)),
		index:     make(map[string]int, len(shards)),
		gen:       gen,
	}
	for i, s := range shards {
		start, err := parseHash(aws.StringValue(s.HashKeyRange.StartingHashKey))
		if err != nil {
			return nil, fmt.Errorf("shard %s: %w", aws.StringValue(s.ShardId), err)
		}
		end, err := parseHash(aws.StringValue(s.HashKeyRange.EndingHashKey))
		if err != nil {
			return nil, fmt.Errorf("shard %s: %w", aws.StringValue(s.ShardId), err)
		}
		if end.less(start) {
			return nil, fmt.Errorf("shard %s: ending hash key below starting hash key", aws.StringValue(s.ShardId))
		}
		if i > 0 && !m.ends[i-1].less(start) {
			return nil, fmt.Errorf("shards %s and %s overlap", m.ids[i-1], aws.StringValue(s.ShardId))
		}
		m.ids[i] = aws.StringValue(s.ShardId)
		m.starts[i], m.ends[i] = start, end
		m.startKeys[i] = aws.StringValue(s.HashKeyRange.StartingHashKey)
		m.index[m.ids[i]] = i
	}
	return m, nil
}

// find returns the index of the shard whose range holds h, or -1 when h
// falls in a gap between the known shards.
func (m *shardMap) find(h hash128) int {
	ends := m.ends
	lo, hi := 0, len(ends)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if ends[mid].less(h) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == len(ends) || h.less(m.starts[lo]) {
		return -1
	}
	return lo
}

// indexOf returns the index in m of shard i of old when m has that shard
// with the same hash range, or -1. Shard ids never change range in
// Kinesis; a test's maps may reuse them.
func (m *shardMap) indexOf(old *shardMap, i int) int {
	j, ok := m.index[old.ids[i]]
	if !ok || m.starts[j] != old.starts[i] || m.ends[j] != old.ends[i] {
		return -1
	}
	return j
}
