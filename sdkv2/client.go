package sdkv2

import (
	"context"
	"errors"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/kplgo/producer/internal/engine"
)

// Putter is the call the producer makes to send records.
// *kinesis.Client of github.com/aws/aws-sdk-go-v2/service/kinesis satisfies
// it, as does any wrapper or fake with the same method.
//
// The producer reuses the memory of an input (its data buffers, entries and
// strings) once the call returns, as the SDK allows: a fake client that keeps
// what it was sent must copy it.
type Putter interface {
	PutRecords(ctx context.Context, params *kinesis.PutRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error)
}

// ShardLister is the call GetKinesisShardsFunc makes to list the shards.
// *kinesis.Client satisfies it.
type ShardLister interface {
	ListShards(ctx context.Context, params *kinesis.ListShardsInput, optFns ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error)
}

// Compile-time checks that the SDK's client fits.
var (
	_ Putter      = (*kinesis.Client)(nil)
	_ ShardLister = (*kinesis.Client)(nil)
)

// client adapts a v2 Putter to the engine's Client: it builds the v2 request
// from the engine's entries and reads the v2 answer into the engine's
// results, with no other conversion.
type client struct {
	api     Putter
	name    *string   // StreamName, or nil
	arn     *string   // StreamARN, or nil
	scratch sync.Pool // *[]types.PutRecordsRequestEntry
}

func newClient(api Putter, name, arn string) *client {
	c := &client{api: api}
	if arn != "" {
		c.arn = &arn
	} else {
		c.name = &name
	}
	return c
}

// PutRecords implements engine.Client.
func (c *client) PutRecords(ctx context.Context, entries []engine.Entry, results []engine.Result) error {
	buf, _ := c.scratch.Get().(*[]types.PutRecordsRequestEntry)
	if buf == nil {
		buf = new([]types.PutRecordsRequestEntry)
	}
	n := len(entries)
	if cap(*buf) < n {
		*buf = make([]types.PutRecordsRequestEntry, n)
	}
	records := (*buf)[:n]
	for i := range entries {
		e := &entries[i] // lives until the call returns: the strings are pointed at, not copied
		records[i] = types.PutRecordsRequestEntry{Data: e.Data, PartitionKey: &e.PartitionKey}
		if e.ExplicitHashKey != "" {
			records[i].ExplicitHashKey = &e.ExplicitHashKey
		}
	}
	out, err := c.api.PutRecords(ctx, &kinesis.PutRecordsInput{Records: records, StreamName: c.name, StreamARN: c.arn})
	clear(records)
	c.scratch.Put(buf)
	if out == nil {
		out = &kinesis.PutRecordsOutput{}
	}
	failed := int64(-1)
	if out.FailedRecordCount != nil {
		failed = int64(*out.FailedRecordCount)
	}
	if err := engine.CallError(err, len(out.Records), n, failed); err != nil {
		return err
	}
	for i := range out.Records {
		r := &out.Records[i]
		results[i] = engine.Result{
			ShardID:        deref(r.ShardId),
			SequenceNumber: deref(r.SequenceNumber),
			ErrorCode:      deref(r.ErrorCode),
			ErrorMessage:   deref(r.ErrorMessage),
		}
	}
	return nil
}

// Failure implements engine.Client: the code of an API error
// (smithy.APIError, such as "ProvisionedThroughputExceededException") and
// the HTTP status of the answer, engine.InvalidParameterCode for input the
// SDK refused before sending (smithy.InvalidParamsError), and for any other
// error whether the call failed on its way: a request that could not be
// sent, a cancelled one, an answer that could not be read, a network error
// or a timeout.
func (c *client) Failure(err error) engine.CallFailure {
	var f engine.CallFailure
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		f.Status = re.HTTPStatusCode()
	}
	var ae smithy.APIError
	var ip smithy.InvalidParamsError
	var send *smithyhttp.RequestSendError
	var canceled *smithy.CanceledError
	var unread *smithy.DeserializationError
	switch {
	case errors.As(err, &ae):
		f.Code = ae.ErrorCode()
	case errors.As(err, &ip):
		f.Code = engine.InvalidParameterCode
	default:
		f.Transport = errors.As(err, &send) || errors.As(err, &canceled) ||
			errors.As(err, &unread) || engine.TransportError(err)
	}
	return f
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
