package kinesistest_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/awserr"
	"github.com/aws/aws-sdk-go/service/kinesis"

	"github.com/kplgo/producer/internal/kinesistest"
)

func TestMain(m *testing.M) { kinesistest.Main(m) }

// putRandom writes n records with random keys and data in batches of up to
// 500 and returns what was written, keyed by partition key.
func putRandom(t *testing.T, client *kinesis.Kinesis, stream string, rng *rand.Rand, n int) map[string][]byte {
	t.Helper()
	want := make(map[string][]byte, n)
	for len(want) < n {
		var entries []*kinesis.PutRecordsRequestEntry
		for len(entries) < 500 && len(want)+len(entries) < n {
			key := fmt.Sprintf("key-%016x", rng.Uint64())
			data := make([]byte, 1+rng.Intn(300))
			rng.Read(data)
			want[key] = data
			entries = append(entries, &kinesis.PutRecordsRequestEntry{PartitionKey: aws.String(key), Data: data})
		}
		out, err := client.PutRecords(&kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries})
		if err != nil {
			t.Fatalf("PutRecords: %v", err)
		}
		if got := aws.Int64Value(out.FailedRecordCount); got != 0 {
			t.Fatalf("PutRecords: FailedRecordCount = %d, want 0", got)
		}
		if len(out.Records) != len(entries) {
			t.Fatalf("PutRecords: %d result entries for %d records", len(out.Records), len(entries))
		}
	}
	return want
}

// checkRecords verifies that got holds exactly the records in want, each
// once, on the shard its hash key maps to.
func checkRecords(t *testing.T, got []kinesistest.Record, want map[string][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("read %d records, wrote %d", len(got), len(want))
	}
	seen := make(map[string]bool, len(got))
	for _, r := range got {
		data, ok := want[r.PartitionKey]
		switch {
		case !ok:
			t.Errorf("unexpected record with key %q", r.PartitionKey)
		case seen[r.PartitionKey]:
			t.Errorf("record with key %q read twice", r.PartitionKey)
		case !bytes.Equal(r.Data, data):
			t.Errorf("record %q: data differs (%d bytes read, %d written)", r.PartitionKey, len(r.Data), len(data))
		}
		if r.ShardID == "" || r.SequenceNumber == "" {
			t.Errorf("record %q: empty shard id or sequence number: %+v", r.PartitionKey, r)
		}
		seen[r.PartitionKey] = true
	}
	for key := range want {
		if !seen[key] {
			t.Errorf("record with key %q was lost", key)
		}
	}
}

func TestPutAndReadAll(t *testing.T) {
	t.Parallel()
	srv := kinesistest.Shared(t)
	client := srv.Client(t, nil)
	stream := srv.CreateStream(t, 4)

	shards := kinesistest.Shards(t, client, stream)
	if len(shards) != 4 {
		t.Fatalf("stream has %d shards, want 4", len(shards))
	}

	want := putRandom(t, client, stream, rand.New(rand.NewSource(1)), 700)
	got := kinesistest.ReadAll(t, client, stream)
	checkRecords(t, got, want)

	// Every record sits on the shard its partition key hashes to, and the
	// keys spread over all shards.
	perShard := map[string]int{}
	for _, r := range got {
		sh := kinesistest.ShardForHashKey(shards, kinesistest.HashKey(r.PartitionKey))
		if sh == nil || aws.StringValue(sh.ShardId) != r.ShardID {
			t.Errorf("record %q read from %s, but its hash key maps to %v", r.PartitionKey, r.ShardID, sh)
		}
		perShard[r.ShardID]++
	}
	if len(perShard) != 4 {
		t.Errorf("records spread over %d shards, want 4: %v", len(perShard), perShard)
	}
}

func TestReadAllEmptyStream(t *testing.T) {
	t.Parallel()
	srv := kinesistest.Shared(t)
	client := srv.Client(t, nil)
	stream := srv.CreateStream(t, 3)
	if got := kinesistest.ReadAll(t, client, stream); len(got) != 0 {
		t.Fatalf("ReadAll on an empty stream returned %d records", len(got))
	}
}

