package kinesistest

import (
	"errors"
	"fmt"
	"math/big"
	"testing"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/kinesis"
	"github.com/aws/aws-sdk-go/service/kinesis/kinesisiface"

	"github.com/kplgo/producer/deaggregator"
)

// KCLRecord is a user record as a KCL 2.x consumer receives it.
type KCLRecord struct {
	// ShardID is the shard the Kinesis record was read from.
	ShardID string
	// SequenceNumber is the Kinesis record's sequence number.
	SequenceNumber string
	// SubSequenceNumber is the user record's index in its aggregate (0 for
	// a plain record).
	SubSequenceNumber int
	// Aggregated reports whether the user record came out of a KPL
	// aggregate.
	Aggregated bool
	// PartitionKey is the user record's partition key.
	PartitionKey string
	// ExplicitHashKey is the user record's explicit hash key in decimal, ""
	// for none (always "" for a plain record: GetRecords does not return
	// it).
	ExplicitHashKey string
	// Data is the user record's data.
	Data []byte
}

// KCLResult is what a KCL 2.x consumer makes of the records of a stream.
type KCLResult struct {
	// Records are the user records the consumer hands to its processor, in
	// the order of the Kinesis records they came from.
	Records []KCLRecord
	// KinesisRecords is the number of Kinesis records read.
	KinesisRecords int
	// Aggregates is the number of Kinesis records that are valid KPL
	// aggregates.
	Aggregates int
	// DroppedAggregates is the number of aggregates dropped whole because a
	// sub-record's hash key lies outside the range of the shard the
	// aggregate was stored on.
	DroppedAggregates int
	// DroppedUserRecords is the number of user records dropped: all user
	// records of the dropped aggregates, and the rest of an aggregate from
	// a sub-record with an explicit hash key that is not a number on.
	DroppedUserRecords int
	// BadHashKeys is the number of aggregates cut short by a sub-record
	// with an explicit hash key that is not a decimal number.
	BadHashKeys int
	// Malformed is the number of records with the aggregation prefix that
	// are not valid aggregates (bad checksum or body) and so are passed on
	// as plain records.
	Malformed int
}

// String summarizes the result for test logs.
func (r *KCLResult) String() string {
	return fmt.Sprintf("KCL 2.x view: %d Kinesis records (%d aggregates, %d malformed passed as plain), "+
		"%d user records delivered; %d aggregates dropped whole, %d cut short by a bad explicit hash key, "+
		"%d user records dropped in all",
		r.KinesisRecords, r.Aggregates, r.Malformed, len(r.Records), r.DroppedAggregates, r.BadHashKeys,
		r.DroppedUserRecords)
}

// kclRange is a shard's hash key range.
type kclRange struct{ lo, hi *big.Int }

// KCL2View returns what a consumer built on KCL 2.x would receive from the
// records read from a stream (as ReadAll returns them), given all of the
// stream's shards, closed parents included (as Shards returns them).
//
// It follows KCL 2.x's AggregatorUtil.deaggregate, which is given the hash
// key range of the shard being read:
//   - A record that is not a KPL aggregate (no prefix, 20 bytes or less, a
//     checksum that does not match, a body that does not decode) is passed
//     on as it is.
//   - The user records of an aggregate are passed on in order, unless the
//     hash key of one of them (its explicit hash key from the table, else
//     the MD5 of its partition key as a 128-bit big-endian integer) lies
//     outside the shard's range: then the whole aggregate is dropped.
//   - An explicit hash key that is not a decimal number ends the aggregate:
//     the user records before it are kept, the others dropped.
//
// KCL also keeps the leading user records of an aggregate whose key index
// points past its table; package deaggregator rejects such a body as
// malformed, and KCL2View then passes the record on as plain and counts it
// in Malformed (no producer writes such a record).
//
// It fails when a record names a shard that is not in shards.
func KCL2View(records []Record, shards []*kinesis.Shard) (*KCLResult, error) {
	ranges := make(map[string]kclRange, len(shards))
	for _, sh := range shards {
		if sh.HashKeyRange == nil {
			return nil, fmt.Errorf("kinesistest: shard %s has no hash key range", aws.StringValue(sh.ShardId))
		}
		lo, ok1 := new(big.Int).SetString(aws.StringValue(sh.HashKeyRange.StartingHashKey), 10)
		hi, ok2 := new(big.Int).SetString(aws.StringValue(sh.HashKeyRange.EndingHashKey), 10)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("kinesistest: shard %s has an invalid hash key range", aws.StringValue(sh.ShardId))
		}
		ranges[aws.StringValue(sh.ShardId)] = kclRange{lo, hi}
	}

	res := &KCLResult{KinesisRecords: len(records)}
	for _, r := range records {
		rng, ok := ranges[r.ShardID]
		if !ok {
			return nil, fmt.Errorf("kinesistest: record %s was read from shard %s, which is not among the %d shards given",
				r.SequenceNumber, r.ShardID, len(shards))
		}
		subs, err := deaggregator.DeaggregateShard(r.Data, r.PartitionKey, "", rng.lo, rng.hi)
		n := deaggregator.SubRecords(r.Data)
		switch {
		case err == nil && len(subs) == 1 && !subs[0].Aggregated:
			// KCL takes it as it is, aggregation prefix or not.
			if deaggregator.IsAggregated(r.Data) {
				res.Malformed++
			}
			res.Records = append(res.Records, KCLRecord{ShardID: r.ShardID, SequenceNumber: r.SequenceNumber, PartitionKey: r.PartitionKey, Data: r.Data})
			continue
		case errors.Is(err, deaggregator.ErrOutsideShard):
			res.Aggregates++
			res.DroppedAggregates++
			res.DroppedUserRecords += n
			continue
		case errors.Is(err, deaggregator.ErrMalformed):
			// KCL fails on the sub-record and keeps what it had.
			res.BadHashKeys++
			res.DroppedUserRecords += n - len(subs)
		case err != nil:
			return nil, fmt.Errorf("kinesistest: deaggregate record %s of shard %s: %w", r.SequenceNumber, r.ShardID, err)
		}
		res.Aggregates++
		for i, s := range subs {
			res.Records = append(res.Records, KCLRecord{
				ShardID: r.ShardID, SequenceNumber: r.SequenceNumber, SubSequenceNumber: i, Aggregated: true,
				PartitionKey: s.PartitionKey, ExplicitHashKey: s.ExplicitHashKey, Data: s.Data,
			})
		}
	}
	return res, nil
}

// ReadKCL2 reads every record of the stream (see ReadAll) and returns what a
// KCL 2.x consumer would receive (see KCL2View). It fails the test if
// reading fails.
func ReadKCL2(tb testing.TB, client kinesisiface.KinesisAPI, stream string) *KCLResult {
	tb.Helper()
	recs := ReadAll(tb, client, stream)
	res, err := KCL2View(recs, Shards(tb, client, stream))
	if err != nil {
		tb.Fatalf("kinesistest: %v", err)
	}
	return res
}
