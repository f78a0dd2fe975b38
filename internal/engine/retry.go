package engine

import (
	"sync/atomic"
)

// This file says which errors a retry can cure; the pipeline decides what
// happens to each record (see pipeline.settle).

// counters are the producer's running totals.
type counters struct {
	userRecordsPut    atomic.Int64
	userRecordsFailed atomic.Int64
	kinesisRecordsPut atomic.Int64
	bytesPut          atomic.Int64
	retries           atomic.Int64
	requests          atomic.Int64
	wrongShard        atomic.Int64
	mapUpdates        atomic.Int64
	aborted           atomic.Int64 // user records failed by Shutdown's deadline
	rateLimited       atomic.Int64 // Kinesis records held back by a shard's rate limit
	throttled         atomic.Int64 // Kinesis records Kinesis throttled
	resent            atomic.Int64 // user records sent again because KCL would drop their aggregate
	received          atomic.Int64 // user records the drain goroutine took from the backlog
}

// retryableCodes are the API error codes of a whole PutRecords call that
// another attempt may cure: the service was busy, failed inside, or the
// credentials had expired (the SDK renews them). Any other code fails the
// call's records at once (see CallFailure.Retryable).
var retryableCodes = map[string]bool{
	throttleCode:                     true,
	"ThrottlingException":            true,
	"Throttling":                     true,
	"LimitExceededException":         true,
	"RequestLimitExceeded":           true,
	"TooManyRequestsException":       true,
	"KMSThrottlingException":         true,
	"InternalFailure":                true,
	"InternalServerError":            true,
	"InternalError":                  true,
	"ServiceUnavailable":             true,
	"ServiceUnavailableException":    true,
	"RequestTimeout":                 true,
	"RequestTimeoutException":        true,
	"ExpiredToken":                   true,
	"ExpiredTokenException":          true,
	"RequestExpired":                 true,
	"IDPCommunicationError":          true,
	"EC2ThrottledException":          true,
	"PriorRequestNotComplete":        true,
	"TransactionInProgressException": true,
	"BandwidthLimitExceeded":         true,
	"SlowDown":                       true,
	"RequestThrottled":               true,
	"RequestThrottledException":      true,
}

// invalidInput are the codes of a call refused for its content, which may be
// the fault of one entry only.
var invalidInput = map[string]bool{
	"InvalidArgumentException": true,
	"ValidationException":      true,
	InvalidParameterCode:       true,
}

// throttleCode is the error code of a throttled PutRecords call or entry.
const throttleCode = "ProvisionedThroughputExceededException"

// throttled reports whether the outcome says Kinesis throttled the write.
func (o *outcome) throttled() bool { return o.code == throttleCode }