func TestSplitShardReadsParentAndChildren(t *testing.T) {
	t.Parallel()
	srv := kinesistest.Shared(t)
	client := srv.Client(t, nil)
	stream := srv.CreateStream(t, 1)
	rng := rand.New(rand.NewSource(2))

	before := putRandom(t, client, stream, rng, 150)
	shards := kinesistest.SplitShard(t, client, stream, "shardId-000000000000")
	if len(shards) != 3 {
		t.Fatalf("after split: %d shards, want 3", len(shards))
	}
	open := kinesistest.OpenShards(shards)
	if len(open) != 2 {
		t.Fatalf("after split: %d open shards, want 2", len(open))
	}
	for _, sh := range open {
		if got := aws.StringValue(sh.ParentShardId); got != "shardId-000000000000" {
			t.Errorf("child %s has parent %q", aws.StringValue(sh.ShardId), got)
		}
	}
	after := putRandom(t, client, stream, rng, 150)

	want := map[string][]byte{}
	for k, v := range before {
		want[k] = v
	}
	for k, v := range after {
		want[k] = v
	}
	got := kinesistest.ReadAll(t, client, stream)
	checkRecords(t, got, want)

	for _, r := range got {
		_, old := before[r.PartitionKey]
		if parent := r.ShardID == "shardId-000000000000"; parent != old {
			t.Errorf("record %q (written before split: %v) read from %s", r.PartitionKey, old, r.ShardID)
		}
	}
	// Both children received records.
	children := map[string]bool{}
	for _, r := range got {
		if r.ShardID != "shardId-000000000000" {
			children[r.ShardID] = true
		}
	}
	if len(children) != 2 {
		t.Errorf("records after split landed on %d child shards, want 2", len(children))
	}
}

func TestMergeShards(t *testing.T) {
	t.Parallel()
	srv := kinesistest.Shared(t)
	client := srv.Client(t, nil)
	stream := srv.CreateStream(t, 2)
	rng := rand.New(rand.NewSource(3))

	want := putRandom(t, client, stream, rng, 100)
	shards := kinesistest.MergeShards(t, client, stream, "shardId-000000000000", "shardId-000000000001")
	open := kinesistest.OpenShards(shards)
	if len(shards) != 3 || len(open) != 1 {
		t.Fatalf("after merge: %d shards, %d open; want 3 and 1", len(shards), len(open))
	}
	merged := aws.StringValue(open[0].ShardId)
	for k, v := range putRandom(t, client, stream, rng, 100) {
		want[k] = v
	}
	got := kinesistest.ReadAll(t, client, stream)
	checkRecords(t, got, want)
	n := 0
	for _, r := range got {
		if r.ShardID == merged {
			n++
		}
	}
	if n != 100 {
		t.Errorf("merged shard %s holds %d records, want 100", merged, n)
	}
}

func TestManyShards(t *testing.T) {
	t.Parallel()
	srv := kinesistest.Shared(t)
	client := srv.Client(t, nil)
	stream := srv.CreateStream(t, 300)
	shards := kinesistest.Shards(t, client, stream)
	if len(shards) != 300 {
		t.Fatalf("stream has %d shards, want 300", len(shards))
	}
	ids := make([]string, len(shards))
	for i, sh := range shards {
		ids[i] = aws.StringValue(sh.ShardId)
	}
	if !sort.StringsAreSorted(ids) || ids[0] != "shardId-000000000000" || ids[299] != "shardId-000000000299" {
		t.Errorf("unexpected shard ids: first %s, last %s", ids[0], ids[len(ids)-1])
	}
}

func TestStreamNamesAreUniqueAndValid(t *testing.T) {
	t.Parallel()
	t.Run(strings.Repeat("very long sub test name with spaces/and#odd:chars ", 5), func(t *testing.T) {
		a, b := kinesistest.StreamName(t), kinesistest.StreamName(t)
		if a == b {
			t.Fatalf("two calls returned the same name %q", a)
		}
		for _, name := range []string{a, b} {
			if len(name) > 128 {
				t.Errorf("name %q is %d characters long", name, len(name))
			}
			if strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != "" {
				t.Errorf("name %q has characters Kinesis rejects", name)
			}
		}
	})
}

