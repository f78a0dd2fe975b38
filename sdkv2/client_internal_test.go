package sdkv2

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"reflect"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/kplgo/producer/internal/engine"
)

// recordingPutter keeps a copy of each request (the client reuses its
// memory) and answers with answer.
type recordingPutter struct {
	inputs []kinesis.PutRecordsInput
	ctxs   []context.Context
	answer func(in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error)
}

func (r *recordingPutter) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	cp := *in
	cp.Records = nil
	for _, e := range in.Records {
		if e.Data != nil {
			e.Data = append([]byte{}, e.Data...)
		}
		if e.PartitionKey != nil {
			e.PartitionKey = aws.String(*e.PartitionKey)
		}
		if e.ExplicitHashKey != nil {
			e.ExplicitHashKey = aws.String(*e.ExplicitHashKey)
		}
		cp.Records = append(cp.Records, e)
	}
	r.inputs = append(r.inputs, cp)
	r.ctxs = append(r.ctxs, ctx)
	return r.answer(in)
}

type ctxKey struct{}

// TestClientBuildsTheV2Request checks the v2 request the adapter builds from
// the engine's entries, and how it reads the answer back into the results.
func TestClientBuildsTheV2Request(t *testing.T) {
	entries := []engine.Entry{
		{Data: []byte("first"), PartitionKey: "k1"},
		{Data: []byte("second"), PartitionKey: "k2", ExplicitHashKey: "340282366920938463463374607431768211455"},
		{Data: []byte{}, PartitionKey: "k3"},
	}
	answer := []types.PutRecordsResultEntry{
		{ShardId: aws.String("shardId-000000000001"), SequenceNumber: aws.String("101")},
		{ErrorCode: aws.String("ProvisionedThroughputExceededException"), ErrorMessage: aws.String("Rate exceeded")},
		{ShardId: aws.String("shardId-000000000002"), SequenceNumber: aws.String("103")},
	}
	want := []engine.Result{
		{ShardID: "shardId-000000000001", SequenceNumber: "101"},
		{ErrorCode: "ProvisionedThroughputExceededException", ErrorMessage: "Rate exceeded"},
		{ShardID: "shardId-000000000002", SequenceNumber: "103"},
	}
	const arn = "arn:aws:kinesis:us-east-1:123456789012:stream/events"
	for _, c := range []struct {
		name, streamName, streamARN string
	}{
		{"name", "events", ""},
		{"ARN", "", arn},
		{"ARN wins", "events", arn}, // as engineConfig passes both
	} {
		t.Run(c.name, func(t *testing.T) {
			api := &recordingPutter{answer: func(in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
				return &kinesis.PutRecordsOutput{FailedRecordCount: aws.Int32(1), Records: answer}, nil
			}}
			cl := newClient(api, c.streamName, c.streamARN)
			ctx := context.WithValue(context.Background(), ctxKey{}, c.name)
			results := make([]engine.Result, len(entries))
			if err := cl.PutRecords(ctx, entries, results); err != nil {
				t.Fatal(err)
			}
			if len(api.inputs) != 1 {
				t.Fatalf("%d calls", len(api.inputs))
			}
			if api.ctxs[0].Value(ctxKey{}) != c.name {
				t.Error("the call did not get the context PutRecords was given")
			}
			in := api.inputs[0]
			switch {
			case c.streamARN != "" && (in.StreamName != nil || aws.ToString(in.StreamARN) != arn):
				t.Errorf("StreamName %v StreamARN %v, want the ARN alone", in.StreamName, in.StreamARN)
			case c.streamARN == "" && (in.StreamARN != nil || aws.ToString(in.StreamName) != "events"):
				t.Errorf("StreamName %v StreamARN %v, want the name alone", in.StreamName, in.StreamARN)
			}
			if len(in.Records) != len(entries) {
				t.Fatalf("%d records for %d entries", len(in.Records), len(entries))
			}
			for i, r := range in.Records {
				e := entries[i]
				if string(r.Data) != string(e.Data) || r.Data == nil || aws.ToString(r.PartitionKey) != e.PartitionKey {
					t.Errorf("record %d: %q/%v, want %q/%q", i, r.Data, r.PartitionKey, e.Data, e.PartitionKey)
				}
				if e.ExplicitHashKey == "" && r.ExplicitHashKey != nil {
					t.Errorf("record %d: ExplicitHashKey %q, want nil", i, *r.ExplicitHashKey)
				}
				if e.ExplicitHashKey != "" && aws.ToString(r.ExplicitHashKey) != e.ExplicitHashKey {
					t.Errorf("record %d: ExplicitHashKey %v, want %s", i, r.ExplicitHashKey, e.ExplicitHashKey)
				}
			}
			if !reflect.DeepEqual(results, want) {
				t.Errorf("results\n%+v\nwant\n%+v", results, want)
			}
		})
	}
}

