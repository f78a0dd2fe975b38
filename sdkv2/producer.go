package sdkv2

import (
	"context"
	"log"
	"log/slog"

	"github.com/kplgo/producer/internal/engine"
)

// Producer aggregates user records into KPL aggregated records and sends them
// to one Kinesis stream with PutRecords, through an aws-sdk-go-v2 client. It
// is safe for concurrent use.
//
// Every record Put accepts ends in exactly one of two ways: Kinesis
// acknowledges it, or it is reported as a FailureRecord (see NotifyFailures).
type Producer struct {
	e *engine.Producer
}

// New returns a Producer for config. A bad config is reported by Start (and
// by Put and FlushSync), never by a panic.
func New(config *Config) *Producer {
	return &Producer{e: engine.New(config.engineConfig())}
}

// Start lists the shards (when Config.GetShards is set) and starts sending.
// It returns the Config error, if any, or the first shard listing's error
// (wrapping ErrShardListing); the listing is bounded by ctx and by
// Config.ListShardsTimeout. Calling it again does nothing. ctx bounds Start
// alone, not the producer's life: end that with Stop or Shutdown.
func (p *Producer) Start(ctx context.Context) error { return p.e.Start(ctx) }

// Put sends data with partitionKey. It waits while BacklogCount records wait
// to be aggregated, or while the queue of the key's shard is full, and gives
// up with ctx.Err() when ctx ends first (the record is then not accepted).
// It returns an error at once for bad input (wrapping ErrNilData,
// ErrIllegalPartitionKey or ErrRecordSizeExceeded), and ErrStoppedProducer
// after Stop. The producer keeps data: do not change it after the call.
func (p *Producer) Put(ctx context.Context, data []byte, partitionKey string) error {
	return p.e.Put(ctx, data, partitionKey)
}

// PutUserRecord sends a UserRecord, as Put. The producer keeps the value and
// returns it in a FailureRecord if it cannot be delivered. Errors are those
// of Put, plus ErrNilUserRecord and ErrIllegalExplicitHashKey.
func (p *Producer) PutUserRecord(ctx context.Context, userRecord UserRecord) error {
	return p.e.PutUserRecord(ctx, userRecord)
}

// Flush asks for every buffered record to be sent now, without waiting for
// FlushInterval or full batches. It returns at once; see FlushSync to wait.
// After Stop, or for a producer with a bad Config, it does nothing.
func (p *Producer) Flush() { p.e.Flush() }

// FlushSync sends every buffered record now and waits until every record
// accepted before the call is acknowledged or failed, or until ctx ends
// (returning ctx.Err()). Records accepted during the wait are not waited for.
// A producer built from a bad Config returns the Config error.
func (p *Producer) FlushSync(ctx context.Context) error { return p.e.FlushSync(ctx) }

// NotifyFailures returns the channel on which records that could not be
// delivered come out. Call it before Start to see every failure: failures
// that happen while nobody has asked for the channel are logged, not kept.
// The channel is closed after Stop, once the last failure is delivered. Read
// it until it is closed; Stop does not wait for the reader.
func (p *Producer) NotifyFailures() <-chan *FailureRecord { return p.e.NotifyFailures() }

// NotifySuccesses turns on success results and returns their channel: one
// SuccessRecord per acknowledged Kinesis record, with the shard and sequence
// number Kinesis gave it and the user records it carried. Results are off
// (and cost nothing) until the first call; call it before Start to see all.
// The channel is closed after Stop, once the last result is delivered. Read
// it steadily: results wait in memory until they are read.
func (p *Producer) NotifySuccesses() <-chan *SuccessRecord { return p.e.NotifySuccesses() }

// Stop flushes every buffered record, waits until each is acknowledged or
// failed, and stops the producer. Put returns ErrStoppedProducer afterwards.
// It is safe to call more than once and from several goroutines. See
// Shutdown for a Stop with a deadline.
func (p *Producer) Stop() { p.e.Stop() }

// Shutdown is Stop with a deadline: when ctx ends before every record is
// delivered, requests under way are cancelled, retries stop, and the records
// not yet acknowledged fail with an error wrapping ErrStopDeadline (they come
// out on NotifyFailures). It then returns an error wrapping ErrStopDeadline
// and ctx.Err() that says how many user records were not delivered.
func (p *Producer) Shutdown(ctx context.Context) error { return p.e.Shutdown(ctx) }

// Stats returns a snapshot of the producer's totals.
func (p *Producer) Stats() Stats { return p.e.Stats() }

// ShardStats returns what waits for each shard now, and each shard's current
// rate limit (see ShardStats).
func (p *Producer) ShardStats() []ShardStats { return p.e.ShardStats() }

