// Package nodeserver runs the Node.js Kinesis-compatible servers of this
// repository (kinesalite and kinesis-local) as child processes: it finds the
// repository root, starts a server's launcher script with node, waits for
// the "listening <port>" line the script prints and stops the process again.
//
// It knows nothing about the Kinesis API and imports no AWS SDK, so that
// both package kinesistest (built on aws-sdk-go v1) and the aws-sdk-go-v2
// demo program can use it; each adds its own client and checks with
// WaitReady that the server answers it.
//
// The servers are npm packages installed at the repository root (run
// `npm ci` there). The launcher scripts live in internal/kinesistest; they
// bind 127.0.0.1 only, keep all data in memory and exit when their stdin
// closes, so a server never outlives the process that started it.
package nodeserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	// ShardLimit is the account-wide limit on open shards the servers
	// enforce. Many tests share one server, so it is generous.
	ShardLimit = 10000

	// StartTimeout bounds how long Start waits for the "listening <port>"
	// line, and WaitReady for the server to answer.
	StartTimeout = 30 * time.Second

	// StopGrace is how long Close waits after SIGTERM before SIGKILL.
	StopGrace = 3 * time.Second

	// OutputTail is how much of a server's output is kept for error
	// messages.
	OutputTail = 8 << 10

	// VerboseEnv names the environment variable that, when set to anything
	// but the empty string, copies the servers' output to stderr.
	VerboseEnv = "KINESISTEST_VERBOSE"
)

// Kind describes a server this package can run: an npm package installed
// under node_modules at the repository root and the launcher script that
// starts it.
type Kind struct {
	Name    string // for messages and as the prefix of verbose output
	Package string // directory under node_modules; "" skips the check that it is installed
	Script  string // launcher script, relative to the repository root (or absolute)
}

var (
	// Kinesalite is the kinesalite server: fast, the default for tests.
	Kinesalite = Kind{
		Name:    "kinesalite",
		Package: "kinesalite",
		Script:  "internal/kinesistest/kinesalite.js",
	}

	// KinesisLocal is kinesis-local, the Kinesis mock LocalStack uses: it
	// implements UpdateShardCount, but is much slower than kinesalite.
	KinesisLocal = Kind{
		Name:    "kinesis-local",
		Package: "kinesis-local",
		Script:  "internal/kinesistest/kinesislocal.js",
	}
)

// Server is a running server process. Create one with Start. Its methods are
// safe for concurrent use.
type Server struct {
	name     string
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	out      *outputWriter
	exited   chan struct{} // closed once the process has been reaped
	waitErr  error         // result of cmd.Wait, valid after exited is closed
	endpoint string

	closeOnce sync.Once
	closeErr  error
	stopping  atomic.Bool // Close has begun: an exit from now on is expected
}

// Start launches the server described by kind, as
// `node <script> <node_modules> <ShardLimit>` in the repository root, and
// waits until it prints "listening <port>", for at most StartTimeout or
// until ctx ends. The process runs in a process group of its own (where
// there are process groups), so that a Ctrl-C in a terminal does not reach
// it. The caller must Close the server.
func Start(ctx context.Context, kind Kind) (*Server, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("node not found on PATH: %w", err)
	}
	modules := filepath.Join(root, "node_modules")
	if kind.Package != "" {
		if _, err := os.Stat(filepath.Join(modules, kind.Package, "package.json")); err != nil {
			return nil, fmt.Errorf("%s not installed: run `npm ci` at the repository root (%s): %w", kind.Name, root, err)
		}
	}
	script := kind.Script
	if !filepath.IsAbs(script) {
		script = filepath.Join(root, script)
	}

	cmd := exec.Command(node, script, modules, strconv.Itoa(ShardLimit))
	cmd.Dir = root
	out := newOutputWriter(kind.Name)
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.WaitDelay = StopGrace
	detach(cmd)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("%s stdin pipe: %w", kind.Name, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", node, err)
	}

	s := &Server{
		name:   kind.Name,
		cmd:    cmd,
		stdin:  stdin,
		out:    out,
		exited: make(chan struct{}),
	}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
		if !s.stopping.Load() {
			// Tests that use the server now fail, slowly, with refused
			// connections: say why at once, with the server's last words.
			fmt.Fprintf(os.Stderr, "%s (pid %d) exited while in use (%v); its last output:\n%s\n",
				s.name, cmd.Process.Pid, s.waitErr, s.out.tail())
		}
	}()

	if err := s.waitListening(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// errStartTimeout ends the waits of Start and WaitReady after StartTimeout.
var errStartTimeout = fmt.Errorf("%w (%v)", context.DeadlineExceeded, StartTimeout)

// waitListening waits for the "listening <port>" line and sets the endpoint.
func (s *Server) waitListening(ctx context.Context) error {
	ctx, cancel := context.WithTimeoutCause(ctx, StartTimeout, errStartTimeout)
	defer cancel()
	select {
	case port := <-s.out.ready:
		s.endpoint = "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		return nil
	case <-s.exited:
		return s.exitedDuringStartup()
	case <-ctx.Done():
		return fmt.Errorf("%s did not start listening: %w; output:\n%s", s.name, context.Cause(ctx), s.out.tail())
	}
}

// WaitReady calls probe until it succeeds, which shows that the server
// answers API calls, for at most StartTimeout or until ctx ends. Each call
// gets 2 seconds; what names the call in the error message. It fails at
// once when the server exits. It does not stop the server on failure.
func (s *Server) WaitReady(ctx context.Context, what string, probe func(context.Context) error) error {
	ctx, cancel := context.WithTimeoutCause(ctx, StartTimeout, errStartTimeout)
	defer cancel()
	for {
		callCtx, callCancel := context.WithTimeout(ctx, 2*time.Second)
		err := probe(callCtx)
		callCancel()
		if err == nil {
			return nil
		}
		select {
		case <-s.exited:
			return s.exitedDuringStartup()
		case <-ctx.Done():
			return fmt.Errorf("%s at %s does not answer %s (%v): %w", s.name, s.endpoint, what, context.Cause(ctx), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *Server) exitedDuringStartup() error {
	return fmt.Errorf("%s exited during startup (%v); output:\n%s", s.name, s.waitErr, s.out.tail())
}

// Name returns the name of the server's kind, e.g. "kinesalite".
func (s *Server) Name() string { return s.name }

// Endpoint returns the server's base URL, e.g. "http://127.0.0.1:41234".
func (s *Server) Endpoint() string { return s.endpoint }

// PID returns the process id of the Node.js process.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Close stops the server: it closes the server's stdin, sends SIGTERM, waits
// StopGrace and then kills the process, and returns once the process is
// reaped. A server that had already exited with an error is reported. Close
// is idempotent; later calls return the result of the first.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.stop() })
	return s.closeErr
}

func (s *Server) stop() error {
	s.stopping.Store(true)
	select {
	case <-s.exited:
		// Already gone: nothing to stop. Report an unexpected exit.
		if s.waitErr != nil {
			return fmt.Errorf("%s exited early: %w", s.name, s.waitErr)
		}
		return nil
	default:
	}

	_ = s.stdin.Close() // the script exits on end of stdin as well
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		_ = s.cmd.Process.Kill()
	}
	select {
	case <-s.exited:
		return nil
	case <-time.After(StopGrace):
	}
	if err := s.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill %s (pid %d): %w", s.name, s.PID(), err)
	}
	<-s.exited
	return fmt.Errorf("%s (pid %d) ignored SIGTERM for %v and was killed", s.name, s.PID(), StopGrace)
}
