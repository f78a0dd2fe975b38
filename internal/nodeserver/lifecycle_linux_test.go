package nodeserver

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// gone reports whether the process no longer runs: it does not exist, or it
// is a zombie waiting for a parent (possibly an init that never reaps) to
// collect it.
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return errors.Is(err, os.ErrNotExist)
	}
	// Format: pid (comm) state ...; comm may contain spaces and parentheses.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

func waitGone(t *testing.T, pid int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !gone(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still runs after %v", pid, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCloseStopsProcess checks that Close ends the process promptly and
// reaps it. kinesis-local's own SIGTERM handling is a slow graceful shutdown;
// its launcher exits at once, so the bound holds for it as well.
func TestCloseStopsProcess(t *testing.T) {
	t.Parallel()
	forEachRunningServer(t, func(t *testing.T, srv *Server) {
		pid := srv.PID()
		if err := syscall.Kill(pid, 0); err != nil {
			t.Fatalf("server process %d not running before Close: %v", pid, err)
		}
		begin := time.Now()
		if err := srv.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if d := time.Since(begin); d > StopGrace/2 {
			t.Errorf("Close took %v", d)
		}
		// Close reaps the process, so it must be gone entirely, not a zombie.
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Fatalf("after Close, kill(%d, 0) = %v, want ESRCH", pid, err)
		}
		if err := srv.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	})
}

func TestServerExitsWhenStdinCloses(t *testing.T) {
	t.Parallel()
	forEachRunningServer(t, func(t *testing.T, srv *Server) {
		if err := srv.stdin.Close(); err != nil {
			t.Fatalf("close stdin: %v", err)
		}
		select {
		case <-srv.exited:
		case <-time.After(5 * time.Second):
			t.Fatalf("server did not exit within 5s of its stdin closing")
		}
		if srv.waitErr != nil {
			t.Errorf("server exit status: %v, want success", srv.waitErr)
		}
	})
}

// helperEnv names the server a helper process of TestNoOrphanWhenParentDies
// starts.
const helperEnv = "NODESERVER_HELPER"

// TestNoOrphanWhenParentDies starts a server from a child test process, kills
// that process with SIGKILL (no cleanup runs) and checks that the server
// exits on its own.
func TestNoOrphanWhenParentDies(t *testing.T) {
	if name := os.Getenv(helperEnv); name != "" {
		runHelper(name)
	}
	t.Parallel()
	if _, err := RepoRoot(); err != nil {
		t.Skipf("skipping: %v", err)
	}
	forEachServer(t, func(t *testing.T, ts testServer) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestNoOrphanWhenParentDies$")
		cmd.Env = append(os.Environ(), helperEnv+"="+ts.name)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}()
		line, err := bufio.NewReader(out).ReadString('\n')
		if err != nil {
			t.Fatalf("reading helper output: %v", err)
		}
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "pid ")
		if !ok {
			if os.Getenv("CI") != "true" {
				t.Skipf("skipping: helper could not start a server: %s", line)
			}
			t.Fatalf("helper: %s", line)
		}
		pid, err := strconv.Atoi(rest)
		if err != nil {
			t.Fatalf("helper printed %q: %v", line, err)
		}
		if gone(pid) {
			t.Fatalf("server %d not running while its parent lives", pid)
		}
		if err := cmd.Process.Kill(); err != nil {
			t.Fatalf("kill helper: %v", err)
		}
		_ = cmd.Wait()
		waitGone(t, pid, 10*time.Second)
	})
}

// runHelper is the child process of TestNoOrphanWhenParentDies: it starts the
// named server, prints its pid and waits to be killed.
func runHelper(name string) {
	for _, ts := range testServers {
		if ts.name != name {
			continue
		}
		srv, err := ts.start()
		if err != nil {
			fmt.Printf("error %v\n", err)
			os.Exit(1)
		}
		fmt.Printf("pid %d\n", srv.PID())
		time.Sleep(time.Minute) // wait to be killed
		os.Exit(0)
	}
	fmt.Printf("error no server named %q\n", name)
	os.Exit(1)
}
