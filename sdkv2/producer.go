package sdkv2

import (
	"context"

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

// Start, Put and PutUserRecord are this door's own: they take a context
// first, as the calls of aws-sdk-go-v2 do, where package producer keeps the
// established package's context-free forms. The methods both doors share
// are in shared_gen.go, written with package producer's from one template.

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

// StdLogger is a Logger over a standard library *log.Logger. Lines read
// `msg key=value ... err="..."`.
type StdLogger = engine.StdLogger
