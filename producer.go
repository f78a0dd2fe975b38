package producer

import (
	"context"

	"github.com/kplgo/producer/internal/engine"
)

// Producer aggregates user records into KPL aggregated records and sends them
// to one Kinesis stream with PutRecords, through an aws-sdk-go (v1) client.
// It is safe for concurrent use. (Package sdkv2 is the same producer for
// aws-sdk-go-v2 clients.)
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
// (wrapping ErrShardListing); the listing is bounded by
// Config.ListShardsTimeout. Calling it again does nothing.
func (p *Producer) Start() error {
	return p.e.Start(context.Background())
}

// StartContext is Start with the first shard listing bounded by ctx as well.
func (p *Producer) StartContext(ctx context.Context) error {
	return p.e.Start(ctx)
}

// Put sends data with partitionKey. It blocks while BacklogCount records wait
// to be aggregated, or while the queue of the key's shard is full. It
// returns an error at once for bad input (wrapping ErrNilData,
// ErrIllegalPartitionKey or ErrRecordSizeExceeded), and ErrStoppedProducer
// after Stop. The producer keeps data: do not change it after the call.
func (p *Producer) Put(data []byte, partitionKey string) error {
	return p.e.Put(context.Background(), data, partitionKey)
}

// PutContext is Put that gives up with ctx.Err() when the backlog or the
// key's shard stays full until ctx ends. A record PutContext returned an
// error for was not accepted.
func (p *Producer) PutContext(ctx context.Context, data []byte, partitionKey string) error {
	return p.e.Put(ctx, data, partitionKey)
}

// PutUserRecord sends a UserRecord. The producer keeps the value and returns
// it in a FailureRecord if it cannot be delivered. Errors are those of Put,
// plus ErrNilUserRecord and ErrIllegalExplicitHashKey.
func (p *Producer) PutUserRecord(userRecord UserRecord) error {
	return p.e.PutUserRecord(context.Background(), userRecord)
}

// PutUserRecordContext is PutUserRecord that gives up with ctx.Err() when
// the backlog or the record's shard stays full until ctx ends.
func (p *Producer) PutUserRecordContext(ctx context.Context, userRecord UserRecord) error {
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
// delivered come out. Call it before Start to see every failure: failures that
// happen while nobody has asked for the channel are logged, not kept. The
// channel is closed after Stop, once the last failure is delivered. Read it
// until it is closed; Stop does not wait for the reader.
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
// It is safe to call more than once and from several goroutines.
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
