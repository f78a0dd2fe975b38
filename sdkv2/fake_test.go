package sdkv2_test

import (
	"context"
	"crypto/md5"
	"fmt"
	"io"
	"log"
	"math/big"
	nethttp "net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/kplgo/producer/deaggregator"
	"github.com/kplgo/producer/sdkv2"
)

// sentRecord is a copy of one entry of a PutRecords request.
type sentRecord struct {
	PartitionKey    string
	ExplicitHashKey string
	Data            []byte
}

// userRecords returns the user records r carries (r itself when it is not
// an aggregate).
func (r sentRecord) userRecords(tb testing.TB) []deaggregator.Record {
	tb.Helper()
	recs, err := deaggregator.Deaggregate(r.Data, r.PartitionKey, r.ExplicitHashKey)
	if err != nil {
		tb.Errorf("deaggregate a record of key %q: %v", r.PartitionKey, err)
	}
	return recs
}

// putCall is a copy of one PutRecords request.
type putCall struct {
	StreamName, StreamARN *string
	Records               []sentRecord
}

// fakeKinesis is a v2 client (a Putter and a ShardLister) that answers like
// Kinesis. Every PutRecords request is copied (the producer reuses its
// memory once the call returns) and handed to answer, which may fail the
// call or some entries; a nil answer, or a nil output, acknowledges every
// entry. Acknowledged entries get a sequence number of their own, and, when
// shards is set, the id of the shard that owns their hash key (the explicit
// hash key, else the MD5 of the partition key), as Kinesis gives them.
// Without shards they name shardId-000000000000, unless answer named one.
type fakeKinesis struct {
	shards []types.Shard
	answer func(call int, recs []sentRecord) (*kinesis.PutRecordsOutput, error)

	mu    sync.Mutex
	calls []putCall
	acked []sentRecord
	seq   int
}

func (f *fakeKinesis) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	recs := make([]sentRecord, len(in.Records))
	for i, e := range in.Records {
		recs[i] = sentRecord{aws.ToString(e.PartitionKey), aws.ToString(e.ExplicitHashKey), append([]byte(nil), e.Data...)}
	}
	f.mu.Lock()
	f.calls = append(f.calls, putCall{copyString(in.StreamName), copyString(in.StreamARN), recs})
	call := len(f.calls)
	f.mu.Unlock()

	var out *kinesis.PutRecordsOutput
	if f.answer != nil {
		var err error
		if out, err = f.answer(call, recs); err != nil {
			return nil, err
		}
	}
	if out == nil {
		out = &kinesis.PutRecordsOutput{Records: make([]types.PutRecordsResultEntry, len(recs))}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	failed := int32(0)
	for i := range out.Records {
		r := &out.Records[i]
		if r.ErrorCode != nil {
			failed++
			continue
		}
		if i >= len(recs) {
			continue // a broken answer, for the test that wants one
		}
		if r.ShardId == nil {
			r.ShardId = aws.String("shardId-000000000000")
			if f.shards != nil {
				r.ShardId = aws.String(shardOf(f.shards, recs[i].PartitionKey, recs[i].ExplicitHashKey))
			}
		}
		if r.SequenceNumber == nil {
			f.seq++
			r.SequenceNumber = aws.String(fmt.Sprintf("%056d", f.seq))
		}
		f.acked = append(f.acked, recs[i])
	}
	out.FailedRecordCount = aws.Int32(failed)
	return out, nil
}

// ListShards serves f.shards in pages of two, as Kinesis pages them with a
// NextToken.
func (f *fakeKinesis) ListShards(ctx context.Context, in *kinesis.ListShardsInput, _ ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error) {
	start := 0
	if in.NextToken != nil {
		if _, err := fmt.Sscan(*in.NextToken, &start); err != nil {
			return nil, err
		}
	}
	end := min(start+2, len(f.shards))
	out := &kinesis.ListShardsOutput{Shards: f.shards[start:end]}
	if end < len(f.shards) {
		out.NextToken = aws.String(fmt.Sprint(end))
	}
	return out, nil
}

// putCalls returns the requests made so far.
func (f *fakeKinesis) putCalls() []putCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]putCall(nil), f.calls...)
}

// delivered returns the user records of every acknowledged entry.
func (f *fakeKinesis) delivered(tb testing.TB) []deaggregator.Record {
	tb.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	var all []deaggregator.Record
	for _, r := range f.acked {
		all = append(all, r.userRecords(tb)...)
	}
	return all
}

