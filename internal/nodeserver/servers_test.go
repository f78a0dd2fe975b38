package nodeserver

import (
	"context"
	"os"
	"testing"
)

// testServer is a server this package runs, for the tests that must hold
// for each of them.
type testServer struct {
	name string // the subtest name, also the helper process's selector
	kind Kind
}

// testServers lists every server this package can start.
var testServers = []testServer{
	{name: "kinesalite", kind: Kinesalite},
	{name: "kinesis-local", kind: KinesisLocal},
}

// start starts a new server of the kind.
func (ts testServer) start() (*Server, error) {
	return Start(context.Background(), ts.kind)
}

// startOrSkip starts a new server and skips the test if it cannot, or fails
// it when CI is "true".
func (ts testServer) startOrSkip(t *testing.T) *Server {
	t.Helper()
	srv, err := ts.start()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v", err)
		}
		t.Skipf("skipping: %v", err)
	}
	return srv
}

// forEachServer runs test as a parallel subtest for each server.
func forEachServer(t *testing.T, test func(t *testing.T, ts testServer)) {
	t.Helper()
	for _, ts := range testServers {
		t.Run(ts.name, func(t *testing.T) {
			t.Parallel()
			test(t, ts)
		})
	}
}

// forEachRunningServer runs test as a parallel subtest for each server, with
// a new server of that kind, closed when the subtest ends.
func forEachRunningServer(t *testing.T, test func(t *testing.T, srv *Server)) {
	t.Helper()
	forEachServer(t, func(t *testing.T, ts testServer) {
		srv := ts.startOrSkip(t)
		defer srv.Close()
		test(t, srv)
	})
}
