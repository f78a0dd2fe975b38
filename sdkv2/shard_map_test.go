package sdkv2_test

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/kplgo/producer/sdkv2"
)

// pagedLister serves pages of shards, one per ListShards call, each page
// but the last with a NextToken. It keeps a copy of every request and the
// context it came with.
type pagedLister struct {
	pages [][]types.Shard
	err   error // when set, every call fails with it

	mu   sync.Mutex
	ins  []kinesis.ListShardsInput
	ctxs []context.Context
}

func (l *pagedLister) ListShards(ctx context.Context, in *kinesis.ListShardsInput, _ ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error) {
	l.mu.Lock()
	cp := *in
	cp.StreamName, cp.StreamARN, cp.NextToken = copyString(in.StreamName), copyString(in.StreamARN), copyString(in.NextToken)
	l.ins = append(l.ins, cp)
	l.ctxs = append(l.ctxs, ctx)
	l.mu.Unlock()
	if l.err != nil {
		return nil, l.err
	}
	page := 0
	if in.NextToken != nil {
		if _, err := fmt.Sscanf(*in.NextToken, "token-%d", &page); err != nil {
			return nil, fmt.Errorf("bad token %q", *in.NextToken)
		}
	}
	if page >= len(l.pages) {
		return nil, fmt.Errorf("no page %d", page)
	}
	out := &kinesis.ListShardsOutput{Shards: l.pages[page]}
	if page+1 < len(l.pages) {
		out.NextToken = aws.String(fmt.Sprintf("token-%d", page+1))
	}
	return out, nil
}

func (l *pagedLister) requests() []kinesis.ListShardsInput {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]kinesis.ListShardsInput(nil), l.ins...)
}

// shard returns a shard with the range lo..hi, closed when closed.
func shard(id string, lo, hi string, closed bool) types.Shard {
	s := types.Shard{
		ShardId:             aws.String(id),
		HashKeyRange:        &types.HashKeyRange{StartingHashKey: aws.String(lo), EndingHashKey: aws.String(hi)},
		SequenceNumberRange: &types.SequenceNumberRange{StartingSequenceNumber: aws.String("100")},
	}
	if closed {
		s.SequenceNumberRange.EndingSequenceNumber = aws.String("200")
	}
	return s
}

func ids(shards []types.Shard) []string {
	var out []string
	for _, s := range shards {
		out = append(out, aws.ToString(s.ShardId))
	}
	return out
}

// TestGetKinesisShardsFunc checks the listing: every page followed, closed
// shards left out, the rest sorted by hash range, unchanged when the same.
func TestGetKinesisShardsFunc(t *testing.T) {
	const max = "340282366920938463463374607431768211455"
	// Out of order, and "9" < "10" < "100" only as numbers.
	lister := &pagedLister{pages: [][]types.Shard{
		{shard("shard-c", "100", max, false), shard("shard-parent", "0", max, true)},
		{shard("shard-b", "10", "99", false)},
		{},
		{shard("shard-a", "0", "9", false), shard("shard-old", "0", "99", true)},
	}}
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, "mine")
	get := sdkv2.GetKinesisShardsFunc(lister, "events")

	shards, changed, err := get(ctx, nil)
	if err != nil || !changed {
		t.Fatalf("changed %v, err %v", changed, err)
	}
	if got := fmt.Sprint(ids(shards)); got != "[shard-a shard-b shard-c]" {
		t.Errorf("shards %s, want [shard-a shard-b shard-c]", got)
	}
	reqs := lister.requests()
	if len(reqs) != 4 {
		t.Fatalf("%d ListShards calls, want 4 (one per page)", len(reqs))
	}
	if aws.ToString(reqs[0].StreamName) != "events" || reqs[0].StreamARN != nil || reqs[0].NextToken != nil {
		t.Errorf("first request %+v, want StreamName alone", reqs[0])
	}
	for i, r := range reqs[1:] {
		if r.StreamName != nil || r.StreamARN != nil || aws.ToString(r.NextToken) != fmt.Sprintf("token-%d", i+1) {
			t.Errorf("request %d: StreamName %v StreamARN %v NextToken %v, want the token alone", i+2, r.StreamName, r.StreamARN, r.NextToken)
		}
	}
	for i, c := range lister.ctxs {
		if c.Value(key{}) != "mine" {
			t.Errorf("call %d did not get the context the GetShardsFunc was given", i+1)
		}
	}

	// The same shards again: no change.
	again, changed, err := get(ctx, shards)
	if err != nil || changed || again != nil {
		t.Errorf("listing the same shards: %v, changed %v, err %v; want nil, false, nil", ids(again), changed, err)
	}

	// A shard split: a change.
	old := append([]types.Shard(nil), shards...)
	old[2] = shard("shard-c", "100", "200", false)
	now, changed, err := get(ctx, old)
	if err != nil || !changed || len(now) != 3 || aws.ToString(now[2].HashKeyRange.EndingHashKey) != max {
		t.Errorf("after a change: %v, changed %v, err %v", ids(now), changed, err)
	}
	if _, changed, _ := get(ctx, shards[:2]); !changed {
		t.Error("a shard more is no change")
	}
}

