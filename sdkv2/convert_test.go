package sdkv2_test

import (
	"context"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/request"
	v1kinesis "github.com/aws/aws-sdk-go/service/kinesis"

	producer "github.com/kplgo/producer"
	"github.com/kplgo/producer/sdkv2"
)

type ctxKey struct{}

func TestPutRecordsConvertsEveryField(t *testing.T) {
	in := &v1kinesis.PutRecordsInput{
		StreamName: aws.String("stream"),
		StreamARN:  aws.String("arn:aws:kinesis:us-east-1:123456789012:stream/stream"),
		Records: []*v1kinesis.PutRecordsRequestEntry{
			{Data: []byte("zero"), PartitionKey: aws.String("k0")},
			{Data: []byte("one"), PartitionKey: aws.String("k1"), ExplicitHashKey: aws.String("340282366920938463463374607431768211455")},
			{Data: []byte{}, PartitionKey: aws.String("k2"), ExplicitHashKey: aws.String("0")},
			{Data: []byte("three"), PartitionKey: aws.String("k3")},
			{Data: nil, PartitionKey: aws.String("k4")},
		},
	}
	wantIn := &kinesis.PutRecordsInput{
		StreamName: aws.String("stream"),
		StreamARN:  aws.String("arn:aws:kinesis:us-east-1:123456789012:stream/stream"),
		Records: []types.PutRecordsRequestEntry{
			{Data: []byte("zero"), PartitionKey: aws.String("k0")},
			{Data: []byte("one"), PartitionKey: aws.String("k1"), ExplicitHashKey: aws.String("340282366920938463463374607431768211455")},
			{Data: []byte{}, PartitionKey: aws.String("k2"), ExplicitHashKey: aws.String("0")},
			{Data: []byte("three"), PartitionKey: aws.String("k3")},
			{Data: nil, PartitionKey: aws.String("k4")},
		},
	}
	// Entries 1 and 3 fail; the others succeed on different shards.
	out := &kinesis.PutRecordsOutput{
		FailedRecordCount: aws.Int32(2),
		EncryptionType:    types.EncryptionTypeKms,
		Records: []types.PutRecordsResultEntry{
			{SequenceNumber: aws.String("100"), ShardId: aws.String("shardId-000000000000")},
			{ErrorCode: aws.String("ProvisionedThroughputExceededException"), ErrorMessage: aws.String("Rate exceeded for shard shardId-000000000003")},
			{SequenceNumber: aws.String("102"), ShardId: aws.String("shardId-000000000001")},
			{ErrorCode: aws.String("InternalFailure"), ErrorMessage: aws.String("Internal service failure.")},
			{SequenceNumber: aws.String("104"), ShardId: aws.String("shardId-000000000002")},
		},
	}
	wantOut := &v1kinesis.PutRecordsOutput{
		FailedRecordCount: aws.Int64(2),
		EncryptionType:    aws.String("KMS"),
		Records: []*v1kinesis.PutRecordsResultEntry{
			{SequenceNumber: aws.String("100"), ShardId: aws.String("shardId-000000000000")},
			{ErrorCode: aws.String("ProvisionedThroughputExceededException"), ErrorMessage: aws.String("Rate exceeded for shard shardId-000000000003")},
			{SequenceNumber: aws.String("102"), ShardId: aws.String("shardId-000000000001")},
			{ErrorCode: aws.String("InternalFailure"), ErrorMessage: aws.String("Internal service failure.")},
			{SequenceNumber: aws.String("104"), ShardId: aws.String("shardId-000000000002")},
		},
	}
	fake := &fakeClient{putFunc: func(*kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) { return out, nil }}
	a := sdkv2.New(fake)

	ctx := context.WithValue(context.Background(), ctxKey{}, "marker")
	got, err := a.PutRecordsWithContext(ctx, in, request.WithLogLevel(aws.LogDebug))
	if err != nil {
		t.Fatalf("PutRecordsWithContext: %v", err)
	}
	if len(fake.puts) != 1 {
		t.Fatalf("%d PutRecords calls, want 1", len(fake.puts))
	}
	if !reflect.DeepEqual(fake.puts[0], wantIn) {
		t.Errorf("v2 input:\n got %s\nwant %s", dump(fake.puts[0]), dump(wantIn))
	}
	if !reflect.DeepEqual(got, wantOut) {
		t.Errorf("v1 output:\n got %s\nwant %s", dump(got), dump(wantOut))
	}
	if fake.ctxs[0].Value(ctxKey{}) != "marker" {
		t.Error("the context did not reach the v2 client")
	}
	if fake.optFnsSeen != 0 {
		t.Errorf("the v2 client got %d option functions, want none", fake.optFnsSeen)
	}
	// Data is shared; pointers are not.
	if &fake.puts[0].Records[0].Data[0] != &in.Records[0].Data[0] {
		t.Error("record data was copied")
	}
	if fake.puts[0].Records[1].PartitionKey == in.Records[1].PartitionKey ||
		fake.puts[0].StreamName == in.StreamName {
		t.Error("the v2 input shares string pointers with the v1 input")
	}
	if got.Records[0].ShardId == out.Records[0].ShardId {
		t.Error("the v1 output shares string pointers with the v2 output")
	}

	// PutRecords (no context) sends the same request with a live context.
	got2, err := a.PutRecords(in)
	if err != nil {
		t.Fatalf("PutRecords: %v", err)
	}
	if !reflect.DeepEqual(fake.puts[1], wantIn) || !reflect.DeepEqual(got2, wantOut) {
		t.Errorf("PutRecords converted differently from PutRecordsWithContext")
	}
	if fake.ctxs[1] == nil || fake.ctxs[1].Err() != nil {
		t.Errorf("PutRecords passed context %v", fake.ctxs[1])
	}
}

