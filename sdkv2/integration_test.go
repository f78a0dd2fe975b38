package sdkv2_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go/aws/awserr"
	v1kinesis "github.com/aws/aws-sdk-go/service/kinesis"

	producer "github.com/kplgo/producer"
	"github.com/kplgo/producer/deaggregator"
	"github.com/kplgo/producer/internal/kinesistest"
	"github.com/kplgo/producer/sdkv2"
)

func TestMain(m *testing.M) { kinesistest.Main(m) }

// v2Client returns a real aws-sdk-go-v2 Kinesis client for the local server:
// static fake credentials, no retries of its own, nothing read from the
// environment or shared config files.
func v2Client(srv *kinesistest.Server) *kinesis.Client {
	return kinesis.New(kinesis.Options{
		Region:       kinesistest.Region,
		BaseEndpoint: aws.String(srv.Endpoint()),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret", Source: "test"}, nil
		}),
		RetryMaxAttempts: 1,
	})
}

// TestRealServerListShards checks that the Adapter's ListShards over a v2
// client answers exactly what a v1 client gets from the same server.
func TestRealServerListShards(t *testing.T) {
	t.Parallel()
	srv := kinesistest.Shared(t)
	stream := srv.CreateStream(t, 4)
	v1 := srv.Client(t, nil)
	a := sdkv2.New(v2Client(srv))

	in := &v1kinesis.ListShardsInput{StreamName: aws.String(stream)}
	want, err := v1.ListShards(in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := a.ListShardsWithContext(context.Background(), in)
	if err != nil {
		t.Fatalf("ListShards through the v2 client: %v", err)
	}
	if len(got.Shards) != 4 {
		t.Fatalf("%d shards, want 4", len(got.Shards))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ListShards through the v2 client:\n got %s\nwant %s", dump(got), dump(want))
	}

	shards, updated, err := sdkv2.GetShards(v2Client(srv), stream)(nil)
	if err != nil || !updated || len(shards) != 4 {
		t.Fatalf("GetShards: %d shards, updated %v, err %v", len(shards), updated, err)
	}
}

// TestRealServerErrors checks the mapping of an error answer of the real
// server, as the v2 client reports it.
func TestRealServerErrors(t *testing.T) {
	t.Parallel()
	srv := kinesistest.Shared(t)
	a := sdkv2.New(v2Client(srv))
	missing := kinesistest.StreamName(t)
	check := func(op string, err error) {
		t.Helper()
		var rf awserr.RequestFailure
		if !errors.As(err, &rf) {
			t.Fatalf("%s: error %T (%v) is no awserr.RequestFailure", op, err, err)
		}
		if rf.Code() != "ResourceNotFoundException" || rf.Message() == "" || rf.StatusCode() != 400 {
			t.Errorf("%s: code %q message %q status %d", op, rf.Code(), rf.Message(), rf.StatusCode())
		}
		var typed *types.ResourceNotFoundException
		if !errors.As(err, &typed) || typed.ErrorMessage() != rf.Message() {
			t.Errorf("%s: the typed v2 error is lost from %v", op, err)
		}
	}
	_, err := a.PutRecords(&v1kinesis.PutRecordsInput{
		StreamName: aws.String(missing),
		Records:    []*v1kinesis.PutRecordsRequestEntry{{Data: []byte("d"), PartitionKey: aws.String("k")}},
	})
	check("PutRecords", err)
	_, err = a.ListShards(&v1kinesis.ListShardsInput{StreamName: aws.String(missing)})
	check("ListShards", err)

	// The producer gives up on it at once, as for a v1 client.
	p := producer.New(&producer.Config{StreamName: missing, Client: a, FlushInterval: 10 * time.Millisecond, Logger: quietLogger()})
	failures := p.NotifyFailures()
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if err := p.Put([]byte("data"), "key"); err != nil {
		t.Fatal(err)
	}
	p.Stop()
	n := 0
	for f := range failures {
		n++
		if !errors.Is(f.Err, producer.ErrNotRetryable) {
			t.Errorf("failure %v does not wrap ErrNotRetryable", f.Err)
		}
	}
	if n != 1 {
		t.Errorf("%d failures, want 1", n)
	}
}

// TestRealServerPutRecords checks a direct PutRecords through the Adapter:
// every answer entry is in the position of its record, on the shard its
// hash key belongs to.
func TestRealServerPutRecords(t *testing.T) {
	t.Parallel()
	srv := kinesistest.Shared(t)
	stream := srv.CreateStream(t, 4)
	v1 := srv.Client(t, nil)
	shards := kinesistest.Shards(t, v1, stream)

	var entries []*v1kinesis.PutRecordsRequestEntry
	for i := 0; i < 100; i++ {
		entries = append(entries, &v1kinesis.PutRecordsRequestEntry{
			Data:         []byte(fmt.Sprintf("data-%03d", i)),
			PartitionKey: aws.String(fmt.Sprintf("key-%03d", i)),
		})
	}
	// One record goes by explicit hash key to the last shard.
	entries[7].ExplicitHashKey = aws.String("340282366920938463463374607431768211455")
	out, err := sdkv2.New(v2Client(srv)).PutRecords(&v1kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries})
	if err != nil {
		t.Fatalf("PutRecords through the v2 client: %v", err)
	}
	if aws.ToInt64(out.FailedRecordCount) != 0 || len(out.Records) != len(entries) {
		t.Fatalf("FailedRecordCount %d, %d result entries for %d records",
			aws.ToInt64(out.FailedRecordCount), len(out.Records), len(entries))
	}
	seqs := map[string]int{}
	for i, r := range out.Records {
		hash := kinesistest.HashKey(*entries[i].PartitionKey)
		if entries[i].ExplicitHashKey != nil {
			hash.SetString(*entries[i].ExplicitHashKey, 10)
		}
		want := kinesistest.ShardForHashKey(shards, hash)
		if aws.ToString(r.ShardId) != aws.ToString(want.ShardId) || aws.ToString(r.SequenceNumber) == "" || r.ErrorCode != nil {
			t.Errorf("entry %d: %s, want shard %s", i, dump(r), aws.ToString(want.ShardId))
		}
		seqs[aws.ToString(r.SequenceNumber)] = i
	}
	for _, rec := range kinesistest.ReadAll(t, v1, stream) {
		i, ok := seqs[rec.SequenceNumber]
		if !ok {
			t.Errorf("read a record with unknown sequence number %s", rec.SequenceNumber)
			continue
		}
		if rec.PartitionKey != *entries[i].PartitionKey || !bytes.Equal(rec.Data, entries[i].Data) {
			t.Errorf("sequence number %s is %q/%q, the answer gave it to %q/%q",
				rec.SequenceNumber, rec.PartitionKey, rec.Data, *entries[i].PartitionKey, entries[i].Data)
		}
		delete(seqs, rec.SequenceNumber)
	}
	if len(seqs) != 0 {
		t.Errorf("%d records not read back", len(seqs))
	}
}

