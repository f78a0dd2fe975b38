package sdkv2_test

import (
	"context"
	"encoding/json"
	"fmt"
	nethttp "net/http"
	"sync"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// fakeClient is a v2 Client whose answers are set by the test. It records
// every request and the context it came with.
type fakeClient struct {
	mu         sync.Mutex
	puts       []*kinesis.PutRecordsInput
	lists      []*kinesis.ListShardsInput
	ctxs       []context.Context
	putFunc    func(*kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error)
	listFunc   func(*kinesis.ListShardsInput) (*kinesis.ListShardsOutput, error)
	optFnsSeen int
}

func (f *fakeClient) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	f.mu.Lock()
	f.puts = append(f.puts, in)
	f.ctxs = append(f.ctxs, ctx)
	f.optFnsSeen += len(optFns)
	fn := f.putFunc
	f.mu.Unlock()
	return fn(in)
}

func (f *fakeClient) ListShards(ctx context.Context, in *kinesis.ListShardsInput, optFns ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error) {
	f.mu.Lock()
	f.lists = append(f.lists, in)
	f.ctxs = append(f.ctxs, ctx)
	f.optFnsSeen += len(optFns)
	fn := f.listFunc
	f.mu.Unlock()
	return fn(in)
}

func (f *fakeClient) putCalls() []*kinesis.PutRecordsInput {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*kinesis.PutRecordsInput(nil), f.puts...)
}

// operationError wraps apiErr the way the v2 client does for an error
// answer: an OperationError around an HTTP ResponseError (with the status
// code and request id) around the API error.
func operationError(op string, status int, requestID string, apiErr error) error {
	return &smithy.OperationError{
		ServiceID:     "Kinesis",
		OperationName: op,
		Err: &awshttp.ResponseError{
			ResponseError: &smithyhttp.ResponseError{
				Response: &smithyhttp.Response{Response: &nethttp.Response{StatusCode: status}},
				Err:      apiErr,
			},
			RequestID: requestID,
		},
	}
}

// dump formats a request or answer for a failure message.
func dump(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%+v", v)
	}
	return string(b)
}
