package nodeserver

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestOutputWriter checks the parsing of the "listening <port>" line, the
// output tail and the verbose copy.
func TestOutputWriter(t *testing.T) {
	var verbose bytes.Buffer
	w := newOutputWriter("srv")
	w.verbose = &verbose
	if got := w.tail(); got != "(no output)" {
		t.Errorf("tail before any output = %q", got)
	}
	for _, s := range []string{"starting\r\n", "listening abc\n", "listening 0\n", "liste", "ning 4", "1234\r\n", "listening 5\n", "partial"} {
		if _, err := w.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case port := <-w.ready:
		if port != 41234 {
			t.Errorf("port %d, want 41234", port)
		}
	default:
		t.Fatal("no port reported")
	}
	select {
	case port := <-w.ready:
		t.Errorf("a second port was reported: %d", port)
	default:
	}
	want := "srv: starting\nsrv: listening abc\nsrv: listening 0\nsrv: listening 41234\nsrv: listening 5\n"
	if verbose.String() != want {
		t.Errorf("verbose output %q, want %q", verbose.String(), want)
	}
	if got := w.tail(); !strings.HasPrefix(got, "starting\r\n") || !strings.HasSuffix(got, "listening 5\npartial") {
		t.Errorf("tail %q", got)
	}

	// The tail keeps the last OutputTail bytes; a long line without a
	// newline does not grow the writer without bound.
	long := bytes.Repeat([]byte("x"), 3*OutputTail)
	long[len(long)-1] = 'y'
	if n, err := w.Write(long); n != len(long) || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if got := w.tail(); len(got) != OutputTail || !strings.HasSuffix(got, "xy") {
		t.Errorf("tail is %d bytes ending in %q, want %d ending in xy", len(got), got[len(got)-2:], OutputTail)
	}
	if len(w.partial) > OutputTail {
		t.Errorf("partial line kept %d bytes", len(w.partial))
	}
}

func TestOutputWriterVerboseEnv(t *testing.T) {
	t.Setenv(VerboseEnv, "")
	if w := newOutputWriter("srv"); w.verbose != nil {
		t.Errorf("%s empty: verbose output on", VerboseEnv)
	}
	t.Setenv(VerboseEnv, "1")
	if w := newOutputWriter("srv"); w.verbose != os.Stderr {
		t.Errorf("%s=1: verbose output not to stderr", VerboseEnv)
	}
}
