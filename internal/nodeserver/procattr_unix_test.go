//go:build unix

package nodeserver

import (
	"syscall"
	"testing"
)

// TestServerHasItsOwnProcessGroup checks that a terminal's SIGINT to the
// caller's process group does not reach the server.
func TestServerHasItsOwnProcessGroup(t *testing.T) {
	t.Parallel()
	forEachRunningServer(t, func(t *testing.T, srv *Server) {
		pgid, err := syscall.Getpgid(srv.PID())
		if err != nil {
			t.Fatalf("getpgid(%d): %v", srv.PID(), err)
		}
		if pgid == syscall.Getpgrp() {
			t.Fatalf("server runs in the process group of its caller (%d)", pgid)
		}
		if pgid != srv.PID() {
			t.Errorf("server's process group is %d, want its own pid %d", pgid, srv.PID())
		}
	})
}
