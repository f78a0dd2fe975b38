package producer

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/awserr"
	"github.com/aws/aws-sdk-go/aws/request"
	"github.com/aws/aws-sdk-go/service/kinesis"
)

// putRecordsWithContext is the context-aware call of *kinesis.Kinesis; a
// client that has it gets Config.RequestTimeout.
type putRecordsWithContext interface {
	PutRecordsWithContext(aws.Context, *kinesis.PutRecordsInput, ...request.Option) (*kinesis.PutRecordsOutput, error)
}

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
	received          atomic.Int64 // user records the drain goroutine took from the backlog
}

// notRetryable are the error codes of a whole PutRecords call that another
// attempt cannot cure.
var notRetryable = map[string]bool{
	"ResourceNotFoundException":     true,
	"InvalidArgumentException":      true,
	"ValidationException":           true,
	"AccessDeniedException":         true,
	"UnrecognizedClientException":   true,
	"KMSAccessDeniedException":      true,
	"KMSDisabledException":          true,
	"KMSInvalidStateException":      true,
	"KMSNotFoundException":          true,
	"KMSOptInRequired":              true,
	request.InvalidParameterErrCode: true,
	request.ParamRequiredErrCode:    true,
}

// invalidInput are the codes of a call refused for its content, which may be
// the fault of one entry only.
var invalidInput = map[string]bool{
	"InvalidArgumentException":      true,
	"ValidationException":           true,
	request.InvalidParameterErrCode: true,
}

// errorCode returns the AWS error code of err, or "".
func errorCode(err error) string {
	var ae awserr.Error
	if errors.As(err, &ae) {
		return ae.Code()
	}
	return ""
}

// send is one worker: it encodes the batch, calls PutRecords, and retries the
// records that failed, with backoff, until every one is acknowledged or has
// failed. It holds its connection slot throughout, so that retries under
// throttling slow the producer down rather than pile up.
func (p *Producer) send(batch []*aggregate) {
	defer func() {
		<-p.sem
		p.workers.Done()
	}()
	if m := p.cfg.Metrics; m != nil {
		now := time.Now()
		for _, a := range batch {
			m.UserRecordsAggregated(len(a.recs), now.Sub(a.created))
		}
	}
	for _, a := range batch {
		a.encode()
	}
	var retry []*aggregate
	for round := 0; len(batch) > 0; round++ {
		if round > 0 {
			p.sleep(round, batch)
			batch = p.rehome(batch)
		}
		if batch = p.dropExpired(batch); round > 0 {
			p.stats.retries.Add(int64(len(batch)))
		}
		retry = retry[:0]
		for len(batch) > 0 {
			n := p.chunk(batch)
			retry = p.attempt(batch[:n], retry)
			batch = batch[n:]
		}
		batch, retry = retry, batch[:0]
	}
}

// chunk returns how many aggregates from the head of batch fit one request.
func (p *Producer) chunk(batch []*aggregate) int {
	size := 0
	for i, a := range batch {
		size += a.size()
		if i == p.cfg.BatchCount || (i > 0 && size > p.cfg.BatchSize) {
			return i
		}
	}
	return len(batch)
}

// attempt makes one PutRecords call for batch, acknowledges what succeeded,
// fails what is out of attempts or time, and appends the rest to retry.
func (p *Producer) attempt(batch, retry []*aggregate) []*aggregate {
	if cause := context.Cause(p.abortCtx); cause != nil {
		for _, a := range batch {
			p.stats.aborted.Add(int64(len(a.recs)))
			p.fail(a, fmt.Errorf("%w after %d attempts", cause, a.attempts))
		}
		return retry
	}
	entries := make([]*kinesis.PutRecordsRequestEntry, len(batch))
	for i, a := range batch {
		entries[i] = a.entry
	}
	began := time.Now()
	out, err := p.putRecords(entries)
	if m := p.cfg.Metrics; m != nil {
		m.Request(len(entries), time.Since(began), len(p.sem))
		if err != nil {
			m.PutError(metricCode(err), len(entries))
		}
	}
	if err == nil && (out == nil || len(out.Records) != len(entries)) {
		err = fmt.Errorf("PutRecords answered %d entries for %d records", lenRecords(out), len(entries))
	}
	if err != nil && notRetryable[errorCode(err)] {
		if len(batch) > 1 && invalidInput[errorCode(err)] {
			// One bad entry fails a whole call: try each on its own, so
			// that only the bad one fails.
			for _, a := range batch {
				retry = p.attempt([]*aggregate{a}, retry)
			}
			return retry
		}
		for _, a := range batch {
			a.attempts++
			p.fail(a, fmt.Errorf("%w: %w", ErrNotRetryable, err))
		}
		return retry
	}
	if err != nil && p.cfg.Verbose {
		p.cfg.Logger.Error("PutRecords failed, will retry", err, logValue("stream", p.stream),
			logValue("records", len(entries)))
	}
	now := time.Now()
	for i, a := range batch {
		a.attempts++
		var cause error
		switch {
		case err != nil:
			cause = err
		case out.Records[i].ErrorCode != nil:
			r := out.Records[i]
			cause = &PutRecordError{Code: aws.StringValue(r.ErrorCode), Message: aws.StringValue(r.ErrorMessage)}
			if m := p.cfg.Metrics; m != nil {
				m.PutError(*r.ErrorCode, 1)
			}
		default:
			if p.misplaced(a, out.Records[i]) {
				retry = p.strays(a, out.Records[i], now, retry)
				continue
			}
			p.acknowledge(a, out.Records[i])
			continue
		}
		retry = p.retryOrFail(a, cause, now, retry)
	}
	return retry
}

