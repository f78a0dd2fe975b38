package producer

import (
	"context"
	"errors"
	"sync"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/awserr"
	"github.com/aws/aws-sdk-go/aws/request"
	"github.com/aws/aws-sdk-go/service/kinesis"
	"github.com/kplgo/producer/internal/engine"
)

// putRecordsWithContext is the context-aware call of *kinesis.Kinesis; a
// client that has it gets Config.RequestTimeout and Shutdown's deadline.
type putRecordsWithContext interface {
	PutRecordsWithContext(aws.Context, *kinesis.PutRecordsInput, ...request.Option) (*kinesis.PutRecordsOutput, error)
}

// client adapts an aws-sdk-go v1 PutRecordsAPI to the engine's Client: it
// builds the v1 request from the engine's entries and reads the v1 answer
// into the engine's results, with no other conversion.
type client struct {
	api     PutRecordsAPI
	withCtx putRecordsWithContext // api, when it takes a context
	name    *string               // StreamName, or nil
	arn     *string               // StreamARN, or nil
	scratch sync.Pool             // *v1Request
}

// v1Request is the memory of one v1 request, reused across calls.
type v1Request struct {
	ptrs []*kinesis.PutRecordsRequestEntry
	vals []kinesis.PutRecordsRequestEntry
}

func newClient(api PutRecordsAPI, name, arn string) *client {
	c := &client{api: api}
	c.withCtx, _ = api.(putRecordsWithContext)
	if arn != "" {
		c.arn = aws.String(arn)
	} else {
		c.name = aws.String(name)
	}
	return c
}

// PutRecords implements engine.Client.
func (c *client) PutRecords(ctx context.Context, entries []engine.Entry, results []engine.Result) error {
	req, _ := c.scratch.Get().(*v1Request)
	if req == nil {
		req = new(v1Request)
	}
	n := len(entries)
	if cap(req.vals) < n {
		req.vals = make([]kinesis.PutRecordsRequestEntry, n)
		req.ptrs = make([]*kinesis.PutRecordsRequestEntry, n)
	}
	vals, ptrs := req.vals[:n], req.ptrs[:n]
	for i := range entries {
		e := &entries[i] // lives until the call returns: the strings are pointed at, not copied
		vals[i] = kinesis.PutRecordsRequestEntry{Data: e.Data, PartitionKey: &e.PartitionKey}
		if e.ExplicitHashKey != "" {
			vals[i].ExplicitHashKey = &e.ExplicitHashKey
		}
		ptrs[i] = &vals[i]
	}
	input := &kinesis.PutRecordsInput{Records: ptrs, StreamName: c.name, StreamARN: c.arn}
	var out *kinesis.PutRecordsOutput
	var err error
	if c.withCtx != nil {
		out, err = c.withCtx.PutRecordsWithContext(ctx, input)
	} else {
		out, err = c.api.PutRecords(input)
	}
	clear(vals)
	c.scratch.Put(req)
	if out == nil {
		out = &kinesis.PutRecordsOutput{}
	}
	failed := int64(-1)
	if out.FailedRecordCount != nil {
		failed = *out.FailedRecordCount
	}
	if err := engine.CallError(err, len(out.Records), n, failed); err != nil {
		return err
	}
	for i, r := range out.Records {
		if r == nil {
			results[i] = engine.Result{ErrorCode: "InternalFailure", ErrorMessage: "no answer for this entry"}
			continue
		}
		results[i] = engine.Result{
			ShardID:        aws.StringValue(r.ShardId),
			SequenceNumber: aws.StringValue(r.SequenceNumber),
			ErrorCode:      aws.StringValue(r.ErrorCode),
			ErrorMessage:   aws.StringValue(r.ErrorMessage),
		}
	}
	return nil
}

// v1TransportCodes are the codes aws-sdk-go v1 gives a call that failed on
// its way: a network error, a cancelled or timed-out request, an answer it
// could not read.
var v1TransportCodes = map[string]bool{
	request.ErrCodeRequestError:    true,
	request.CanceledErrorCode:      true,
	request.ErrCodeResponseTimeout: true,
	request.ErrCodeSerialization:   true,
	request.ErrCodeRead:            true,
}

// Failure implements engine.Client: the code and HTTP status of an
// awserr.Error (the SDK's own codes for network errors, timeouts and
// unreadable answers count as failures on the way), or, for an error that
// is not an awserr.Error, whether it is a network error or a timeout.
func (c *client) Failure(err error) engine.CallFailure {
	var ae awserr.Error
	if !errors.As(err, &ae) {
		return engine.CallFailure{Transport: engine.TransportError(err)}
	}
	f := engine.CallFailure{Code: ae.Code(), Transport: v1TransportCodes[ae.Code()]}
	var rf awserr.RequestFailure
	if errors.As(err, &rf) {
		f.Status = rf.StatusCode()
	}
	return f
}
