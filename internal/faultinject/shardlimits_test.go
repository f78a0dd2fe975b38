package faultinject_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/awserr"
	"github.com/aws/aws-sdk-go/service/kinesis"

	"github.com/kplgo/producer/internal/faultinject"
	"github.com/kplgo/producer/internal/kinesistest"
)

// slSetup returns a client whose calls go through a new ShardLimits
// transport configured with cfg, the transport and a new stream.
func slSetup(t *testing.T, cfg faultinject.ShardLimitsConfig, shards int) (*kinesis.Kinesis, *faultinject.ShardLimits, string) {
	t.Helper()
	return through(t, faultinject.NewShardLimits(nil, cfg), shards)
}

// keysFor returns n distinct partition keys that hash to the shard with the
// given id, each starting with prefix.
func keysFor(t *testing.T, shards []*kinesis.Shard, shardID, prefix string, n int) []string {
	t.Helper()
	var keys []string
	for i := 0; len(keys) < n; i++ {
		if i > 100000 {
			t.Fatalf("no keys found for shard %s", shardID)
		}
		k := fmt.Sprintf("%s-%d", prefix, i)
		if sh := kinesistest.ShardForHashKey(shards, kinesistest.HashKey(k)); sh != nil && aws.StringValue(sh.ShardId) == shardID {
			keys = append(keys, k)
		}
	}
	return keys
}

// entry returns a PutRecords entry with size bytes of data.
func entry(key string, size int) *kinesis.PutRecordsRequestEntry {
	data := bytes.Repeat([]byte{'x'}, size)
	copy(data, key)
	return &kinesis.PutRecordsRequestEntry{PartitionKey: aws.String(key), Data: data}
}

// checkAnswer compares which entries of an answer failed with want (true:
// throttled) and checks the stream holds exactly the accepted entries, with
// the sequence numbers the answer gave.
func checkAnswer(t *testing.T, out *kinesis.PutRecordsOutput, recs []*kinesis.PutRecordsRequestEntry, want []bool) {
	t.Helper()
	if len(out.Records) != len(recs) {
		t.Fatalf("%d result entries for %d records", len(out.Records), len(recs))
	}
	failed := 0
	for i, r := range out.Records {
		throttled := aws.StringValue(r.ErrorCode) != ""
		if throttled {
			failed++
			if aws.StringValue(r.ErrorCode) != kinesis.ErrCodeProvisionedThroughputExceededException ||
				!strings.Contains(aws.StringValue(r.ErrorMessage), "Rate exceeded for shard") {
				t.Errorf("entry %d: %s: %s", i, aws.StringValue(r.ErrorCode), aws.StringValue(r.ErrorMessage))
			}
			if r.SequenceNumber != nil || r.ShardId != nil {
				t.Errorf("throttled entry %d has a sequence number or shard id", i)
			}
		} else if r.SequenceNumber == nil || r.ShardId == nil {
			t.Errorf("accepted entry %d has no sequence number or shard id", i)
		}
		if throttled != want[i] {
			t.Errorf("entry %d (%s): throttled = %v, want %v", i, aws.StringValue(recs[i].PartitionKey), throttled, want[i])
		}
	}
	if got := aws.Int64Value(out.FailedRecordCount); got != int64(failed) {
		t.Errorf("FailedRecordCount = %d, %d entries have an ErrorCode", got, failed)
	}
}

