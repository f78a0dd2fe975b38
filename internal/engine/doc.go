// Package engine is the producer itself, speaking no SDK: the pipeline that
// aggregates user records per shard, the stages with their rate limiters and
// queues, the sender that makes PutRecords calls, the refresher that follows
// resharding, and the reporter that settles every record. It talks to
// Kinesis through two small ports, Client (PutRecords over Entry and
// Result) and ListShardsFunc (over Shard); the front doors, package producer
// for aws-sdk-go v1 and package sdkv2 for aws-sdk-go-v2, adapt their SDK to
// them and share the engine's public types.
//
// A record goes from Producer.Put through the backlog (backlog.go) to the
// pipeline (pipeline.go), which aggregates it in its shard's stage
// (stage.go, aggregator.go) and builds batches for the sender (sender.go);
// the refresher (refresher.go) lists shards; the reporter (notify.go)
// acknowledges and fails records for good.
package engine
