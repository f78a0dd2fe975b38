package sdkv2_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go/aws/awserr"
	v1kinesis "github.com/aws/aws-sdk-go/service/kinesis"
	"github.com/aws/smithy-go"

	producer "github.com/kplgo/producer"
	"github.com/kplgo/producer/deaggregator"
	"github.com/kplgo/producer/sdkv2"
)

// exampleStream stands in for a v2 *kinesis.Client: a stream of one shard
// that keeps what it is sent.
type exampleStream struct {
	mu      sync.Mutex
	records []types.PutRecordsRequestEntry
}

func (s *exampleStream) PutRecords(_ context.Context, in *kinesis.PutRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := &kinesis.PutRecordsOutput{FailedRecordCount: aws.Int32(0)}
	for _, e := range in.Records {
		s.records = append(s.records, e)
		out.Records = append(out.Records, types.PutRecordsResultEntry{
			ShardId:        aws.String("shardId-000000000000"),
			SequenceNumber: aws.String(fmt.Sprint(len(s.records))),
		})
	}
	return out, nil
}

func (s *exampleStream) ListShards(context.Context, *kinesis.ListShardsInput, ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error) {
	return &kinesis.ListShardsOutput{Shards: []types.Shard{{
		ShardId:             aws.String("shardId-000000000000"),
		HashKeyRange:        &types.HashKeyRange{StartingHashKey: aws.String("0"), EndingHashKey: aws.String("340282366920938463463374607431768211455")},
		SequenceNumberRange: &types.SequenceNumberRange{StartingSequenceNumber: aws.String("1")},
	}}}, nil
}

// A producer writing through an aws-sdk-go-v2 client. With a real client,
// client would be kinesis.NewFromConfig(cfg).
func Example() {
	client := &exampleStream{}
	p := producer.New(&producer.Config{
		StreamName: "events",
		Client:     sdkv2.New(client),
		GetShards:  sdkv2.GetShards(client, "events"),
		Logger:     producer.Standard(log.New(io.Discard, "", 0)),
	})
	if err := p.Start(); err != nil {
		fmt.Println("start:", err)
		return
	}
	for _, user := range []string{"alice", "bob", "carol"} {
		if err := p.Put([]byte("hello "+user), user); err != nil {
			fmt.Println("put:", err)
		}
	}
	p.Stop()

	for _, r := range client.records {
		users, err := deaggregator.Deaggregate(r.Data, aws.ToString(r.PartitionKey), aws.ToString(r.ExplicitHashKey))
		if err != nil {
			fmt.Println("deaggregate:", err)
			return
		}
		fmt.Printf("one Kinesis record with %d user records:\n", len(users))
		for _, u := range users {
			fmt.Printf("  %s: %s\n", u.PartitionKey, u.Data)
		}
	}
	// Output:
	// one Kinesis record with 3 user records:
	//   alice: hello alice
	//   bob: hello bob
	//   carol: hello carol
}

// throttledClient answers every PutRecords as Kinesis does when the shard is
// over its limit.
type throttledClient struct{ exampleStream }

func (*throttledClient) PutRecords(context.Context, *kinesis.PutRecordsInput, ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	return nil, &smithy.OperationError{
		ServiceID:     "Kinesis",
		OperationName: "PutRecords",
		Err:           &types.ProvisionedThroughputExceededException{Message: aws.String("Rate exceeded")},
	}
}

// An error of the v2 client comes out as a v1 awserr.Error with the same
// code, and still holds the v2 error.
func ExampleNew() {
	a := sdkv2.New(&throttledClient{})
	_, err := a.PutRecords(&v1kinesis.PutRecordsInput{})

	var ae awserr.Error
	if errors.As(err, &ae) {
		fmt.Println("code:", ae.Code())
		fmt.Println("message:", ae.Message())
	}
	var v2err *types.ProvisionedThroughputExceededException
	fmt.Println("v2 error kept:", errors.As(err, &v2err))
	// Output:
	// code: ProvisionedThroughputExceededException
	// message: Rate exceeded
	// v2 error kept: true
}
