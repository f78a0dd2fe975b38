// Package producer puts records into Amazon Kinesis Data Streams the way the
// Kinesis Producer Library (KPL) does, through an aws-sdk-go (v1) client: it
// aggregates many small user records into one Kinesis record in the KPL
// format, batches them into PutRecords calls, keeps each aggregate within
// one shard of the stream's shard map (so that KCL consumers keep every
// record), adapts each shard's rate to what Kinesis accepts, retries with
// backoff, and reports every record it could not deliver.
//
// This package is the aws-sdk-go v1 front door, with the API of the
// established Go KPL-style producer for code migrating from it. aws-sdk-go
// v1 is out of support: new code should use package
// github.com/kplgo/producer/sdkv2, the same producer for aws-sdk-go-v2, which
// imports no v1 code. The two share their types (UserRecord, FailureRecord,
// SuccessRecord, Stats, Metrics, Logger) and their errors.
//
// The life of a producer: New with a Config; NotifyFailures (and, for
// results, NotifySuccesses) before Start; Start, which lists the shards when
// Config.GetShards is set; Put or PutUserRecord from any number of
// goroutines; Stop, or Shutdown with a deadline, which sends what is
// buffered and waits for it.
//
// Every record Put accepts ends in exactly one of two ways: Kinesis
// acknowledges it, or it comes out on NotifyFailures with the reason.
// Throttling is absorbed (records wait for their shard's rate), failed calls
// are retried until Config.RecordTTL, and a record stored on a shard that
// does not hold it (after resharding) is sent again, because a KCL consumer
// would drop its aggregate.
//
//go:generate protoc --go_out=. --go_opt=paths=source_relative messages.proto
//go:generate go run ./internal/doorgen
package producer
