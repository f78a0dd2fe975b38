package engine

import (
	"context"
	"fmt"
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

	// ErrorCode returns the API error code of an error PutRecords
	// returned (such as "ProvisionedThroughputExceededException"), or ""
	// when it is not an API error (a network failure, a timeout). Input the
	// SDK refused before sending gets "InvalidParameter".
	ErrorCode(err error) string
}

// InvalidParameterCode is the error code a Client gives input its SDK refused
// before sending: the code aws-sdk-go v1 uses for it.
const InvalidParameterCode = "InvalidParameter"

// CallError is the error a Client's PutRecords returns for a call that
// ended with err and an answer of got results for want entries: err, or,
// when the call succeeded, an error when the answer does not hold one
// result per entry.
func CallError(err error, got, want int) error {
	if err == nil && got != want {
		return fmt.Errorf("PutRecords answered %d entries for %d records", got, want)
	}
	return err
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