// TestGetKinesisShardsFuncARN checks that a stream ARN is sent as StreamARN.
func TestGetKinesisShardsFuncARN(t *testing.T) {
	const arn = "arn:aws:kinesis:us-east-1:123456789012:stream/events"
	lister := &pagedLister{pages: [][]types.Shard{{shard("s0", "0", "9", false)}, {shard("s1", "10", "20", false)}}}
	shards, changed, err := sdkv2.GetKinesisShardsFunc(lister, arn)(context.Background(), nil)
	if err != nil || !changed || len(shards) != 2 {
		t.Fatalf("%v, changed %v, err %v", ids(shards), changed, err)
	}
	reqs := lister.requests()
	if aws.ToString(reqs[0].StreamARN) != arn || reqs[0].StreamName != nil {
		t.Errorf("first request StreamName %v StreamARN %v, want the ARN alone", reqs[0].StreamName, reqs[0].StreamARN)
	}
	if reqs[1].StreamARN != nil || reqs[1].StreamName != nil || reqs[1].NextToken == nil {
		t.Errorf("second request %+v, want the NextToken alone", reqs[1])
	}
}

// TestGetKinesisShardsFuncErrors checks that an error of ListShards comes
// back with the v2 error reachable, and a range that is no number is one.
func TestGetKinesisShardsFuncErrors(t *testing.T) {
	notFound := operationError("ListShards", 400, "req", &types.ResourceNotFoundException{Message: aws.String("not found")})
	shards, changed, err := sdkv2.GetKinesisShardsFunc(&pagedLister{err: notFound}, "events")(context.Background(), nil)
	var typed *types.ResourceNotFoundException
	if err == nil || !errors.As(err, &typed) || shards != nil || changed {
		t.Errorf("%v, changed %v, err %v: want the v2 error", ids(shards), changed, err)
	}

	bad := &pagedLister{pages: [][]types.Shard{{shard("s0", "zero", "9", false)}}}
	if _, _, err := sdkv2.GetKinesisShardsFunc(bad, "events")(context.Background(), nil); err == nil {
		t.Error("no error for a starting hash key that is not a number")
	}
}

