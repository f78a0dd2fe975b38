package engine

import "time"

// Metrics receives the producer's measurements as they happen. Set
// Config.Metrics to an implementation (the metrics/prometheus package has
// one); nil costs nothing. Methods are called from the producer's
// goroutines, concurrently: they must be safe for that, and quick.
type Metrics interface {
	// UserRecordsAggregated is called when a Kinesis record is first sent,
	// with the userRecords user records in it and the time since it took
	// the first of them (time held back by the rate limit included).
	UserRecordsAggregated(userRecords int, buffered time.Duration)
	// KinesisRecordPut is called for each Kinesis record Kinesis
	// acknowledged: its user records, its data bytes and the attempts it
	// took (1 when it was not retried).
	KinesisRecordPut(userRecords, bytes, attempts int)
	// PutError is called when kinesisRecords Kinesis records failed one
	// attempt with the error code code: the ErrorCode of an answer entry,
	// the AWS error code of a failed call, or "ClientError" for an error
	// without a code (a dropped connection, a timeout).
	PutError(code string, kinesisRecords int)
	// UserRecordsFailed is called when user records fail for good, with the
	// error the failure reports.
	UserRecordsFailed(userRecords int, err error)
	// Request is called after each PutRecords call with its number of
	// entries and how long it took; inFlight is the number of calls under
	// way when it started, itself included.
	Request(entries int, latency time.Duration, inFlight int)
}

// metricCode is the code PutError reports for an error with API error
// code code ("" when it is not an API error).
func metricCode(code string) string {
	if code != "" {
		return code
	}
	return "ClientError"
}
