// Package kinesistest runs a real Kinesis-compatible server (kinesalite) for
// integration tests and offers helpers to create streams and read back
// everything that was written to them.
//
// The server is a Node.js process started from the kinesalite package
// installed at the repository root (run `npm ci` there). It keeps all data in
// memory, listens on 127.0.0.1 only and exits on its own when the test
// binary that started it goes away.
//
// A second server, kinesis-local (the Kinesis mock LocalStack uses), runs
// the same way for what kinesalite cannot do, such as UpdateShardCount; start
// it with StartKinesisLocal or SharedKinesisLocal. It is much slower than
// kinesalite (well under 1 MiB/s), so tests give it small loads.
//
// A test binary normally shares one server between all its tests:
//
//	func TestMain(m *testing.M) { kinesistest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		srv := kinesistest.Shared(t)
//		client := srv.Client(t, nil)
//		stream := srv.CreateStream(t, 4)
//		// ... write to stream with client ...
//		records := kinesistest.ReadAll(t, client, stream)
//	}
package kinesistest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/kinesis"
)

const (
	// modulePath identifies the repository root: the directory whose go.mod
	// declares this module.
	modulePath = "github.com/kplgo/producer"

	// shardLimit is the account-wide limit on open shards the server
	// enforces. Tests share one server, so it is generous.
	shardLimit = 10000

	// startTimeout bounds how long Start waits for the server to answer.
	startTimeout = 30 * time.Second

	// stopGrace is how long Close waits after SIGTERM before SIGKILL.
	stopGrace = 3 * time.Second

	// outputTail is how much of the server's output is kept for error
	// messages.
	outputTail = 8 << 10
)

// serverKind describes a server this package can run: an npm package
// installed at the repository root and the launcher script that starts it.
type serverKind struct {
	name   string // for messages
	pkg    string // directory under node_modules
	script string // launcher, relative to the repository root
}

var (
	kinesaliteKind = serverKind{
		name:   "kinesalite",
		pkg:    "kinesalite",
		script: "internal/kinesistest/kinesalite.js",
	}
	kinesisLocalKind = serverKind{
		name:   "kinesis-local",
		pkg:    "kinesis-local",
		script: "internal/kinesistest/kinesislocal.js",
	}
)

// Server is a running kinesalite or kinesis-local process. Create one with
// Start, StartKinesisLocal, Shared or SharedKinesisLocal. Its methods are safe
// for concurrent use.
type Server struct {
	name     string // "kinesalite" or "kinesis-local", for messages
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	out      *outputWriter
	exited   chan struct{} // closed once the process has been reaped
	waitErr  error         // result of cmd.Wait, valid after exited is closed
	endpoint string

	transport *http.Transport  // shared by clients created without a RoundTripper
	admin     *kinesis.Kinesis // used by the stream helpers

	closeOnce sync.Once
	closeErr  error
}

// Start launches a new kinesalite server and waits until it answers API
// calls. The caller must Close it. Most tests should use Shared instead.
func Start() (*Server, error) {
	return start(kinesaliteKind)
}

// start launches the server described by kind and waits until it answers
// API calls.
func start(kind serverKind) (*Server, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("kinesistest: node not found on PATH: %w", err)
	}
	modules := filepath.Join(root, "node_modules")
	if _, err := os.Stat(filepath.Join(modules, kind.pkg, "package.json")); err != nil {
		return nil, fmt.Errorf("kinesistest: %s not installed: run `npm ci` at the repo root (%s): %w", kind.name, root, err)
	}

	cmd := exec.Command(node, filepath.Join(root, kind.script), modules, strconv.Itoa(shardLimit))
	cmd.Dir = root
	out := newOutputWriter(kind.name)
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.WaitDelay = stopGrace
	detach(cmd)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("kinesistest: stdin pipe: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("kinesistest: start %s: %w", node, err)
	}

	s := &Server{
		name:      kind.name,
		cmd:       cmd,
		stdin:     stdin,
		out:       out,
		exited:    make(chan struct{}),
		transport: newTransport(),
	}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()

	if err := s.waitReady(); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// waitReady waits for the "listening <port>" line and then for a successful
