package producer

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/awserr"
	"github.com/aws/aws-sdk-go/service/kinesis"
	"github.com/kplgo/producer/internal/kinesistest"
)

// fakeLister is a ListShards client that serves pages and keeps every input.
type fakeLister struct {
	mu     sync.Mutex
	pages  [][]*kinesis.Shard
	fail   map[int]error // page index -> error
	inputs []*kinesis.ListShardsInput
}

func (l *fakeLister) ListShards(in *kinesis.ListShardsInput) (*kinesis.ListShardsOutput, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	cp := *in
	l.inputs = append(l.inputs, &cp)
	page := 0
	if in.NextToken != nil {
		if _, err := fmt.Sscanf(*in.NextToken, "token-%d", &page); err != nil {
			return nil, awserr.New("InvalidArgumentException", "bad token", nil)
		}
	}
	if err := l.fail[page]; err != nil {
		return nil, err
	}
	out := &kinesis.ListShardsOutput{Shards: l.pages[page]}
	if page+1 < len(l.pages) {
		out.NextToken = aws.String(fmt.Sprintf("token-%d", page+1))
	}
	return out, nil
}

func shard(id, start, end string, closed bool) *kinesis.Shard {
	s := &kinesis.Shard{
		ShardId:             aws.String(id),
		HashKeyRange:        &kinesis.HashKeyRange{StartingHashKey: aws.String(start), EndingHashKey: aws.String(end)},
		SequenceNumberRange: &kinesis.SequenceNumberRange{StartingSequenceNumber: aws.String("1")},
	}
	if closed {
		s.SequenceNumberRange.EndingSequenceNumber = aws.String("2")
	}
	return s
}

const maxHash = "340282366920938463463374607431768211455"

func shardIDs(shards []*kinesis.Shard) []string {
	ids := make([]string, len(shards))
	for i, s := range shards {
		ids[i] = aws.StringValue(s.ShardId)
	}
	return ids
}

func TestGetKinesisShardsFunc(t *testing.T) {
	// Starting keys that sort differently as strings and as numbers.
	l := &fakeLister{pages: [][]*kinesis.Shard{
		{
			shard("s-100", "100", "999", false),
			shard("s-old", "0", maxHash, true),
			shard("s-9", "9", "99", false),
		},
		{
			shard("s-1000", "1000", "99999999999999999999", false),
			shard("s-closed", "5", "7", true),
		},
		{
			shard("s-0", "0", "8", false),
			shard("s-big", "100000000000000000000", maxHash, false),
		},
	}}
	// A shard without a sequence number range is open.
	l.pages[2][0].SequenceNumberRange = nil
	get := GetKinesisShardsFunc(l, "my-stream")
	shards, updated, err := get(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !updated {
		t.Fatal("first listing not reported as updated")
	}
	want := []string{"s-0", "s-9", "s-100", "s-1000", "s-big"}
	if got := shardIDs(shards); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("shards %v, want %v (open shards sorted by numeric starting hash key)", got, want)
	}
	if len(l.inputs) != 3 {
		t.Fatalf("%d ListShards calls for 3 pages", len(l.inputs))
	}
	for i, in := range l.inputs {
		if i == 0 {
			if aws.StringValue(in.StreamName) != "my-stream" || in.NextToken != nil {
				t.Errorf("first call: StreamName %v NextToken %v", aws.StringValue(in.StreamName), aws.StringValue(in.NextToken))
			}
			continue
		}
		if in.StreamName != nil || in.StreamARN != nil {
			t.Errorf("call %d sends StreamName %q with NextToken %q", i+1, aws.StringValue(in.StreamName), aws.StringValue(in.NextToken))
		}
		if aws.StringValue(in.NextToken) != fmt.Sprintf("token-%d", i) {
			t.Errorf("call %d: NextToken %q", i+1, aws.StringValue(in.NextToken))
		}
	}

	// The same shards again: not updated.
	again, updated, err := get(shards)
	if err != nil || updated {
		t.Fatalf("same shards: updated %v, err %v", updated, err)
	}
	if updated && len(again) != len(shards) {
		t.Fatal("same shards came back different")
	}

	// The same shards as fresh values (not the same pointers): still not updated.
	copies := make([]*kinesis.Shard, len(shards))
	for i, s := range shards {
		copies[i] = shard(aws.StringValue(s.ShardId), aws.StringValue(s.HashKeyRange.StartingHashKey), aws.StringValue(s.HashKeyRange.EndingHashKey), false)
	}
	if _, updated, err := get(copies); err != nil || updated {
		t.Fatalf("equal shards: updated %v, err %v", updated, err)
	}

	// A split: updated.
	l.pages[2] = append(l.pages[2], shard("s-new", "50000000000000000000000", maxHash, false))
	l.pages[2][1] = shard("s-big", "100000000000000000000", "49999999999999999999999", false)
	shards2, updated, err := get(shards)
	if err != nil || !updated {
		t.Fatalf("after a split: updated %v, err %v", updated, err)
	}
	want = []string{"s-0", "s-9", "s-100", "s-1000", "s-big", "s-new"}
	if got := shardIDs(shards2); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("shards %v, want %v", got, want)
	}
	// A changed range with the same ids is an update too.
	old := append([]*kinesis.Shard(nil), shards2...)
	l.pages[2][2] = shard("s-new", "50000000000000000000001", maxHash, false)
	if _, updated, err := get(old); err != nil || !updated {
		t.Fatalf("after a range change: updated %v, err %v", updated, err)
	}
}

