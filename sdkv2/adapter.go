package sdkv2

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/request"
	v1kinesis "github.com/aws/aws-sdk-go/service/kinesis"

	producer "github.com/kplgo/producer"
)

// Client is what the Adapter needs from an aws-sdk-go-v2 Kinesis client.
// *kinesis.Client of github.com/aws/aws-sdk-go-v2/service/kinesis satisfies
// it; so does any wrapper or fake with the same two methods.
type Client interface {
	// PutRecords writes a batch of records, as (*kinesis.Client).PutRecords.
	PutRecords(ctx context.Context, params *kinesis.PutRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error)
	// ListShards lists the shards of a stream, as (*kinesis.Client).ListShards.
	ListShards(ctx context.Context, params *kinesis.ListShardsInput, optFns ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error)
}

// Adapter presents a v2 Client with the v1 methods the producer calls. It
// implements producer.PutRecordsAPI and producer.ListShardsAPI, and has the
// context-aware PutRecordsWithContext and ListShardsWithContext of the v1
// *kinesis.Kinesis, so that Config.RequestTimeout applies. It is safe for
// concurrent use when the Client is.
type Adapter struct {
	c Client
}

// Compile-time checks of the contracts above.
var (
	_ producer.PutRecordsAPI = (*Adapter)(nil)
	_ producer.ListShardsAPI = (*Adapter)(nil)
	_ Client                 = (*kinesis.Client)(nil)
)

// errNoClient is returned by every call of an Adapter made without a Client.
var errNoClient = errors.New("sdkv2: Adapter has no Client")

// New returns an Adapter that sends every call to c. Use it as
// producer.Config.Client, and (or through GetShards) with
// producer.GetKinesisShardsFunc.
func New(c Client) *Adapter {
	return &Adapter{c: c}
}

// GetShards returns producer.GetKinesisShardsFunc(New(c), streamName): a
// producer.GetShardsFunc that lists the open shards of the stream with the
// v2 client c, for producer.Config.GetShards.
func GetShards(c Client, streamName string) producer.GetShardsFunc {
	return producer.GetKinesisShardsFunc(New(c), streamName)
}

// PutRecords calls PutRecordsWithContext with context.Background().
func (a *Adapter) PutRecords(in *v1kinesis.PutRecordsInput) (*v1kinesis.PutRecordsOutput, error) {
	return a.PutRecordsWithContext(context.Background(), in)
}

// PutRecordsWithContext converts in to its v2 form, calls the Client's
// PutRecords with ctx, and converts the answer back: every result entry in
// the position of its request entry. The request options of aws-sdk-go v1
// mean nothing to a v2 client and are ignored. Errors are converted as the
// package documentation describes. A nil ctx means context.Background().
func (a *Adapter) PutRecordsWithContext(ctx aws.Context, in *v1kinesis.PutRecordsInput, _ ...request.Option) (*v1kinesis.PutRecordsOutput, error) {
	if a == nil || a.c == nil {
		return nil, errNoClient
	}
	if ctx == nil {
		ctx = context.Background()
	}
	out, err := a.c.PutRecords(ctx, putRecordsInputToV2(in))
	if err != nil {
		return nil, convertError(err)
	}
	return putRecordsOutputToV1(out), nil
}

// ListShards calls ListShardsWithContext with context.Background().
func (a *Adapter) ListShards(in *v1kinesis.ListShardsInput) (*v1kinesis.ListShardsOutput, error) {
	return a.ListShardsWithContext(context.Background(), in)
}

// ListShardsWithContext converts in to its v2 form, calls the Client's
// ListShards with ctx, and converts the answer back. The request options of
// aws-sdk-go v1 are ignored. Errors are converted as the package
// documentation describes. A nil ctx means context.Background().
func (a *Adapter) ListShardsWithContext(ctx aws.Context, in *v1kinesis.ListShardsInput, _ ...request.Option) (*v1kinesis.ListShardsOutput, error) {
	if a == nil || a.c == nil {
		return nil, errNoClient
	}
	if ctx == nil {
		ctx = context.Background()
	}
	out, err := a.c.ListShards(ctx, listShardsInputToV2(in))
	if err != nil {
		return nil, convertError(err)
	}
	return listShardsOutputToV1(out), nil
}
