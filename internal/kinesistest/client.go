package kinesistest

import (
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/credentials"
	"github.com/aws/aws-sdk-go/aws/session"
	"github.com/aws/aws-sdk-go/service/kinesis"
)

// Region is the AWS region clients are configured with.
const Region = "us-east-1"

// DefaultHTTPTimeout is the overall timeout of each HTTP request made by
// clients from Session and Client, unless changed with WithHTTPTimeout. It
// only guards against a hung server; it is far above any delay tests inject.
const DefaultHTTPTimeout = 30 * time.Second

// ClientOption changes how Session and Client configure the SDK.
type ClientOption func(*clientOptions)

type clientOptions struct {
	maxRetries int
	timeout    time.Duration
}

func defaultClientOptions() clientOptions {
	return clientOptions{maxRetries: 0, timeout: DefaultHTTPTimeout}
}

// WithMaxRetries sets how often the SDK itself retries a failed call. The
// default is 0: the producer under test does its own retries, and SDK retries
// would hide injected faults from it.
func WithMaxRetries(n int) ClientOption {
	return func(o *clientOptions) { o.maxRetries = n }
}

// WithHTTPTimeout sets the http.Client timeout (0 means none). The default is
// DefaultHTTPTimeout.
func WithHTTPTimeout(d time.Duration) ClientOption {
	return func(o *clientOptions) { o.timeout = d }
}

// Session returns an aws-sdk-go session for the server: region us-east-1,
// static fake credentials, plain HTTP, no shared config files, and SDK
// retries off unless WithMaxRetries says otherwise. Requests go through rt;
// nil means a plain http.Transport shared by the server's clients.
//
// Session unsets AWS_CA_BUNDLE in the process environment: with it set, the
// SDK refuses to create a session whose transport is not an *http.Transport.
func (s *Server) Session(rt http.RoundTripper, opts ...ClientOption) (*session.Session, error) {
	o := defaultClientOptions()
	for _, opt := range opts {
		opt(&o)
	}
	return s.newSession(rt, o)
}

// Client returns a Kinesis client for the server, configured as described
// for Session. It fails the test if the client cannot be created.
func (s *Server) Client(tb testing.TB, rt http.RoundTripper, opts ...ClientOption) *kinesis.Kinesis {
	tb.Helper()
	sess, err := s.Session(rt, opts...)
	if err != nil {
		tb.Fatalf("kinesistest: %v", err)
	}
	return kinesis.New(sess)
}

func (s *Server) newClient(rt http.RoundTripper, o clientOptions) (*kinesis.Kinesis, error) {
	sess, err := s.newSession(rt, o)
	if err != nil {
		return nil, err
	}
	return kinesis.New(sess), nil
}

func (s *Server) newSession(rt http.RoundTripper, o clientOptions) (*session.Session, error) {
	if rt == nil {
		rt = s.transport
	}
	// The SDK loads AWS_CA_BUNDLE into the transport, which fails for any
	// transport other than *http.Transport. The server speaks plain HTTP.
	if err := os.Unsetenv("AWS_CA_BUNDLE"); err != nil {
		return nil, fmt.Errorf("kinesistest: unset AWS_CA_BUNDLE: %w", err)
	}
	cfg := aws.NewConfig().
		WithEndpoint(s.endpoint).
		WithRegion(Region).
		WithCredentials(credentials.NewStaticCredentials("AKIDKINESISTEST", "kinesistest-secret", "")).
		WithDisableSSL(true).
		WithMaxRetries(o.maxRetries).
		WithHTTPClient(&http.Client{Transport: rt, Timeout: o.timeout})
	sess, err := session.NewSessionWithOptions(session.Options{
		Config:            *cfg,
		SharedConfigState: session.SharedConfigDisable,
		SharedConfigFiles: []string{}, // never read ~/.aws
	})
	if err != nil {
		return nil, fmt.Errorf("kinesistest: create AWS session for %s: %w", s.endpoint, err)
	}
	return sess, nil
}
