// Package fakekinesis is an in-memory stand-in for *kinesis.Kinesis
// (aws-sdk-go v1) for the metrics adapters' tests: it answers PutRecords as
// Kinesis does, and can throttle, fail, or hold calls.
package fakekinesis

import (
	"crypto/md5"
	"fmt"
	"math/big"
	"sync"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/kinesis"
)

// ThrottleCode is Kinesis's error code of a throttled entry.
const ThrottleCode = kinesis.ErrCodeProvisionedThroughputExceededException

// Kinesis answers PutRecords calls. Set its fields before the first call.
type Kinesis struct {
	// Shards, when set, are the stream's shards: an entry is stored on the
	// shard whose hash key range holds its explicit hash key, else the MD5
	// of its partition key (as a 128-bit big-endian number). Without them,
	// every entry is stored on shardId-000000000000.
	Shards []*kinesis.Shard
	// ThrottleFirst throttles each record (by partition key and explicit
	// hash key) the first time it is sent, and acknowledges it later.
	ThrottleFirst bool
	// Err, when set, is the error of every call.
	Err error
	// Entered, when set, is sent a value (if it has room) as each call
	// begins, and the call then waits until Release is closed.
	Entered chan struct{}
	Release chan struct{}

	mu       sync.Mutex
	seen     map[string]bool
	sequence int64
	calls    int
	stored   map[string]int // acknowledged entries by shard id
}

// PutRecords implements the v1 client's PutRecords.
func (k *Kinesis) PutRecords(in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
	if k.Entered != nil {
		select {
		case k.Entered <- struct{}{}:
		default:
		}
		<-k.Release
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.calls++
	if k.Err != nil {
		return nil, k.Err
	}
	if k.seen == nil {
		k.seen, k.stored = make(map[string]bool), make(map[string]int)
	}
	out := &kinesis.PutRecordsOutput{FailedRecordCount: aws.Int64(0)}
	for _, e := range in.Records {
		key, ehk := aws.StringValue(e.PartitionKey), aws.StringValue(e.ExplicitHashKey)
		id := key + "\x00" + ehk
		if k.ThrottleFirst && !k.seen[id] {
			k.seen[id] = true
			out.Records = append(out.Records, &kinesis.PutRecordsResultEntry{
				ErrorCode:    aws.String(ThrottleCode),
				ErrorMessage: aws.String("Rate exceeded for shard"),
			})
			*out.FailedRecordCount++
			continue
		}
		shard := k.shardOf(key, ehk)
		k.stored[shard]++
		k.sequence++
		out.Records = append(out.Records, &kinesis.PutRecordsResultEntry{
			ShardId:        aws.String(shard),
			SequenceNumber: aws.String(fmt.Sprint(k.sequence)),
		})
	}
	return out, nil
}

// Calls returns the number of PutRecords calls so far.
func (k *Kinesis) Calls() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.calls
}

// Stored returns the number of entries acknowledged on each shard.
func (k *Kinesis) Stored() map[string]int {
	k.mu.Lock()
	defer k.mu.Unlock()
	m := make(map[string]int, len(k.stored))
	for id, n := range k.stored {
		m[id] = n
	}
	return m
}

// shardOf returns the id of the shard Kinesis stores an entry on.
func (k *Kinesis) shardOf(key, ehk string) string {
	if len(k.Shards) == 0 {
		return "shardId-000000000000"
	}
	h, ok := new(big.Int).SetString(ehk, 10)
	if !ok {
		sum := md5.Sum([]byte(key))
		h = new(big.Int).SetBytes(sum[:])
	}
	for _, s := range k.Shards {
		start, _ := new(big.Int).SetString(aws.StringValue(s.HashKeyRange.StartingHashKey), 10)
		end, _ := new(big.Int).SetString(aws.StringValue(s.HashKeyRange.EndingHashKey), 10)
		if h.Cmp(start) >= 0 && h.Cmp(end) <= 0 {
			return aws.StringValue(s.ShardId)
		}
	}
	return "shardId-unknown"
}