func TestGetKinesisShardsFuncErrors(t *testing.T) {
	cause := awserr.New("LimitExceededException", "slow down", nil)
	for _, page := range []int{0, 1} {
		l := &fakeLister{
			pages: [][]*kinesis.Shard{{shard("a", "0", "10", false)}, {shard("b", "11", maxHash, false)}},
			fail:  map[int]error{page: cause},
		}
		shards, updated, err := GetKinesisShardsFunc(l, "s")(nil)
		if err == nil || shards != nil || updated {
			t.Fatalf("page %d failing: shards %v updated %v err %v", page, shards, updated, err)
		}
		if !errors.Is(err, cause) {
			t.Errorf("page %d: error %v does not wrap the ListShards error", page, err)
		}
		var ae awserr.Error
		if !errors.As(err, &ae) || ae.Code() != "LimitExceededException" {
			t.Errorf("page %d: AWS code lost: %v", page, err)
		}
	}
	// A shard with an unparsable hash key range.
	l := &fakeLister{pages: [][]*kinesis.Shard{{shard("a", "zero", maxHash, false)}}}
	if _, _, err := GetKinesisShardsFunc(l, "s")(nil); err == nil {
		t.Error("no error for a non-decimal starting hash key")
	}
	l = &fakeLister{pages: [][]*kinesis.Shard{{{ShardId: aws.String("a")}}}}
	if _, _, err := GetKinesisShardsFunc(l, "s")(nil); err == nil {
		t.Error("no error for a shard without a hash key range")
	}
}

// TestStaticGetShardsFunc checks the ranges of the established package's
// StaticGetShardsFunc (shard i starts at i*((2^128-1)/n), the last ends at
// 2^128-1), that every call answers the same shards with updated false, that
// the producer still takes the first answer as its map, and that 0 gives no
// shards and a negative count an error.
func TestStaticGetShardsFunc(t *testing.T) {
	two128 := new(big.Int).Lsh(big.NewInt(1), 128)
	top := kinesistest.BigSub(two128, 1)
	for _, n := range []int{1, 2, 3, 7, 10, 64, 500} {
		get := StaticGetShardsFunc(n)
		shards, updated, err := get(nil)
		if err != nil || updated || len(shards) != n {
			t.Fatalf("n=%d: %d shards, updated %v, err %v", n, len(shards), updated, err)
		}
		rs := rangesOf(t, shards)
		ids := map[string]bool{}
		next := big.NewInt(0)
		step := new(big.Int).Div(top, big.NewInt(int64(n)))
		for i, r := range rs {
			if ids[r.id] {
				t.Fatalf("n=%d: shard id %s twice", n, r.id)
			}
			ids[r.id] = true
			if want := new(big.Int).Mul(step, big.NewInt(int64(i))); r.start.Cmp(want) != 0 || r.start.Cmp(next) != 0 {
				t.Fatalf("n=%d: shard %d starts at %s, want %s", n, i, r.start, want)
			}
			if r.end.Cmp(r.start) < 0 {
				t.Fatalf("n=%d: shard %d ends before it starts", n, i)
			}
			if shards[i].SequenceNumberRange != nil && shards[i].SequenceNumberRange.EndingSequenceNumber != nil {
				t.Fatalf("n=%d: shard %d is closed", n, i)
			}
			next = new(big.Int).Add(r.end, big.NewInt(1))
		}
		if next.Cmp(two128) != 0 {
			t.Fatalf("n=%d: ranges end at %s, want 2^128-1", n, kinesistest.BigSub(next, 1))
		}
		if got, changed, err := GetShardsFunc(get).lister()(context.Background()); err != nil || !changed || len(got) != n {
			t.Fatalf("n=%d: the producer's listing of them: %d shards, changed %v, %v", n, len(got), changed, err)
		}
		again, updated, err := get(shards)
		if err != nil || updated || len(again) != n || *again[n-1].HashKeyRange.StartingHashKey != *shards[n-1].HashKeyRange.StartingHashKey {
			t.Fatalf("n=%d: second call: %d shards, updated %v, err %v", n, len(again), updated, err)
		}
	}
	if shards, updated, err := StaticGetShardsFunc(0)(nil); shards != nil || updated || err != nil {
		t.Errorf("StaticGetShardsFunc(0) = %d shards, %v, %v; want none", len(shards), updated, err)
	}
	if _, _, err := StaticGetShardsFunc(-1)(nil); err == nil {
		t.Error("StaticGetShardsFunc(-1): no error")
	}
}

func TestGetKinesisShardsFuncARN(t *testing.T) {
	const arn = "arn:aws:kinesis:eu-west-1:123456789012:stream/orders"
	l := &fakeLister{pages: [][]*kinesis.Shard{{shard("a", "0", "10", false)}, {shard("b", "11", maxHash, false)}}}
	shards, _, err := GetKinesisShardsFunc(l, arn)(nil)
	if err != nil || len(shards) != 2 {
		t.Fatalf("%d shards, %v", len(shards), err)
	}
	if in := l.inputs[0]; aws.StringValue(in.StreamARN) != arn || in.StreamName != nil {
		t.Errorf("first call: StreamName %q StreamARN %q", aws.StringValue(in.StreamName), aws.StringValue(in.StreamARN))
	}
	if in := l.inputs[1]; in.StreamARN != nil || in.StreamName != nil || in.NextToken == nil {
		t.Errorf("second call: StreamName %q StreamARN %q NextToken %q", aws.StringValue(in.StreamName), aws.StringValue(in.StreamARN), aws.StringValue(in.NextToken))
	}
}
