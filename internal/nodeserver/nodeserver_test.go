package nodeserver

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeKind writes a launcher script with the given body to a temporary
// directory and returns a Kind that runs it, with no npm package. It skips
// the test without node.
func fakeKind(t *testing.T, body string) Kind {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skipf("skipping: %v", err)
	}
	script := filepath.Join(t.TempDir(), "fake.js")
	if err := os.WriteFile(script, []byte("'use strict'\n"+body), 0o600); err != nil {
		t.Fatal(err)
	}
	return Kind{Name: "fake", Script: script}
}

// stdinEnds is a script fragment that exits when stdin ends, as the
// launchers do.
const stdinEnds = "process.stdin.on('end', function() { process.exit(0) }); process.stdin.resume()\n"

// TestStartExitedDuringStartup checks the command line and working
// directory of the script, and the error of a server that exits before it
// listens: it carries the exit status and the output.
func TestStartExitedDuringStartup(t *testing.T) {
	t.Parallel()
	kind := fakeKind(t, `
console.log('args ' + process.argv.slice(2).join(' '))
console.log('cwd ' + process.cwd())
console.error('boom')
process.exit(3)
`)
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := Start(context.Background(), kind)
	if err == nil {
		srv.Close()
		t.Fatal("Start of a script that exits: no error")
	}
	msg := err.Error()
	for _, want := range []string{
		"fake exited during startup (exit status 3); output:\n",
		"args " + filepath.Join(root, "node_modules") + " 10000\n",
		"cwd " + root + "\n",
		"boom\n",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
}

// TestStartNotListening checks that Start gives up when ctx ends before the
// "listening" line, with the output so far, and stops the process.
func TestStartNotListening(t *testing.T) {
	t.Parallel()
	kind := fakeKind(t, "console.log('pid ' + process.pid)\n"+stdinEnds)
	// Long enough for node to start and print its pid, even under -race.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	srv, err := Start(ctx, kind)
	if err == nil {
		srv.Close()
		t.Fatal("Start of a script that never listens: no error")
	}
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "fake did not start listening") || !strings.Contains(err.Error(), "\npid ") {
		t.Errorf("error %q", err)
	}
}

func TestStartNotInstalled(t *testing.T) {
	t.Parallel()
	kind := Kinesalite
	kind.Package = "no-such-package"
	srv, err := Start(context.Background(), kind)
	if err == nil {
		srv.Close()
		t.Fatal("Start of a server that is not installed: no error")
	}
	if !strings.Contains(err.Error(), "kinesalite not installed: run `npm ci`") || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error %q", err)
	}
}

// TestWaitReady checks that WaitReady polls the probe until it succeeds,
// gives up with the probe's error when ctx ends, and reports a server that
// exits while it waits.
func TestWaitReady(t *testing.T) {
	t.Parallel()
	kind := fakeKind(t, "console.log('listening 1')\n"+stdinEnds)
	srv, err := Start(context.Background(), kind)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if srv.Endpoint() != "http://127.0.0.1:1" || srv.Name() != "fake" || srv.PID() <= 0 {
		t.Errorf("endpoint %q, name %q, pid %d", srv.Endpoint(), srv.Name(), srv.PID())
	}

	calls := 0
	errNotYet := errors.New("not yet")
	err = srv.WaitReady(context.Background(), "Probe", func(ctx context.Context) error {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("probe called without a deadline")
		}
		if calls++; calls < 3 {
			return errNotYet
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Errorf("WaitReady = %v after %d calls, want nil after 3", err, calls)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err = srv.WaitReady(ctx, "Probe", func(context.Context) error { return errNotYet })
	if !errors.Is(err, errNotYet) || !strings.Contains(err.Error(), "fake at http://127.0.0.1:1 does not answer Probe") {
		t.Errorf("WaitReady with a failing probe: %v", err)
	}

	// The script exits when its stdin closes.
	err = srv.WaitReady(context.Background(), "Probe", func(context.Context) error {
		_ = srv.stdin.Close()
		return errNotYet
	})
	if err == nil || !strings.Contains(err.Error(), "fake exited during startup (<nil>)") {
		t.Errorf("WaitReady on a server that exits: %v", err)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("Close after a clean exit: %v", err)
	}
}

// TestCloseReportsEarlyExit checks that Close reports a server that exited
// with an error while it ran.
func TestCloseReportsEarlyExit(t *testing.T) {
	t.Parallel()
	kind := fakeKind(t, "console.log('listening 1')\nprocess.stdin.on('end', function() { process.exit(4) }); process.stdin.resume()\n")
	srv, err := Start(context.Background(), kind)
	if err != nil {
		t.Fatal(err)
	}
	_ = srv.stdin.Close()
	<-srv.exited
	err = srv.Close()
	if err == nil || !strings.Contains(err.Error(), "fake exited early: exit status 4") {
		t.Errorf("Close = %v", err)
	}
	if again := srv.Close(); again != err {
		t.Errorf("second Close = %v, want the first's %v", again, err)
	}
}
