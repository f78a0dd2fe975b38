// Package sdkv2 lets clients of aws-sdk-go-v2 drive the producer, which is
// written against the request and response types of aws-sdk-go (v1).
//
// New wraps anything with the PutRecords and ListShards methods of the v2
// *kinesis.Client in an Adapter that has the v1 methods the producer calls:
// it converts every request to its v2 form, calls the v2 client, and converts
// the answer back, field by field and entry by entry. An API error of the v2
// client (a smithy.APIError) comes back as a v1 awserr.Error with the same
// code and message, so that the producer tells throttling and errors that no
// retry can cure apart from the rest exactly as it does for a v1 client; the
// original v2 error stays reachable through errors.As and errors.Is. A
// failed input validation of the v2 client (smithy.InvalidParamsError) gets
// the code a v1 client gives it, request.InvalidParameterErrCode. Other
// errors (network failures, cancelled or expired contexts) pass through
// unchanged.
//
// Usage:
//
//	cfg, err := config.LoadDefaultConfig(ctx)
//	if err != nil {
//		return err
//	}
//	client := kinesis.NewFromConfig(cfg)
//	p := producer.New(&producer.Config{
//		StreamName: "my-stream",
//		Client:     sdkv2.New(client),
//		GetShards:  sdkv2.GetShards(client, "my-stream"),
//	})
//	if err := p.Start(); err != nil {
//		return err
//	}
//	defer p.Stop()
//
// The producer limits each PutRecords call with Config.RequestTimeout through
// the context it hands to Adapter.PutRecordsWithContext; the v2 client's own
// retries (its Retryer, RetryMaxAttempts) come on top of the producer's, so a
// client made only for the producer may set RetryMaxAttempts to 1 and leave
// retrying to Config.MaxAttempts and Config.RecordTTL.
package sdkv2
