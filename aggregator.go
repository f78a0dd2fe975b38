package producer

import (
	"math/big"
	"sync"

	"github.com/aws/aws-sdk-go/service/kinesis"
	"github.com/kplgo/producer/internal/engine"
)

// partitionKeyIndexSize is what Aggregator.Size counts for each record's
// index into the partition key table, as the established package did.
const partitionKeyIndexSize = 8

// DataRecord is the UserRecord of a payload and a partition key, with no
// explicit hash key (see NewDataRecord).
type DataRecord struct {
	partitionKey string
	data         []byte
}

// NewDataRecord returns the UserRecord of data with partitionKey.
func NewDataRecord(data []byte, partitionKey string) *DataRecord {
	return &DataRecord{partitionKey: partitionKey, data: data}
}

// PartitionKey implements UserRecord.
func (r *DataRecord) PartitionKey() string { return r.partitionKey }

// ExplicitHashKey implements UserRecord: a DataRecord has none.
func (r *DataRecord) ExplicitHashKey() *big.Int { return nil }

// Data implements UserRecord.
func (r *DataRecord) Data() []byte { return r.data }

// Size implements UserRecord: the size of the data.
func (r *DataRecord) Size() int { return len(r.data) }

// AggregatedRecordRequest is one Kinesis record ready for PutRecords, and
// the user records it carries (see Aggregator.Drain and ShardMap).
type AggregatedRecordRequest struct {
	// Entry is the PutRecords entry of the Kinesis record.
	Entry *kinesis.PutRecordsRequestEntry
	// UserRecords are the user records the entry carries, in order.
	UserRecords []UserRecord
}

// NewAggregatedRecordRequest returns the request of an entry with data and
// the given keys (explicitHashKey may be nil), carrying userRecords.
func NewAggregatedRecordRequest(data []byte, partitionKey, explicitHashKey *string, userRecords []UserRecord) *AggregatedRecordRequest {
	return &AggregatedRecordRequest{
		Entry: &kinesis.PutRecordsRequestEntry{
			Data:            data,
			PartitionKey:    partitionKey,
			ExplicitHashKey: explicitHashKey,
		},
		UserRecords: userRecords,
	}
}

// Aggregator builds one KPL aggregated record from user records that the
// caller puts into it, for code that aggregates by itself (the producer
// does its own aggregation and does not need one). It encodes with the
// producer's encoder: what Drain returns decodes with the generated
// AggregatedRecord and with package deaggregator, as a KCL consumer does.
//
// An Aggregator is not safe for concurrent use by itself. It holds a
// sync.RWMutex for callers who share one, as the established package's
// Aggregator did; its methods do not take it.
type Aggregator struct {
	sync.RWMutex
	// explicitHashKey is the explicit hash key of the Kinesis records Drain
	// returns, nil for none.
	explicitHashKey *string
	b               engine.Builder
	nbytes          int // Size, as the established package counted it
}

// NewAggregator returns an empty Aggregator whose Kinesis records carry
// explicitHashKey (nil for none: Kinesis then routes them by the partition
// key of their first user record).
func NewAggregator(explicitHashKey *string) *Aggregator {
	return &Aggregator{explicitHashKey: explicitHashKey}
}

// Size returns the bytes held, counted as the established package did:
// for each user record its data, one byte of field tag and eight for its
// partition key index, plus the bytes of each distinct partition key. It is
// an estimate of the aggregate's growth, not its encoded size: WillOverflow
// uses the exact size.
func (a *Aggregator) Size() int { return a.nbytes }

// Count returns the number of user records held.
func (a *Aggregator) Count() int { return a.b.Len() }

// Put adds userRecord. Put takes any record, however big: call WillOverflow
// first to keep the aggregate within the Kinesis record limit. A user
// record's explicit hash key is written into the aggregate (a KCL consumer
// checks the sub-record's shard by it) when it is within 0..2^128-1.
func (a *Aggregator) Put(userRecord UserRecord) {
	n, _ := a.userRecordNBytes(userRecord)
	a.b.Add(userRecord)
	a.nbytes += n
}

// WillOverflow reports whether adding userRecord would make the aggregated
// record bigger than the Kinesis record limit of 1 MiB (data plus partition
// key, with the exact size of the encoding). Drain first when it does.
func (a *Aggregator) WillOverflow(userRecord UserRecord) bool {
	return a.b.SizeWith(userRecord) > DefaultMaxRecordSize
}

// Drain returns the KPL aggregated record of the user records held, even of
// one only, with the partition key of the first and the Aggregator's
// explicit hash key, and empties the Aggregator. An empty Aggregator gives
// nil, nil. The error is always nil; it is there for the established
// signature. See DrainPlain for a single record sent alone.
func (a *Aggregator) Drain() (*AggregatedRecordRequest, error) {
	return a.drain(false), nil
}

// DrainPlain is Drain, except that a single user record is returned as a
// plain Kinesis record (its own data, partition key and explicit hash key),
// as the producer sends an aggregate of one: smaller, and readable by
// consumers that do not deaggregate. Two or more records make an aggregate,
// as with Drain.
func (a *Aggregator) DrainPlain() (*AggregatedRecordRequest, error) {
	return a.drain(true), nil
}

func (a *Aggregator) drain(plain bool) *AggregatedRecordRequest {
	d, ok := a.b.Drain(plain)
	if !ok {
		return nil
	}
	a.nbytes = 0
	ehk := a.explicitHashKey
	if d.Plain {
		ehk = nil // the record's own, if any
		if d.ExplicitHashKey != "" {
			ehk = &d.ExplicitHashKey
		}
	}
	return NewAggregatedRecordRequest(d.Data, &d.PartitionKey, ehk, d.UserRecords)
}

// userRecordNBytes returns what Size counts for userRecord, and whether that
// includes its partition key (the first record with that key).
func (a *Aggregator) userRecordNBytes(userRecord UserRecord) (int, bool) {
	n := 1 + partitionKeyIndexSize + userRecord.Size()
	key := userRecord.PartitionKey()
	if a.b.HasKey(key) {
		return n, false
	}
	return n + len(key), true
}
