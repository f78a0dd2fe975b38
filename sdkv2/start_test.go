package sdkv2_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/kplgo/producer/sdkv2"
)

// silentServer is a TCP listener on 127.0.0.1 that accepts connections and
// never writes anything: an endpoint that never answers.
type silentServer struct {
	ln       net.Listener
	mu       sync.Mutex
	conns    []net.Conn
	accepted chan struct{} // one value per accepted connection
	done     chan struct{}
}

func newSilentServer(t *testing.T) *silentServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &silentServer{ln: ln, accepted: make(chan struct{}, 100), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			select {
			case s.accepted <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(s.close)
	return s
}

func (s *silentServer) endpoint() string { return "http://" + s.ln.Addr().String() }

func (s *silentServer) close() {
	s.ln.Close()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
	s.conns = nil
}

// silentClient returns a real v2 client for s, with an HTTP transport of its
// own (closed when the test ends).
func silentClient(t *testing.T, s *silentServer) *kinesis.Client {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return kinesis.New(kinesis.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.endpoint()),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret", Source: "test"}, nil
		}),
		HTTPClient: &http.Client{Transport: tr},
	})
}

// checkNoGoroutineLeft waits up to a few seconds for the number of
// goroutines to come back to before, and fails with every stack if it does
// not.
func checkNoGoroutineLeft(t *testing.T, before int, cleanup func()) {
	t.Helper()
	cleanup()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines left, %d before:\n%s", runtime.NumGoroutine(), before, buf)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestStartAgainstSilentServer checks that the first shard listing against an
// endpoint that never answers ends with ListShardsTimeout, or with Start's
// context, and leaves no goroutine behind. (Not parallel: it counts
// goroutines.)
func TestStartAgainstSilentServer(t *testing.T) {
	t.Run("ListShardsTimeout", func(t *testing.T) {
		srv := newSilentServer(t)
		client := silentClient(t, srv)
		before := runtime.NumGoroutine()
		p := sdkv2.New(&sdkv2.Config{
			StreamName:        "s",
			Client:            client,
			GetShards:         sdkv2.GetKinesisShardsFunc(client, "s"),
			ListShardsTimeout: 300 * time.Millisecond,
			Logger:            quietLogger(),
		})
		began := time.Now()
		err := p.Start(context.Background())
		took := time.Since(began)
		if !errors.Is(err, sdkv2.ErrShardListing) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Start: %v, want ErrShardListing and a deadline", err)
		}
		if took < 250*time.Millisecond || took > 2*time.Second {
			t.Errorf("Start took %v, want about ListShardsTimeout (300ms)", took)
		}
		select {
		case <-srv.accepted:
		default:
			t.Error("the client never connected: the test proves nothing")
		}
		checkNoGoroutineLeft(t, before, func() { client.Options().HTTPClient.(*http.Client).CloseIdleConnections() })
	})

	t.Run("context", func(t *testing.T) {
		srv := newSilentServer(t)
		client := silentClient(t, srv)
		before := runtime.NumGoroutine()
		p := sdkv2.New(&sdkv2.Config{
			StreamName: "s",
			Client:     client,
			GetShards:  sdkv2.GetKinesisShardsFunc(client, "s"),
			Logger:     quietLogger(),
		})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			<-srv.accepted // the request is under way
			time.Sleep(100 * time.Millisecond)
			cancel()
		}()
		began := time.Now()
		err := p.Start(ctx)
		took := time.Since(began)
		if err == nil || !errors.Is(err, sdkv2.ErrShardListing) || !errors.Is(err, context.Canceled) {
			t.Errorf("Start: %v, want ErrShardListing and the cancellation", err)
		}
		if took > 2*time.Second {
			t.Errorf("Start took %v after its context was cancelled at 100ms", took)
		}
		// A producer whose Start failed can still be stopped.
		p.Stop()
		checkNoGoroutineLeft(t, before, func() { client.Options().HTTPClient.(*http.Client).CloseIdleConnections() })
	})
}
