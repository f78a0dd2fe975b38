// Package kinesistest runs a real Kinesis-compatible server (kinesalite) for
// integration tests and offers helpers to create streams and read back
// everything that was written to them.
//
// The server is a Node.js process started from the kinesalite package
// installed at the repository root (run `npm ci` there) by package
// nodeserver, with the launcher scripts of this directory. It keeps all data
// in memory, listens on 127.0.0.1 only and exits on its own when the test
// binary that started it goes away. This package adds the aws-sdk-go clients
// and the stream helpers.
//
// A second server, kinesis-local (the Kinesis mock LocalStack uses), runs
// the same way for what kinesalite cannot do, such as UpdateShardCount; start
// it with StartKinesisLocal or SharedKinesisLocal. It is much slower than
// kinesalite (well under 1 MiB/s), so tests give it small loads.
//
// A test binary normally shares one server between all its tests:
//
//	func TestMain(m *testing.M) { kinesistest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		srv := kinesistest.Shared(t)
//		client := srv.Client(t, nil)
//		stream := srv.CreateStream(t, 4)
//		// ... write to stream with client ...
//		records := kinesistest.ReadAll(t, client, stream)
//	}
package kinesistest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/kinesis"

	"github.com/kplgo/producer/internal/nodeserver"
)

// Server is a running kinesalite or kinesis-local process (started and
// stopped by package nodeserver) with the aws-sdk-go clients that talk to
// it. Create one with Start, StartKinesisLocal, Shared or
// SharedKinesisLocal. Its methods are safe for concurrent use.
type Server struct {
	proc     *nodeserver.Server
	endpoint string

	transport *http.Transport  // shared by clients created without a RoundTripper
	admin     *kinesis.Kinesis // used by the stream helpers

	closeOnce sync.Once
	closeErr  error
}

// Start launches a new kinesalite server and waits until it answers API
// calls. The caller must Close it. Most tests should use Shared instead.
func Start() (*Server, error) {
	return start(nodeserver.Kinesalite)
}

// start launches the server described by kind and waits until it answers
// ListStreams.
func start(kind nodeserver.Kind) (*Server, error) {
	ctx := context.Background()
	proc, err := nodeserver.Start(ctx, kind)
	if err != nil {
		return nil, fmt.Errorf("kinesistest: %w", err)
	}
	s := &Server{proc: proc, endpoint: proc.Endpoint(), transport: newTransport()}
	admin, err := s.newClient(nil, clientOptions{maxRetries: 3, timeout: 30 * time.Second})
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	s.admin = admin
	err = proc.WaitReady(ctx, "ListStreams", func(ctx context.Context) error {
		_, err := admin.ListStreamsWithContext(ctx, &kinesis.ListStreamsInput{Limit: aws.Int64(1)})
		return err
	})
	if err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("kinesistest: %w", err)
	}
	return s, nil
}

// Endpoint returns the server's base URL, e.g. "http://127.0.0.1:41234".
func (s *Server) Endpoint() string { return s.endpoint }

// PID returns the process id of the Node.js process.
func (s *Server) PID() int { return s.proc.PID() }

// Close stops the server: it closes the server's stdin, sends SIGTERM, waits
// a short grace period and then kills the process (see nodeserver's Close).
// Close is idempotent; later calls return the result of the first.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		defer s.transport.CloseIdleConnections()
		if err := s.proc.Close(); err != nil {
			s.closeErr = fmt.Errorf("kinesistest: %w", err)
		}
	})
	return s.closeErr
}

// newTransport returns a plain HTTP transport for loopback connections.
func newTransport() *http.Transport {
	return &http.Transport{
		Proxy:               nil, // never send loopback traffic to a proxy
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        100,
		MaxIdleConnsPerHost: 100,
		IdleConnTimeout:     4 * time.Second, // below the server's 5 s keep-alive timeout
	}
}

// RepoRoot returns the repository root: the nearest directory at or above
// the working directory whose go.mod declares module
// github.com/kplgo/producer. It is nodeserver.RepoRoot.
func RepoRoot() (string, error) {
	root, err := nodeserver.RepoRoot()
	if err != nil {
		return "", fmt.Errorf("kinesistest: %w", err)
	}
	return root, nil
}
