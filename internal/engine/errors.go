package engine

import (
	"errors"
	"fmt"
)

// Errors returned by Put, PutUserRecord, Start and carried by FailureRecord.Err.
// Compare with errors.Is: the returned errors wrap these with detail.
var (
	// ErrStoppedProducer is returned by Put after Stop was called.
	ErrStoppedProducer = errors.New("kinesis producer: producer is stopped")
	// ErrIllegalPartitionKey is returned for an empty partition key, one
	// longer than 256 characters as Kinesis counts them (UTF-16 code units:
	// a character outside the Basic Multilingual Plane counts twice), or one
	// that is not valid UTF-8.
	ErrIllegalPartitionKey = errors.New("kinesis producer: illegal partition key")
	// ErrRecordSizeExceeded is returned when data plus partition key exceed
	// Config.MaxRecordSize.
	ErrRecordSizeExceeded = errors.New("kinesis producer: record size exceeded")
	// ErrIllegalExplicitHashKey is returned for an explicit hash key outside
	// 0..2^128-1.
	ErrIllegalExplicitHashKey = errors.New("kinesis producer: illegal explicit hash key")
	// ErrNilData is returned when a record's data is nil (use an empty,
	// non-nil slice for an empty record).
	ErrNilData = errors.New("kinesis producer: nil data")
	// ErrNilUserRecord is returned by PutUserRecord for a nil UserRecord.
	ErrNilUserRecord = errors.New("kinesis producer: nil user record")
	// ErrOrderingNeedsShardMap is wrapped by the error of a Config that
	// asks for OrderPerKey without a shard map (GetShards): the strict
	// per-key order is kept per shard, so the producer must know the
	// shards.
	ErrOrderingNeedsShardMap = errors.New("kinesis producer: per-key ordering needs a shard map (set GetShards)")
	// ErrInvalidConfig is wrapped by every Config validation error.
	ErrInvalidConfig = errors.New("kinesis producer: invalid config")
	// ErrShardListing is wrapped by the error Start returns when the first
	// shard listing fails.
	ErrShardListing = errors.New("kinesis producer: listing shards failed")
	// ErrAttemptsExhausted is wrapped by a failure whose records used up
	// Config.MaxAttempts; the error also wraps the last cause.
	ErrAttemptsExhausted = errors.New("kinesis producer: attempts exhausted")
	// ErrRecordExpired is wrapped by a failure whose records were not
	// acknowledged within Config.RecordTTL; the error also wraps the last
	// cause when there was one.
	ErrRecordExpired = errors.New("kinesis producer: record time-to-live expired")
	// ErrThrottled is wrapped by the failure of a record Kinesis throttled
	// when Config.FailIfThrottled is set.
	ErrThrottled = errors.New("kinesis producer: throttled")
	// ErrStopDeadline is wrapped by the failures of records that Shutdown
	// gave up on when its context ended, and by Shutdown's error.
	ErrStopDeadline = errors.New("kinesis producer: stopped before delivery")
	// ErrNotRetryable is wrapped by a failure the producer did not retry
	// because Kinesis answered with an error that retrying cannot cure
	// (a missing stream, a denied access, an invalid argument).
	ErrNotRetryable = errors.New("kinesis producer: not retryable")
)

// PutRecordError is the per-record error a PutRecords answer carried for a
// Kinesis record, such as ProvisionedThroughputExceededException or
// InternalFailure.
type PutRecordError struct {
	// Code is the ErrorCode of the answer entry.
	Code string
	// Message is the ErrorMessage of the answer entry.
	Message string
}

// Error implements error.
func (e *PutRecordError) Error() string {
	return fmt.Sprintf("PutRecords entry failed: %s: %s", e.Code, e.Message)
}

// FailureRecord reports user records the producer could not deliver. Err
// says why and wraps the cause (compare with errors.Is against
// ErrAttemptsExhausted, ErrRecordExpired, ErrNotRetryable and the AWS error).
type FailureRecord struct {
	// Err is the reason the records failed.
	Err error
	// PartitionKey is the partition key of the Kinesis record that carried
	// the user records: the key of a plain record, the first user record's
	// key for an aggregate.
	PartitionKey string
	// ExplicitHashKey is the explicit hash key the Kinesis record was sent
	// with, in decimal: a user record's own for a plain record, the
	// starting hash key of the predicted shard for an aggregate in
	// shard-map mode, "" when it had none.
	ExplicitHashKey string
	// UserRecords are the records this failure covers: for PutUserRecord the
	// caller's own values, for Put values that give back the data, partition
	// key and explicit hash key that were put.
	UserRecords []UserRecord
}

// Error implements error, so a FailureRecord can be logged or returned as is.
func (f *FailureRecord) Error() string {
	return fmt.Sprintf("%d user records failed: %v", len(f.UserRecords), f.Err)
}

// Unwrap returns Err.
func (f *FailureRecord) Unwrap() error { return f.Err }

// SuccessRecord reports one Kinesis record that Kinesis acknowledged (see
// Producer.NotifySuccesses), the equivalent of the KPL's UserRecordResult.
type SuccessRecord struct {
	// ShardID is the shard Kinesis stored the record on.
	ShardID string
	// SequenceNumber is the sequence number Kinesis gave the record; the user
	// records of an aggregate share it and are told apart by their index
	// (the KPL's sub-sequence number).
	SequenceNumber string
	// Attempts is the number of PutRecords attempts it took.
	Attempts int
	// UserRecords are the user records the Kinesis record carried, in order.
	UserRecords []UserRecord
}