// retryOrFail records cause as a's last error and appends a to retry, or
// fails it when it may not be tried again.
func (p *Producer) retryOrFail(a *aggregate, cause error, now time.Time, retry []*aggregate) []*aggregate {
	a.lastErr = cause
	switch {
	case p.cfg.FailIfThrottled && isThrottle(cause):
		p.fail(a, fmt.Errorf("%w: %w", ErrThrottled, cause))
	case p.cfg.MaxAttempts > 0 && a.attempts >= p.cfg.MaxAttempts:
		p.fail(a, fmt.Errorf("%w after %d attempts: %w", ErrAttemptsExhausted, a.attempts, cause))
	case p.expired(a, now):
		p.fail(a, fmt.Errorf("%w after %d attempts: %w", ErrRecordExpired, a.attempts, cause))
	default:
		retry = append(retry, a)
	}
	return retry
}

// misplaced reports whether Kinesis stored a on another shard than the map
// predicted, which means the map is stale: it counts the event and asks for
// an early refresh. Only an aggregate can be harmed by it; a plain record
// goes where its own key says, wherever that is.
func (p *Producer) misplaced(a *aggregate, res *kinesis.PutRecordsResultEntry) bool {
	want := a.predictedShard()
	if want == "" || res.ShardId == nil || *res.ShardId == want {
		return false
	}
	p.stats.wrongShard.Add(1)
	if p.cfg.Verbose {
		p.cfg.Logger.Info("record landed on another shard than predicted",
			logValue("stream", p.stream), logValue("predicted", want), logValue("actual", *res.ShardId))
	}
	p.requestRefresh()
	return !a.plain()
}

// errWrongShard is the cause given to the sub-records of an aggregate that
// Kinesis stored on a shard whose range does not hold them.
var errWrongShard = errors.New("aggregate stored on a shard outside these records' hash range")

// strays handles an aggregate Kinesis stored on an unexpected shard (it was
// built before a reshard the map did not know of yet). A KCL consumer of that
// shard drops the sub-records whose hash lies outside its range, so those are
// sent again as plain records, which cannot be misplaced; the rest count as
// delivered. Without the range of the actual shard in the current map, all
// are sent again. As with the KPL, the records sent again may be stored
// twice.
func (p *Producer) strays(a *aggregate, res *kinesis.PutRecordsResultEntry, now time.Time, retry []*aggregate) []*aggregate {
	current := p.current.Load()
	shard := current.indexOf(*res.ShardId)
	kept := 0
	for i := range a.recs {
		r := &a.recs[i]
		if shard >= 0 && !r.hash.less(current.starts[shard]) && !current.ends[shard].less(r.hash) {
			a.recs[kept] = *r
			kept++
			continue
		}
		retry = p.retryOrFail(p.plainFrom(a, r, current), errWrongShard, now, retry)
	}
	clear(a.recs[kept:])
	a.recs = a.recs[:kept]
	if kept == 0 {
		a.release()
		return retry
	}
	p.acknowledge(a, res)
	return retry
}

// plainFrom returns a plain Kinesis record for r, one of a's user records,
// predicted with map m. It carries a's attempts, age and flush epoch.
func (p *Producer) plainFrom(a *aggregate, r *record, m *shardMap) *aggregate {
	s := newAggregate()
	s.add(r, &p.lim)
	s.created, s.attempts, s.lastErr, s.epoch = a.created, a.attempts, a.lastErr, a.epoch
	s.outerHash = s.plainHashKey()
	s.shard, s.smap = -1, m
	if m != nil {
		s.shard = m.find(r.hash)
	}
	s.encode()
	return s
}