func TestPutRecordsEdgeValues(t *testing.T) {
	var out *kinesis.PutRecordsOutput
	fake := &fakeClient{putFunc: func(*kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) { return out, nil }}
	a := sdkv2.New(fake)

	// A nil entry keeps its place as a zero entry; absent fields stay absent.
	out = &kinesis.PutRecordsOutput{Records: []types.PutRecordsResultEntry{{}, {SequenceNumber: aws.String("1"), ShardId: aws.String("s")}}}
	got, err := a.PutRecordsWithContext(nil, &v1kinesis.PutRecordsInput{ // a nil context means Background
		Records: []*v1kinesis.PutRecordsRequestEntry{nil, {PartitionKey: aws.String("k"), Data: []byte("d")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantIn := &kinesis.PutRecordsInput{Records: []types.PutRecordsRequestEntry{{}, {PartitionKey: aws.String("k"), Data: []byte("d")}}}
	if !reflect.DeepEqual(fake.puts[0], wantIn) {
		t.Errorf("v2 input: got %s, want %s", dump(fake.puts[0]), dump(wantIn))
	}
	wantOut := &v1kinesis.PutRecordsOutput{Records: []*v1kinesis.PutRecordsResultEntry{{}, {SequenceNumber: aws.String("1"), ShardId: aws.String("s")}}}
	if !reflect.DeepEqual(got, wantOut) {
		t.Errorf("v1 output: got %s, want %s", dump(got), dump(wantOut))
	}
	if fake.ctxs[0] == nil {
		t.Error("a nil context reached the v2 client")
	}

	// A nil input is sent as an empty one (the v2 client validates it); a
	// nil output comes back nil.
	out = nil
	got, err = a.PutRecords(nil)
	if err != nil || got != nil {
		t.Errorf("PutRecords(nil) = %v, %v; want nil, nil", got, err)
	}
	if !reflect.DeepEqual(fake.puts[1], &kinesis.PutRecordsInput{}) {
		t.Errorf("v2 input of nil: %s", dump(fake.puts[1]))
	}

	// An Adapter without a client answers with an error, not a panic.
	if _, err := sdkv2.New(nil).PutRecords(&v1kinesis.PutRecordsInput{}); err == nil {
		t.Error("PutRecords without a client succeeded")
	}
	if _, err := sdkv2.New(nil).ListShards(&v1kinesis.ListShardsInput{}); err == nil {
		t.Error("ListShards without a client succeeded")
	}
}

func TestListShardsConvertsEveryField(t *testing.T) {
	created := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	at := created.Add(time.Hour)
	in := &v1kinesis.ListShardsInput{
		StreamName:              aws.String("stream"),
		StreamARN:               aws.String("arn:aws:kinesis:us-east-1:123456789012:stream/stream"),
		NextToken:               aws.String("token-1"),
		MaxResults:              aws.Int64(250),
		ExclusiveStartShardId:   aws.String("shardId-000000000001"),
		StreamCreationTimestamp: aws.Time(created),
		ShardFilter: &v1kinesis.ShardFilter{
			Type:      aws.String("AT_TIMESTAMP"),
			ShardId:   aws.String("shardId-000000000002"),
			Timestamp: aws.Time(at),
		},
	}
	wantIn := &kinesis.ListShardsInput{
		StreamName:              aws.String("stream"),
		StreamARN:               aws.String("arn:aws:kinesis:us-east-1:123456789012:stream/stream"),
		NextToken:               aws.String("token-1"),
		MaxResults:              aws.Int32(250),
		ExclusiveStartShardId:   aws.String("shardId-000000000001"),
		StreamCreationTimestamp: aws.Time(created),
		ShardFilter: &types.ShardFilter{
			Type:      types.ShardFilterTypeAtTimestamp,
			ShardId:   aws.String("shardId-000000000002"),
			Timestamp: aws.Time(at),
		},
	}
	out := &kinesis.ListShardsOutput{
		NextToken: aws.String("token-2"),
		Shards: []types.Shard{
			{
				ShardId:             aws.String("shardId-000000000000"),
				HashKeyRange:        &types.HashKeyRange{StartingHashKey: aws.String("0"), EndingHashKey: aws.String("170141183460469231731687303715884105727")},
				SequenceNumberRange: &types.SequenceNumberRange{StartingSequenceNumber: aws.String("1000"), EndingSequenceNumber: aws.String("2000")},
			},
			{
				ShardId:               aws.String("shardId-000000000003"),
				ParentShardId:         aws.String("shardId-000000000000"),
				AdjacentParentShardId: aws.String("shardId-000000000001"),
				HashKeyRange:          &types.HashKeyRange{StartingHashKey: aws.String("0"), EndingHashKey: aws.String("340282366920938463463374607431768211455")},
				SequenceNumberRange:   &types.SequenceNumberRange{StartingSequenceNumber: aws.String("3000")},
			},
			{ShardId: aws.String("shardId-000000000004")},
		},
	}
	wantOut := &v1kinesis.ListShardsOutput{
		NextToken: aws.String("token-2"),
		Shards: []*v1kinesis.Shard{
			{
				ShardId:             aws.String("shardId-000000000000"),
				HashKeyRange:        &v1kinesis.HashKeyRange{StartingHashKey: aws.String("0"), EndingHashKey: aws.String("170141183460469231731687303715884105727")},
				SequenceNumberRange: &v1kinesis.SequenceNumberRange{StartingSequenceNumber: aws.String("1000"), EndingSequenceNumber: aws.String("2000")},
			},
			{
				ShardId:               aws.String("shardId-000000000003"),
				ParentShardId:         aws.String("shardId-000000000000"),
				AdjacentParentShardId: aws.String("shardId-000000000001"),
				HashKeyRange:          &v1kinesis.HashKeyRange{StartingHashKey: aws.String("0"), EndingHashKey: aws.String("340282366920938463463374607431768211455")},
				SequenceNumberRange:   &v1kinesis.SequenceNumberRange{StartingSequenceNumber: aws.String("3000")},
			},
			{ShardId: aws.String("shardId-000000000004")},
		},
	}
	fake := &fakeClient{listFunc: func(*kinesis.ListShardsInput) (*kinesis.ListShardsOutput, error) { return out, nil }}
	a := sdkv2.New(fake)

	ctx := context.WithValue(context.Background(), ctxKey{}, "marker")
	got, err := a.ListShardsWithContext(ctx, in, request.WithLogLevel(aws.LogDebug))
	if err != nil {
		t.Fatalf("ListShardsWithContext: %v", err)
	}
	if !reflect.DeepEqual(fake.lists[0], wantIn) {
		t.Errorf("v2 input:\n got %s\nwant %s", dump(fake.lists[0]), dump(wantIn))
	}
	if !reflect.DeepEqual(got, wantOut) {
		t.Errorf("v1 output:\n got %s\nwant %s", dump(got), dump(wantOut))
	}
	if fake.ctxs[0].Value(ctxKey{}) != "marker" {
		t.Error("the context did not reach the v2 client")
	}
	if fake.lists[0].StreamCreationTimestamp == in.StreamCreationTimestamp ||
		fake.lists[0].ShardFilter.Timestamp == in.ShardFilter.Timestamp {
		t.Error("the v2 input shares time pointers with the v1 input")
	}

	got2, err := a.ListShards(in)
	if err != nil || !reflect.DeepEqual(fake.lists[1], wantIn) || !reflect.DeepEqual(got2, wantOut) {
		t.Errorf("ListShards converted differently from ListShardsWithContext (err %v)", err)
	}

	// Empty and edge values.
	out = &kinesis.ListShardsOutput{}
	got, err = a.ListShards(&v1kinesis.ListShardsInput{
		MaxResults:  aws.Int64(math.MaxInt64),
		ShardFilter: &v1kinesis.ShardFilter{},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantEdge := &kinesis.ListShardsInput{MaxResults: aws.Int32(math.MaxInt32), ShardFilter: &types.ShardFilter{}}
	if !reflect.DeepEqual(fake.lists[2], wantEdge) {
		t.Errorf("edge input: got %s, want %s", dump(fake.lists[2]), dump(wantEdge))
	}
	if !reflect.DeepEqual(got, &v1kinesis.ListShardsOutput{}) {
		t.Errorf("empty output: got %s", dump(got))
	}
	if _, err := a.ListShards(&v1kinesis.ListShardsInput{MaxResults: aws.Int64(math.MinInt64)}); err != nil {
		t.Fatal(err)
	}
	if got := *fake.lists[3].MaxResults; got != math.MinInt32 {
		t.Errorf("MaxResults MinInt64 became %d, want %d", got, int32(math.MinInt32))
	}
	if _, err := a.ListShards(nil); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fake.lists[4], &kinesis.ListShardsInput{}) {
		t.Errorf("v2 input of nil: %s", dump(fake.lists[4]))
	}
}

func TestGetShardsFollowsPages(t *testing.T) {
	shard := func(id, lo, hi string, closed bool) types.Shard {
		s := types.Shard{
			ShardId:             aws.String(id),
			HashKeyRange:        &types.HashKeyRange{StartingHashKey: aws.String(lo), EndingHashKey: aws.String(hi)},
			SequenceNumberRange: &types.SequenceNumberRange{StartingSequenceNumber: aws.String("1")},
		}
		if closed {
			s.SequenceNumberRange.EndingSequenceNumber = aws.String("2")
		}
		return s
	}
	const half, top = "170141183460469231731687303715884105727", "340282366920938463463374607431768211455"
	fake := &fakeClient{listFunc: func(in *kinesis.ListShardsInput) (*kinesis.ListShardsOutput, error) {
		if in.NextToken == nil {
			return &kinesis.ListShardsOutput{
				Shards:    []types.Shard{shard("shardId-000000000000", "0", top, true), shard("shardId-000000000002", "170141183460469231731687303715884105728", top, false)},
				NextToken: aws.String("page-2"),
			}, nil
		}
		return &kinesis.ListShardsOutput{Shards: []types.Shard{shard("shardId-000000000001", "0", half, false)}}, nil
	}}
	shards, updated, err := sdkv2.GetShards(fake, "stream")(nil)
	if err != nil || !updated {
		t.Fatalf("GetShards = %v, %v", updated, err)
	}
	var ids []string
	for _, s := range shards {
		ids = append(ids, aws.StringValue(s.ShardId))
	}
	if want := []string{"shardId-000000000001", "shardId-000000000002"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("open shards %v, want %v", ids, want)
	}
	if len(fake.lists) != 2 {
		t.Fatalf("%d ListShards calls, want 2", len(fake.lists))
	}
	if aws.StringValue(fake.lists[0].StreamName) != "stream" || fake.lists[0].NextToken != nil {
		t.Errorf("first page request %s", dump(fake.lists[0]))
	}
	if fake.lists[1].StreamName != nil || aws.StringValue(fake.lists[1].NextToken) != "page-2" {
		t.Errorf("second page request %s", dump(fake.lists[1]))
	}

	// The same shards again: no update.
	_, updated, err = sdkv2.GetShards(fake, "stream")(shards)
	if err != nil || updated {
		t.Errorf("second listing: updated %v, err %v; want false, nil", updated, err)
	}
	var _ producer.GetShardsFunc = sdkv2.GetShards(fake, "stream")
}
