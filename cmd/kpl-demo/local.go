package main

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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// The local server is the kinesalite server of the integration tests, run
// with their launcher script (internal/kinesistest/kinesalite.js) in the same
// way package kinesistest runs it. The demo does not import kinesistest,
// which is built on aws-sdk-go v1: it starts the script itself and talks to
// the server with an aws-sdk-go-v2 client.
const (
	// modulePath identifies the repository root: the directory whose go.mod
	// declares this module.
	modulePath = "github.com/kplgo/producer"

	// serverScript is the launcher of kinesalite, relative to the
	// repository root. It prints "listening <port>" once it accepts
	// connections and exits when its stdin closes.
	serverScript = "internal/kinesistest/kinesalite.js"

	// serverShardLimit is the account-wide limit on open shards the server
	// enforces: far above -shards' 1000.
	serverShardLimit = 10000

	// serverStartTimeout bounds how long the server may take to answer.
	serverStartTimeout = 30 * time.Second

	// serverStopGrace is how long Close waits after SIGTERM before SIGKILL.
	serverStopGrace = 3 * time.Second

	// serverOutputTail is how much of the server's output is kept for error
	// messages.
	serverOutputTail = 8 << 10

	// localRegion and the static credentials below are what the local
	// server is called with: it checks neither.
	localRegion = "us-east-1"

	// localHTTPTimeout bounds each HTTP request to the local server: it only
	// guards against a hung server.
	localHTTPTimeout = 30 * time.Second
)

// localServer is a running kinesalite process.
type localServer struct {
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	out      *serverOutput
	exited   chan struct{} // closed once the process has been reaped
	waitErr  error         // result of cmd.Wait, valid after exited is closed
	endpoint string
	http     *http.Client // shared by the server's clients

	closeOnce sync.Once
	closeErr  error
}

// startLocalServer launches kinesalite from the node_modules directory at
// the repository root (the nearest directory at or above the working
// directory whose go.mod declares this module) and waits until it answers
// API calls, or until ctx ends.
func startLocalServer(ctx context.Context) (*localServer, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("node not found on PATH: %w", err)
	}
	modules := filepath.Join(root, "node_modules")
	if _, err := os.Stat(filepath.Join(modules, "kinesalite", "package.json")); err != nil {
		return nil, fmt.Errorf("kinesalite not installed: run `npm ci` at the repository root (%s): %w", root, err)
	}

	cmd := exec.Command(node, filepath.Join(root, serverScript), modules, strconv.Itoa(serverShardLimit))
	cmd.Dir = root
	out := newServerOutput()
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.WaitDelay = serverStopGrace
	detach(cmd)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("kinesalite stdin: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", node, err)
	}
	s := &localServer{
		cmd:    cmd,
		stdin:  stdin,
		out:    out,
		exited: make(chan struct{}),
		http:   newLocalHTTPClient(),
	}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// waitReady waits for the "listening <port>" line and then for a successful