// TestClientReusesNoStaleEntries checks that a smaller call after a bigger
// one (the scratch memory is reused) sends its own entries only.
func TestClientReusesNoStaleEntries(t *testing.T) {
	api := &recordingPutter{answer: func(in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
		return &kinesis.PutRecordsOutput{Records: make([]types.PutRecordsResultEntry, len(in.Records))}, nil
	}}
	cl := newClient(api, "s", "")
	big := []engine.Entry{{Data: []byte("a"), PartitionKey: "a", ExplicitHashKey: "1"}, {Data: []byte("b"), PartitionKey: "b"}, {Data: []byte("c"), PartitionKey: "c"}}
	for _, entries := range [][]engine.Entry{big, {{Data: []byte("d"), PartitionKey: "d"}}, big[:2]} {
		if err := cl.PutRecords(context.Background(), entries, make([]engine.Result, len(entries))); err != nil {
			t.Fatal(err)
		}
	}
	got := []int{len(api.inputs[0].Records), len(api.inputs[1].Records), len(api.inputs[2].Records)}
	if !reflect.DeepEqual(got, []int{3, 1, 2}) {
		t.Fatalf("calls of %v records, want [3 1 2]", got)
	}
	if r := api.inputs[1].Records[0]; aws.ToString(r.PartitionKey) != "d" || r.ExplicitHashKey != nil {
		t.Errorf("second call sent %q with ExplicitHashKey %v", aws.ToString(r.PartitionKey), r.ExplicitHashKey)
	}
}

// TestClientWrongAnswerCount checks that an answer without one result per
// entry is an error, and that an error of the v2 client comes back as it is.
func TestClientWrongAnswerCount(t *testing.T) {
	entries := []engine.Entry{{Data: []byte("a"), PartitionKey: "a"}, {Data: []byte("b"), PartitionKey: "b"}}
	callErr := errors.New("the call failed")
	for _, c := range []struct {
		name string
		out  *kinesis.PutRecordsOutput
		err  error
	}{
		{"fewer", &kinesis.PutRecordsOutput{Records: make([]types.PutRecordsResultEntry, 1)}, nil},
		{"more", &kinesis.PutRecordsOutput{Records: make([]types.PutRecordsResultEntry, 3)}, nil},
		{"none", &kinesis.PutRecordsOutput{}, nil},
		{"nil output", nil, nil},
		{"call error", nil, callErr},
	} {
		t.Run(c.name, func(t *testing.T) {
			api := &recordingPutter{answer: func(*kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) { return c.out, c.err }}
			results := make([]engine.Result, len(entries))
			err := newClient(api, "s", "").PutRecords(context.Background(), entries, results)
			if err == nil {
				t.Fatal("no error")
			}
			if c.err != nil && err != c.err {
				t.Errorf("error %v, want the client's own", err)
			}
			if !reflect.DeepEqual(results, make([]engine.Result, len(entries))) {
				t.Errorf("results written on error: %+v", results)
			}
		})
	}
}