// checkStream checks that the stream holds exactly the entries of recs that
// the answers accepted, each once, with the sequence numbers of the answers.
func checkStream(t *testing.T, stream string, recs []*kinesis.PutRecordsRequestEntry, outs []*kinesis.PutRecordsResultEntry) {
	t.Helper()
	srv := kinesistest.Shared(t)
	stored := map[string]kinesistest.Record{}
	for _, r := range kinesistest.ReadAll(t, srv.Client(t, nil), stream) {
		if _, dup := stored[r.PartitionKey]; dup {
			t.Errorf("record %s stored twice", r.PartitionKey)
		}
		stored[r.PartitionKey] = r
	}
	accepted := 0
	for i, res := range outs {
		key := aws.StringValue(recs[i].PartitionKey)
		rec, ok := stored[key]
		if res.ErrorCode != nil {
			if ok {
				t.Errorf("throttled entry %d (%s) is in the stream", i, key)
			}
			continue
		}
		accepted++
		if !ok {
			t.Errorf("accepted entry %d (%s) is not in the stream", i, key)
			continue
		}
		if rec.SequenceNumber != aws.StringValue(res.SequenceNumber) || rec.ShardID != aws.StringValue(res.ShardId) ||
			!bytes.Equal(rec.Data, recs[i].Data) {
			t.Errorf("entry %d (%s): answer %s/%s, stream %s/%s (data equal: %v)", i, key,
				aws.StringValue(res.ShardId), aws.StringValue(res.SequenceNumber), rec.ShardID, rec.SequenceNumber,
				bytes.Equal(rec.Data, recs[i].Data))
		}
	}
	if len(stored) != accepted {
		t.Errorf("stream holds %d records, %d were accepted", len(stored), accepted)
	}
}

// TestShardLimitsRecordLimit checks that entries beyond a shard's record
// allowance are throttled in their positions and the others stored.
func TestShardLimitsRecordLimit(t *testing.T) {
	t.Parallel()
	client, tr, stream := slSetup(t, faultinject.ShardLimitsConfig{RecordsPerSecond: 0.001, RecordBurst: 5}, 1)
	var recs []*kinesis.PutRecordsRequestEntry
	for i := 0; i < 8; i++ {
		recs = append(recs, entry(fmt.Sprintf("rec-%d", i), 10))
	}
	out, err := put(client, stream, recs)
	if err != nil {
		t.Fatalf("PutRecords: %v", err)
	}
	checkAnswer(t, out, recs, []bool{false, false, false, false, false, true, true, true})
	checkStream(t, stream, recs, out.Records)
	s := tr.Stats()
	sh := s.Shard(stream, "shardId-000000000000")
	if s.Calls != 1 || s.Forwarded != 1 || s.Entries != 8 || s.Throttled != 3 || s.Unlimited != 0 ||
		sh.AcceptedRecords != 5 || sh.AcceptedBytes != 5*(10+5) || sh.Throttled != 3 || !sh.Open {
		t.Errorf("stats: %v", s)
	}
}

// TestShardLimitsByteLimit checks the byte bucket, which counts data and
// partition keys: an entry that does not fit is throttled while later,
// smaller ones still pass.
func TestShardLimitsByteLimit(t *testing.T) {
	t.Parallel()
	client, tr, stream := slSetup(t, faultinject.ShardLimitsConfig{BytesPerSecond: 0.001, ByteBurst: 1000}, 1)
	// Keys are 4 bytes: sizes 404, 704, 304, 304, 204 against 1000 bytes.
	recs := []*kinesis.PutRecordsRequestEntry{
		entry("aaaa", 400), entry("bbbb", 700), entry("cccc", 300), entry("dddd", 300), entry("eeee", 200),
	}
	out, err := put(client, stream, recs)
	if err != nil {
		t.Fatalf("PutRecords: %v", err)
	}
	checkAnswer(t, out, recs, []bool{false, true, false, true, false})
	checkStream(t, stream, recs, out.Records)
	if sh := tr.Stats().Shard(stream, "shardId-000000000000"); sh.AcceptedBytes != 404+304+204 || sh.AcceptedRecords != 3 {
		t.Errorf("shard stats: %+v", sh)
	}
}

