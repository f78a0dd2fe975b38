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

// Start, Put and PutUserRecord are this door's own: they keep the
// established package's signatures, without a context (their Context forms
// take one). The methods both doors share are in shared_gen.go, written
// with package sdkv2's from one template.

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
