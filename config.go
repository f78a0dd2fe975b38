package producer

import (
	"github.com/aws/aws-sdk-go/service/kinesis"
	"github.com/kplgo/producer/internal/engine"
)

// Kinesis limits and the defaults of Config.
const (
	// DefaultMaxRecordSize is the size limit of one Kinesis record (data plus
	// partition key), 1 MiB.
	DefaultMaxRecordSize = engine.DefaultMaxRecordSize
	// MaxRecordSizeLimit is the largest MaxRecordSize a stream can opt in to.
	MaxRecordSizeLimit = engine.MaxRecordSizeLimit
	// DefaultBatchSize is the default size limit of one PutRecords request, 5 MiB.
	DefaultBatchSize = engine.DefaultBatchSize
	// MaxBatchSizeLimit is the largest BatchSize a stream can allow, 10 MiB.
	MaxBatchSizeLimit = engine.MaxBatchSizeLimit
	// MaxBatchCount is the most records one PutRecords request may carry.
	MaxBatchCount = engine.MaxBatchCount
	// DefaultAggregateBatchSize is the default size of an aggregated record, 50 KiB.
	DefaultAggregateBatchSize = engine.DefaultAggregateBatchSize
	// DefaultAggregateBatchCount is the default (and largest) number of user
	// records in one aggregated record: 4294967295, or the largest int on a
	// 32-bit platform.
	DefaultAggregateBatchCount = engine.DefaultAggregateBatchCount
	// DefaultMaxConnections is the default number of concurrent PutRecords calls.
	DefaultMaxConnections = engine.DefaultMaxConnections
	// DefaultBacklogCount is the default number of user records buffered
	// before Put blocks.
	DefaultBacklogCount = engine.DefaultBacklogCount
	// DefaultFlushInterval is the default longest wait of a buffered record.
	DefaultFlushInterval = engine.DefaultFlushInterval
	// DefaultRecordMaxBufferedTime is the default longest wait of a record
	// in its aggregate and batch.
	DefaultRecordMaxBufferedTime = engine.DefaultRecordMaxBufferedTime
	// DefaultShardRefreshInterval is how often the shard map is listed again.
	DefaultShardRefreshInterval = engine.DefaultShardRefreshInterval
	// DefaultRecordTTL is the default time a record may take to be acknowledged.
	DefaultRecordTTL = engine.DefaultRecordTTL
	// DefaultRetryBackoffMin is the default first retry delay.
	DefaultRetryBackoffMin = engine.DefaultRetryBackoffMin
	// DefaultRetryBackoffMax is the default longest retry delay.
	DefaultRetryBackoffMax = engine.DefaultRetryBackoffMax
	// DefaultRateLimit is the default per-shard rate limit, in percent.
	DefaultRateLimit = engine.DefaultRateLimit
	// DefaultRequestTimeout is the default time limit of one PutRecords call.
	DefaultRequestTimeout = engine.DefaultRequestTimeout
	// DefaultListShardsTimeout is the default time limit of one shard
	// listing (all its pages), the first one in Start included.
	DefaultListShardsTimeout = engine.DefaultListShardsTimeout
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

// Putter is the established package's name for PutRecordsAPI.
type Putter = PutRecordsAPI