// ListStreams call.
func (s *localServer) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, serverStartTimeout)
	defer cancel()
	var port int
	select {
	case port = <-s.out.ready:
	case <-s.exited:
		return fmt.Errorf("kinesalite exited during startup (%v); output:\n%s", s.waitErr, s.out.tail())
	case <-ctx.Done():
		return fmt.Errorf("kinesalite did not start listening: %w; output:\n%s", ctx.Err(), s.out.tail())
	}
	s.endpoint = "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port))

	client := s.client()
	for {
		callCtx, callCancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := client.ListStreams(callCtx, &kinesis.ListStreamsInput{Limit: aws.Int32(1)})
		callCancel()
		if err == nil {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("kinesalite exited during startup (%v); output:\n%s", s.waitErr, s.out.tail())
		case <-ctx.Done():
			return fmt.Errorf("kinesalite at %s does not answer ListStreams: %w", s.endpoint, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// client returns a Kinesis client for the server (see newLocalClient).
func (s *localServer) client() *kinesis.Client { return newLocalClient(s.endpoint, s.http) }

// newLocalClient returns an aws-sdk-go-v2 Kinesis client for a local server
// at endpoint: region us-east-1, static fake credentials, plain HTTP through
// hc, and no SDK retries (RetryMaxAttempts 1: the producer does its own). It
// reads no environment variable (AWS_CA_BUNDLE included) and no shared
// config file.
func newLocalClient(endpoint string, hc *http.Client) *kinesis.Client {
	return kinesis.New(kinesis.Options{
		Region:           localRegion,
		BaseEndpoint:     aws.String(endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDKPLDEMO", "kpl-demo-secret", ""),
		HTTPClient:       hc,
		RetryMaxAttempts: 1,
	})
}

// newLocalHTTPClient returns an HTTP client for loopback connections to a
// local server: no proxy, idle connections closed before the server closes
// them, and an overall timeout per request.
func newLocalHTTPClient() *http.Client {
	return &http.Client{
		Timeout: localHTTPTimeout,
		Transport: &http.Transport{
			Proxy:               nil, // never send loopback traffic to a proxy
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        100,
			MaxIdleConnsPerHost: 100,
			IdleConnTimeout:     4 * time.Second, // below the server's 5 s keep-alive timeout
		},
	}
}

// Endpoint returns the server's base URL, e.g. "http://127.0.0.1:41234".
func (s *localServer) Endpoint() string { return s.endpoint }

// PID returns the process id of the Node.js process.
func (s *localServer) PID() int { return s.cmd.Process.Pid }

// Close stops the server: it closes its stdin, sends SIGTERM, waits a short
// grace period and then kills the process. Later calls return the result of
// the first.
func (s *localServer) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.stop() })
	return s.closeErr
}

func (s *localServer) stop() error {
	defer s.http.CloseIdleConnections()
	select {
	case <-s.exited:
		if s.waitErr != nil {
			return fmt.Errorf("kinesalite exited early: %w", s.waitErr)
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
	case <-time.After(serverStopGrace):
	}
	if err := s.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill kinesalite (pid %d): %w", s.PID(), err)
	}
	<-s.exited
	return fmt.Errorf("kinesalite (pid %d) ignored SIGTERM for %v and was killed", s.PID(), serverStopGrace)
}

// repoRoot returns the nearest directory at or above the working directory
// whose go.mod declares module github.com/kplgo/producer.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && declaresModule(data, modulePath) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod for module %s at or above the working directory: run the demo inside the repository", modulePath)
		}
		dir = parent
	}
}

// declaresModule reports whether the go.mod content declares module path.
func declaresModule(gomod []byte, path string) bool {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`) == path
		}
	}
	return false
}

// serverOutput receives the server's stdout and stderr (exec.Cmd serializes
// the writes, since both go to it). It reports the port of the first
// "listening <port>" line and keeps the tail of the output for error
// messages; with KINESISTEST_VERBOSE set, as for the tests, it also copies
// the output to stderr.
type serverOutput struct {
	ready   chan int
	verbose bool

	mu      sync.Mutex
	partial []byte // incomplete last line
	buf     []byte // tail of the output
	seen    bool   // the ready line was seen
}

func newServerOutput() *serverOutput {
	return &serverOutput{ready: make(chan int, 1), verbose: os.Getenv("KINESISTEST_VERBOSE") != ""}
}

// Write implements io.Writer.
func (w *serverOutput) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if len(w.buf) > serverOutputTail {
		w.buf = append([]byte(nil), w.buf[len(w.buf)-serverOutputTail:]...)
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
			fmt.Fprintf(os.Stderr, "kinesalite: %s\n", line)
		}
		if rest, ok := strings.CutPrefix(line, "listening "); ok && !w.seen {
			if port, err := strconv.Atoi(rest); err == nil && port > 0 {
				w.seen = true
				w.ready <- port
			}
		}
	}
	if len(w.partial) > serverOutputTail {
		w.partial = w.partial[len(w.partial)-serverOutputTail:]
	}
	return len(p), nil
}

func (w *serverOutput) tail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) == 0 {
		return "(no output)"
	}
	return string(w.buf)
}