// TestStaticGetShardsFunc checks the equal ranges of StaticGetShardsFunc and
// that it reports a change only on its first call.
func TestStaticGetShardsFunc(t *testing.T) {
	space := new(big.Int).Lsh(big.NewInt(1), 128)
	for _, n := range []int{1, 2, 3, 7, 64} {
		get := sdkv2.StaticGetShardsFunc(n)
		shards, changed, err := get(context.Background(), nil)
		if err != nil || !changed || len(shards) != n {
			t.Fatalf("n=%d: %d shards, changed %v, err %v", n, len(shards), changed, err)
		}
		// The step of the root package's ranges: (2^128-1)/n.
		step := new(big.Int).Div(new(big.Int).Sub(space, big.NewInt(1)), big.NewInt(int64(n)))
		next := big.NewInt(0)
		for i, s := range shards {
			if id := aws.ToString(s.ShardId); id != fmt.Sprintf("shardId-%012d", i) {
				t.Errorf("n=%d: shard %d is %s", n, i, id)
			}
			if s.SequenceNumberRange == nil || s.SequenceNumberRange.EndingSequenceNumber != nil {
				t.Errorf("n=%d: shard %d is not open", n, i)
			}
			lo, _ := new(big.Int).SetString(aws.ToString(s.HashKeyRange.StartingHashKey), 10)
			hi, _ := new(big.Int).SetString(aws.ToString(s.HashKeyRange.EndingHashKey), 10)
			if lo == nil || hi == nil || lo.Cmp(next) != 0 {
				t.Fatalf("n=%d: shard %d starts at %v, want %v", n, i, lo, next)
			}
			size := new(big.Int).Sub(hi, lo)
			size.Add(size, big.NewInt(1))
			// Equal ranges; the last takes the remainder, at most n.
			if d := new(big.Int).Sub(size, step); d.Sign() < 0 || d.Cmp(big.NewInt(int64(n))) > 0 || (i < n-1 && d.Sign() != 0) {
				t.Errorf("n=%d: shard %d has %v hash keys, want %v", n, i, size, step)
			}
			next = new(big.Int).Add(hi, big.NewInt(1))
		}
		if next.Cmp(space) != 0 {
			t.Errorf("n=%d: the shards end at %v, want 2^128-1", n, new(big.Int).Sub(next, big.NewInt(1)))
		}
		again, changed, err := get(context.Background(), shards)
		if err != nil || changed || again != nil {
			t.Errorf("n=%d: second call %d shards, changed %v, err %v; want none, false, nil", n, len(again), changed, err)
		}
	}
	for _, n := range []int{0, -1} {
		shards, changed, err := sdkv2.StaticGetShardsFunc(n)(context.Background(), nil)
		if err == nil || shards != nil || changed {
			t.Errorf("n=%d: %d shards, changed %v, err %v; want an error", n, len(shards), changed, err)
		}
	}
}

// TestStartShardListing checks that Start fails with ErrShardListing when
// the first listing fails or finds no open shard, and succeeds once the
// shard map is there; the listing gets a context bounded by
// ListShardsTimeout.
func TestStartShardListing(t *testing.T) {
	failure := errors.New("listing broke")
	var deadline time.Duration
	calls := 0
	cfg := testConfig(&fakeKinesis{})
	cfg.ListShardsTimeout = time.Hour
	cfg.GetShards = func(ctx context.Context, old []types.Shard) ([]types.Shard, bool, error) {
		calls++
		d, ok := ctx.Deadline()
		if !ok {
			return nil, false, errors.New("no deadline")
		}
		deadline = time.Until(d)
		return nil, false, failure
	}
	p := sdkv2.New(cfg)
	err := p.Start(context.Background())
	if !errors.Is(err, sdkv2.ErrShardListing) || !errors.Is(err, failure) {
		t.Errorf("Start: %v, want ErrShardListing wrapping the listing's error", err)
	}
	if deadline <= 50*time.Minute || deadline > time.Hour {
		t.Errorf("the listing had %v left, want about ListShardsTimeout (1h)", deadline)
	}
	p.Stop()

	cfg.GetShards = sdkv2.GetKinesisShardsFunc(&pagedLister{pages: [][]types.Shard{{shard("s0", "0", "9", true)}}}, "stream")
	p = sdkv2.New(cfg)
	if err := p.Start(context.Background()); !errors.Is(err, sdkv2.ErrShardListing) {
		t.Errorf("Start with closed shards only: %v, want ErrShardListing", err)
	}
	p.Stop()

	fake := &fakeKinesis{shards: staticShards(t, 3)}
	cfg = testConfig(fake)
	cfg.GetShards = sdkv2.GetKinesisShardsFunc(fake, "stream")
	p = sdkv2.New(cfg)
	if err := p.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if err := p.Put(context.Background(), []byte("x"), "k"); err != nil {
		t.Fatal(err)
	}
	p.Stop()
	if st := p.Stats(); st.UserRecordsPut != 1 || st.WrongShard != 0 {
		t.Errorf("stats %+v", st)
	}
}
