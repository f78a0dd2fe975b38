package nodeserver

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
)

// outputWriter receives the server's stdout and stderr. It reports the port
// from the first "listening <port>" line and keeps the tail of the output
// (OutputTail bytes) for error messages; with VerboseEnv set it also copies
// each line, prefixed with the server's name, to stderr. exec.Cmd serializes
// calls to Write because the same writer is used for both streams.
type outputWriter struct {
	name    string    // the server's name, prefixed to verbose output
	ready   chan int  // receives the port once
	verbose io.Writer // where verbose output goes; nil when not verbose

	mu      sync.Mutex
	partial []byte // incomplete last line
	buf     []byte // tail of the output
	seen    bool   // the ready line was seen
}

func newOutputWriter(name string) *outputWriter {
	w := &outputWriter{name: name, ready: make(chan int, 1)}
	if os.Getenv(VerboseEnv) != "" {
		w.verbose = os.Stderr
	}
	return w
}

// Write implements io.Writer.
func (w *outputWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if len(w.buf) > OutputTail {
		w.buf = append([]byte(nil), w.buf[len(w.buf)-OutputTail:]...)
	}
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimSpace(string(w.partial[:i]))
		w.partial = w.partial[i+1:]
		if w.verbose != nil {
			fmt.Fprintf(w.verbose, "%s: %s\n", w.name, line)
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
	if len(w.partial) > OutputTail {
		w.partial = w.partial[len(w.partial)-OutputTail:]
	}
	return len(p), nil
}

// tail returns the kept end of the output, or "(no output)".
func (w *outputWriter) tail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) == 0 {
		return "(no output)"
	}
	return string(w.buf)
}
