package sdkv2_test

import (
	"context"
	"errors"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/awserr"
	"github.com/aws/aws-sdk-go/aws/request"
	v1kinesis "github.com/aws/aws-sdk-go/service/kinesis"
	"github.com/aws/smithy-go"

	"github.com/kplgo/producer/sdkv2"
)

// failingClient is a fake whose every call fails with err.
func failingClient(err error) *fakeClient {
	return &fakeClient{
		putFunc:  func(*kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) { return nil, err },
		listFunc: func(*kinesis.ListShardsInput) (*kinesis.ListShardsOutput, error) { return nil, err },
	}
}

func putInput() *v1kinesis.PutRecordsInput {
	return &v1kinesis.PutRecordsInput{
		StreamName: aws.String("stream"),
		Records:    []*v1kinesis.PutRecordsRequestEntry{{Data: []byte("d"), PartitionKey: aws.String("k")}},
	}
}

func TestAPIErrorBecomesAWSError(t *testing.T) {
	throttle := &types.ProvisionedThroughputExceededException{Message: aws.String("Rate exceeded for shard shardId-000000000000")}
	orig := operationError("PutRecords", 400, "req-123", throttle)
	a := sdkv2.New(failingClient(orig))

	out, err := a.PutRecords(putInput())
	if out != nil {
		t.Errorf("output %v with an error", out)
	}
	var ae awserr.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error %T (%v) is no awserr.Error", err, err)
	}
	if ae.Code() != "ProvisionedThroughputExceededException" {
		t.Errorf("Code() = %q", ae.Code())
	}
	if ae.Message() != "Rate exceeded for shard shardId-000000000000" {
		t.Errorf("Message() = %q", ae.Message())
	}
	if ae.OrigErr() != orig {
		t.Errorf("OrigErr() = %v, want the v2 error", ae.OrigErr())
	}
	if err.Error() != orig.Error() {
		t.Errorf("Error() = %q, want %q", err.Error(), orig.Error())
	}
	var rf awserr.RequestFailure
	if !errors.As(err, &rf) || rf.StatusCode() != 400 || rf.RequestID() != "req-123" {
		t.Errorf("RequestFailure: %v", rf)
	}

	// The v2 error is still there.
	if !errors.Is(err, orig) {
		t.Error("errors.Is does not find the v2 error")
	}
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "ProvisionedThroughputExceededException" {
		t.Errorf("errors.As(smithy.APIError) = %v", api)
	}
	var typed *types.ProvisionedThroughputExceededException
	if !errors.As(err, &typed) || typed != throttle {
		t.Error("errors.As does not find the typed v2 exception")
	}
	var op *smithy.OperationError
	if !errors.As(err, &op) || op.Operation() != "PutRecords" {
		t.Error("errors.As does not find the v2 OperationError")
	}
}

func TestErrorsOfEveryKind(t *testing.T) {
	netErr := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	ctxErr := &smithy.OperationError{ServiceID: "Kinesis", OperationName: "PutRecords", Err: context.DeadlineExceeded}
	plain := errors.New("something else")
	cases := []struct {
		name    string
		err     error
		code    string // "" means the error passes through unchanged
		message string
		status  int
	}{
		{"modeled", operationError("PutRecords", 400, "r", &types.ResourceNotFoundException{Message: aws.String("Stream s under account 1 not found.")}),
			"ResourceNotFoundException", "Stream s under account 1 not found.", 400},
		{"unmodeled", operationError("PutRecords", 500, "r", &smithy.GenericAPIError{Code: "InternalFailure", Message: "boom", Fault: smithy.FaultServer}),
			"InternalFailure", "boom", 500},
		{"bare API error", &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "no"}, "AccessDeniedException", "no", 0},
		{"KMS", operationError("PutRecords", 400, "r", &types.KMSThrottlingException{Message: aws.String("slow down")}),
			"KMSThrottlingException", "slow down", 400},
		{"network", netErr, "", "", 0},
		{"network in operation", &smithy.OperationError{ServiceID: "Kinesis", OperationName: "PutRecords", Err: netErr}, "", "", 0},
		{"context", ctxErr, "", "", 0},
		{"canceled", context.Canceled, "", "", 0},
		{"plain", plain, "", "", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for op, call := range map[string]func(*sdkv2.Adapter) error{
				"PutRecords": func(a *sdkv2.Adapter) error { _, err := a.PutRecords(putInput()); return err },
				"ListShards": func(a *sdkv2.Adapter) error {
					_, err := a.ListShards(&v1kinesis.ListShardsInput{StreamName: aws.String("s")})
					return err
				},
			} {
				err := call(sdkv2.New(failingClient(c.err)))
				if c.code == "" {
					if err != c.err {
						t.Errorf("%s: error %T (%v), want the original %T unchanged", op, err, err, c.err)
					}
					var ae awserr.Error
					if errors.As(err, &ae) {
						t.Errorf("%s: a non-API error became awserr.Error %q", op, ae.Code())
					}
					continue
				}
				var ae awserr.RequestFailure
				if !errors.As(err, &ae) {
					t.Fatalf("%s: error %T (%v) is no awserr.RequestFailure", op, err, err)
				}
				if ae.Code() != c.code || ae.Message() != c.message || ae.StatusCode() != c.status {
					t.Errorf("%s: code %q message %q status %d; want %q %q %d", op,
						ae.Code(), ae.Message(), ae.StatusCode(), c.code, c.message, c.status)
				}
				if !errors.Is(err, c.err) {
					t.Errorf("%s: errors.Is does not find the original", op)
				}
			}
		})
	}

	// The context error stays recognisable.
	_, err := sdkv2.New(failingClient(ctxErr)).PutRecords(putInput())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("errors.Is(DeadlineExceeded) false for %v", err)
	}
	var ne net.Error
	_, err = sdkv2.New(failingClient(netErr)).PutRecords(putInput())
	if !errors.As(err, &ne) {
		t.Errorf("net.Error lost from %v", err)
	}
}

func TestValidationErrorIsInvalidParameter(t *testing.T) {
	invalid := smithy.InvalidParamsError{Context: "PutRecordsInput"}
	invalid.Add(smithy.NewErrParamRequired("Records"))
	orig := &smithy.OperationError{ServiceID: "Kinesis", OperationName: "PutRecords", Err: invalid}
	_, err := sdkv2.New(failingClient(orig)).PutRecords(putInput())
	var ae awserr.Error
	if !errors.As(err, &ae) || ae.Code() != request.InvalidParameterErrCode {
		t.Fatalf("error %T (%v), want awserr code %s", err, err, request.InvalidParameterErrCode)
	}
	if !errors.Is(err, orig) {
		t.Error("errors.Is does not find the v2 error")
	}
}

// TestRealClientValidation checks the mapping with the error a real v2 client
// gives when its own input validation fails (no request is sent).
func TestRealClientValidation(t *testing.T) {
	client := kinesis.New(kinesis.Options{Region: "us-east-1"})
	_, err := sdkv2.New(client).PutRecords(&v1kinesis.PutRecordsInput{StreamName: aws.String("s")})
	var ae awserr.Error
	if !errors.As(err, &ae) || ae.Code() != request.InvalidParameterErrCode {
		t.Fatalf("error %T (%v), want awserr code %s", err, err, request.InvalidParameterErrCode)
	}
	var invalid smithy.InvalidParamsError
	if !errors.As(err, &invalid) {
		t.Error("errors.As does not find smithy.InvalidParamsError")
	}
}
