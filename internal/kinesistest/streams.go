package kinesistest

import (
	"context"
	"crypto/md5"
	"fmt"
	"math/big"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/request"
	"github.com/aws/aws-sdk-go/service/kinesis"
	"github.com/aws/aws-sdk-go/service/kinesis/kinesisiface"

	"github.com/kplgo/producer/internal/kinesistest/shardread"
)

const (
	// helperTimeout bounds each helper's work (create, wait, read).
	helperTimeout = 60 * time.Second

	// pollDelay is how often the helpers poll the stream status.
	pollDelay = 20 * time.Millisecond

	// readLimit is the GetRecords limit used by ReadAll (the API maximum).
	readLimit = 10000

	// maxStreamName is the longest stream name Kinesis accepts.
	maxStreamName = 128
)

var streamCounter atomic.Int64

// Record is a record read back from a stream.
type Record struct {
	ShardID        string
	SequenceNumber string
	PartitionKey   string
	Data           []byte
}

// StreamName returns a unique, valid stream name derived from the test name.
func StreamName(tb testing.TB) string {
	tb.Helper()
	suffix := fmt.Sprintf("-%d", streamCounter.Add(1))
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.', r == '-':
			return r
		default:
			return '-'
		}
	}, tb.Name())
	if max := maxStreamName - len(suffix); len(name) > max {
		name = name[len(name)-max:] // the end of a subtest name is the distinctive part
	}
	return name + suffix
}

// CreateStream creates a stream with the given number of shards and a unique
// name derived from the test name, waits until it is ACTIVE and returns its
// name. The stream is deleted when the test finishes.
func (s *Server) CreateStream(tb testing.TB, shards int) string {
	tb.Helper()
	name := StreamName(tb)
	ctx, cancel := context.WithTimeout(context.Background(), helperTimeout)
	defer cancel()
	_, err := s.admin.CreateStreamWithContext(ctx, &kinesis.CreateStreamInput{
		StreamName: aws.String(name),
		ShardCount: aws.Int64(int64(shards)),
	})
	if err != nil {
		tb.Fatalf("kinesistest: create stream %s with %d shards: %v", name, shards, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), helperTimeout)
		defer cancel()
		_, err := s.admin.DeleteStreamWithContext(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String(name)})
		if err != nil {
			tb.Logf("kinesistest: delete stream %s: %v", name, err)
		}
	})
	WaitActive(tb, s.admin, name)
	return name
}

// WaitActive waits until the stream is ACTIVE, polling quickly.
func WaitActive(tb testing.TB, client kinesisiface.KinesisAPI, stream string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), helperTimeout)
	defer cancel()
	err := client.WaitUntilStreamExistsWithContext(ctx,
		&kinesis.DescribeStreamInput{StreamName: aws.String(stream)},
		request.WithWaiterDelay(request.ConstantWaiterDelay(pollDelay)),
		request.WithWaiterMaxAttempts(int(helperTimeout/pollDelay)),
	)
	if err != nil {
		tb.Fatalf("kinesistest: wait for stream %s to become ACTIVE: %v", stream, err)
	}
}

// Shards returns all shards of the stream, open and closed, in the order the
// server lists them.
func Shards(tb testing.TB, client kinesisiface.KinesisAPI, stream string) []*kinesis.Shard {
	tb.Helper()
	shards, err := listShards(client, stream)
	if err != nil {
		tb.Fatalf("kinesistest: %v", err)
	}
	return shards
}

// ListAllShards returns all shards of the stream, open and closed, in the
// order the server lists them. It is Shards for programs, which get the
// error instead of a failed test.
func ListAllShards(client kinesisiface.KinesisAPI, stream string) ([]*kinesis.Shard, error) {
	return listShards(client, stream)
}

func listShards(client kinesisiface.KinesisAPI, stream string) ([]*kinesis.Shard, error) {
	ctx, cancel := context.WithTimeout(context.Background(), helperTimeout)
	defer cancel()
	// kinesalite answers with every shard at once and never returns a
	// NextToken (and fails on a request carrying only one); the loop only
	// matters against a server that pages.
	in := &kinesis.ListShardsInput{StreamName: aws.String(stream), MaxResults: aws.Int64(10000)}
	var shards []*kinesis.Shard
	for {
		out, err := client.ListShardsWithContext(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list shards of %s: %w", stream, err)
		}
		shards = append(shards, out.Shards...)
		if aws.StringValue(out.NextToken) == "" {
			return shards, nil
		}
		in = &kinesis.ListShardsInput{NextToken: out.NextToken, MaxResults: aws.Int64(10000)}
	}
}

// OpenShards returns the shards that still accept records (those without an
// ending sequence number).
func OpenShards(shards []*kinesis.Shard) []*kinesis.Shard {
	var open []*kinesis.Shard
	for _, sh := range shards {
		if sh.SequenceNumberRange == nil || sh.SequenceNumberRange.EndingSequenceNumber == nil {
			open = append(open, sh)
		}
	}
	return open
}

// HashKey returns the hash key Kinesis derives from a partition key: the MD5
// digest read as a 128-bit unsigned integer.
func HashKey(partitionKey string) *big.Int {
	sum := md5.Sum([]byte(partitionKey))
	return new(big.Int).SetBytes(sum[:])
}