// Outstanding returns the number of user records accepted by Put and not yet
// acknowledged or failed, for back-pressure.
func (p *Producer) Outstanding() int64 { return p.e.Outstanding() }

// The types below are the same as those of package producer (the
// aws-sdk-go v1 front door): code that handles failures, results, stats,
// metrics and logs serves both.

// Stats is a snapshot of a producer's totals (see Producer.Stats).
type Stats = engine.Stats

// ShardStats is what waits for one shard now, and the shard's rate limit
// (see Producer.ShardStats).
type ShardStats = engine.ShardStats

// RateReason says why a shard's rate limit last changed (see
// ShardStats.RateReason).
type RateReason = engine.RateReason

// The reasons a shard's rate limit changes.
const (
	// RateInitial: no change yet; the rate is where it started, a shard's
	// capacity (or RateLimit, when lower).
	RateInitial = engine.RateInitial
	// RateThrottled: cut, because Kinesis throttled more of a window of
	// the shard's records than chance explains.
	RateThrottled = engine.RateThrottled
	// RateProbe: raised, because records waited for the limit and the
	// shard took what it was sent.
	RateProbe = engine.RateProbe
)

// UserRecord is a record a caller hands to PutUserRecord. The producer keeps
// the caller's value and gives the very same value back in a FailureRecord.
// The producer calls PartitionKey, ExplicitHashKey and Data once, inside
// PutUserRecord; the value must not change until the record is acknowledged
// or comes back as a failure.
type UserRecord = engine.UserRecord

// FailureRecord reports user records the producer could not deliver. Err
// says why and wraps the cause (compare with errors.Is against
// ErrAttemptsExhausted, ErrRecordExpired, ErrNotRetryable, and errors.As
// with the SDK's error types).
type FailureRecord = engine.FailureRecord

// SuccessRecord reports one Kinesis record that Kinesis acknowledged (see
// Producer.NotifySuccesses), the equivalent of the KPL's UserRecordResult.
type SuccessRecord = engine.SuccessRecord

// PutRecordError is the per-record error a PutRecords answer carried for a
// Kinesis record, such as ProvisionedThroughputExceededException or
// InternalFailure.
type PutRecordError = engine.PutRecordError

// Metrics receives the producer's counts and timings as they happen (see
// Config.Metrics). Packages metrics/prommetrics (Prometheus) and
// metrics/otelmetrics (OpenTelemetry) have ready adapters.
type Metrics = engine.Metrics

// MetricsState is what a Metrics implementation that also has
// Observe(MetricsState) reads when it is scraped: the producer's Stats and
// ShardStats. The producer calls Observe once, when it is built.
type MetricsState = engine.State

// Logger receives the producer's log lines. Implementations must be safe for
// concurrent use. The producer never logs record data or credentials.
type Logger = engine.Logger

// LogValue is one key=value pair of a log line.
type LogValue = engine.LogValue

// StdLogger is a Logger over a standard library *log.Logger. Lines read
// `msg key=value ... err="..."`.
type StdLogger = engine.StdLogger

// Standard returns a Logger that writes to l, or to os.Stderr with the prefix
// "kinesis-producer: " when l is nil. It is the default Config.Logger.
func Standard(l *log.Logger) Logger { return engine.Standard(l) }

// Slog returns a Logger that writes to l with attributes, at slog's Info and
// Error levels. (Package loggers has the same adapter next to logrus and zap
// ones.)
func Slog(l *slog.Logger) Logger { return engine.Slog(l) }

// Errors returned by Put, PutUserRecord, Start and carried by
// FailureRecord.Err, the same values as in package producer. Compare with
// errors.Is: the returned errors wrap these with detail.
var (
	// ErrStoppedProducer is returned by Put after Stop was called.
	ErrStoppedProducer = engine.ErrStoppedProducer
	// ErrIllegalPartitionKey is returned for an empty partition key, one
	// longer than 256 UTF-16 code units (as Kinesis counts them), or one
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
	// acknowledged within Config.RecordTTL.
	ErrRecordExpired = engine.ErrRecordExpired
	// ErrThrottled is wrapped by the failure of a record Kinesis throttled
	// when Config.FailIfThrottled is set.
	ErrThrottled = engine.ErrThrottled
	// ErrStopDeadline is wrapped by the failures of records that Shutdown
	// gave up on when its context ended, and by Shutdown's error.
	ErrStopDeadline = engine.ErrStopDeadline
	// ErrNotRetryable is wrapped by a failure the producer did not retry
	// because Kinesis answered with an error that retrying cannot cure.
	ErrNotRetryable = engine.ErrNotRetryable
)
