package kinesistest_test

import (
	"net"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/service/kinesis"

	"github.com/kplgo/producer/internal/kinesistest"
)

// TestStartAndClose starts each server through this package (package
// nodeserver tests the process itself: process group, stdin, SIGTERM,
// orphans, loopback): it answers a client at its loopback endpoint, and
// Close stops it, and is idempotent.
func TestStartAndClose(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		start func() (*kinesistest.Server, error)
	}{
		{"kinesalite", kinesistest.Start},
		{"kinesis-local", kinesistest.StartKinesisLocal},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			srv, err := c.start()
			if err != nil {
				if os.Getenv("CI") == "true" {
					t.Fatal(err)
				}
				t.Skipf("skipping: %v", err)
			}
			defer srv.Close()
			u, err := url.Parse(srv.Endpoint())
			if err != nil || u.Scheme != "http" || u.Hostname() != "127.0.0.1" || u.Port() == "" {
				t.Fatalf("endpoint %q (%v), want http://127.0.0.1:<port>", srv.Endpoint(), err)
			}
			if srv.PID() <= 0 {
				t.Errorf("PID %d", srv.PID())
			}
			if _, err := srv.Client(t, nil).ListStreams(&kinesis.ListStreamsInput{}); err != nil {
				t.Fatalf("ListStreams: %v", err)
			}
			if err := srv.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if err := srv.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			if conn, err := net.DialTimeout("tcp", u.Host, time.Second); err == nil {
				conn.Close()
				t.Errorf("%s still accepts connections after Close", u.Host)
			}
		})
	}
}

// TestRepoRoot checks RepoRoot, which forwards to nodeserver's: the
// repository root holds go.mod and this package's directory.
func TestRepoRoot(t *testing.T) {
	t.Parallel()
	root, err := kinesistest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, "internal", "kinesistest"); wd != want {
		t.Errorf("RepoRoot = %s, but the working directory is %s", root, wd)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Error(err)
	}
}
