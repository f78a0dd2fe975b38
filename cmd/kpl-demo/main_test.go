package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/kinesis"

	"github.com/kplgo/producer/internal/kinesistest"
)

func TestMain(m *testing.M) { kinesistest.Main(m) }

// smallRun returns options for a quick run against an existing stream, as
// with -endpoint and -verify (the endpoint itself is not used by demo).
func smallRun(stream string) options {
	return options{stream: stream, records: 3000, size: 64, goroutines: 4, rateLimit: -1,
		progress: 20 * time.Millisecond, endpoint: "shared", verify: true}
}

// TestDemoVerifiesEveryRecord runs the demo's put, stop and read-back against
// a stream of the shared server: every record is acknowledged and read back
// intact on its shard, and the summary says so.
func TestDemoVerifiesEveryRecord(t *testing.T) {
	t.Parallel()
	srv := kinesistest.Shared(t)
	client := srv.Client(t, nil)
	stream := srv.CreateStream(t, 3)
	o := smallRun(stream)

	var out, errs bytes.Buffer
	res, err := demo(context.Background(), client, o, &out, &errs)
	if err != nil {
		t.Fatalf("demo: %v\n%s%s", err, out.String(), errs.String())
	}
	res.print(&out, o)
	t.Logf("output:\n%s", out.String())
	b := res.read
	if b == nil {
		t.Fatal("the stream was not read back")
	}
	if !res.ok(o) || res.put != 3000 || b.found != 3000 || b.missing+b.duplicates+b.corrupt+b.misplaced+b.foreign != 0 {
		t.Errorf("put %d, found %d, missing %d, duplicates %d, corrupt %d, misplaced %d, foreign %d; want 3000 found and nothing else",
			res.put, b.found, b.missing, b.duplicates, b.corrupt, b.misplaced, b.foreign)
	}
	if len(b.shards) != 3 {
		t.Errorf("per-shard counts for %d shards, want 3", len(b.shards))
	}
	for _, want := range []string{"records put", "read back", "missing", "duplicates", "per shard", "records/s", "acknowledged", "CPU, this process"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the output lacks %q", want)
		}
	}
}

