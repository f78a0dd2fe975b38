package sdkv2_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/kplgo/producer/internal/kinesistest"
	"github.com/kplgo/producer/sdkv2"
)

// The tests of this file run against a local Kinesis server (kinesalite,
// started by internal/kinesistest). They talk to it through real
// aws-sdk-go-v2 clients only; the stream is read back with kinesistest's
// reader.

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

// TestRealServerProducer runs a producer whose every call goes through a real
// v2 client, with a shard map, and reads the stream back as a KCL 2.x
// consumer would: every user record must arrive exactly once, intact, with
// its key and explicit hash key, on the shard its hash key belongs to, at
// the sequence number its success reported.
func TestRealServerProducer(t *testing.T) {
	t.Parallel()
	const (
		nPut  = 3000 // with Put
		nUser = 500  // with PutUserRecord and an explicit hash key
	)
	srv := kinesistest.Shared(t)
	stream := srv.CreateStream(t, 4)
	client := v2Client(srv)
	ctx := context.Background()

	p := sdkv2.New(&sdkv2.Config{
		StreamName:    stream,
		Client:        client,
		GetShards:     sdkv2.GetKinesisShardsFunc(client, stream),
		FlushInterval: 50 * time.Millisecond,
		Logger:        quietLogger(),
	})
	res := collect(p, true)
	if err := p.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}

	type want struct {
		data []byte
		ehk  *big.Int
	}
	rng := rand.New(rand.NewPCG(1, 2))
	wanted := make(map[string]want, nPut+nUser) // by partition key
	for i := 0; i < nPut+nUser; i++ {
		data := make([]byte, 1+rng.IntN(400))
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		if i < nPut {
			key := fmt.Sprintf("user-%05d-%x", i, rng.Uint32())
			wanted[key] = want{data: data}
			if err := p.Put(ctx, data, key); err != nil {
				t.Fatalf("Put %d: %v", i, err)
			}
			continue
		}
		r := &userRecord{key: fmt.Sprintf("ehk-%05d", i), hash: kinesistest.RandomHash(rng), data: data}
		wanted[r.key] = want{data: data, ehk: r.hash}
		if err := p.PutUserRecord(ctx, r); err != nil {
			t.Fatalf("PutUserRecord %d: %v", i, err)
		}
	}
	p.Stop()
	res.wait(t)
	for _, f := range res.failures {
		t.Errorf("failure of %d user records: %v", len(f.UserRecords), f.Err)
	}
	if len(res.failures) > 0 {
		t.FailNow()
	}
	type place struct{ shard, seq string }
	acked := make(map[string]place, len(wanted))
	for _, s := range res.successes {
		for _, u := range s.UserRecords {
			acked[u.PartitionKey()] = place{s.ShardID, s.SequenceNumber}
		}
	}
	if st := p.Stats(); st.UserRecordsPut != nPut+nUser || st.UserRecordsFailed != 0 || len(acked) != nPut+nUser {
		t.Errorf("stats %+v, %d user records acknowledged; want %d put", st, len(acked), nPut+nUser)
	}

	shards, _, err := sdkv2.GetKinesisShardsFunc(client, stream)(ctx, nil)
	if err != nil || len(shards) != 4 {
		t.Fatalf("listing %d shards: %v", len(shards), err)
	}
	view := kinesistest.ReadKCL2(t, srv.Client(t, nil), stream)
	if view.DroppedAggregates != 0 || view.DroppedUserRecords != 0 || view.Malformed != 0 || view.BadHashKeys != 0 {
		t.Errorf("a KCL consumer loses records: %v", view)
	}
	seen := make(map[string]bool, len(wanted))
	for _, r := range view.Records {
		w, ok := wanted[r.PartitionKey]
		switch {
		case !ok:
			t.Errorf("read a user record of unknown key %q", r.PartitionKey)
			continue
		case seen[r.PartitionKey]:
			t.Errorf("user record %q read twice", r.PartitionKey)
		case !bytes.Equal(r.Data, w.data):
			t.Errorf("user record %q: data differs", r.PartitionKey)
		}
		seen[r.PartitionKey] = true
		ehk := ""
		if w.ehk != nil {
			ehk = w.ehk.String()
			// GetRecords gives no explicit hash key for a plain record.
			if r.Aggregated && r.ExplicitHashKey != ehk {
				t.Errorf("user record %q: explicit hash key %q, want %s", r.PartitionKey, r.ExplicitHashKey, ehk)
			}
		}
		if want := shardOf(shards, r.PartitionKey, ehk); r.ShardID != want {
			t.Errorf("user record %q is on %s, its hash key belongs to %s", r.PartitionKey, r.ShardID, want)
		}
		if a := acked[r.PartitionKey]; a.shard != r.ShardID || a.seq != r.SequenceNumber {
			t.Errorf("user record %q is at %s/%s, its success said %s/%s", r.PartitionKey, r.ShardID, r.SequenceNumber, a.shard, a.seq)
		}
	}
	if len(seen) != len(wanted) {
		t.Errorf("read %d user records, put %d", len(seen), len(wanted))
	}
	if view.Aggregates == 0 {
		t.Errorf("none of %d Kinesis records was aggregated", view.KinesisRecords)
	}
	t.Logf("%d user records in %d Kinesis records (%d aggregates) over %d shards",
		len(view.Records), view.KinesisRecords, view.Aggregates, len(shards))
}

