// Package sdkv2 is the producer's front door for aws-sdk-go-v2: a Kinesis
// producer, like package producer, whose Config takes a v2 client
// (*kinesis.Client of github.com/aws/aws-sdk-go-v2/service/kinesis fits, as
// does any type with its PutRecords method) and whose methods take a
// context first.
//
// The engine behind it is the one of package producer, the front door for
// aws-sdk-go (v1): the same aggregation, shard map, retries and rate limits,
// and the same delivery guarantee, since every record Put accepts is either
// acknowledged by Kinesis or reported as a FailureRecord. The types that
// report what happened (FailureRecord, SuccessRecord, Stats, Metrics,
// Logger, UserRecord) and the error values are shared with package producer,
// so that code handling them serves both. This package imports no
// aws-sdk-go (v1) code.
//
// Usage:
//
//	cfg, err := config.LoadDefaultConfig(ctx)
//	if err != nil {
//		return err
//	}
//	client := kinesis.NewFromConfig(cfg)
//	p := sdkv2.New(&sdkv2.Config{
//		StreamName: "my-stream",
//		Client:     client,
//		GetShards:  sdkv2.GetKinesisShardsFunc(client, "my-stream"),
//	})
//	failures := p.NotifyFailures() // read it until it is closed
//	go func() {
//		for f := range failures {
//			log.Printf("%d records failed: %v", len(f.UserRecords), f.Err)
//		}
//	}()
//	if err := p.Start(ctx); err != nil {
//		return err
//	}
//	defer p.Stop() // sends what is buffered and waits for it
//	if err := p.Put(ctx, data, partitionKey); err != nil {
//		return err
//	}
//
// Errors of the v2 client are told apart by their API error code
// (smithy.APIError): ProvisionedThroughputExceededException is throttling,
// retried without using an attempt; codes no retry can cure
// (ResourceNotFoundException, AccessDeniedException and the like) fail the
// records at once with ErrNotRetryable; input the SDK refused before sending
// (smithy.InvalidParamsError) is tried again entry by entry, so that only the
// bad entry fails; network failures and timeouts are retried. A
// FailureRecord's Err keeps the v2 error: errors.As finds it.
//
// The producer bounds each PutRecords call with Config.RequestTimeout, and
// Shutdown's deadline, through the call's context. The v2 client's own
// retries (its Retryer, RetryMaxAttempts) come on top of the producer's: a
// client made for the producer alone may set RetryMaxAttempts to 1 and leave
// retrying to Config.MaxAttempts and Config.RecordTTL:
//
//	client := kinesis.NewFromConfig(cfg, func(o *kinesis.Options) {
//		o.RetryMaxAttempts = 1
//	})
//
// For local development against a Kinesis-compatible server (kinesalite,
// LocalStack), point the client at it with BaseEndpoint:
//
//	client := kinesis.NewFromConfig(cfg, func(o *kinesis.Options) {
//		o.BaseEndpoint = aws.String("http://localhost:4567")
//	})
package sdkv2
