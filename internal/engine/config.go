package engine

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"
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
	// DefaultListShardsTimeout is the default time limit of one shard
	// listing (all its pages), the first one in Start included.
	DefaultListShardsTimeout = 10 * time.Second
)

// Config is the configuration of the engine: the fields of the front doors'
// Config types (producer.Config for aws-sdk-go v1, sdkv2.Config for
// aws-sdk-go-v2), with the SDK's client and shard listing replaced by the
// engine's own ports. The doors document each field for their users; zero
// values take the defaults above.
type Config struct {
	StreamName string
	StreamARN  string // when set, requests name the stream by its ARN

	Client     Client         // required
	ListShards ListShardsFunc // nil: no shard map

	BacklogCount          int
	BatchCount            int
	BatchSize             int
	AggregateBatchCount   int
	AggregateBatchSize    int
	MaxConnections        int
	FlushInterval         time.Duration
	RecordMaxBufferedTime time.Duration
	Logger                Logger
	Verbose               bool
	ShardRefreshInterval  time.Duration
	ListShardsTimeout     time.Duration // bounds each shard listing
	MaxRecordSize         int
	MaxAttempts           int
	RecordTTL             time.Duration
	RetryBackoffMin       time.Duration
	RetryBackoffMax       time.Duration
	RateLimit             int
	FailIfThrottled       bool
	Metrics               Metrics
	RequestTimeout        time.Duration
	Ordering              Ordering
}

// Ordering says whether the producer keeps the records of each partition
// key in the order Put accepted them (see OrderPerKey).
type Ordering uint8

const (
	// OrderNone sends records as fast as it can and may reorder the records
	// of one key: a retry goes after newer records, several calls carry the
	// same shard at once. The zero value.
	OrderNone Ordering = iota
	// OrderPerKey keeps, for every partition key, the order Put accepted
	// its records in: each shard has at most one Kinesis record unresolved
	// at a time, retries and re-homed records go before anything newer of
	// their shard, and a shard's children wait for its last record. It
	// needs a shard map (ListShards).
	OrderPerKey
)

// ordered reports whether the strict per-key order is kept.
func (c *Config) ordered() bool { return c.Ordering == OrderPerKey }

// ConfigFrom returns a Config with the fields of door, a front door's
// Config (a pointer to a struct), that have the name and type of a field of
// Config. The doors set Client and ListShards themselves.
func ConfigFrom(door any) *Config {
	c := new(Config)
	dst := reflect.ValueOf(c).Elem()
	src := reflect.ValueOf(door).Elem()
	for i := 0; i < src.NumField(); i++ {
		f := src.Type().Field(i)
		if d := dst.FieldByName(f.Name); f.IsExported() && d.IsValid() && d.Type() == f.Type {
			d.Set(src.Field(i))
		}
	}
	return c
}

// WithDefaults returns a copy of c with defaults in place of zero values,
// or an error wrapping ErrInvalidConfig for the first bad value.
func (c *Config) WithDefaults() (Config, error) {
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
	if v.ListShardsTimeout == 0 {
		v.ListShardsTimeout = DefaultListShardsTimeout
	}
	if err := v.validate(); err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return v, nil
}

// IsNil reports whether v is nil or holds a nil pointer (a typed nil
// client would panic on its first call, on a goroutine of the producer's).
func IsNil(v any) bool {
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
// routesByHash reports whether records are routed by hash through a shard
// map: whether the producer lists the stream's shards.
func (c *Config) routesByHash() bool { return c.ListShards != nil }

func (c *Config) validate() error {
	switch {
	case c.StreamName == "" && c.StreamARN == "":
		return fmt.Errorf("StreamName (or StreamARN) is required")
	case c.StreamARN != "" && (!strings.HasPrefix(c.StreamARN, "arn:") || len(c.StreamARN) > 2048):
		return fmt.Errorf("StreamARN %q is not a stream ARN", c.StreamARN)
	case len(c.StreamName) > 128:
		return fmt.Errorf("StreamName is %d characters, the limit is 128", len(c.StreamName))
	case IsNil(c.Client):
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
	case c.ListShardsTimeout < 0:
		return fmt.Errorf("ListShardsTimeout %v must be positive", c.ListShardsTimeout)
	case c.Ordering > OrderPerKey:
		return fmt.Errorf("Ordering %d is not OrderNone or OrderPerKey", c.Ordering)
	case c.ordered() && c.ListShards == nil:
		// Without a map an aggregate's shard is unknown, and so is the
		// unit of order.
		return fmt.Errorf("%w: Ordering is OrderPerKey but there is no shard map", ErrOrderingNeedsShardMap)
	}
	return nil
}
