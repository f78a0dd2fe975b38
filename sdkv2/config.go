package sdkv2

import (
	"time"

	"github.com/kplgo/producer/internal/engine"
)

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

	// Client sends PutRecords. Required; *kinesis.Client of aws-sdk-go-v2
	// fits. Its own retries (RetryMaxAttempts) come on top of the
	// producer's: a client made for the producer alone may set
	// RetryMaxAttempts to 1.
	Client Putter

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

	// Verbose also logs each failed PutRecords call and each answer that
	// put a record on another shard than predicted. (Failures nobody reads,
	// failed shard listings, start and stop are logged anyway.)
	Verbose bool

	// GetShards, when set, gives the producer the stream's shard map: user
	// records are aggregated per shard so that every aggregate holds only
	// records of the shard it is sent to. See GetKinesisShardsFunc.
	GetShards GetShardsFunc

	// ShardRefreshInterval is how often GetShards is called again to follow
	// resharding. Default 1 minute; negative disables the periodic refresh
	// (a wrong-shard answer still asks for a listing).
	ShardRefreshInterval time.Duration

	// ListShardsTimeout bounds each call of GetShards through its context,
	// the first one (in Start) included: a listing that takes longer fails
	// (Start returns its error; a later listing keeps the old map and is
	// tried again). Default 10s.
	ListShardsTimeout time.Duration

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
	// the ceiling the rate adapts: it starts at a shard's capacity (or the
	// ceiling, when lower); a window of answers in which Kinesis throttled
	// the shard cuts its rate toward what the shard accepted, and windows in
	// which it took everything raise it back, so that producers sharing a
	// stream settle on each shard's capacity (the README's "The adaptive
	// rate" says how; ShardStats says why a rate last changed). Kinesis records held
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

	// Metrics, when set, receives counts and timings as they happen. See
	// packages metrics/prommetrics (Prometheus) and metrics/otelmetrics
	// (OpenTelemetry) for ready adapters. Default none.
	Metrics Metrics

	// RequestTimeout is the time limit of one PutRecords call, applied
	// through the context of the call. A call that times out is retried.
	// Default 30s.
	RequestTimeout time.Duration
}

// engineConfig returns the engine's Config for c (nil for a nil c): the
// fields the engine shares with Config copied, the client and the shard
// listing adapted.
func (c *Config) engineConfig() *engine.Config {
	if c == nil {
		return nil
	}
	e := engine.ConfigFrom(c)
	if !engine.IsNil(c.Client) { // a typed nil client is refused as a nil one
		e.Client = newClient(c.Client, c.StreamName, c.StreamARN)
	}
	if c.GetShards != nil {
		e.ListShards = c.GetShards.lister()
	}
	return e
}
