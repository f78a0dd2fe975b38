package producer

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go/service/kinesis"
)

// Kinesis limits and the defaults of Config.
const (
	// DefaultMaxRecordSize is the size limit of one Kinesis record (data plus
	// partition key), 1 MiB.
	DefaultMaxRecordSize = 1 << 20
	// MaxRecordSizeLimit is the largest MaxRecordSize a stream can opt in to.
	MaxRecordSizeLimit = 10 << 20
	// DefaultBatchSize is the default size limit of one PutRecords request, 5 MiB.
	DefaultBatchSize = 5 << 20
	// MaxBatchSizeLimit is the largest BatchSize a stream can allow, 10 MiB.
	MaxBatchSizeLimit = 10 << 20
	// MaxBatchCount is the most records one PutRecords request may carry.
	MaxBatchCount = 500
	// DefaultAggregateBatchSize is the default size of an aggregated record, 50 KiB.
	DefaultAggregateBatchSize = 50 * 1024
	// DefaultAggregateBatchCount is the default (and largest) number of user
	// records in one aggregated record: 4294967295, or the largest int on a
	// 32-bit platform.
	DefaultAggregateBatchCount = min(math.MaxUint32, math.MaxInt)
	// DefaultMaxConnections is the default number of concurrent PutRecords calls.
	DefaultMaxConnections = 24
	// DefaultBacklogCount is the default number of user records buffered
	// before Put blocks.
	DefaultBacklogCount = 500
	// DefaultFlushInterval is the default longest wait of a buffered record.
	DefaultFlushInterval = 5 * time.Second
	// DefaultRecordMaxBufferedTime is the default longest wait of a record
	// in its aggregate and batch.
	DefaultRecordMaxBufferedTime = 100 * time.Millisecond
	// DefaultShardRefreshInterval is how often the shard map is listed again.
	DefaultShardRefreshInterval = time.Minute
	// DefaultRecordTTL is the default time a record may take to be acknowledged.
	DefaultRecordTTL = 30 * time.Second
	// DefaultRetryBackoffMin is the default first retry delay.
	DefaultRetryBackoffMin = 100 * time.Millisecond
	// DefaultRetryBackoffMax is the default longest retry delay.
	DefaultRetryBackoffMax = 5 * time.Second
	// DefaultRateLimit is the default per-shard rate limit, in percent.
	DefaultRateLimit = 150
	// DefaultRequestTimeout is the default time limit of one PutRecords call.
	DefaultRequestTimeout = 30 * time.Second
)

// PutRecordsAPI is the one call the producer needs from a Kinesis client.
// *kinesis.Kinesis of aws-sdk-go (v1) satisfies it. A client that also has
// PutRecordsWithContext (as *kinesis.Kinesis does) gets RequestTimeout.
//
// The producer reuses the memory of an input (its data buffers, entries and
// strings) once the call returns, as the SDK allows: a fake client in a test
// that keeps what it was sent must copy it.
type PutRecordsAPI interface {
	PutRecords(*kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error)
}

