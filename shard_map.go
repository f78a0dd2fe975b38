package producer

import (
	"context"
	"fmt"
	"strings"
	"sync"
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
// the hash key space in equal ranges, for tests and benchmarks: shard i
// starts at i*((2^128-1)/count), the last one ends at 2^128-1, as in the
// established package. Every call returns the same shards, with updated
// false (the producer takes the first answer as the map whatever it says).
// A count of 0 gives no shards (a producer's Start then fails: leave
// GetShards nil for a producer without a shard map); a negative count an
// error.
func StaticGetShardsFunc(count int) GetShardsFunc {
	return func(old []*kinesis.Shard) ([]*kinesis.Shard, bool, error) {
		list, err := engine.StaticShards(count)
		if err != nil || len(list) == 0 {
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
		return shards, false, nil
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

// ShardLister is the established package's name for ListShardsAPI.
type ShardLister = ListShardsAPI

// ShardBucketError is the error ShardMap gives a user record whose hash
// (its explicit hash key, or the MD5 of its partition key) falls outside
// every shard of the map.
type ShardBucketError struct {
	UserRecord
}

// Error implements error.
func (e *ShardBucketError) Error() string {
	if hk := e.ExplicitHashKey(); hk != nil {
		return fmt.Sprintf("ExplicitHashKey outside shard key range: %s", hk.String())
	}
	return fmt.Sprintf("PartitionKey outside shard key range: %s", e.PartitionKey())
}

// ShardMap aggregates user records per shard, for code that builds its own
// PutRecords calls (the producer has its own shard map and does not need
// one): each user record goes to the Aggregator of the shard that owns its
// explicit hash key, or the MD5 of its partition key, and every aggregate
// holds only records of its shard and carries the shard's starting hash key
// as its explicit hash key, so a KCL consumer keeps all of its records.
// With no shards, one Aggregator takes every record and its aggregates
// carry no explicit hash key. A ShardMap is safe for concurrent use.
type ShardMap struct {
	sync.RWMutex // held by every method
	// shards are the shards as given, and aggregators their aggregators in
	// hash order (one without shards).
	shards              []*kinesis.Shard
	aggregators         []*Aggregator
	aggregateBatchCount int
	ranges              *engine.Ranges // nil without shards, or when err is set
	err                 error          // the shards could not be mapped
}

// NewShardMap returns a ShardMap of shards whose aggregates hold at most
// aggregateBatchCount user records each (and at most what fits the Kinesis
// record limit). Shards with overlapping or malformed hash key ranges make
// every Put fail with the error.
func NewShardMap(shards []*kinesis.Shard, aggregateBatchCount int) *ShardMap {
	m := &ShardMap{shards: shards, aggregateBatchCount: aggregateBatchCount}
	m.ranges, m.aggregators, m.err = mapShards(shards)
	return m
}

// mapShards returns the ranges of shards and an Aggregator for each, in
// hash order.
func mapShards(shards []*kinesis.Shard) (*engine.Ranges, []*Aggregator, error) {
	if len(shards) == 0 {
		return nil, []*Aggregator{NewAggregator(nil)}, nil
	}
	list := make([]engine.Shard, len(shards))
	for i, s := range shards {
		list[i], _ = viewShard(s)
	}
	r, err := engine.NewRanges(list)
	if err != nil {
		return nil, nil, fmt.Errorf("shard map: %w", err)
	}
	aggs := make([]*Aggregator, r.Len())
	for i := range aggs {
		start := r.StartingHashKey(i)
		aggs[i] = NewAggregator(&start)
	}
	return r, aggs, nil
}

// Put adds userRecord to the aggregator of its shard. When that aggregator
// already holds aggregateBatchCount records, or would grow past the Kinesis
// record limit, its aggregate is drained first and returned. A record
// outside every shard gives a *ShardBucketError, an explicit hash key
// outside 0..2^128-1 an error wrapping ErrIllegalExplicitHashKey; neither
// record is kept.
func (m *ShardMap) Put(userRecord UserRecord) (*AggregatedRecordRequest, error) {
	m.Lock()
	defer m.Unlock()
	if m.err != nil {
		return nil, m.err
	}
	return m.put(userRecord)
}

func (m *ShardMap) put(userRecord UserRecord) (*AggregatedRecordRequest, error) {
	i := 0
	if m.ranges != nil {
		var err error
		if i, err = m.ranges.Find(userRecord); err != nil {
			return nil, err
		}
		if i < 0 {
			return nil, &ShardBucketError{userRecord}
		}
	}
	a := m.aggregators[i]
	var drained *AggregatedRecordRequest
	if a.Count() >= m.aggregateBatchCount || a.WillOverflow(userRecord) {
		drained = a.drain(false)
	}
	a.Put(userRecord)
	return drained, nil
}

// Size returns the sum of the Size of the aggregators.
func (m *ShardMap) Size() int {
	m.Lock()
	defer m.Unlock()
	n := 0
	for _, a := range m.aggregators {
		n += a.Size()
	}
	return n
}

// Drain returns the aggregates of every aggregator that holds records, in
// hash order, and empties them. The errors are always nil; they are there
// for the established signature.
func (m *ShardMap) Drain() ([]*AggregatedRecordRequest, []error) {
	m.Lock()
	defer m.Unlock()
	var out []*AggregatedRecordRequest
	for _, a := range m.aggregators {
		if r := a.drain(false); r != nil {
			out = append(out, r)
		}
	}
	return out, nil
}

// UpdateShards calls getShards with the current shards and, when it
// reports an update, moves every buffered user record, in order, to the
// aggregator of its shard in the new map. It returns the aggregates that
// filled up on the way. When getShards fails, or a record has no shard in
// the new map, the map and its records stay as they were and the error is
// returned: no record is lost or duplicated.
func (m *ShardMap) UpdateShards(getShards GetShardsFunc) ([]*AggregatedRecordRequest, error) {
	m.Lock()
	defer m.Unlock()
	shards, updated, err := getShards(m.shards)
	if err != nil || !updated {
		return nil, err
	}
	next := &ShardMap{shards: shards, aggregateBatchCount: m.aggregateBatchCount}
	if next.ranges, next.aggregators, err = mapShards(shards); err != nil {
		return nil, err
	}
	var drained []*AggregatedRecordRequest
	for _, a := range m.aggregators {
		for _, u := range a.b.Records() {
			d, err := next.put(u)
			if err != nil {
				return nil, err
			}
			if d != nil {
				drained = append(drained, d)
			}
		}
	}
	// The old aggregators are dropped whole: their records are all in next.
	m.shards, m.aggregators, m.ranges, m.err = next.shards, next.aggregators, next.ranges, nil
	return drained, nil
}
