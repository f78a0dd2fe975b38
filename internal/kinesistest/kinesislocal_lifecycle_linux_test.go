package kinesistest

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

func startKinesisLocalOrSkip(t *testing.T) *Server {
	t.Helper()
	srv, err := StartKinesisLocal()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v", err)
		}
		t.Skipf("skipping: %v", err)
	}
	return srv
}

// TestKinesisLocalCloseStopsProcess checks that Close ends the process
// promptly (kinesis-local's own SIGTERM handling is a slow graceful
// shutdown; the launcher exits at once) and reaps it.
func TestKinesisLocalCloseStopsProcess(t *testing.T) {
	t.Parallel()
	srv := startKinesisLocalOrSkip(t)
	pid := srv.PID()
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("server process %d not running before Close: %v", pid, err)
	}
	begin := time.Now()
	if err := srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if d := time.Since(begin); d > stopGrace/2 {
		t.Errorf("Close took %v", d)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("after Close, kill(%d, 0) = %v, want ESRCH", pid, err)
	}
	if err := srv.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestKinesisLocalHasItsOwnProcessGroup(t *testing.T) {
	t.Parallel()
	srv := startKinesisLocalOrSkip(t)
	defer srv.Close()
	pgid, err := syscall.Getpgid(srv.PID())
	if err != nil {
		t.Fatalf("getpgid(%d): %v", srv.PID(), err)
	}
	if pgid != srv.PID() {
		t.Errorf("server's process group is %d, want its own pid %d", pgid, srv.PID())
	}
}

func TestKinesisLocalExitsWhenStdinCloses(t *testing.T) {
	t.Parallel()
	srv := startKinesisLocalOrSkip(t)
	defer srv.Close()
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
}

// TestKinesisLocalNoOrphanWhenParentDies starts a server from a child test
// process, kills that process with SIGKILL and checks that the server exits
// on its own.
func TestKinesisLocalNoOrphanWhenParentDies(t *testing.T) {
	if os.Getenv("KINESISTEST_HELPER") == "kinesis-local" {
		srv, err := StartKinesisLocal()
		if err != nil {
			fmt.Printf("error %v\n", err)
			os.Exit(1)
		}
		fmt.Printf("pid %d\n", srv.PID())
		time.Sleep(time.Minute) // wait to be killed
		os.Exit(0)
	}
	t.Parallel()
	if _, err := RepoRoot(); err != nil {
		t.Skipf("skipping: %v", err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestKinesisLocalNoOrphanWhenParentDies$")
	cmd.Env = append(os.Environ(), "KINESISTEST_HELPER=kinesis-local")
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
}