// Config is the configuration of a Producer. Zero values take the defaults
// named on each field; New and Start check every value.
type Config struct {
	// StreamName is the name of the Kinesis stream. Required unless
	// StreamARN is set.
	StreamName string

	// StreamARN is the ARN of the stream, an alternative to StreamName
	// (for example for a stream in another account). When set, requests
	// name the stream by its ARN.
	StreamARN string

	// Client sends PutRecords. Required; *kinesis.Kinesis fits.
	Client PutRecordsAPI

	// BacklogCount is the number of user records buffered between Put and
	// the pipeline before Put blocks. Default 500. (Put also blocks for the keys
	// of a shard whose queue is full.)
	BacklogCount int

	// BatchCount is the most Kinesis records in one PutRecords call, 1..500.
	// Default 500.
	BatchCount int

	// BatchSize is the most bytes (data plus partition keys) in one
	// PutRecords call. Default 5 MiB; at most 10 MiB, and at least
	// MaxRecordSize.
	BatchSize int

	// AggregateBatchCount is the most user records in one aggregated
	// Kinesis record. Default 4294967295 (no limit but the size).
	AggregateBatchCount int

	// AggregateBatchSize is the most bytes of an aggregated record's data
	// (magic, protobuf and checksum). A user record too big to share an
	// aggregate of this size is sent alone. Default 50 KiB; at most
	// MaxRecordSize.
	AggregateBatchSize int

	// MaxConnections is the most PutRecords calls in flight at once, 1..256.
	// Default 24.
	MaxConnections int

	// FlushInterval is the period at which everything buffered is sent,
	// however small the aggregates and batches are: the longest a record
	// waits when RecordMaxBufferedTime is off. Default 5s.
	FlushInterval time.Duration

	// RecordMaxBufferedTime is the longest a user record waits in its
	// aggregate and batch before they are sent, whatever the other
	// thresholds (the KPL's RecordMaxBufferedTime). Lower means less latency
	// and smaller, more numerous requests. Time held back by RateLimit is
	// not counted. The effective bound is the smaller of this and
	// FlushInterval. Default 100ms; negative turns it off, leaving
	// FlushInterval alone.
	RecordMaxBufferedTime time.Duration

	// Logger receives the producer's log lines (never record data).
	// Default: Standard(nil), the standard library logger on stderr.
	Logger Logger

	// Verbose logs every PutRecords call and every retry.
	Verbose bool

	// GetShards, when set, gives the producer the stream's shard map: user
	// records are aggregated per shard so that every aggregate holds only
	// records of the shard it is sent to. See GetKinesisShardsFunc.
	GetShards GetShardsFunc

	// ShardRefreshInterval is how often GetShards is called again to follow
	// resharding. Default 1 minute; negative disables the periodic refresh
	// (a wrong-shard answer still asks for a listing).
	ShardRefreshInterval time.Duration

	// MaxRecordSize is the size limit of one Kinesis record, data plus
	// partition key. Default 1 MiB; up to 10 MiB for streams that opted in.
	MaxRecordSize int

	// MaxAttempts is the most failed PutRecords attempts for one record
	// before it fails with ErrAttemptsExhausted. Throttling
	// (ProvisionedThroughputExceededException) is not a failed attempt: a
	// throttled record waits for its shard's rate, bounded by RecordTTL.
	// Default 0, no limit: RecordTTL bounds the retries, as in the KPL, so
	// that an outage shorter than RecordTTL fails no record. Negative also
	// means no limit.
	MaxAttempts int

	// RecordTTL is the longest a record may take from being aggregated to
	// being acknowledged, time waiting for its shard's rate and for retries
	// included; past it the record fails with ErrRecordExpired and is not
	// sent again. Default 30s; negative means no limit, which needs a
	// positive MaxAttempts.
	RecordTTL time.Duration

	// RetryBackoffMin is the delay before the first retry; each further
	// retry doubles it, with jitter, up to RetryBackoffMax. Default 100ms.
	RetryBackoffMin time.Duration

	// RetryBackoffMax is the longest delay between two attempts. Default 5s.
	RetryBackoffMax time.Duration

	// RateLimit is the ceiling of what the producer sends to each shard,
	// in percent of the shard's write limits (1,000 records and 1 MiB a
	// second), with a token bucket for records and one for bytes, like the
	// KPL's RateLimit. It applies with a shard map (GetShards) only. Under
	// the ceiling the rate adapts: a throttled answer for a shard lowers
	// the shard's rate, time without one raises it back, so that producers
	// sharing a stream settle on each shard's capacity. Kinesis records held
	// back wait in their shard's queue; once about two seconds of the
	// shard's current rate waits, Put blocks for keys of that shard only.
	// Default 150, as in the KPL: over the limit, so that no capacity is
	// left unused. Negative turns the limit off (throttled records then
	// only back off).
	RateLimit int

	// FailIfThrottled fails a Kinesis record at once, with ErrThrottled,
	// when Kinesis throttles it (ProvisionedThroughputExceededException),
	// instead of retrying it.
	FailIfThrottled bool

	// Metrics, when set, receives counts and timings as they happen. See the
	// metrics/prometheus package for a ready adapter. Default none.
	Metrics Metrics

	// RequestTimeout is the time limit of one PutRecords call, applied when
	// the client has PutRecordsWithContext. A call that times out is retried.
	// Default 30s.
	RequestTimeout time.Duration
}