// TestShardLimitsOversizeEntry checks that an entry larger than the byte
// bucket passes when the bucket is full, so no entry is throttled forever.
func TestShardLimitsOversizeEntry(t *testing.T) {
	t.Parallel()
	client, _, stream := slSetup(t, faultinject.ShardLimitsConfig{BytesPerSecond: 0.001, ByteBurst: 100}, 1)
	recs := []*kinesis.PutRecordsRequestEntry{entry("big", 500), entry("next", 1)}
	out, err := put(client, stream, recs)
	if err != nil {
		t.Fatalf("PutRecords: %v", err)
	}
	checkAnswer(t, out, recs, []bool{false, true})
}

// TestShardLimitsRefill checks that the buckets refill with time.
func TestShardLimitsRefill(t *testing.T) {
	t.Parallel()
	client, tr, stream := slSetup(t, faultinject.ShardLimitsConfig{RecordsPerSecond: 50, RecordBurst: 5}, 1)
	var all []*kinesis.PutRecordsRequestEntry
	var results []*kinesis.PutRecordsResultEntry
	round := func(r int) int {
		var recs []*kinesis.PutRecordsRequestEntry
		for i := 0; i < 10; i++ {
			recs = append(recs, entry(fmt.Sprintf("round%d-%d", r, i), 10))
		}
		out, err := put(client, stream, recs)
		if err != nil {
			t.Fatalf("PutRecords: %v", err)
		}
		all = append(all, recs...)
		results = append(results, out.Records...)
		return 10 - int(aws.Int64Value(out.FailedRecordCount))
	}
	if n := round(0); n < 5 || n > 6 {
		t.Fatalf("first call: %d of 10 entries accepted, want 5 (one more if a token refilled)", n)
	}
	// 50 records a second refill the 5-record bucket in 100ms; the wait is
	// what is being tested, there is no event to wait for.
	time.Sleep(250 * time.Millisecond)
	if n := round(1); n < 5 || n > 6 {
		t.Fatalf("after refilling: %d of 10 entries accepted, want 5 (one more if a token refilled)", n)
	}
	checkStream(t, stream, all, results)
	if s := tr.Stats(); s.Entries != 20 || s.Throttled+s.Shard(stream, "shardId-000000000000").AcceptedRecords != 20 {
		t.Errorf("stats: %v", s)
	}
}

// TestShardLimitsPerShard checks that each shard has its own buckets, and
// that an explicit hash key routes an entry regardless of its partition key.
func TestShardLimitsPerShard(t *testing.T) {
	t.Parallel()
	client, tr, stream := slSetup(t, faultinject.ShardLimitsConfig{RecordsPerSecond: 0.001, RecordBurst: 4}, 2)
	shards := kinesistest.Shards(t, client, stream)
	a := keysFor(t, shards, "shardId-000000000000", "a", 6)
	b := keysFor(t, shards, "shardId-000000000001", "b", 6)
	var recs []*kinesis.PutRecordsRequestEntry
	var want []bool
	for i := 0; i < 5; i++ {
		recs = append(recs, entry(a[i], 20), entry(b[i], 20))
		want = append(want, i >= 4, i >= 4)
	}
	// A key of shard 0 with an explicit hash key in shard 1: shard 1 is
	// used up.
	ehk := entry(a[5], 20)
	ehk.ExplicitHashKey = shards[1].HashKeyRange.StartingHashKey
	recs = append(recs, ehk)
	want = append(want, true)

	out, err := put(client, stream, recs)
	if err != nil {
		t.Fatalf("PutRecords: %v", err)
	}
	checkAnswer(t, out, recs, want)
	for i, r := range out.Records {
		if r.ErrorCode == nil && (aws.StringValue(r.ShardId) == "shardId-000000000000") != (i%2 == 0) {
			t.Errorf("entry %d stored on %s", i, aws.StringValue(r.ShardId))
		}
	}
	checkStream(t, stream, recs, out.Records)
	s := tr.Stats()
	s0, s1 := s.Shard(stream, "shardId-000000000000"), s.Shard(stream, "shardId-000000000001")
	if s0.AcceptedRecords != 4 || s0.Throttled != 1 || s1.AcceptedRecords != 4 || s1.Throttled != 2 {
		t.Errorf("stats: %v", s)
	}
}

