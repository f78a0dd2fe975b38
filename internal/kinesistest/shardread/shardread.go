// Package shardread is the loop that reads a Kinesis shard to its end with
// GetRecords, over plain types: the caller makes the calls with the AWS SDK
// of its choice. Package kinesistest (aws-sdk-go v1) and the kpl-demo
// program (aws-sdk-go-v2, which must not import kinesistest) both read
// streams back with it. It imports no AWS SDK.
package shardread

import "fmt"

// Limits of Drain: how many GetRecords calls it makes for one shard at the
// most, and after how many empty answers in a row it gives up.
const (
	MaxCalls = 10000
	MaxEmpty = 20
)

// Page is what one GetRecords call returned, with the records in the
// caller's type.
type Page[R any] struct {
	Records            []R
	NextIterator       *string // NextShardIterator: nil at the end of a closed shard
	MillisBehindLatest int64
}

// Drain reads one shard, from iterator first (say, a TRIM_HORIZON iterator)
// until it has nothing more: an empty answer that is not behind the tip for
// an open shard, the end of the shard (no next iterator) for a closed one.
// getRecords makes one GetRecords call with the iterator it is given. Drain
// fails after MaxCalls calls or MaxEmpty empty answers in a row; its errors
// name the shard as name, e.g. "stream/shardId-000000000000".
func Drain[R any](name string, first *string, closed bool, getRecords func(iterator *string) (Page[R], error)) ([]R, error) {
	var recs []R
	iter := first
	for calls, empty := 0, 0; iter != nil; calls++ {
		if calls == MaxCalls || empty == MaxEmpty {
			return nil, fmt.Errorf("reading %s did not finish after %d GetRecords calls (%d records so far)",
				name, calls, len(recs))
		}
		page, err := getRecords(iter)
		if err != nil {
			return nil, fmt.Errorf("get records from %s: %w", name, err)
		}
		recs = append(recs, page.Records...)
		iter = page.NextIterator
		if len(page.Records) > 0 {
			empty = 0
			continue
		}
		empty++
		if !closed && page.MillisBehindLatest == 0 {
			break
		}
	}
	return recs, nil
}
