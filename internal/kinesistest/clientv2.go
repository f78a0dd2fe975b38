package kinesistest

import (
	"context"

	awsv2 "github.com/aws/aws-sdk-go-v2/aws"
	kinesisv2 "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/kinesis"
)

// V2Of returns an aws-sdk-go-v2 Kinesis client that talks to the endpoint of
// c, an aws-sdk-go v1 client of Client or Session, through the same HTTP
// client (transport and timeout) and with the same number of retries, so
// that a test can run the same body through both of the producer's doors.
func V2Of(c *kinesis.Kinesis) *kinesisv2.Client {
	return kinesisv2.New(kinesisv2.Options{
		Region:       Region,
		BaseEndpoint: aws.String(c.ClientInfo.Endpoint),
		HTTPClient:   c.Config.HTTPClient,
		Credentials: awsv2.CredentialsProviderFunc(func(context.Context) (awsv2.Credentials, error) {
			return awsv2.Credentials{AccessKeyID: "AKIDKINESISTEST", SecretAccessKey: "kinesistest-secret", Source: "kinesistest"}, nil
		}),
		RetryMaxAttempts: 1 + max(0, aws.IntValue(c.Config.MaxRetries)),
	})
}
