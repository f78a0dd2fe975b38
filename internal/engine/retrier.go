package engine

import (
	"context"
	"time"

	"github.com/jpillora/backoff"
)

// retrier decides the fate of every Kinesis record a call brings back that
// the sender did not settle: stored on another shard than predicted
// (acknowledged when a KCL consumer keeps it there, else its user records
// are sent again), or failed, and then tried again after its backoff or
// failed for good. It tells the shards' limiters what Kinesis said first;
// records to try again go to the router, final ones to the reporter. It
// also holds the error-code tables that say which errors a retry can cure.
// The drain goroutine owns it.
type retrier struct {
	cfg     *Config
	set     *shardSet
	route   *router
	report  *reporter
	abort   context.Context // once it ends, records fail rather than wait
	refresh func()          // asks the refresher for an early listing
	backoff backoff.Backoff

	// unsure are aggregates Kinesis stored on a shard the map does not
	// know, waiting for a listing, since unsureSince.
	unsure      []*aggregate
	unsureSince time.Time
}

func newRetrier(cfg *Config, set *shardSet, route *router, report *reporter, refresh func(), abort context.Context) *retrier {
	return &retrier{
		cfg: cfg, set: set, route: route, report: report, refresh: refresh, abort: abort,
		backoff: backoff.Backoff{Min: cfg.RetryBackoffMin, Max: cfg.RetryBackoffMax, Factor: 2, Jitter: true},
	}
}

// settle handles the records of a finished call that the sender left: it
// tells the limiters how Kinesis answered, then acknowledges, fails or
// queues again each record.
//
// With OrderPerKey each record's lane is let go once the record is
// resolved: at once for most, after the listing for one stored on an
// unexpected shard.
func (r *retrier) settle(c *call, now time.Time) {
	r.set.adapt(c, now)
	for _, l := range c.lanes {
		l.release() // the sender acknowledged their records
	}
	cause := aborted(r.abort)
	for _, a := range c.batch {
		switch {
		case a.result.err == nil:
			r.delivered(a, now)
		case cause != nil:
			a.resolve()
			r.report.failAborted(a, cause)
		default:
			l := a.lane
			a.lane = nil
			r.failed(a, now)
			l.release()
		}
	}
}

// delivered acknowledges a, unless Kinesis stored it on another shard than
// predicted (the map is stale) and that shard's range does not hold every
// one of its user records: a KCL 2.x consumer drops such an aggregate whole,
// so all of its user records are sent again.
//
// With OrderPerKey every record stored on another shard than predicted
// waits for the listing asked for, holding its shard's lane: the map is
// stale, and what is newer of its keys must go under the new one, after
// its records if they are sent again.
func (r *retrier) delivered(a *aggregate, now time.Time) {
	if a.landedAsPredicted() {
		a.resolve()
		r.report.acknowledge(a)
		return
	}
	r.report.stats.wrongShard.Add(1)
	if r.cfg.Verbose {
		r.cfg.Logger.Info("record landed on another shard than predicted", logValue("stream", r.report.stream),
			logValue("predicted", a.predictedShard()), logValue("actual", a.result.shardID))
	}
	r.refresh()
	if a.plain() && !r.cfg.ordered() {
		r.report.acknowledge(a)
		return
	}
	if _, known := r.set.m.index[a.result.shardID]; !known || r.cfg.ordered() {
		// Whether a KCL consumer keeps it depends on the range of a shard
		// the map does not know yet: wait for the listing asked for.
		if len(r.unsure) == 0 {
			r.unsureSince = now
		}
		r.unsure = append(r.unsure, a)
		return
	}
	r.judge(a, false)
}

// judge acknowledges a misplaced aggregate whose shard (in the current map)
// holds all of its user records, and sends the records of any other again:
// in new aggregates, or plain when the map may still be stale.
func (r *retrier) judge(a *aggregate, plain bool) {
	l := a.lane
	a.lane = nil
	defer l.release()
	if a.plain() || r.set.m.holds(a.result.shardID, a) {
		// A plain record is where its own key says: a consumer keeps it.
		r.report.acknowledge(a)
		return
	}
	r.report.stats.resent.Add(int64(len(a.recs)))
	r.route.reroute(a, plain || a.smap == r.set.m, true)
}

// unsureWait is how long a misplaced aggregate waits for a listing that
// tells the range of the shard it landed on; after that its records are
// sent again, as a KCL consumer may have dropped it.
const unsureWait = 3 * minRefreshGap

// settleUnsure decides on the misplaced aggregates waiting for a listing:
// those whose shard the map now knows, and all of them once they waited
// unsureWait (or when force is set: a listing found no new shard). With
// OrderPerKey one waits until a map newer than its prediction is in place.
func (r *retrier) settleUnsure(now time.Time, force bool) {
	if len(r.unsure) == 0 {
		return
	}
	late := force || now.Sub(r.unsureSince) >= unsureWait
	kept := r.unsure[:0]
	for _, a := range r.unsure {
		_, known := r.set.m.index[a.result.shardID]
		if r.cfg.ordered() {
			known = known && a.smap != r.set.m
		}
		if known || late {
			r.judge(a, !known)
			continue
		}
		kept = append(kept, a)
	}
	clear(r.unsure[len(kept):])
	r.unsure = kept
}

// waiting reports whether misplaced aggregates wait for a listing.
func (r *retrier) waiting() bool { return len(r.unsure) > 0 }

// abortAll fails the misplaced aggregates waiting for a listing. Kinesis
// stored them, but a KCL consumer may drop them: there is no time left to
// find out or to send them again.
func (r *retrier) abortAll(cause error) {
	for _, a := range r.unsure {
		a.resolve()
		r.report.failAborted(a, cause)
	}
	r.unsure = nil
}

// failed handles a record whose call or entry failed: it fails for good,
// or waits for its backoff at the head of its stage. Throttling does not
// count toward MaxAttempts.
func (r *retrier) failed(a *aggregate, now time.Time) {
	cause := a.result.err
	a.lastErr = cause
	throttle := a.result.throttled()
	n := 0
	if throttle {
		r.report.stats.throttled.Add(1)
		a.throttles++
		n = a.throttles
	} else {
		a.attempts++
		a.throttles = 0
		n = a.attempts
	}
	switch {
	case a.result.final:
		r.report.failNotRetryable(a, cause)
	case r.cfg.FailIfThrottled && throttle:
		r.report.failThrottled(a, cause)
	case r.cfg.MaxAttempts > 0 && a.attempts >= r.cfg.MaxAttempts:
		r.report.failExhausted(a, cause)
	case a.expired(r.cfg.RecordTTL, now):
		r.report.failExpired(a)
	default:
		if a.result.unknown {
			r.report.stats.unknownFate.Add(int64(len(a.recs)))
		}
		a.notBefore = now.Add(r.backoff.ForAttempt(float64(n - 1)))
		if r.cfg.RecordTTL > 0 {
			// Fail it when its time is up rather than after the backoff.
			if end := a.created.Add(r.cfg.RecordTTL); end.Before(a.notBefore) {
				a.notBefore = end
			}
		}
		r.route.home(a, true)
	}
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
