package producer

import "github.com/kplgo/producer/internal/engine"

// Errors returned by Put, PutUserRecord, Start and carried by FailureRecord.Err.
// Compare with errors.Is: the returned errors wrap these with detail. They
// are the same values in package sdkv2.
var (
	// ErrStoppedProducer is returned by Put after Stop was called.
	ErrStoppedProducer = engine.ErrStoppedProducer
	// ErrIllegalPartitionKey is returned for an empty partition key, one
	// longer than 256 characters as Kinesis counts them (UTF-16 code units:
	// a character outside the Basic Multilingual Plane counts twice), or one
	// that is not valid UTF-8.
	ErrIllegalPartitionKey = engine.ErrIllegalPartitionKey
	// ErrRecordSizeExceeded is returned when data plus partition key exceed
	// Config.MaxRecordSize.
	ErrRecordSizeExceeded = engine.ErrRecordSizeExceeded
	// ErrIllegalExplicitHashKey is returned for an explicit hash key outside
	// 0..2^128-1.
	ErrIllegalExplicitHashKey = engine.ErrIllegalExplicitHashKey
	// ErrNilData is returned when a record's data is nil (use an empty,
	// non-nil slice for an empty record).
	ErrNilData = engine.ErrNilData
	// ErrNilUserRecord is returned by PutUserRecord for a nil UserRecord.
	ErrNilUserRecord = engine.ErrNilUserRecord
	// ErrInvalidConfig is wrapped by every Config validation error.
	ErrInvalidConfig = engine.ErrInvalidConfig
	// ErrShardListing is wrapped by the error Start returns when the first
	// shard listing fails.
	ErrShardListing = engine.ErrShardListing
	// ErrAttemptsExhausted is wrapped by a failure whose records used up
	// Config.MaxAttempts; the error also wraps the last cause.
	ErrAttemptsExhausted = engine.ErrAttemptsExhausted
	// ErrRecordExpired is wrapped by a failure whose records were not
	// acknowledged within Config.RecordTTL; the error also wraps the last
	// cause when there was one.
	ErrRecordExpired = engine.ErrRecordExpired
	// ErrThrottled is wrapped by the failure of a record Kinesis throttled
	// when Config.FailIfThrottled is set.
	ErrThrottled = engine.ErrThrottled
	// ErrStopDeadline is wrapped by the failures of records that Shutdown
	// gave up on when its context ended, and by Shutdown's error.
	ErrStopDeadline = engine.ErrStopDeadline
	// ErrNotRetryable is wrapped by a failure the producer did not retry
	// because Kinesis answered with an error that retrying cannot cure
	// (a missing stream, a denied access, an invalid argument).
	ErrNotRetryable = engine.ErrNotRetryable
)

// PutRecordError is the per-record error a PutRecords answer carried for a
// Kinesis record, such as ProvisionedThroughputExceededException or
// InternalFailure.
type PutRecordError = engine.PutRecordError

// FailureRecord reports user records the producer could not deliver. Err
// says why and wraps the cause (compare with errors.Is against
// ErrAttemptsExhausted, ErrRecordExpired, ErrNotRetryable and the AWS error).
type FailureRecord = engine.FailureRecord

// SuccessRecord reports one Kinesis record that Kinesis acknowledged (see
// Producer.NotifySuccesses), the equivalent of the KPL's UserRecordResult.
type SuccessRecord = engine.SuccessRecord

// UserRecord is a record a caller hands to PutUserRecord. The producer keeps
// the caller's value and gives the very same value back in a FailureRecord.
// The producer calls PartitionKey, ExplicitHashKey and Data once, inside
// PutUserRecord; the value must not change until the record is acknowledged
// or comes back as a failure.
type UserRecord = engine.UserRecord
