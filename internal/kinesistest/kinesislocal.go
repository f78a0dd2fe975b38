package kinesistest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/kinesis"
	"github.com/aws/aws-sdk-go/service/kinesis/kinesisiface"

	"github.com/kplgo/producer/internal/nodeserver"
)

// StartKinesisLocal launches a new kinesis-local server (the npm package of
// kinesis-mock, installed at the repository root by `npm ci`) and waits
// until it answers API calls. The caller must Close it; most tests should
// use SharedKinesisLocal instead.
//
// The server is handled exactly like kinesalite: its own process group, no
// data on disk, exit when the caller closes its stdin or dies, SIGTERM and
// then SIGKILL on Close. kinesis-local listens on every interface by itself;
// the launcher script, internal/kinesistest/kinesislocal.js, binds its
// listeners to 127.0.0.1 instead. Clients use its plain HTTP listener; its
// TLS listener is bound to 127.0.0.1 as well and never used.
//
// Unlike kinesalite, kinesis-local implements UpdateShardCount, stream ARNs
// and ListShards' ShardFilter, and never throttles. It is slow: plan for
// well under 1 MiB/s of PutRecords in total.
func StartKinesisLocal() (*Server, error) {
	return start(nodeserver.KinesisLocal)
}

// UpdateShardCount changes the stream's number of open shards to target with
// UNIFORM_SCALING, waits until the stream is ACTIVE again with target open
// shards, and returns all of its shards, open and closed.
func UpdateShardCount(tb testing.TB, client kinesisiface.KinesisAPI, stream string, target int) []*kinesis.Shard {
	tb.Helper()
	shards, err := updateShardCount(client, stream, target)
	if err != nil {
		tb.Fatalf("kinesistest: %v", err)
	}
	return shards
}

func updateShardCount(client kinesisiface.KinesisAPI, stream string, target int) ([]*kinesis.Shard, error) {
	ctx, cancel := context.WithTimeout(context.Background(), helperTimeout)
	defer cancel()
	_, err := client.UpdateShardCountWithContext(ctx, &kinesis.UpdateShardCountInput{
		StreamName:       aws.String(stream),
		TargetShardCount: aws.Int64(int64(target)),
		ScalingType:      aws.String(kinesis.ScalingTypeUniformScaling),
	})
	if err != nil {
		return nil, fmt.Errorf("update shard count of %s to %d: %w", stream, target, err)
	}
	// The stream goes UPDATING and then back to ACTIVE with the new shards.
	// Wait for both conditions, so that a status read before the update took
	// effect does not end the wait early.
	for {
		out, err := client.DescribeStreamSummaryWithContext(ctx, &kinesis.DescribeStreamSummaryInput{
			StreamName: aws.String(stream),
		})
		if err != nil {
			return nil, fmt.Errorf("describe %s while updating its shard count: %w", stream, err)
		}
		d := out.StreamDescriptionSummary
		if aws.StringValue(d.StreamStatus) == kinesis.StreamStatusActive && aws.Int64Value(d.OpenShardCount) == int64(target) {
			shards, err := listShards(client, stream)
			if err != nil {
				return nil, err
			}
			if n := len(OpenShards(shards)); n == target {
				return shards, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("stream %s did not become ACTIVE with %d open shards within %v (status %s, %d open)",
				stream, target, helperTimeout, aws.StringValue(d.StreamStatus), aws.Int64Value(d.OpenShardCount))
		case <-time.After(pollDelay):
		}
	}
}
