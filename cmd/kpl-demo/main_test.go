package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/kplgo/producer/internal/kinesistest"
)

// The tests share the kinesalite server of package kinesistest (the demo
// itself starts its own, see local.go) and talk to it through the demo's own
// aws-sdk-go-v2 client.
func TestMain(m *testing.M) { kinesistest.Main(m) }

// sharedClient returns the demo's local client (see newLocalClient) for the
// shared server, and a stream with the given number of shards on it.
func sharedClient(t *testing.T, shards int) (*kinesis.Client, string) {
	t.Helper()
	srv := kinesistest.Shared(t)
	hc := newLocalHTTPClient()
	t.Cleanup(hc.CloseIdleConnections)
	return newLocalClient(srv.Endpoint(), hc), srv.CreateStream(t, shards)
}

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
	client, stream := sharedClient(t, 3)
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
	client, stream := sharedClient(t, 1)
	o := smallRun(stream)
	o.run = 0xfeedc0ffee
	gen := recordGen{run: o.run, size: o.size}

	forged := gen.data(7)
	forged[len(forged)-1] ^= 1
	put, err := client.PutRecords(context.Background(), &kinesis.PutRecordsInput{
		StreamName: aws.String(stream),
		Records: []types.PutRecordsRequestEntry{
			{PartitionKey: aws.String(gen.key(7)), Data: forged},
			{PartitionKey: aws.String("someone-else"), Data: []byte("not a demo record")},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := aws.ToInt32(put.FailedRecordCount); n != 0 {
		t.Fatalf("%d of the 2 planted records failed", n)
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

// TestCreateStream creates a stream with the demo's createStream (the v2
// waiter) on the shared server: it is ACTIVE with the shards asked for when
// createStream returns, and creating it again fails.
func TestCreateStream(t *testing.T) {
	t.Parallel()
	srv := kinesistest.Shared(t)
	hc := newLocalHTTPClient()
	t.Cleanup(hc.CloseIdleConnections)
	client := newLocalClient(srv.Endpoint(), hc)
	name := kinesistest.StreamName(t)
	ctx := context.Background()
	if err := createStream(ctx, client, name, 3); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := client.DeleteStream(context.Background(), &kinesis.DeleteStreamInput{StreamName: aws.String(name)}); err != nil {
			t.Logf("delete stream %s: %v", name, err)
		}
	})
	out, err := client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if d := out.StreamDescriptionSummary; d.StreamStatus != types.StreamStatusActive || aws.ToInt32(d.OpenShardCount) != 3 {
		t.Errorf("stream %s is %s with %d open shards, want ACTIVE with 3", name, d.StreamStatus, aws.ToInt32(d.OpenShardCount))
	}
	shards, err := listAllShards(ctx, client, name)
	if err != nil || len(shards) != 3 {
		t.Errorf("listAllShards: %d shards, %v; want 3", len(shards), err)
	}
	if err := createStream(ctx, client, name, 3); err == nil {
		t.Errorf("creating stream %s a second time: no error", name)
	}
}

// TestNoSDKv1 checks that the demo is an aws-sdk-go-v2 program: neither it
// nor anything it imports uses aws-sdk-go v1, and it drives the producer
// through package sdkv2, not the v1 front door (the root package).
func TestNoSDKv1(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	t.Parallel()
	out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	seen := map[string]bool{}
	for _, pkg := range deps {
		seen[pkg] = true
		if strings.HasPrefix(pkg, "github.com/aws/aws-sdk-go/") || pkg == "github.com/kplgo/producer" {
			t.Errorf("the demo imports %s", pkg)
		}
	}
	for _, want := range []string{"github.com/kplgo/producer/sdkv2", "github.com/aws/aws-sdk-go-v2/service/kinesis", "github.com/aws/aws-sdk-go-v2/config"} {
		if !seen[want] {
			t.Errorf("the demo does not import %s (%d packages listed)", want, len(deps))
		}
	}
}

// TestRunEndpoint runs the demo as with -endpoint, -region, -stream and
// -verify against a stream of the shared server: the client comes from
// config.LoadDefaultConfig (credentials from the environment here), the
// demo creates no stream, reads it back and exits with 0.
func TestRunEndpoint(t *testing.T) {
	// Not parallel: t.Setenv. The variables are restored before the
	// parallel tests resume.
	_, stream := sharedClient(t, 2)
	srv := kinesistest.Shared(t)
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           "AKIDKPLDEMO",
		"AWS_SECRET_ACCESS_KEY":       "kpl-demo-secret",
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_REGION":                  "",
		"AWS_DEFAULT_REGION":          "",
		"AWS_ENDPOINT_URL":            "",
		"AWS_ENDPOINT_URL_KINESIS":    "",
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
	} {
		t.Setenv(k, v)
	}
	o, err := parseFlags([]string{"-endpoint", srv.Endpoint(), "-region", "us-east-1", "-stream", stream, "-verify",
		"-records", "2000", "-size", "100", "-goroutines", "3"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	var out, errs bytes.Buffer
	code := run(context.Background(), o, &out, &errs)
	t.Logf("output:\n%s%s", out.String(), errs.String())
	if code != exitOK {
		t.Fatalf("exit code %d, want %d", code, exitOK)
	}
	for _, want := range []string{"Using stream " + stream + " at " + srv.Endpoint() + "\n", "read back", "other records in the stream", "OK: every record arrived intact."} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the output lacks %q", want)
		}
	}
	if strings.Contains(out.String(), "Creating stream") {
		t.Errorf("the demo created a stream with -endpoint")
	}

	// Without a region from anywhere the demo says so instead of calling.
	o.region = ""
	out.Reset()
	errs.Reset()
	if code := run(context.Background(), o, &out, &errs); code != exitFailed || !strings.Contains(errs.String(), "no AWS region") {
		t.Errorf("without a region: exit code %d, stderr %q; want %d and a word on the region", code, errs.String(), exitFailed)
	}
}

// TestEndpointOf checks the endpoint the demo prints for a real stream: the
// one the client's resolver finds for its region, or the -endpoint given.
func TestEndpointOf(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		opts kinesis.Options
		want string
	}{
		{kinesis.Options{Region: "eu-west-1"}, "https://kinesis.eu-west-1.amazonaws.com"},
		{kinesis.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://localhost:4567")}, "http://localhost:4567"},
	} {
		if got := endpointOf(ctx, kinesis.New(c.opts)); got != c.want {
			t.Errorf("endpointOf(region %s, endpoint %q) = %q, want %q", c.opts.Region, aws.ToString(c.opts.BaseEndpoint), got, c.want)
		}
	}
}