// withDefaults returns a copy of c with defaults in place of zero values,
// or an error wrapping ErrInvalidConfig for the first bad value.
func (c *Config) withDefaults() (Config, error) {
	if c == nil {
		return Config{}, fmt.Errorf("%w: nil Config", ErrInvalidConfig)
	}
	v := *c
	if v.BacklogCount == 0 {
		v.BacklogCount = DefaultBacklogCount
	}
	if v.BatchCount == 0 {
		v.BatchCount = MaxBatchCount
	}
	if v.BatchSize == 0 {
		v.BatchSize = DefaultBatchSize
	}
	if v.AggregateBatchCount == 0 {
		v.AggregateBatchCount = DefaultAggregateBatchCount
	}
	if v.AggregateBatchSize == 0 {
		v.AggregateBatchSize = DefaultAggregateBatchSize
	}
	if v.MaxConnections == 0 {
		v.MaxConnections = DefaultMaxConnections
	}
	if v.FlushInterval == 0 {
		v.FlushInterval = DefaultFlushInterval
	}
	if v.RecordMaxBufferedTime == 0 {
		v.RecordMaxBufferedTime = DefaultRecordMaxBufferedTime
	}
	if v.Logger == nil {
		v.Logger = Standard(nil)
	}
	if v.ShardRefreshInterval == 0 {
		v.ShardRefreshInterval = DefaultShardRefreshInterval
	}
	if v.MaxRecordSize == 0 {
		v.MaxRecordSize = DefaultMaxRecordSize
	}
	if v.RecordTTL == 0 {
		v.RecordTTL = DefaultRecordTTL
	}
	if v.RetryBackoffMin == 0 {
		v.RetryBackoffMin = DefaultRetryBackoffMin
	}
	if v.RetryBackoffMax == 0 {
		v.RetryBackoffMax = DefaultRetryBackoffMax
	}
	if v.RateLimit == 0 {
		v.RateLimit = DefaultRateLimit
	}
	if v.RequestTimeout == 0 {
		v.RequestTimeout = DefaultRequestTimeout
	}
	if err := v.validate(); err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return v, nil
}

// isNil reports whether v is nil or holds a nil pointer (a typed nil
// client would panic on its first call, on a goroutine of the producer's).
func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch r := reflect.ValueOf(v); r.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.Interface:
		return r.IsNil()
	}
	return false
}

// validate checks a Config whose defaults are in place.
func (c *Config) validate() error {
	switch {
	case c.StreamName == "" && c.StreamARN == "":
		return fmt.Errorf("StreamName (or StreamARN) is required")
	case c.StreamARN != "" && (!strings.HasPrefix(c.StreamARN, "arn:") || len(c.StreamARN) > 2048):
		return fmt.Errorf("StreamARN %q is not a stream ARN", c.StreamARN)
	case len(c.StreamName) > 128:
		return fmt.Errorf("StreamName is %d characters, the limit is 128", len(c.StreamName))
	case isNil(c.Client):
		return fmt.Errorf("Client is required (it is nil)")
	case c.BacklogCount < 1:
		return fmt.Errorf("BacklogCount %d must be at least 1", c.BacklogCount)
	case c.BatchCount < 1 || c.BatchCount > MaxBatchCount:
		return fmt.Errorf("BatchCount %d must be in 1..%d", c.BatchCount, MaxBatchCount)
	case c.MaxRecordSize < 1 || c.MaxRecordSize > MaxRecordSizeLimit:
		return fmt.Errorf("MaxRecordSize %d must be in 1..%d", c.MaxRecordSize, MaxRecordSizeLimit)
	case c.BatchSize < c.MaxRecordSize || c.BatchSize > MaxBatchSizeLimit:
		return fmt.Errorf("BatchSize %d must be in MaxRecordSize..%d (MaxRecordSize is %d)", c.BatchSize, MaxBatchSizeLimit, c.MaxRecordSize)
	case c.AggregateBatchCount < 1 || int64(c.AggregateBatchCount) > math.MaxUint32:
		return fmt.Errorf("AggregateBatchCount %d must be in 1..%d", c.AggregateBatchCount, uint64(math.MaxUint32))
	case c.AggregateBatchSize < 1 || c.AggregateBatchSize > c.MaxRecordSize:
		return fmt.Errorf("AggregateBatchSize %d must be in 1..MaxRecordSize (%d)", c.AggregateBatchSize, c.MaxRecordSize)
	case c.MaxConnections < 1 || c.MaxConnections > 256:
		return fmt.Errorf("MaxConnections %d must be in 1..256", c.MaxConnections)
	case c.FlushInterval < 0:
		return fmt.Errorf("FlushInterval %v must be positive", c.FlushInterval)
	case c.MaxAttempts <= 0 && c.RecordTTL < 0:
		return fmt.Errorf("MaxAttempts and RecordTTL cannot both be unlimited")
	case c.RetryBackoffMin < 0 || c.RetryBackoffMax < c.RetryBackoffMin:
		return fmt.Errorf("RetryBackoffMin %v and RetryBackoffMax %v must satisfy 0 <= min <= max", c.RetryBackoffMin, c.RetryBackoffMax)
	case c.RequestTimeout < 0:
		return fmt.Errorf("RequestTimeout %v must be positive", c.RequestTimeout)
	}
	return nil
}