// TestShardLimitsSharedByClients checks that two clients over one transport
// share the limits of the stream, also when one names it by ARN.
func TestShardLimitsSharedByClients(t *testing.T) {
	t.Parallel()
	c1, tr, stream := slSetup(t, faultinject.ShardLimitsConfig{RecordsPerSecond: 0.001, RecordBurst: 6}, 1)
	c2 := kinesistest.Shared(t).Client(t, tr)
	var recs1, recs2 []*kinesis.PutRecordsRequestEntry
	for i := 0; i < 4; i++ {
		recs1 = append(recs1, entry(fmt.Sprintf("one-%d", i), 10))
		recs2 = append(recs2, entry(fmt.Sprintf("two-%d", i), 10))
	}
	out1, err := put(c1, stream, recs1)
	if err != nil {
		t.Fatalf("PutRecords: %v", err)
	}
	checkAnswer(t, out1, recs1, []bool{false, false, false, false})
	// The second client names the stream by name too: kinesalite knows no
	// StreamARN. The ARN form is covered by TestShardLimitsCustomLister.
	out2, err := put(c2, stream, recs2)
	if err != nil {
		t.Fatalf("PutRecords: %v", err)
	}
	checkAnswer(t, out2, recs2, []bool{false, false, true, true})
	checkStream(t, stream, append(recs1, recs2...), append(out1.Records, out2.Records...))
	if s := tr.Stats(); s.Listings != 1 {
		t.Errorf("stream listed %d times, want once: %v", s.Listings, s)
	}
}

// TestShardLimitsAllThrottled checks that a call whose entries are all
// throttled is answered without reaching the server.
func TestShardLimitsAllThrottled(t *testing.T) {
	t.Parallel()
	client, tr, stream := slSetup(t, faultinject.ShardLimitsConfig{RecordsPerSecond: 0.001, RecordBurst: 1}, 1)
	if _, err := put(client, stream, []*kinesis.PutRecordsRequestEntry{entry("first", 1)}); err != nil {
		t.Fatalf("PutRecords: %v", err)
	}
	recs := []*kinesis.PutRecordsRequestEntry{entry("x", 1), entry("y", 1), entry("z", 1)}
	out, err := put(client, stream, recs)
	if err != nil {
		t.Fatalf("PutRecords: %v", err)
	}
	checkAnswer(t, out, recs, []bool{true, true, true})
	if s := tr.Stats(); s.Calls != 2 || s.Forwarded != 1 || s.Answered != 1 || s.Throttled != 3 {
		t.Errorf("stats: %v", s)
	}
	if got := len(kinesistest.ReadAll(t, client, stream)); got != 1 {
		t.Errorf("stream holds %d records, want 1", got)
	}
}