// TestClientFailure checks what the adapter tells of each kind of v2
// error (the API code and status, InvalidParameterCode for input the SDK
// refused, failures on the way) and whether the engine retries it: an
// error that is neither a retryable API error nor a failure on the way
// is not retried.
func TestClientFailure(t *testing.T) {
	invalid := smithy.InvalidParamsError{Context: "PutRecordsInput"}
	invalid.Add(smithy.NewErrParamRequired("Records"))
	netErr := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	op := func(err error) error {
		return &smithy.OperationError{ServiceID: "Kinesis", OperationName: "PutRecords", Err: err}
	}
	// A 503 answer as the SDK reports it: an API error inside a response error.
	unavailable := op(&smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: 503}},
		Err:      &smithy.GenericAPIError{Code: "ServiceUnavailable"},
	})
	denied := op(&smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: 400}},
		Err:      &types.ResourceNotFoundException{Message: aws.String("no")},
	})
	cases := []struct {
		name      string
		err       error
		want      engine.CallFailure
		retryable bool
	}{
		{"modeled", op(&types.ProvisionedThroughputExceededException{Message: aws.String("Rate exceeded")}), engine.CallFailure{Code: "ProvisionedThroughputExceededException"}, true},
		{"modeled, not found", op(&types.ResourceNotFoundException{Message: aws.String("no")}), engine.CallFailure{Code: "ResourceNotFoundException"}, false},
		{"not found, with status", denied, engine.CallFailure{Code: "ResourceNotFoundException", Status: 400}, false},
		{"503", unavailable, engine.CallFailure{Code: "ServiceUnavailable", Status: 503}, true},
		{"generic", op(&smithy.GenericAPIError{Code: "InternalFailure", Message: "boom"}), engine.CallFailure{Code: "InternalFailure"}, true},
		{"bare API error", &smithy.GenericAPIError{Code: "AccessDeniedException"}, engine.CallFailure{Code: "AccessDeniedException"}, false},
		{"invalid params", op(invalid), engine.CallFailure{Code: engine.InvalidParameterCode}, false},
		{"invalid params, bare", invalid, engine.CallFailure{Code: engine.InvalidParameterCode}, false},
		{"network", op(netErr), engine.CallFailure{Transport: true}, true},
		{"send", op(&smithyhttp.RequestSendError{Err: errors.New("send")}), engine.CallFailure{Transport: true}, true},
		{"unreadable answer", op(&smithy.DeserializationError{Err: io.ErrUnexpectedEOF}), engine.CallFailure{Transport: true}, true},
		{"deadline", op(context.DeadlineExceeded), engine.CallFailure{Transport: true}, true},
		{"canceled", context.Canceled, engine.CallFailure{Transport: true}, true},
		{"plain", errors.New("ResourceNotFoundException: made up by a caller's client"), engine.CallFailure{}, false},
	}
	cl := newClient(&recordingPutter{}, "s", "")
	for _, c := range cases {
		got := cl.Failure(c.err)
		if got != c.want {
			t.Errorf("%s: Failure(%v) = %+v, want %+v", c.name, c.err, got, c.want)
		}
		if got.Retryable() != c.retryable {
			t.Errorf("%s: Retryable = %v, want %v", c.name, got.Retryable(), c.retryable)
		}
	}
}