// TestDemoFindsBadRecords writes, besides the demo's own records, one record
// that claims to be one of them but has other data, and one of another
// writer: the check reports the first as corrupt and fails the run, and
// counts the second as foreign.
func TestDemoFindsBadRecords(t *testing.T) {
	t.Parallel()
	srv := kinesistest.Shared(t)
	client := srv.Client(t, nil)
	stream := srv.CreateStream(t, 1)
	o := smallRun(stream)
	o.run = 0xfeedc0ffee
	gen := recordGen{run: o.run, size: o.size}

	forged := gen.data(7)
	forged[len(forged)-1] ^= 1
	_, err := client.PutRecords(&kinesis.PutRecordsInput{
		StreamName: aws.String(stream),
		Records: []*kinesis.PutRecordsRequestEntry{
			{PartitionKey: aws.String(gen.key(7)), Data: forged},
			{PartitionKey: aws.String("someone-else"), Data: []byte("not a demo record")},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var out, errs bytes.Buffer
	res, err := demo(context.Background(), client, o, &out, &errs)
	if err != nil {
		t.Fatalf("demo: %v", err)
	}
	if b := res.read; b == nil || b.corrupt != 1 || b.foreign != 1 || b.found != 3000 {
		t.Fatalf("read back %+v; want 1 corrupt, 1 foreign, 3000 found", b)
	}
	if res.ok(o) {
		t.Errorf("a run with a corrupt record counts as ok")
	}
}

// TestDemoRecordsAreDeterministic checks that keys and data depend on the run
// and sequence number only, so that the read-back can recompute them.
func TestDemoRecordsAreDeterministic(t *testing.T) {
	a, b := recordGen{run: 1, size: 37}, recordGen{run: 2, size: 37}
	if a.key(5) != a.key(5) || !bytes.Equal(a.data(5), a.data(5)) {
		t.Fatal("the same record differs between two calls")
	}
	if a.key(5) == a.key(6) || a.key(5) == b.key(5) || bytes.Equal(a.data(5)[16:], a.data(6)[16:]) {
		t.Fatal("different records have the same key or content")
	}
	if k := a.key(5); len(k) != 36 || k[14] != '4' || strings.Count(k, "-") != 4 {
		t.Errorf("key %q is not a version-4 UUID", k)
	}
	run, seq, ok := parse(a.data(5))
	if !ok || run != 1 || seq != 5 || len(a.data(5)) != 37 {
		t.Errorf("parse: run %d seq %d ok %v", run, seq, ok)
	}
}

// TestRunLocal runs the demo as `make demo` does, with few records: it starts
// its own local server, creates the stream, verifies and exits with 0.
func TestRunLocal(t *testing.T) {
	t.Parallel()
	kinesistest.Shared(t) // skips (or fails on CI) when the server cannot run
	o, err := parseFlags([]string{"-records", "2000", "-shards", "2", "-size", "100", "-goroutines", "3"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	var out, errs bytes.Buffer
	code := run(context.Background(), o, &out, &errs)
	t.Logf("output:\n%s%s", out.String(), errs.String())
	if code != exitOK {
		t.Fatalf("exit code %d, want %d", code, exitOK)
	}
	if !strings.Contains(out.String(), "OK: every record arrived intact.") {
		t.Errorf("no OK line in the output")
	}
	if runtime.GOOS == "linux" && !regexp.MustCompile(`CPU, local server \(Put to Stop\) +[0-9.]+ s \([0-9]+% of one core\)`).MatchString(out.String()) {
		t.Errorf("no CPU time of the local server in the output")
	}
}

// TestParseProcStat reads utime and stime from /proc/<pid>/stat lines,
// including a command name with spaces and parentheses.
func TestParseProcStat(t *testing.T) {
	for _, c := range []struct {
		stat string
		want time.Duration
		ok   bool
	}{
		{"4242 (node) S 1 4242 4242 0 -1 4194560 9473 0 0 0 250 31 0 0 20 0 11 0 2211 1156464640 14082 18446744073709551615", 2810 * time.Millisecond, true},
		{"7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 1 0 0", 30 * time.Millisecond, true},
		{"7 (node) S 1 2 3", 0, false},
		{"no parenthesis", 0, false},
		{"7 (node) S 1 7 7 0 -1 0 0 0 0 0 x 2 0", 0, false},
	} {
		got, ok := parseProcStat(c.stat)
		if got != c.want || ok != c.ok {
			t.Errorf("parseProcStat(%q) = %v, %v; want %v, %v", c.stat, got, ok, c.want, c.ok)
		}
	}
	if runtime.GOOS == "linux" {
		if _, ok := serverCPU(os.Getpid()); !ok {
			t.Error("serverCPU of this process: not measured")
		}
	}
	if _, ok := serverCPU(0); ok {
		t.Error("serverCPU(0) measured something")
	}
	if cpuShare(0, false, 1) != "n/a" || cpuShare(500*time.Millisecond, true, 2) != "0.50 s (25% of one core)" {
		t.Errorf("cpuShare: %q, %q", cpuShare(0, false, 1), cpuShare(500*time.Millisecond, true, 2))
	}
}

// TestRunInterrupted cancels the run's context: the demo stops quickly and
// exits with 130.
func TestRunInterrupted(t *testing.T) {
	t.Parallel()
	kinesistest.Shared(t)
	// 20 MB into one shard at the default rate limit take over 10s.
	o, err := parseFlags([]string{"-records", "100000", "-shards", "1"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(1500*time.Millisecond, cancel)
	var out, errs bytes.Buffer
	start := time.Now()
	code := run(ctx, o, &out, &errs)
	if code != exitInterrupted {
		t.Errorf("exit code %d, want %d\n%s%s", code, exitInterrupted, out.String(), errs.String())
	}
	if d := time.Since(start); d > 1500*time.Millisecond+interruptGrace+5*time.Second {
		t.Errorf("the interrupted run took %v", d)
	}
}

// TestParseFlags checks defaults and the checks of bad values.
func TestParseFlags(t *testing.T) {
	o, err := parseFlags(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if !o.local() || o.stream != "kpl-demo" || o.shards != 4 || o.records != 200000 || o.size != 200 || o.goroutines != 8 {
		t.Errorf("defaults: %+v", o)
	}
	if o, err := parseFlags([]string{"-region", "eu-west-1", "-stream", "s"}, &bytes.Buffer{}); err != nil || o.local() {
		t.Errorf("-region and -stream: local %v, err %v", o.local(), err)
	}
	for _, args := range [][]string{
		{"-records", "0"},
		{"-size", "15"},
		{"-goroutines", "0"},
		{"-shards", "0"},
		{"-endpoint", "http://localhost:4567"}, // no -stream
		{"extra"},
		{"-no-such-flag"},
	} {
		if _, err := parseFlags(args, &bytes.Buffer{}); err == nil {
			t.Errorf("parseFlags(%q): no error", args)
		}
	}
}