// TestRealServerShardListing lists the shards of a real stream through the
// v2 client.
func TestRealServerShardListing(t *testing.T) {
	t.Parallel()
	srv := kinesistest.Shared(t)
	stream := srv.CreateStream(t, 5)
	get := sdkv2.GetKinesisShardsFunc(v2Client(srv), stream)
	shards, changed, err := get(context.Background(), nil)
	if err != nil || !changed || len(shards) != 5 {
		t.Fatalf("%d shards, changed %v, err %v; want 5, true, nil", len(shards), changed, err)
	}
	prev := big.NewInt(-1)
	for _, s := range shards {
		lo, _ := new(big.Int).SetString(aws.ToString(s.HashKeyRange.StartingHashKey), 10)
		if lo == nil || lo.Cmp(prev) <= 0 {
			t.Errorf("shards not sorted by hash range: %s", ids(shards))
		}
		prev = lo
	}
	again, changed, err := get(context.Background(), shards)
	if err != nil || changed || again != nil {
		t.Errorf("listing again: %d shards, changed %v, err %v; want none, false, nil", len(again), changed, err)
	}
}

// TestRealServerMissingStream checks the errors of a real server for a
// stream that does not exist: Start fails with ErrShardListing, and without a
// shard map the record fails at once, not retried, with the v2 error.
func TestRealServerMissingStream(t *testing.T) {
	t.Parallel()
	srv := kinesistest.Shared(t)
	client := v2Client(srv)
	missing := kinesistest.StreamName(t)

	p := sdkv2.New(&sdkv2.Config{StreamName: missing, Client: client, GetShards: sdkv2.GetKinesisShardsFunc(client, missing), Logger: quietLogger()})
	err := p.Start(context.Background())
	var notFound *types.ResourceNotFoundException
	if !errors.Is(err, sdkv2.ErrShardListing) || !errors.As(err, &notFound) {
		t.Errorf("Start: %v, want ErrShardListing with the ResourceNotFoundException", err)
	}
	p.Stop()

	p = sdkv2.New(&sdkv2.Config{StreamName: missing, Client: client, FlushInterval: 10 * time.Millisecond, MaxAttempts: 5, Logger: quietLogger()})
	res := collect(p, false)
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := p.Put(context.Background(), []byte("data"), "key"); err != nil {
		t.Fatal(err)
	}
	p.Stop()
	res.wait(t)
	if len(res.failures) != 1 {
		t.Fatalf("%d failures, want 1", len(res.failures))
	}
	err = res.failures[0].Err
	var re *awshttp.ResponseError
	if !errors.Is(err, sdkv2.ErrNotRetryable) || !errors.As(err, &notFound) || !errors.As(err, &re) || re.HTTPStatusCode() != 400 {
		t.Errorf("failure %v: want ErrNotRetryable, the ResourceNotFoundException and status 400", err)
	}
	if st := p.Stats(); st.Requests != 1 || st.UserRecordsFailed != 1 {
		t.Errorf("%d requests, %d failed user records; want 1 and 1", st.Requests, st.UserRecordsFailed)
	}
}
