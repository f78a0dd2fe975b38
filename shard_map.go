package producer

import (
	"context"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/request"
	"github.com/aws/aws-sdk-go/service/kinesis"
	"github.com/kplgo/producer/internal/engine"
)

// GetShardsFunc returns the stream's open shards. It is called with the
// shards it returned last time (nil the first time) and reports whether the
// list changed; when it did not, it may return nil shards. Each call is
// bounded by Config.ListShardsTimeout.
type GetShardsFunc func(old []*kinesis.Shard) ([]*kinesis.Shard, bool, error)

// ListShardsAPI is the call GetKinesisShardsFunc needs from a Kinesis client.
// *kinesis.Kinesis of aws-sdk-go (v1) satisfies it. A client that also has
// ListShardsWithContext (as *kinesis.Kinesis does) gets a time limit on
// each page.
type ListShardsAPI interface {
	ListShards(*kinesis.ListShardsInput) (*kinesis.ListShardsOutput, error)
}

// listShardsWithContext is the context-aware call of *kinesis.Kinesis.
type listShardsWithContext interface {
	ListShardsWithContext(aws.Context, *kinesis.ListShardsInput, ...request.Option) (*kinesis.ListShardsOutput, error)
}

// GetKinesisShardsFunc returns a GetShardsFunc that lists the open shards of
// streamName with ListShards, following every NextToken page (a request with a
// NextToken carries no StreamName, as the API requires). Closed shards (those
// with an ending sequence number) are left out and the rest sorted by hash
// range. It reports updated=false when the open shards are the same as old.
// streamName may also be a stream ARN (starting with "arn:"), which is then
// sent as StreamARN. When client has ListShardsWithContext, each listing
// gives up after DefaultListShardsTimeout.
func GetKinesisShardsFunc(client ListShardsAPI, streamName string) GetShardsFunc {
	return shardLister{client, streamName, DefaultListShardsTimeout}.list
}

// shardLister is the listing of GetKinesisShardsFunc.
type shardLister struct {
	client  ListShardsAPI
	stream  string
	timeout time.Duration
}

func (l shardLister) list(old []*kinesis.Shard) ([]*kinesis.Shard, bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	defer cancel()
	withCtx, _ := l.client.(listShardsWithContext)
	page := func(ctx context.Context, token string) ([]*kinesis.Shard, string, error) {
		input := &kinesis.ListShardsInput{NextToken: aws.String(token)}
		switch {
		case token != "":
		case strings.HasPrefix(l.stream, "arn:"):
			input = &kinesis.ListShardsInput{StreamARN: aws.String(l.stream)}
		default:
			input = &kinesis.ListShardsInput{StreamName: aws.String(l.stream)}
		}
		var out *kinesis.ListShardsOutput
		var err error
		if withCtx != nil {
			out, err = withCtx.ListShardsWithContext(ctx, input)
		} else {
			out, err = l.client.ListShards(input)
		}
		if err != nil {
			return nil, "", err
		}
		return out.Shards, aws.StringValue(out.NextToken), nil
	}
	shards, err := engine.ListOpenShards(ctx, l.stream, page, viewShard)
	if err != nil {
		return nil, false, err
	}
	if engine.SameShards(old, shards, viewShard) {
		return nil, false, nil
	}
	return shards, true, nil
}

// viewShard tells a v1 shard's id and range, and whether it is open (a nil
// shard is not).
func viewShard(s *kinesis.Shard) (engine.Shard, bool) {
	if s == nil {
		return engine.Shard{}, false
	}
	v := engine.Shard{ID: aws.StringValue(s.ShardId)}
	if r := s.HashKeyRange; r != nil {
		v.StartingHashKey, v.EndingHashKey = aws.StringValue(r.StartingHashKey), aws.StringValue(r.EndingHashKey)
	}
	return v, s.SequenceNumberRange == nil || s.SequenceNumberRange.EndingSequenceNumber == nil
}

// StaticGetShardsFunc returns a GetShardsFunc with count shards that split
// the hash key space in equal ranges, for tests and benchmarks. It reports an
// update only on its first call.
func StaticGetShardsFunc(count int) GetShardsFunc {
	return func(old []*kinesis.Shard) ([]*kinesis.Shard, bool, error) {
		list, err := engine.StaticShards(count)
		if err != nil || old != nil {
			return nil, false, err
		}
		shards := make([]*kinesis.Shard, len(list))
		for i, s := range list {
			shards[i] = &kinesis.Shard{
				ShardId: aws.String(s.ID),
				HashKeyRange: &kinesis.HashKeyRange{
					StartingHashKey: aws.String(s.StartingHashKey),
					EndingHashKey:   aws.String(s.EndingHashKey),
				},
				SequenceNumberRange: &kinesis.SequenceNumberRange{StartingSequenceNumber: aws.String("0")},
			}
		}
		return shards, true, nil
	}
}

// lister adapts f to the engine's ListShardsFunc. f takes no context, so
// it runs on a goroutine of its own: when ctx ends first, the listing fails
// with ctx's error and f's late answer is dropped.
func (f GetShardsFunc) lister() engine.ListShardsFunc {
	type answer struct {
		shards  []*kinesis.Shard
		changed bool
		err     error
	}
	bounded := func(ctx context.Context, old []*kinesis.Shard) ([]*kinesis.Shard, bool, error) {
		done := make(chan answer, 1)
		go func() {
			shards, changed, err := f(old)
			done <- answer{shards, changed, err}
		}()
		select {
		case a := <-done:
			return a.shards, a.changed, a.err
		case <-ctx.Done():
			return nil, false, context.Cause(ctx)
		}
	}
	return engine.Lister(bounded, viewShard)
}
