package kinesistest

import (
	"fmt"
	"os"
	"sync"
	"testing"
)

var shared struct {
	once   sync.Once
	mu     sync.Mutex
	server *Server
	err    error
}

// Shared returns the server shared by all tests of the test binary, starting
// it on first use. Use Main in TestMain to stop it when the tests are done.
//
// If the server cannot be started (node or kinesalite missing, startup
// failure), Shared skips the test with the reason, or fails it when the
// environment variable CI is "true", so CI never silently skips integration
// tests.
func Shared(tb testing.TB) *Server {
	tb.Helper()
	shared.once.Do(func() {
		srv, err := Start()
		shared.mu.Lock()
		shared.server, shared.err = srv, err
		shared.mu.Unlock()
	})
	shared.mu.Lock()
	srv, err := shared.server, shared.err
	shared.mu.Unlock()
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("cannot start kinesalite: %v", err)
		}
		tb.Skipf("skipping integration test: cannot start kinesalite: %v", err)
	}
	if srv == nil {
		tb.Fatalf("kinesistest: the shared server was already closed")
	}
	return srv
}

// Main runs the tests and then stops the shared server, if one was started,
// before exiting with the tests' exit code. Call it from TestMain:
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

// closeShared stops the shared server if it is running.
func closeShared() error {
	shared.mu.Lock()
	srv := shared.server
	shared.server = nil
	shared.mu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.Close()
}
