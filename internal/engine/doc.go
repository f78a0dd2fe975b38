// Package engine is the producer itself, speaking no SDK: the pipeline that
// aggregates user records per shard, the stages with their rate limiters and
// queues, the sender that makes PutRecords calls, the refresher that follows
// resharding, and the reporter that settles every record. It talks to
// Kinesis through two small ports, Client (PutRecords over Entry and
// Result) and ListShardsFunc (over Shard); the front doors, package producer
// for aws-sdk-go v1 and package sdkv2 for aws-sdk-go-v2, adapt their SDK to
// them and share the engine's public types.
//
// # Goroutines and what each owns
//
// A record goes from Producer.Put through the backlog to the drain
// goroutine, whose loop (pipeline) hands it to the router; the collector
// builds a batch for the sender; the call's result comes back to the
// retrier, which tells the limiters, then the reporter or the router.
//
//	goroutine            types                  owns
//	-------------------  ---------------------  ------------------------------------------
//	Put's (the caller)   Producer, gate         nothing: waits at its shard's gate, then
//	                                            pushes into the backlog
//	drain (one)          pipeline               the loop: backlog, results, maps, ticks
//	                     shardSet               the current map, a stage per shard (queues,
//	                                            limiter, lane), the bounds, the published routes
//	                     lane (OrderPerKey)     whether a shard may send: its unresolved
//	                                            record, the parents it waits for
//	                     router                 which shard a record goes to, the open
//	                                            aggregates, re-homing, the flush epoch
//	                     collector              the batch being built, round-robin, limiter
//	                                            takes, TTL expiry, calls out
//	                     retrier                each record's fate after a call, the
//	                                            aggregates waiting for a listing
//	one per call         sender                 the batch while the call is under way:
//	                                            encodes it, calls, acknowledges what
//	                                            landed where predicted
//	refresher (one)      refresher              when to list shards; new maps to the drain
//	one per channel      notifier               failures and results not yet read
//
// The reporter (counters, notifiers) is called from the drain goroutine and
// the calls; Stats and metrics read its counters and the stages' views
// (shardView), which the drain goroutine writes with atomics. Nothing else
// is shared: every other piece of state has the one owner above.
package engine
