package kinesistest

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/kplgo/producer/internal/nodeserver"
)

// sharedServer is a server shared by all tests of a test binary, started on
// first use.
type sharedServer struct {
	kind nodeserver.Kind

	once   sync.Once
	mu     sync.Mutex
	server *Server
	err    error
}

var (
	shared             = &sharedServer{kind: nodeserver.Kinesalite}
	sharedKinesisLocal = &sharedServer{kind: nodeserver.KinesisLocal}
)

// Shared returns the kinesalite server shared by all tests of the test
// binary, starting it on first use. Use Main in TestMain to stop it when the
// tests are done.
//
// If the server cannot be started (node or kinesalite missing, startup
// failure), Shared skips the test with the reason, or fails it when the
// environment variable CI is "true", so CI never silently skips integration
// tests.
func Shared(tb testing.TB) *Server {
	tb.Helper()
	return shared.get(tb)
}

// SharedKinesisLocal returns the kinesis-local server shared by all tests of
// the test binary, starting it on first use. It behaves like Shared: Main
// stops it, and a server that cannot be started skips the test, or fails it
// when CI is "true".
func SharedKinesisLocal(tb testing.TB) *Server {
	tb.Helper()
	return sharedKinesisLocal.get(tb)
}

func (sh *sharedServer) get(tb testing.TB) *Server {
	tb.Helper()
	sh.once.Do(func() {
		srv, err := start(sh.kind)
		sh.mu.Lock()
		sh.server, sh.err = srv, err
		sh.mu.Unlock()
	})
	sh.mu.Lock()
	srv, err := sh.server, sh.err
	sh.mu.Unlock()
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("cannot start %s: %v", sh.kind.Name, err)
		}
		tb.Skipf("skipping integration test: cannot start %s: %v", sh.kind.Name, err)
	}
	if srv == nil {
		tb.Fatalf("kinesistest: the shared %s server was already closed", sh.kind.Name)
	}
	return srv
}

// close stops the server if it is running.
func (sh *sharedServer) close() error {
	sh.mu.Lock()
	srv := sh.server
	sh.server = nil
	sh.mu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.Close()
}

// Main runs the tests and then stops the shared servers, if any were
// started, before exiting with the tests' exit code. Call it from TestMain:
//
//	func TestMain(m *testing.M) { kinesistest.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	if err := closeShared(); err != nil {
		fmt.Fprintf(os.Stderr, "%v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// closeShared stops the shared servers that are running.
func closeShared() error {
	return errors.Join(shared.close(), sharedKinesisLocal.close())
}