// TestShardLimitsHotShard checks ThrottleShard: every entry of the hot shard
// is throttled until the window ends, the other shard is not affected.
func TestShardLimitsHotShard(t *testing.T) {
	t.Parallel()
	client, tr, stream := slSetup(t, faultinject.ShardLimitsConfig{}, 2)
	shards := kinesistest.Shards(t, client, stream)
	a := keysFor(t, shards, "shardId-000000000000", "hot", 6)
	b := keysFor(t, shards, "shardId-000000000001", "cold", 6)
	tr.ThrottleShard(stream, "shardId-000000000000", time.Hour)
	tr.ThrottleShard("other-stream", "shardId-000000000001", time.Hour) // another stream: no effect here

	var recs []*kinesis.PutRecordsRequestEntry
	var want []bool
	for i := 0; i < 3; i++ {
		recs = append(recs, entry(a[i], 10), entry(b[i], 10))
		want = append(want, true, false)
	}
	out, err := put(client, stream, recs)
	if err != nil {
		t.Fatalf("PutRecords: %v", err)
	}
	checkAnswer(t, out, recs, want)

	// Only the hot shard's entries: answered without forwarding.
	hotOnly := []*kinesis.PutRecordsRequestEntry{entry(a[3], 10), entry(a[4], 10)}
	out2, err := put(client, stream, hotOnly)
	if err != nil {
		t.Fatalf("PutRecords: %v", err)
	}
	checkAnswer(t, out2, hotOnly, []bool{true, true})

	tr.ThrottleShard(stream, "shardId-000000000000", 0) // the window ends
	last := []*kinesis.PutRecordsRequestEntry{entry(a[5], 10), entry(b[5], 10)}
	out3, err := put(client, stream, last)
	if err != nil {
		t.Fatalf("PutRecords: %v", err)
	}
	checkAnswer(t, out3, last, []bool{false, false})

	all := append(append(recs, hotOnly...), last...)
	checkStream(t, stream, all, append(append(out.Records, out2.Records...), out3.Records...))
	s := tr.Stats()
	s0 := s.Shard(stream, "shardId-000000000000")
	if s0.HotThrottled != 5 || s0.Throttled != 5 || s0.AcceptedRecords != 1 || s.Answered != 1 {
		t.Errorf("stats: %v", s)
	}
}

// TestShardLimitsHotShardAnyStream checks ThrottleShard with no stream name
// and a window that ends by itself.
func TestShardLimitsHotShardAnyStream(t *testing.T) {
	t.Parallel()
	client, tr, stream := slSetup(t, faultinject.ShardLimitsConfig{}, 1)
	const window = 300 * time.Millisecond
	start := time.Now()
	tr.ThrottleShard("", "shardId-000000000000", window)
	recs := []*kinesis.PutRecordsRequestEntry{entry("k", 1)}
	out, err := put(client, stream, recs)
	if err != nil {
		t.Fatalf("PutRecords: %v", err)
	}
	if time.Since(start) < window {
		checkAnswer(t, out, recs, []bool{true})
	}
	time.Sleep(time.Until(start.Add(window))) // the window's end is the event
	out, err = put(client, stream, recs)
	if err != nil {
		t.Fatalf("PutRecords: %v", err)
	}
	checkAnswer(t, out, recs, []bool{false})
}

// TestShardLimitsOutage checks that during an outage every PutRecords call
// fails with a connection error and reaches nothing, while other calls pass.
func TestShardLimitsOutage(t *testing.T) {
	t.Parallel()
	client, tr, stream := slSetup(t, faultinject.ShardLimitsConfig{}, 1)
	tr.Outage(time.Hour)
	_, err := put(client, stream, []*kinesis.PutRecordsRequestEntry{entry("lost", 5), entry("lost2", 5)})
	if err == nil {
		t.Fatal("PutRecords succeeded during an outage")
	}
	if !faultinject.IsInjected(err) {
		t.Errorf("IsInjected(%v) = false", err)
	}
	var rf awserr.RequestFailure
	if errors.As(err, &rf) {
		t.Errorf("got an HTTP answer (%v), want a connection error", err)
	}
	if _, err := client.DescribeStreamSummary(&kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)}); err != nil {
		t.Errorf("DescribeStreamSummary during an outage: %v", err)
	}
	if got := kinesistest.ReadAll(t, client, stream); len(got) != 0 {
		t.Errorf("stream holds %d records after an outage, want none", len(got))
	}
	tr.Outage(0)
	if _, err := put(client, stream, []*kinesis.PutRecordsRequestEntry{entry("after", 5)}); err != nil {
		t.Fatalf("PutRecords after the outage: %v", err)
	}
	if got := kinesistest.ReadAll(t, client, stream); len(got) != 1 || got[0].PartitionKey != "after" {
		t.Errorf("stream after the outage: %+v", got)
	}
	if s := tr.Stats(); s.OutageCalls != 1 || s.OutageEntries != 2 || s.Forwarded != 1 || s.Entries != 3 {
		t.Errorf("stats: %v", s)
	}
}