// TestClientRealValidation checks the code of the error a real v2 client
// returns when its own validation refuses the input (no request is sent).
func TestClientRealValidation(t *testing.T) {
	api := kinesis.New(kinesis.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:1")})
	cl := newClient(api, "s", "")
	// An entry without data: the SDK requires Data.
	err := cl.PutRecords(context.Background(), []engine.Entry{{PartitionKey: "k"}}, make([]engine.Result, 1))
	var invalid smithy.InvalidParamsError
	if !errors.As(err, &invalid) {
		t.Fatalf("error %T (%v), want a smithy.InvalidParamsError", err, err)
	}
	if f := cl.Failure(err); f.Code != engine.InvalidParameterCode || f.Retryable() {
		t.Errorf("Failure = %+v, want code %q, not retryable", f, engine.InvalidParameterCode)
	}
}

// TestEngineConfigCopiesEveryField sets every exported field of Config to a
// value that is not zero and checks that the engine's Config gets it under
// the same name, and that the engine has no field the Config lacks.
func TestEngineConfigCopiesEveryField(t *testing.T) {
	var c Config
	v := reflect.ValueOf(&c).Elem()
	typ := v.Type()
	special := map[string]bool{"Client": true, "GetShards": true}
	values := map[reflect.Type]any{
		reflect.TypeFor[Logger]():  Standard(log.New(io.Discard, "", 0)),
		reflect.TypeFor[Metrics](): nopMetrics{},
	}
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		if !f.IsExported() || special[f.Name] {
			continue
		}
		fv := v.Field(i)
		switch f.Type.Kind() {
		case reflect.String:
			fv.SetString("value-of-" + f.Name)
		case reflect.Int, reflect.Int64: // time.Duration too
			fv.SetInt(int64(1000 + i))
		case reflect.Bool:
			fv.SetBool(true)
		case reflect.Uint8: // Ordering
			fv.SetUint(1)
		default:
			x, ok := values[f.Type]
			if !ok {
				t.Fatalf("field %s of type %s: give the test a value for it", f.Name, f.Type)
			}
			fv.Set(reflect.ValueOf(x))
		}
		if fv.IsZero() {
			t.Fatalf("field %s is still zero", f.Name)
		}
	}
	c.Client = &recordingPutter{}
	c.GetShards = StaticGetShardsFunc(2)

	e := c.engineConfig()
	ev := reflect.ValueOf(e).Elem()
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		if !f.IsExported() || special[f.Name] {
			continue
		}
		ef := ev.FieldByName(f.Name)
		switch {
		case !ef.IsValid():
			t.Errorf("engine.Config has no field %s", f.Name)
		case ef.Type() != f.Type:
			t.Errorf("field %s is %s in Config, %s in engine.Config", f.Name, f.Type, ef.Type())
		case !reflect.DeepEqual(ef.Interface(), v.Field(i).Interface()):
			t.Errorf("field %s: engine gets %v, want %v", f.Name, ef.Interface(), v.Field(i).Interface())
		}
	}
	for i := 0; i < ev.NumField(); i++ {
		name := ev.Type().Field(i).Name
		if _, ok := typ.FieldByName(name); !ok && name != "ListShards" {
			t.Errorf("engine.Config field %s has no counterpart in Config", name)
		}
	}

	// The client and the shard listing are adapted, not copied.
	cl, ok := e.Client.(*client)
	if !ok || cl.api != c.Client {
		t.Fatalf("engine Client %#v, want the adapter of Config.Client", e.Client)
	}
	if aws.ToString(cl.arn) != c.StreamARN || cl.name != nil {
		t.Errorf("the adapter names the stream by %v/%v, want the ARN %s alone", cl.name, cl.arn, c.StreamARN)
	}
	if e.ListShards == nil {
		t.Fatal("engine ListShards is nil with GetShards set")
	}
	shards, changed, err := e.ListShards(context.Background())
	if err != nil || !changed || len(shards) != 2 || shards[1].ID != "shardId-000000000001" {
		t.Errorf("engine ListShards: %+v %v %v", shards, changed, err)
	}
}

// TestEngineConfigNils checks the engine's Config for a nil Config, a nil
// client, a typed nil client and no shard listing.
func TestEngineConfigNils(t *testing.T) {
	if e := (*Config)(nil).engineConfig(); e != nil {
		t.Errorf("engineConfig of a nil Config: %+v", e)
	}
	for name, api := range map[string]Putter{"nil": nil, "typed nil": (*kinesis.Client)(nil)} {
		e := (&Config{StreamName: "s", Client: api}).engineConfig()
		if e.Client != nil || e.ListShards != nil {
			t.Errorf("%s client: engine Client %v, ListShards set %v; want both nil", name, e.Client, e.ListShards != nil)
		}
		if _, err := e.WithDefaults(); !errors.Is(err, engine.ErrInvalidConfig) {
			t.Errorf("%s client: WithDefaults error %v, want ErrInvalidConfig", name, err)
		}
	}
	e := (&Config{StreamName: "s", Client: &recordingPutter{}}).engineConfig()
	cl, ok := e.Client.(*client)
	if !ok || aws.ToString(cl.name) != "s" || cl.arn != nil {
		t.Errorf("engine Client %#v, want the adapter naming stream s", e.Client)
	}
}

// nopMetrics is a Metrics that does nothing.
type nopMetrics struct{}

func (nopMetrics) UserRecordsAggregated(string, int, time.Duration) {}
func (nopMetrics) KinesisRecordPut(string, int, int, int)           {}
func (nopMetrics) PutError(string, string)                          {}
func (nopMetrics) Retry(string)                                     {}
func (nopMetrics) RateLimited(string)                               {}
func (nopMetrics) UserRecordsFailed(int, error)                     {}
func (nopMetrics) Request(int, time.Duration, string)               {}
