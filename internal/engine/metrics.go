package engine

import "time"

// Metrics receives the producer's measurements as they happen. Set
// Config.Metrics to an implementation (packages metrics/prommetrics and
// metrics/otelmetrics have ready ones); nil costs nothing. Methods are
// called from the producer's goroutines, concurrently: they must be safe
// for that, and quick.
//
// shard is the id of the shard a measurement belongs to: the shard Kinesis
// stored the record on when it answered, else the one the shard map
// predicted; "" without a shard map (or for a record outside every known
// shard). Adapters should label by shard only when asked (cardinality).
//
// An implementation that also has Observe(State) is given the producer when
// it is built, to read gauges (calls in flight, records queued, each
// shard's rate) when it is scraped rather than when something happens.
type Metrics interface {
	// UserRecordsAggregated is called when a Kinesis record is first sent,
	// with the userRecords user records in it and the time since it took
	// the first of them (time held back by the rate limit included).
	UserRecordsAggregated(shard string, userRecords int, buffered time.Duration)
	// KinesisRecordPut is called for each Kinesis record Kinesis
	// acknowledged: its user records, its data bytes and the attempts it
	// took (1 when it was not retried).
	KinesisRecordPut(shard string, userRecords, bytes, attempts int)
	// PutError is called for each Kinesis record that failed one attempt,
	// with the error code: the ErrorCode of its answer entry (such as
	// ProvisionedThroughputExceededException), the API error code of a
	// failed call, or "ClientError" for an error without a code (a
	// dropped connection, a timeout).
	PutError(shard, code string)
	// Retry is called each time a Kinesis record is sent again.
	Retry(shard string)
	// RateLimited is called each time a shard's rate limit holds back the
	// shard's next Kinesis record (again at each look while it waits).
	RateLimited(shard string)
	// UserRecordsFailed is called when user records fail for good, with the
	// error the failure reports.
	UserRecordsFailed(userRecords int, err error)
	// Request is called after each PutRecords call with its number of
	// entries, how long it took, and the error code of a call that failed
	// as a whole ("" when Kinesis answered, even with failed entries;
	// "ClientError" for an error without a code).
	Request(entries int, latency time.Duration, code string)
}

// State is what a Metrics implementation with an Observe method can read of
// a producer when it is scraped: its Stats and each shard's figures.
type State interface {
	Stats() Stats
	ShardStats() []ShardStats
}

// Observer is a Metrics implementation that reads gauges when scraped.
type Observer interface {
	// Observe is called once, by New, with the producer the Metrics serves.
	Observe(State)
}

// metricCode is the code PutError reports for an error with API error
// code code ("" when it is not an API error).
func metricCode(code string) string {
	if code != "" {
		return code
	}
	return "ClientError"
}