// TestShardLimitsFollowsSplit checks that Refresh makes the transport route
// by the shards of a split: each child has its own buckets.
func TestShardLimitsFollowsSplit(t *testing.T) {
	t.Parallel()
	client, tr, stream := slSetup(t, faultinject.ShardLimitsConfig{
		RecordsPerSecond: 0.001, RecordBurst: 3, RefreshInterval: -1}, 1)
	if _, err := put(client, stream, []*kinesis.PutRecordsRequestEntry{entry("before", 1)}); err != nil {
		t.Fatalf("PutRecords: %v", err)
	}
	shards := kinesistest.SplitShard(t, kinesistest.Shared(t).Client(t, nil), stream, "shardId-000000000000")
	tr.Refresh()
	open := kinesistest.OpenShards(shards)
	a := keysFor(t, shards, aws.StringValue(open[0].ShardId), "left", 4)
	b := keysFor(t, shards, aws.StringValue(open[1].ShardId), "right", 4)
	var recs []*kinesis.PutRecordsRequestEntry
	for i := 0; i < 4; i++ {
		recs = append(recs, entry(a[i], 1), entry(b[i], 1))
	}
	out, err := put(client, stream, recs)
	if err != nil {
		t.Fatalf("PutRecords: %v", err)
	}
	checkAnswer(t, out, recs, []bool{false, false, false, false, false, false, true, true})
	s := tr.Stats()
	if s.Listings != 2 {
		t.Errorf("%d listings, want 2 (first use and Refresh)", s.Listings)
	}
	if p := s.Shard(stream, "shardId-000000000000"); p.Open || p.AcceptedRecords != 1 {
		t.Errorf("parent shard stats: %+v", p)
	}
	for _, sh := range open {
		if c := s.Shard(stream, aws.StringValue(sh.ShardId)); !c.Open || c.AcceptedRecords != 3 || c.Throttled != 1 {
			t.Errorf("child shard stats: %+v", c)
		}
	}
}

// TestShardLimitsPeriodicRefresh checks that a listing older than
// RefreshInterval is renewed by the next PutRecords call.
func TestShardLimitsPeriodicRefresh(t *testing.T) {
	t.Parallel()
	client, tr, stream := slSetup(t, faultinject.ShardLimitsConfig{RefreshInterval: 50 * time.Millisecond}, 1)
	if _, err := put(client, stream, []*kinesis.PutRecordsRequestEntry{entry("one", 1)}); err != nil {
		t.Fatalf("PutRecords: %v", err)
	}
	time.Sleep(60 * time.Millisecond) // the listing's age is what is tested
	if _, err := put(client, stream, []*kinesis.PutRecordsRequestEntry{entry("two", 1)}); err != nil {
		t.Fatalf("PutRecords: %v", err)
	}
	if s := tr.Stats(); s.Listings != 2 || s.ListErrors != 0 {
		t.Errorf("stats: %v, want 2 listings", s)
	}
}