// ShardForHashKey returns the open shard whose hash key range contains
// hashKey, or nil.
func ShardForHashKey(shards []*kinesis.Shard, hashKey *big.Int) *kinesis.Shard {
	for _, sh := range OpenShards(shards) {
		lo, okLo := new(big.Int).SetString(aws.StringValue(sh.HashKeyRange.StartingHashKey), 10)
		hi, okHi := new(big.Int).SetString(aws.StringValue(sh.HashKeyRange.EndingHashKey), 10)
		if okLo && okHi && hashKey.Cmp(lo) >= 0 && hashKey.Cmp(hi) <= 0 {
			return sh
		}
	}
	return nil
}

// ReadAll reads every record of every shard of the stream, including closed
// parent shards left by splits and merges, starting at TRIM_HORIZON. Records
// are grouped by shard in the order Shards lists them, and ordered by
// sequence number within a shard. It fails the test if reading fails or does
// not end.
func ReadAll(tb testing.TB, client kinesisiface.KinesisAPI, stream string) []Record {
	tb.Helper()
	recs, err := ReadStream(client, stream)
	if err != nil {
		tb.Fatalf("kinesistest: %v", err)
	}
	return recs
}

// ReadStream reads the stream as ReadAll does, for programs: it returns an
// error instead of failing a test.
func ReadStream(client kinesisiface.KinesisAPI, stream string) ([]Record, error) {
	shards, err := listShards(client, stream)
	if err != nil {
		return nil, err
	}
	var all []Record
	for _, sh := range shards {
		closed := sh.SequenceNumberRange != nil && sh.SequenceNumberRange.EndingSequenceNumber != nil
		recs, err := readShard(client, stream, aws.StringValue(sh.ShardId), closed)
		if err != nil {
			return nil, err
		}
		all = append(all, recs...)
	}
	return all, nil
}

// readShard reads one shard from TRIM_HORIZON until it has nothing more (see
// shardread.Drain).
func readShard(client kinesisiface.KinesisAPI, stream, shardID string, closed bool) ([]Record, error) {
	ctx, cancel := context.WithTimeout(context.Background(), helperTimeout)
	defer cancel()
	it, err := client.GetShardIteratorWithContext(ctx, &kinesis.GetShardIteratorInput{
		StreamName:        aws.String(stream),
		ShardId:           aws.String(shardID),
		ShardIteratorType: aws.String(kinesis.ShardIteratorTypeTrimHorizon),
	})
	if err != nil {
		return nil, fmt.Errorf("get TRIM_HORIZON iterator for %s/%s: %w", stream, shardID, err)
	}
	return shardread.Drain(stream+"/"+shardID, it.ShardIterator, closed, func(iter *string) (shardread.Page[Record], error) {
		out, err := client.GetRecordsWithContext(ctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int64(readLimit)})
		if err != nil {
			return shardread.Page[Record]{}, err
		}
		page := shardread.Page[Record]{NextIterator: out.NextShardIterator, MillisBehindLatest: aws.Int64Value(out.MillisBehindLatest)}
		for _, r := range out.Records {
			page.Records = append(page.Records, Record{
				ShardID:        shardID,
				SequenceNumber: aws.StringValue(r.SequenceNumber),
				PartitionKey:   aws.StringValue(r.PartitionKey),
				Data:           r.Data,
			})
		}
		return page, nil
	})
}

// SplitShard splits the shard in the middle of its hash key range, waits
// until the stream is ACTIVE again and returns the stream's shards.
func SplitShard(tb testing.TB, client kinesisiface.KinesisAPI, stream, shardID string) []*kinesis.Shard {
	tb.Helper()
	var shard *kinesis.Shard
	for _, sh := range Shards(tb, client, stream) {
		if aws.StringValue(sh.ShardId) == shardID {
			shard = sh
		}
	}
	if shard == nil {
		tb.Fatalf("kinesistest: split: stream %s has no shard %s", stream, shardID)
	}
	lo, _ := new(big.Int).SetString(aws.StringValue(shard.HashKeyRange.StartingHashKey), 10)
	hi, _ := new(big.Int).SetString(aws.StringValue(shard.HashKeyRange.EndingHashKey), 10)
	if lo == nil || hi == nil {
		tb.Fatalf("kinesistest: split: shard %s has an invalid hash key range", shardID)
	}
	mid := new(big.Int).Add(lo, hi)
	mid.Rsh(mid, 1)

	ctx, cancel := context.WithTimeout(context.Background(), helperTimeout)
	defer cancel()
	_, err := client.SplitShardWithContext(ctx, &kinesis.SplitShardInput{
		StreamName:         aws.String(stream),
		ShardToSplit:       aws.String(shardID),
		NewStartingHashKey: aws.String(mid.String()),
	})
	if err != nil {
		tb.Fatalf("kinesistest: split shard %s of %s at %s: %v", shardID, stream, mid, err)
	}
	WaitActive(tb, client, stream)
	return Shards(tb, client, stream)
}

// MergeShards merges two adjacent shards, waits until the stream is ACTIVE
// again and returns the stream's shards.
func MergeShards(tb testing.TB, client kinesisiface.KinesisAPI, stream, shardID, adjacentShardID string) []*kinesis.Shard {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), helperTimeout)
	defer cancel()
	_, err := client.MergeShardsWithContext(ctx, &kinesis.MergeShardsInput{
		StreamName:           aws.String(stream),
		ShardToMerge:         aws.String(shardID),
		AdjacentShardToMerge: aws.String(adjacentShardID),
	})
	if err != nil {
		tb.Fatalf("kinesistest: merge shards %s and %s of %s: %v", shardID, adjacentShardID, stream, err)
	}
	WaitActive(tb, client, stream)
	return Shards(tb, client, stream)
}