// TestRealServerProducer runs a producer whose every call goes through a real
// v2 client, reads the stream back with a v1 client, and checks that every
// user record arrived once, intact, on the shard its partition key hashes to.
func TestRealServerProducer(t *testing.T) {
	t.Parallel()
	const n = 5000
	srv := kinesistest.Shared(t)
	stream := srv.CreateStream(t, 4)
	client := v2Client(srv)

	p := producer.New(&producer.Config{
		StreamName:    stream,
		Client:        sdkv2.New(client),
		GetShards:     sdkv2.GetShards(client, stream),
		FlushInterval: 50 * time.Millisecond,
		Logger:        quietLogger(),
	})
	failures := p.NotifyFailures()
	if err := p.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	done := make(chan int)
	go func() {
		failed := 0
		for f := range failures {
			failed += len(f.UserRecords)
			t.Errorf("failure: %v", f)
		}
		done <- failed
	}()

	rng := rand.New(rand.NewSource(1))
	want := make(map[string][]byte, n)
	for i := 0; i < n; i++ {
		key := fmt.Sprintf("user-%05d-%x", i, rng.Uint32())
		data := make([]byte, 1+rng.Intn(400))
		rng.Read(data)
		want[key] = data
		if err := p.Put(data, key); err != nil {
			t.Fatalf("Put %d: %v", i, err)
		}
	}
	p.Stop()
	if failed := <-done; failed != 0 {
		t.Fatalf("%d user records failed", failed)
	}

	v1 := srv.Client(t, nil)
	shards := kinesistest.Shards(t, v1, stream)
	records := kinesistest.ReadAll(t, v1, stream)
	seen := make(map[string]bool, n)
	aggregated := 0
	for _, r := range records {
		if deaggregator.IsAggregated(r.Data) {
			aggregated++
		}
		users, err := deaggregator.Deaggregate(r.Data, r.PartitionKey, "")
		if err != nil {
			t.Fatalf("record %s on %s: %v", r.SequenceNumber, r.ShardID, err)
		}
		for _, u := range users {
			data, ok := want[u.PartitionKey]
			switch {
			case !ok:
				t.Errorf("unknown user record %q", u.PartitionKey)
			case seen[u.PartitionKey]:
				t.Errorf("user record %q read twice", u.PartitionKey)
			case !bytes.Equal(u.Data, data):
				t.Errorf("user record %q: data differs", u.PartitionKey)
			}
			seen[u.PartitionKey] = true
			if sh := kinesistest.ShardForHashKey(shards, kinesistest.HashKey(u.PartitionKey)); sh == nil || aws.ToString(sh.ShardId) != r.ShardID {
				t.Errorf("user record %q is on %s, its hash key belongs to %v", u.PartitionKey, r.ShardID, sh)
			}
		}
	}
	if len(seen) != n {
		t.Errorf("read %d user records, put %d", len(seen), n)
	}
	if aggregated == 0 {
		t.Errorf("none of %d Kinesis records was aggregated", len(records))
	}
	t.Logf("%d user records in %d Kinesis records (%d aggregated) over %d shards", n, len(records), aggregated, len(shards))
}
