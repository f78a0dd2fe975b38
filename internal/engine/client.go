package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
)

// The engine's ports: the small types it speaks to a Kinesis SDK through.
// Each front door has a thin adapter from its SDK's client to Client, and
// from its shard listing to ListShardsFunc; no SDK type crosses them.

// Entry is one Kinesis record of a PutRecords call. The engine reuses an
// entry's memory once the call has returned.
type Entry struct {
	Data            []byte
	PartitionKey    string
	ExplicitHashKey string // "" for none
}

// Result is what Kinesis answered for one entry: where it stored it, or the
// entry's error code (ErrorCode is "" on success).
type Result struct {
	ShardID        string
	SequenceNumber string
	ErrorCode      string
	ErrorMessage   string
}

// Client makes PutRecords calls for the engine.
type Client interface {
	// PutRecords sends entries, in order, to the stream in one call and
	// writes the answer for entries[i] into results[i] (len(results) ==
	// len(entries)). It returns an error when the call as a whole failed,
	// and when the answer does not hold one result per entry (see
	// CallError). ctx carries the request timeout and Shutdown's
	// deadline.
	PutRecords(ctx context.Context, entries []Entry, results []Result) error

	// Failure tells what kind of error PutRecords returned: its API error
	// code and HTTP status, or that the call failed on its way (see
	// CallFailure). Input the SDK refused before sending gets the code
	// InvalidParameterCode.
	Failure(err error) CallFailure
}

// CallFailure is what a Client tells of the error of a failed PutRecords
// call. The engine retries the call's records when the failure is one a
// retry can cure (see CallFailure.Retryable), and fails them at once
// otherwise.
type CallFailure struct {
	// Code is the API error code, such as
	// "ProvisionedThroughputExceededException", or "" when the error is
	// not an API error.
	Code string
	// Status is the HTTP status of the answer that carried the error, 0
	// when none is known.
	Status int
	// Transport is set when the call failed on its way rather than being
	// refused: a network error, a timeout, a cancelled request, an answer
	// that could not be read.
	Transport bool
}

// Retryable reports whether another attempt may succeed: a failure on the
// way, an answer with a 5xx or 429 status, or an API error whose code says
// the service was busy or failed inside (throttling, internal failures,
// expired credentials that the SDK renews). Any other error (a missing
// stream, a denied access, an invalid argument, a KMS key that cannot be
// used, or an error that is not an API error at all, such as one a
// caller's own client made up) is not.
func (f CallFailure) Retryable() bool {
	return f.Transport || f.Status >= 500 || f.Status == 429 || retryableCodes[f.Code]
}

// TransportError reports whether err, which is not an API error, says the
// call failed on its way: a net.Error (timeouts and refused or dropped
// connections among them), an ended context, or a connection closed in the
// middle of the answer. The doors' Clients use it for the errors their SDK
// does not give a code.
func TransportError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, errAnswerMismatch) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// errAnswerMismatch is wrapped by the error of an answer that does not hold
// one result per entry (see CallError): an answer that cannot be read, so
// the call is tried again.
var errAnswerMismatch = errors.New("PutRecords answer does not match the request")

// InvalidParameterCode is the error code a Client gives input its SDK refused
// before sending: the code aws-sdk-go v1 uses for it.
const InvalidParameterCode = "InvalidParameter"

// CallError is the error a Client's PutRecords returns for a call that
// ended with err and an answer of got results for want entries, failed of
// them failed by its count (failed is -1 when the answer has no count): err,
// or, when the call succeeded, an error when the answer does not hold one
// result per entry. An answer that counts no failed entry acknowledges
// every entry, even when its list of results is short or empty (as fake
// clients in tests often answer): the Client leaves the results it has no
// answer for at their zero value, a success on no known shard.
func CallError(err error, got, want int, failed int64) error {
	if err != nil || got == want || (failed == 0 && got < want) {
		return err
	}
	return fmt.Errorf("%w: %d entries answered for %d records", errAnswerMismatch, got, want)
}

// Shard is one open shard of the stream: its id and the decimal bounds of its
// hash key range.
type Shard struct {
	ID              string
	StartingHashKey string
	EndingHashKey   string
}

// ListShardsFunc returns the stream's open shards, and whether they changed
// since its last answer (when they did not, shards may be nil). ctx bounds
// the listing. The engine calls it from one goroutine at a time.
type ListShardsFunc func(ctx context.Context) (shards []Shard, changed bool, err error)
