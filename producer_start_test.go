package producer

import (
	"context"
	"errors"
	"net"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/credentials"
	"github.com/aws/aws-sdk-go/aws/session"
	"github.com/aws/aws-sdk-go/service/kinesis"
)

// silentServer accepts connections on 127.0.0.1 and never answers: a stalled
// endpoint. It closes the connections it holds when the test ends.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}

// silentClient is a v1 client of a silent server, with a transport of its
// own so that the test can close its connections.
func silentClient(t *testing.T) (*kinesis.Kinesis, *http.Transport) {
	t.Helper()
	t.Setenv("AWS_CA_BUNDLE", "")
	tr := &http.Transport{}
	sess, err := session.NewSessionWithOptions(session.Options{
		Config: *aws.NewConfig().WithEndpoint(silentServer(t)).WithRegion("us-east-1").
			WithCredentials(credentials.NewStaticCredentials("AKID", "secret", "")).
			WithDisableSSL(true).WithMaxRetries(0).WithHTTPClient(&http.Client{Transport: tr}),
		SharedConfigState: session.SharedConfigDisable,
		SharedConfigFiles: []string{},
	})
	if err != nil {
		t.Fatal(err)
	}
	return kinesis.New(sess), tr
}

// TestStartAgainstSilentServer: the first shard listing against an endpoint
// that never answers ends with Config.ListShardsTimeout, or with
// StartContext's context, with an error wrapping ErrShardListing, and leaves
// no goroutine behind.
func TestStartAgainstSilentServer(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timeout time.Duration // Config.ListShardsTimeout
		ctx     time.Duration // StartContext's deadline, 0 for none
	}{
		{"ListShardsTimeout", 300 * time.Millisecond, 0},
		{"context", time.Minute, 200 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, tr := silentClient(t)
			before := runtime.NumGoroutine()
			cfg := testConfig(&fakeClient{})
			cfg.ListShardsTimeout = tc.timeout
			// GetKinesisShardsFunc with a short limit of its own, so that the
			// listing it started is over when the test looks for goroutines.
			cfg.GetShards = shardLister{client, "s", 400 * time.Millisecond}.list
			p := New(cfg)
			ctx := context.Background()
			if tc.ctx > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.ctx)
				defer cancel()
			}
			start := time.Now()
			err := p.StartContext(ctx)
			took := time.Since(start)
			if !errors.Is(err, ErrShardListing) || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("StartContext: %v, want ErrShardListing and context.DeadlineExceeded", err)
			}
			limit := tc.timeout
			if tc.ctx > 0 {
				limit = tc.ctx
			}
			if took > limit+time.Second {
				t.Errorf("StartContext returned after %v, its limit is %v", took, limit)
			}
			p.Stop()
			if err := p.Start(); !errors.Is(err, ErrStoppedProducer) {
				t.Errorf("Start after Stop: %v, want ErrStoppedProducer", err)
			}
			tr.CloseIdleConnections()
			checkNoLeak(t, before)
		})
	}
}

// TestStopDuringFirstListing: Stop while Start waits for the first listing
// ends the listing at once; Start returns ErrStoppedProducer.
func TestStopDuringFirstListing(t *testing.T) {
	before := runtime.NumGoroutine()
	release := make(chan struct{})
	cfg := testConfig(&fakeClient{})
	cfg.GetShards = func([]*kinesis.Shard) ([]*kinesis.Shard, bool, error) {
		<-release // a listing that ignores every time limit
		return nil, false, errors.New("released")
	}
	p := New(cfg)
	started := make(chan error)
	go func() { started <- p.Start() }()
	// Stop may come before or during the listing: either way Start ends.
	p.Stop()
	select {
	case err := <-started:
		if !errors.Is(err, ErrStoppedProducer) {
			t.Errorf("Start: %v, want ErrStoppedProducer", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Start still waits for the listing 5s after Stop")
	}
	close(release)
	checkNoLeak(t, before)
}