// TestShardLimitsCustomLister checks a ShardLister given in the config and
// that a stream named by ARN shares the limits of its name.
func TestShardLimitsCustomLister(t *testing.T) {
	t.Parallel()
	srv := kinesistest.Shared(t)
	stream := srv.CreateStream(t, 1)
	max128 := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1))
	var asked []string
	tr := faultinject.NewShardLimits(nil, faultinject.ShardLimitsConfig{
		RecordsPerSecond: 0.001, RecordBurst: 2, RefreshInterval: -1,
		ListShards: func(ctx context.Context, name string) ([]faultinject.ShardRange, error) {
			asked = append(asked, name)
			return []faultinject.ShardRange{{ShardID: "whole", StartingHashKey: new(big.Int), EndingHashKey: max128}}, nil
		},
	})
	t.Cleanup(tr.CloseIdleConnections)
	client := srv.Client(t, tr)
	out, err := put(client, stream, []*kinesis.PutRecordsRequestEntry{entry("a", 1), entry("b", 1), entry("c", 1)})
	if err != nil {
		t.Fatalf("PutRecords: %v", err)
	}
	if aws.Int64Value(out.FailedRecordCount) != 1 {
		t.Errorf("FailedRecordCount = %d, want 1", aws.Int64Value(out.FailedRecordCount))
	}
	// Named by ARN, the same stream has no tokens left. kinesalite cannot
	// store it, whatever the answer; only the entry's judgement matters.
	arn := "arn:aws:kinesis:us-east-1:000000000000:stream/" + stream
	_, _ = client.PutRecords(&kinesis.PutRecordsInput{
		StreamARN: aws.String(arn), Records: []*kinesis.PutRecordsRequestEntry{entry("d", 1)},
	})
	s := tr.Stats()
	if got := s.Shard(stream, "whole"); got.AcceptedRecords != 2 || got.Throttled != 2 {
		t.Errorf("stats: %v", s)
	}
	if len(asked) != 1 || asked[0] != stream {
		t.Errorf("lister asked for %q, want [%s]", asked, stream)
	}
}

// TestShardLimitsUnknownStream checks that a call for a stream that cannot
// be listed passes through, and the server's answer comes back.
func TestShardLimitsUnknownStream(t *testing.T) {
	t.Parallel()
	srv := kinesistest.Shared(t)
	tr := faultinject.NewShardLimits(nil, faultinject.ShardLimitsConfig{})
	t.Cleanup(tr.CloseIdleConnections)
	client := srv.Client(t, tr)
	_, err := put(client, "no-such-stream", []*kinesis.PutRecordsRequestEntry{entry("a", 1)})
	var aerr awserr.Error
	if !errors.As(err, &aerr) || aerr.Code() != kinesis.ErrCodeResourceNotFoundException {
		t.Fatalf("PutRecords on a missing stream: %v, want %s", err, kinesis.ErrCodeResourceNotFoundException)
	}
	if s := tr.Stats(); s.ListErrors != 1 || s.Unlimited != 1 || s.Forwarded != 1 {
		t.Errorf("stats: %v", s)
	}
}

// TestShardLimitsConcurrent sends from many goroutines through one
// transport and checks that no shard accepted more than its burst plus its
// rate over the time taken, and that every entry was counted once.
func TestShardLimitsConcurrent(t *testing.T) {
	t.Parallel()
	const rate, burst = 400, 100
	client, tr, stream := slSetup(t, faultinject.ShardLimitsConfig{RecordsPerSecond: rate, RecordBurst: burst}, 2)
	start := time.Now()
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for c := 0; c < 10; c++ {
				var recs []*kinesis.PutRecordsRequestEntry
				for i := 0; i < 50; i++ {
					recs = append(recs, entry(fmt.Sprintf("g%d-c%d-%d", g, c, i), 20))
				}
				if _, err := put(client, stream, recs); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-errs; err != nil {
			t.Fatalf("PutRecords: %v", err)
		}
	}
	elapsed := time.Since(start)
	s := tr.Stats()
	accepted := int64(0)
	for _, sh := range s.Shards {
		accepted += sh.AcceptedRecords
		if limit := burst + rate*elapsed.Seconds(); float64(sh.AcceptedRecords) > limit {
			t.Errorf("shard %s accepted %d records in %v, more than %.0f", sh.ShardID, sh.AcceptedRecords, elapsed, limit)
		}
	}
	if s.Entries != 8*10*50 || accepted+s.Throttled != s.Entries || s.Throttled == 0 {
		t.Errorf("stats: %v", s)
	}
	if got := len(kinesistest.ReadAll(t, client, stream)); int64(got) != accepted {
		t.Errorf("stream holds %d records, %d were accepted", got, accepted)
	}
}
