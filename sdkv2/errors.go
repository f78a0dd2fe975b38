package sdkv2

import (
	"errors"

	"github.com/aws/aws-sdk-go/aws/awserr"
	"github.com/aws/aws-sdk-go/aws/request"
	"github.com/aws/smithy-go"
)

// apiError is a v2 error in the shape of a v1 awserr.RequestFailure (and so
// awserr.Error): the producer reads Code, the original stays reachable with
// Unwrap and OrigErr, and Error is the original's text.
type apiError struct {
	code, message string
	statusCode    int
	requestID     string
	err           error
}

var _ awserr.RequestFailure = (*apiError)(nil)

// Code returns the AWS error code, e.g. "ProvisionedThroughputExceededException".
func (e *apiError) Code() string { return e.code }

// Message returns the error message of the service.
func (e *apiError) Message() string { return e.message }

// OrigErr returns the error of the v2 client.
func (e *apiError) OrigErr() error { return e.err }

// Error returns the text of the v2 client's error.
func (e *apiError) Error() string { return e.err.Error() }

// Unwrap returns the error of the v2 client.
func (e *apiError) Unwrap() error { return e.err }

// StatusCode returns the HTTP status code of the answer, or 0.
func (e *apiError) StatusCode() int { return e.statusCode }

// RequestID returns the request id of the answer, or "".
func (e *apiError) RequestID() string { return e.requestID }

// convertError returns err, a v2 client's error, as the producer expects it:
// an API error (smithy.APIError) as an awserr.Error with its code and
// message; a failed input validation as an awserr.Error with the code a v1
// client gives it (request.InvalidParameterErrCode); anything else as it is.
func convertError(err error) error {
	var code, message string
	var ae smithy.APIError
	var ip smithy.InvalidParamsError
	switch {
	case errors.As(err, &ae):
		code, message = ae.ErrorCode(), ae.ErrorMessage()
	case errors.As(err, &ip):
		code, message = request.InvalidParameterErrCode, ip.Error()
	default:
		return err
	}
	out := &apiError{code: code, message: message, err: err}
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) {
		out.statusCode = status.HTTPStatusCode()
	}
	var id interface{ ServiceRequestID() string }
	if errors.As(err, &id) {
		out.requestID = id.ServiceRequestID()
	}
	return out
}