// ListStreams call.
func (s *Server) waitReady() error {
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()

	var port int
	select {
	case port = <-s.out.ready:
	case <-s.exited:
		return fmt.Errorf("kinesistest: %s exited during startup (%v); output:\n%s", s.name, s.waitErr, s.out.tail())
	case <-timer.C:
		return fmt.Errorf("kinesistest: %s did not start listening within %v; output:\n%s", s.name, startTimeout, s.out.tail())
	}
	s.endpoint = "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port))

	admin, err := s.newClient(nil, clientOptions{maxRetries: 3, timeout: 30 * time.Second})
	if err != nil {
		return err
	}
	s.admin = admin

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for {
		callCtx, callCancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := admin.ListStreamsWithContext(callCtx, &kinesis.ListStreamsInput{Limit: aws.Int64(1)})
		callCancel()
		if err == nil {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("kinesistest: %s exited during startup (%v); output:\n%s", s.name, s.waitErr, s.out.tail())
		case <-ctx.Done():
			return fmt.Errorf("kinesistest: %s at %s does not answer ListStreams: %w", s.name, s.endpoint, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Endpoint returns the server's base URL, e.g. "http://127.0.0.1:41234".
func (s *Server) Endpoint() string { return s.endpoint }

// PID returns the process id of the Node.js process.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Close stops the server: it sends SIGTERM, waits a short grace period and
// then kills the process. Close is idempotent; later calls return the result
// of the first.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.stop() })
	return s.closeErr
}

func (s *Server) stop() error {
	defer s.transport.CloseIdleConnections()
	select {
	case <-s.exited:
		// Already gone: nothing to stop. Report an unexpected exit.
		if s.waitErr != nil {
			return fmt.Errorf("kinesistest: %s exited early: %w", s.name, s.waitErr)
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
	case <-time.After(stopGrace):
	}
	if err := s.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kinesistest: kill %s (pid %d): %w", s.name, s.PID(), err)
	}
	<-s.exited
	return fmt.Errorf("kinesistest: %s (pid %d) ignored SIGTERM for %v and was killed", s.name, s.PID(), stopGrace)
}

// newTransport returns a plain HTTP transport for loopback connections.
func newTransport() *http.Transport {
	return &http.Transport{
		Proxy:               nil, // never send loopback traffic to a proxy
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        100,
		MaxIdleConnsPerHost: 100,
		IdleConnTimeout:     4 * time.Second, // below the server's 5 s keep-alive timeout
	}
}

// RepoRoot returns the repository root: the nearest directory at or above
// the working directory whose go.mod declares module
// github.com/kplgo/producer.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("kinesistest: working directory: %w", err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && declaresModule(data, modulePath) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("kinesistest: no go.mod for module %s at or above the working directory", modulePath)
		}
		dir = parent
	}
}

// declaresModule reports whether the go.mod content declares module path.
func declaresModule(gomod []byte, path string) bool {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`) == path
		}
	}
	return false
}

// outputWriter receives the server's stdout and stderr. It reports the port
// from the "listening <port>" line and keeps the tail of the output for error
// messages. exec.Cmd serializes calls to Write because the same writer is
// used for both streams.
type outputWriter struct {
	name    string // the server's name, prefixed to verbose output
	ready   chan int
	verbose bool

	mu      sync.Mutex
	partial []byte // incomplete last line
	buf     []byte // tail of the output
	seen    bool   // the ready line was seen
}

func newOutputWriter(name string) *outputWriter {
	return &outputWriter{
		name:    name,
		ready:   make(chan int, 1),
		verbose: os.Getenv("KINESISTEST_VERBOSE") != "",
	}
}

// Write implements io.Writer.
func (w *outputWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if len(w.buf) > outputTail {
		w.buf = append([]byte(nil), w.buf[len(w.buf)-outputTail:]...)
	}
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimSpace(string(w.partial[:i]))
		w.partial = w.partial[i+1:]
		if w.verbose {
			fmt.Fprintf(os.Stderr, "%s: %s\n", w.name, line)
		}
		if w.seen {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "listening "); ok {
			if port, err := strconv.Atoi(rest); err == nil && port > 0 {
				w.seen = true
				w.ready <- port
			}
		}
	}
	if len(w.partial) > outputTail {
		w.partial = w.partial[len(w.partial)-outputTail:]
	}
	return len(p), nil
}

func (w *outputWriter) tail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) == 0 {
		return "(no output)"
	}
	return string(w.buf)
}
