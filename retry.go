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

// errorCode returns the AWS error code of err, or "".
func errorCode(err error) string {
	var ae awserr.Error
	if errors.As(err, &ae) {
		return ae.Code()
	}
	return ""
}

// send is one worker: it encodes the batch, calls PutRecords, and retries the
// entries that failed, with backoff, until every entry is acknowledged or
// has failed. It holds its connection slot throughout, so that retries under
// throttling slow the producer down rather than pile up.
func (p *Producer) send(batch []*aggregate) {
	defer func() {
		<-p.sem
		p.workers.Done()
	}()
	entries := make([]*kinesis.PutRecordsRequestEntry, len(batch))
	for i, a := range batch {
		a.encode()
		e := &kinesis.PutRecordsRequestEntry{Data: a.data, PartitionKey: aws.String(a.outerKey)}
		if a.outerHash != "" {
			e.ExplicitHashKey = aws.String(a.outerHash)
		}
		entries[i] = e
	}
	for attempt := 0; len(batch) > 0; attempt++ {
		if attempt > 0 {
			p.sleep(attempt, batch)
			p.stats.retries.Add(int64(len(batch)))
		}
		out, err := p.putRecords(entries)
		if err == nil && (out == nil || len(out.Records) != len(entries)) {
			err = fmt.Errorf("PutRecords answered %d entries for %d records", lenRecords(out), len(entries))
		}
		if err != nil {
			if code := errorCode(err); notRetryable[code] {
				for _, a := range batch {
					p.fail(a, fmt.Errorf("%w: %w", ErrNotRetryable, err))
				}
				return
			}
			if p.cfg.Verbose {
				p.cfg.Logger.Error("PutRecords failed, retrying", err, logValue("stream", p.cfg.StreamName),
					logValue("records", len(entries)), logValue("attempt", attempt+1))
			}
			batch, entries = p.settle(batch, entries, func(int) error { return err })
			continue
		}
		batch, entries = p.settle(batch, entries, func(i int) error {
			r := out.Records[i]
			if r.ErrorCode == nil {
				return nil
			}
			return &PutRecordError{Code: aws.StringValue(r.ErrorCode), Message: aws.StringValue(r.ErrorMessage)}
		})
	}
}

func lenRecords(out *kinesis.PutRecordsOutput) int {
	if out == nil {
		return 0
	}
	return len(out.Records)
}

// settle counts an attempt for every entry, acknowledges those whose result
// is nil, fails those out of attempts or time, and returns the rest.
func (p *Producer) settle(batch []*aggregate, entries []*kinesis.PutRecordsRequestEntry, result func(i int) error) ([]*aggregate, []*kinesis.PutRecordsRequestEntry) {
	keep := 0
	now := time.Now()
	for i, a := range batch {
		a.attempts++
		err := result(i)
		if err == nil {
			p.acknowledge(a)
			continue
		}
		a.lastErr = err
		switch {
		case p.cfg.MaxAttempts > 0 && a.attempts >= p.cfg.MaxAttempts:
			p.fail(a, fmt.Errorf("%w after %d attempts: %w", ErrAttemptsExhausted, a.attempts, err))
		case p.expired(a, now):
			p.fail(a, fmt.Errorf("%w after %d attempts: %w", ErrRecordExpired, a.attempts, err))
		default:
			batch[keep], entries[keep] = a, entries[i]
			keep++
		}
	}
	clear(batch[keep:])
	return batch[:keep], entries[:keep]
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
		<-t.C
	}
}

// putRecords makes one PutRecords call, with the request timeout when the
// client supports a context.
func (p *Producer) putRecords(entries []*kinesis.PutRecordsRequestEntry) (*kinesis.PutRecordsOutput, error) {
	p.stats.requests.Add(1)
	input := &kinesis.PutRecordsInput{StreamName: aws.String(p.cfg.StreamName), Records: entries}
	if c, ok := p.cfg.Client.(putRecordsWithContext); ok {
		ctx, cancel := context.WithTimeout(context.Background(), p.cfg.RequestTimeout)
		defer cancel()
		return c.PutRecordsWithContext(ctx, input)
	}
	return p.cfg.Client.PutRecords(input)
}

// acknowledge counts a delivered Kinesis record and frees it.
func (p *Producer) acknowledge(a *aggregate) {
	p.stats.userRecordsPut.Add(int64(len(a.recs)))
	p.stats.kinesisRecordsPut.Add(1)
	p.stats.bytesPut.Add(int64(len(a.data)))
	a.release()
}

// fail reports the user records of a as a failure and frees it.
func (p *Producer) fail(a *aggregate, err error) {
	users := make([]UserRecord, len(a.recs))
	for i := range a.recs {
		users[i] = a.recs[i].userRecord()
	}
	p.stats.userRecordsFailed.Add(int64(len(users)))
	if !p.failures.push(&FailureRecord{Err: err, UserRecords: users}) {
		p.cfg.Logger.Error("user records failed (nobody reads NotifyFailures)", err,
			logValue("stream", p.cfg.StreamName), logValue("records", len(users)))
	}
	a.release()
}