// rehome splits the aggregates built with a shard map that has since been
// replaced into plain records, each sent with its own partition key (and
// explicit hash key): an aggregate sent to the wrong shard would lose, for a
// KCL consumer, every sub-record outside that shard. Plain records cannot be
// misplaced. Attempts and age carry over.
func (p *Producer) rehome(batch []*aggregate) []*aggregate {
	current := p.current.Load()
	out := batch[:0:0]
	for _, a := range batch {
		if a.smap == nil || a.smap == current || a.plain() {
			out = append(out, a)
			continue
		}
		for i := range a.recs {
			out = append(out, p.plainFrom(a, &a.recs[i], current))
		}
		a.release()
	}
	return out
}

// dropExpired fails the aggregates past their time-to-live, before they
// are sent (again), and returns the rest: a record whose time is up is not
// sent, whether it waited for a retry or for its shard's rate limit.
func (p *Producer) dropExpired(batch []*aggregate) []*aggregate {
	if p.cfg.RecordTTL <= 0 {
		return batch
	}
	now := time.Now()
	keep := batch[:0]
	for _, a := range batch {
		switch {
		case !p.expired(a, now):
			keep = append(keep, a)
		case a.lastErr != nil:
			p.fail(a, fmt.Errorf("%w after %d attempts: %w", ErrRecordExpired, a.attempts, a.lastErr))
		default:
			p.fail(a, fmt.Errorf("%w before it could be sent", ErrRecordExpired))
		}
	}
	clear(batch[len(keep):])
	return keep
}

func (p *Producer) expired(a *aggregate, now time.Time) bool {
	return p.cfg.RecordTTL > 0 && now.Sub(a.created) >= p.cfg.RecordTTL
}

// sleep waits before a retry: the backoff of the attempt, cut short when the
// earliest record of the batch would expire in the meantime.
func (p *Producer) sleep(attempt int, batch []*aggregate) {
	d := p.backoff.ForAttempt(float64(attempt - 1))
	if p.cfg.RecordTTL > 0 {
		for _, a := range batch {
			if left := time.Until(a.created.Add(p.cfg.RecordTTL)); left < d {
				d = max(left, 0)
			}
		}
	}
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-p.abortCtx.Done():
		}
	}
}

// putRecords makes one PutRecords call, with the request timeout when the
// client supports a context.
func (p *Producer) putRecords(entries []*kinesis.PutRecordsRequestEntry) (*kinesis.PutRecordsOutput, error) {
	p.stats.requests.Add(1)
	input := &kinesis.PutRecordsInput{Records: entries}
	if p.cfg.StreamARN != "" {
		input.StreamARN = aws.String(p.cfg.StreamARN)
	} else {
		input.StreamName = aws.String(p.cfg.StreamName)
	}
	if c, ok := p.cfg.Client.(putRecordsWithContext); ok {
		ctx, cancel := context.WithTimeout(p.abortCtx, p.cfg.RequestTimeout)
		defer cancel()
		return c.PutRecordsWithContext(ctx, input)
	}
	return p.cfg.Client.PutRecords(input)
}

// acknowledge counts a delivered Kinesis record, reports it when results
// are on, and frees it.
func (p *Producer) acknowledge(a *aggregate, res *kinesis.PutRecordsResultEntry) {
	p.stats.userRecordsPut.Add(int64(len(a.recs)))
	p.stats.kinesisRecordsPut.Add(1)
	p.stats.bytesPut.Add(int64(len(a.data)))
	if m := p.cfg.Metrics; m != nil {
		m.KinesisRecordPut(len(a.recs), len(a.data), a.attempts)
	}
	if p.results.Load() {
		p.success.push(&SuccessRecord{
			ShardID:        aws.StringValue(res.ShardId),
			SequenceNumber: aws.StringValue(res.SequenceNumber),
			Attempts:       a.attempts,
			UserRecords:    a.userRecords(),
		})
	}
	a.epoch.complete(len(a.recs))
	a.release()
}

// fail reports the user records of a as a failure and frees it.
func (p *Producer) fail(a *aggregate, err error) {
	users := a.userRecords()
	p.stats.userRecordsFailed.Add(int64(len(users)))
	if m := p.cfg.Metrics; m != nil {
		m.UserRecordsFailed(len(users), err)
	}
	if !p.failures.push(&FailureRecord{Err: err, UserRecords: users}) {
		p.cfg.Logger.Error("user records failed (nobody reads NotifyFailures)", err,
			logValue("stream", p.stream), logValue("records", len(users)))
	}
	a.epoch.complete(len(a.recs))
	a.release()
}

func lenRecords(out *kinesis.PutRecordsOutput) int {
	if out == nil {
		return 0
	}
	return len(out.Records)
}

// throttleCode is the error code of a throttled PutRecords call or entry.
const throttleCode = "ProvisionedThroughputExceededException"

// isThrottle reports whether err says Kinesis throttled the write.
func isThrottle(err error) bool {
	var pe *PutRecordError
	if errors.As(err, &pe) {
		return pe.Code == throttleCode
	}
	return errorCode(err) == throttleCode
}
