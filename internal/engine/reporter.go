package engine

import (
	"fmt"
	"sync/atomic"
)

// reporter settles Kinesis records for good: it counts them, tells Metrics,
// hands results and failures to their channels and releases the records.
// The drain goroutine and the sender's calls use it; the facade reads its
// channels and counters. It alone words the errors of final failures.
type reporter struct {
	stats    counters
	failures notifier[*FailureRecord]
	success  notifier[*SuccessRecord]
	results  atomic.Bool // someone asked for NotifySuccesses
	metrics  Metrics
	logger   Logger
	stream   string
}

// newReporter returns a reporter whose channels hold size values before
// their forwarders must run.
func newReporter(metrics Metrics, logger Logger, stream string, size int) *reporter {
	r := &reporter{metrics: metrics, logger: logger, stream: stream}
	r.failures.init(size)
	r.success.init(size)
	return r
}

// close lets both channels close after their last value.
func (r *reporter) close() {
	r.failures.close()
	r.success.close()
}

// acknowledge counts a delivered Kinesis record, reports it when results
// are on, and frees it.
func (r *reporter) acknowledge(a *aggregate) {
	r.stats.userRecordsPut.Add(int64(len(a.recs)))
	r.stats.kinesisRecordsPut.Add(1)
	r.stats.bytesPut.Add(int64(len(a.data)))
	if r.metrics != nil {
		r.metrics.KinesisRecordPut(a.storedShard(), len(a.recs), len(a.data), a.sends)
	}
	if r.results.Load() {
		r.success.push(&SuccessRecord{
			ShardID:        a.result.shardID,
			SequenceNumber: a.result.sequence,
			Attempts:       a.sends,
			UserRecords:    a.userRecords(),
		})
	}
	a.epoch.complete(len(a.recs))
	a.release()
}

// fail reports the user records of a as a failure and frees it.
func (r *reporter) fail(a *aggregate, err error) {
	users := a.userRecords()
	r.stats.userRecordsFailed.Add(int64(len(users)))
	if r.metrics != nil {
		r.metrics.UserRecordsFailed(len(users), err)
	}
	if !r.failures.push(&FailureRecord{Err: err, PartitionKey: a.outerKey, ExplicitHashKey: a.outerHash, UserRecords: users}) {
		r.logger.Error("user records failed (nobody reads NotifyFailures)", err,
			logValue("stream", r.stream), logValue("records", len(users)))
	}
	a.epoch.complete(len(a.recs))
	a.release()
}

// failNotRetryable fails a for an error no retry can cure.
func (r *reporter) failNotRetryable(a *aggregate, cause error) {
	r.fail(a, fmt.Errorf("%w: %w", ErrNotRetryable, cause))
}

// failThrottled fails a throttled record (Config.FailIfThrottled).
func (r *reporter) failThrottled(a *aggregate, cause error) {
	r.fail(a, fmt.Errorf("%w: %w", ErrThrottled, cause))
}

// failExhausted fails a record that used up MaxAttempts.
func (r *reporter) failExhausted(a *aggregate, cause error) {
	r.fail(a, fmt.Errorf("%w after %d attempts: %w", ErrAttemptsExhausted, a.sends, cause))
}

// failExpired fails a record past RecordTTL, with its last error if it was
// sent.
func (r *reporter) failExpired(a *aggregate) {
	if a.lastErr != nil {
		r.fail(a, fmt.Errorf("%w after %d attempts: %w", ErrRecordExpired, a.sends, a.lastErr))
		return
	}
	r.fail(a, fmt.Errorf("%w before it could be sent", ErrRecordExpired))
}

// failAborted fails a record left when Shutdown's deadline passed.
func (r *reporter) failAborted(a *aggregate, cause error) {
	r.stats.aborted.Add(int64(len(a.recs)))
	r.fail(a, fmt.Errorf("%w after %d attempts", cause, a.sends))
}