// ackAll answers every entry of recs with success, naming no shard (the
// fake fills it in).
func ackAll(recs []sentRecord) *kinesis.PutRecordsOutput {
	return &kinesis.PutRecordsOutput{Records: make([]types.PutRecordsResultEntry, len(recs))}
}

func copyString(s *string) *string {
	if s == nil {
		return nil
	}
	c := *s
	return &c
}

// staticShards returns the shards of sdkv2.StaticGetShardsFunc(n).
func staticShards(tb testing.TB, n int) []types.Shard {
	tb.Helper()
	shards, _, err := sdkv2.StaticGetShardsFunc(n)(context.Background(), nil)
	if err != nil {
		tb.Fatal(err)
	}
	return shards
}

// hashOf returns the hash key Kinesis places a record by: its explicit hash
// key, else the MD5 of its partition key as a big-endian 128-bit integer.
func hashOf(key, explicitHashKey string) *big.Int {
	if h, ok := new(big.Int).SetString(explicitHashKey, 10); ok {
		return h
	}
	sum := md5.Sum([]byte(key))
	return new(big.Int).SetBytes(sum[:])
}

// shardOf returns the id of the shard of shards that owns the hash key of
// a record, or "".
func shardOf(shards []types.Shard, key, explicitHashKey string) string {
	h := hashOf(key, explicitHashKey)
	for _, s := range shards {
		lo, ok1 := new(big.Int).SetString(aws.ToString(s.HashKeyRange.StartingHashKey), 10)
		hi, ok2 := new(big.Int).SetString(aws.ToString(s.HashKeyRange.EndingHashKey), 10)
		if ok1 && ok2 && h.Cmp(lo) >= 0 && h.Cmp(hi) <= 0 {
			return aws.ToString(s.ShardId)
		}
	}
	return ""
}

// operationError wraps apiErr the way the v2 client does for an error
// answer: an OperationError around an HTTP ResponseError (with the status
// code and request id) around the API error.
func operationError(op string, status int, requestID string, apiErr error) error {
	return &smithy.OperationError{
		ServiceID:     "Kinesis",
		OperationName: op,
		Err: &awshttp.ResponseError{
			ResponseError: &smithyhttp.ResponseError{
				Response: &smithyhttp.Response{Response: &nethttp.Response{StatusCode: status}},
				Err:      apiErr,
			},
			RequestID: requestID,
		},
	}
}

// sendError wraps err the way the v2 client does when the request could not
// be sent or its answer not read (a network failure).
func sendError(op string, err error) error {
	return &smithy.OperationError{ServiceID: "Kinesis", OperationName: op, Err: &smithyhttp.RequestSendError{Err: err}}
}

// quietLogger is a Logger that discards every line.
func quietLogger() sdkv2.Logger { return sdkv2.Standard(log.New(io.Discard, "", 0)) }

// testConfig is a Config for client with quick flushes and retries.
func testConfig(client sdkv2.Putter) *sdkv2.Config {
	return &sdkv2.Config{
		StreamName:      "stream",
		Client:          client,
		FlushInterval:   20 * time.Millisecond,
		RetryBackoffMin: time.Millisecond,
		RetryBackoffMax: 2 * time.Millisecond,
		Logger:          quietLogger(),
	}
}

// results collects everything that comes out of a producer's channels until
// they are closed.
type results struct {
	failures  []*sdkv2.FailureRecord
	successes []*sdkv2.SuccessRecord
	done      chan struct{}
}

// collect reads the failures and, when asked, the successes of p. Call it
// before Start; wait for the results after Stop.
func collect(p *sdkv2.Producer, successes bool) *results {
	r := &results{done: make(chan struct{})}
	fch := p.NotifyFailures()
	var sch <-chan *sdkv2.SuccessRecord
	if successes {
		sch = p.NotifySuccesses()
	}
	go func() {
		defer close(r.done)
		for fch != nil || sch != nil {
			select {
			case f, ok := <-fch:
				if !ok {
					fch = nil
					continue
				}
				r.failures = append(r.failures, f)
			case s, ok := <-sch:
				if !ok {
					sch = nil
					continue
				}
				r.successes = append(r.successes, s)
			}
		}
	}()
	return r
}

// wait waits until the channels are closed (Stop closes them).
func (r *results) wait(tb testing.TB) *results {
	tb.Helper()
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		tb.Fatal("the producer's channels were not closed within 10s of Stop")
	}
	return r
}