func TestListShardsUnknownStream(t *testing.T) {
	t.Parallel()
	srv := kinesistest.Shared(t)
	client := srv.Client(t, nil)
	_, err := client.ListShards(&kinesis.ListShardsInput{StreamName: aws.String("no-such-stream")})
	var aerr awserr.Error
	if !errors.As(err, &aerr) || aerr.Code() != kinesis.ErrCodeResourceNotFoundException {
		t.Fatalf("ListShards on a missing stream: %v, want %s", err, kinesis.ErrCodeResourceNotFoundException)
	}
}

// TestInternalErrorsAnswer500 checks that a request which makes kinesalite
// throw is answered (500 InternalFailure) instead of crashing the server.
func TestInternalErrorsAnswer500(t *testing.T) {
	t.Parallel()
	srv := kinesistest.Shared(t)
	client := srv.Client(t, nil)
	_, err := client.ListShards(&kinesis.ListShardsInput{NextToken: aws.String("bogus")})
	var aerr awserr.RequestFailure
	if !errors.As(err, &aerr) || aerr.StatusCode() != 500 || aerr.Code() != "InternalFailure" {
		t.Fatalf("ListShards with only a NextToken: %v, want a 500 InternalFailure", err)
	}
	if _, err := client.ListStreams(&kinesis.ListStreamsInput{}); err != nil {
		t.Fatalf("server no longer answers: %v", err)
	}
}

type countingTransport struct {
	next  http.RoundTripper
	calls atomic.Int64
}

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c.calls.Add(1)
	return c.next.RoundTrip(req)
}

// TestClientIgnoresAmbientAWSConfig checks that environment settings which
// break or redirect aws-sdk-go sessions do not affect test clients. It is not
// parallel because it changes the environment.
func TestClientIgnoresAmbientAWSConfig(t *testing.T) {
	srv := kinesistest.Shared(t) // started before the environment changes
	dir := t.TempDir()
	bundle := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(bundle, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CA_BUNDLE", bundle)
	t.Setenv("AWS_PROFILE", "no-such-profile")
	t.Setenv("AWS_SDK_LOAD_CONFIG", "1")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "missing-config"))
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_REGION", "eu-west-3")

	rt := &countingTransport{next: http.DefaultTransport}
	client := srv.Client(t, rt)
	if got := aws.StringValue(client.Config.Region); got != kinesistest.Region {
		t.Errorf("client region %q, want %q", got, kinesistest.Region)
	}
	if got := aws.IntValue(client.Config.MaxRetries); got != 0 {
		t.Errorf("default MaxRetries = %d, want 0", got)
	}
	if _, err := client.ListStreams(&kinesis.ListStreamsInput{}); err != nil {
		t.Fatalf("ListStreams through a custom transport: %v", err)
	}
	if rt.calls.Load() != 1 {
		t.Errorf("custom transport saw %d requests, want 1", rt.calls.Load())
	}
	if c := srv.Client(t, nil, kinesistest.WithMaxRetries(4)); aws.IntValue(c.Config.MaxRetries) != 4 {
		t.Errorf("WithMaxRetries(4) gave MaxRetries %d", aws.IntValue(c.Config.MaxRetries))
	}
}

// TestReadStreamForPrograms checks the error-returning helpers programs use:
// they read what ReadAll and Shards read, and report a missing stream as an
// error.
func TestReadStreamForPrograms(t *testing.T) {
	t.Parallel()
	srv := kinesistest.Shared(t)
	client := srv.Client(t, nil)
	stream := srv.CreateStream(t, 2)
	want := putRandom(t, client, stream, rand.New(rand.NewSource(4)), 300)

	got, err := kinesistest.ReadStream(client, stream)
	if err != nil {
		t.Fatalf("ReadStream: %v", err)
	}
	checkRecords(t, got, want)
	shards, err := kinesistest.ListAllShards(client, stream)
	if err != nil || len(shards) != 2 {
		t.Fatalf("ListAllShards: %d shards, %v; want 2, nil", len(shards), err)
	}

	if _, err := kinesistest.ReadStream(client, "no-such-stream"); err == nil {
		t.Errorf("ReadStream of a missing stream: no error")
	}
	if _, err := kinesistest.ListAllShards(client, "no-such-stream"); err == nil {
		t.Errorf("ListAllShards of a missing stream: no error")
	}
}
