// Command kpl-demo puts records into a Kinesis stream through the producer
// (package sdkv2, with an aws-sdk-go-v2 Kinesis client) with a live progress
// line, stops it, reads the stream back, verifies every record and prints a
// summary.
//
// With no flags it starts a local Kinesis-compatible server (kinesalite,
// installed at the repository root by `npm ci`; `make demo` does both; the
// demo must run inside the repository to find it), creates a stream with
// -shards shards, and stops the server at the end.
//
// With -endpoint or -region it works against the existing stream named by
// -stream, with the region and credentials that aws-sdk-go-v2's
// config.LoadDefaultConfig finds (environment, shared config and
// credentials files, SSO, instance or task role); -region overrides the
// region, -endpoint the Kinesis endpoint. It creates no stream then, and
// reads the stream back only with -verify: records of other writers or
// earlier runs are counted and left alone.
//
// Every record carries a run id and its sequence number, followed by
// content derived from both, and a UUID-like partition key also derived
// from both, so the read-back can check each record's key and data without
// keeping them. The read-back also checks the rule by which KCL consumers
// drop records: every user record must lie in the hash range of the shard it
// was read from.
//
// While it puts, a progress line shows the share of the records done, the
// ETA, the current rate (over the last 2 seconds, never less than one), the
// PutRecords calls in flight, the Kinesis records the shards' rate limit
// holds back now, retries and failures; a wider terminal shows more (see
// progress.go). On a terminal the line is redrawn in place and fits its
// width (COLUMNS, else the terminal's); otherwise a plain line is printed
// every few seconds.
//
// The summary gives the rates from the first Put to the end of Stop, and the
// CPU time used meanwhile by this process (the producer, its AWS client and
// the record generation) and, on Linux, by the local server, each also as a
// share of one core: a producer far below one core while the server is near
// it is not the bottleneck. Its line "Throughput was set by:" draws the
// conclusion from these figures and the progress samples: the shards' rate
// limit, the server / Kinesis, this process's CPU, or no single limit (see
// verdict.go).
//
// Exit status: 0 when every record was acknowledged and (when read back)
// found intact, on the right shard; 1 when anything failed, is missing,
// corrupt or misplaced, or on an error; 2 for bad flags; 130 when
// interrupted.
package main

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"os"
	"os/signal"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/kplgo/producer/deaggregator"
	"github.com/kplgo/producer/internal/kinesistest/shardread"
	"github.com/kplgo/producer/sdkv2"
)

// headerSize is the size of the run id and sequence number that start every
// record's data.
const headerSize = 16

// maxRecordSize is the size limit of one Kinesis record, data plus
// partition key: 1 MiB, the producer's default Config.MaxRecordSize (package
// sdkv2 exports no constant for it).
const maxRecordSize = 1 << 20

// keySize is the length of a record's partition key, a UUID.
const keySize = 36

// interruptGrace is how long the producer may still deliver records after
// an interrupt.
const interruptGrace = 2 * time.Second

// startTimeout bounds the producer's Start: its first shard listing, which
// the producer itself bounds by Config.ListShardsTimeout (10s by default)
// for each try.
const startTimeout = 30 * time.Second

// Limits of the helpers that create the local stream and read the stream
// back: streamWaitTimeout bounds the wait for a new stream to become ACTIVE,
// readTimeout the listing of the shards and the reading of each shard,
// readLimit is the GetRecords limit (the API's maximum), and readAttempts
// the SDK's attempts at each of their reads (see retryReads).
const (
	streamWaitTimeout = 60 * time.Second
	readTimeout       = 60 * time.Second
	readLimit         = 10000
	readAttempts      = 5
)

// retryReads lets the SDK retry the reads of the stream (DescribeStream,
// ListShards, GetShardIterator, GetRecords), which are safe to repeat, even
// on the local client, which does not retry for the producer
// (RetryMaxAttempts 1). Against the local server a GetRecords answer
// occasionally fails with "use of closed network connection" after its 200
// status; on a real stream GetRecords may be throttled. The SDK's standard
// retryer retries both.
func retryReads(o *kinesis.Options) { o.RetryMaxAttempts = readAttempts }

// Exit codes.
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitInterrupted = 130
)

// options are the command-line settings.
type options struct {
	endpoint   string
	region     string
	stream     string
	shards     int
	records    int
	size       int
	goroutines int
	rateLimit  int
	verify     bool
	verbose    bool

	run       uint64        // run id; random when 0
	progress  time.Duration // interval of the progress line on a terminal
	logEvery  time.Duration // interval of the progress lines when the output is not a terminal; 0: logEvery
	terminal  bool          // draw the progress line as on an ANSI terminal, whatever the output (tests)
	serverPID int           // process id of the local server, for its CPU time; 0 for none
}

// local reports whether the demo runs against its own local server.
func (o *options) local() bool { return o.endpoint == "" && o.region == "" }

func parseFlags(args []string, stderr io.Writer) (options, error) {
	o := options{progress: 500 * time.Millisecond, logEvery: logEvery}
	fs := flag.NewFlagSet("kpl-demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.endpoint, "endpoint", "", "Kinesis endpoint URL; with it (or -region) the demo uses an existing stream instead of a local server")
	fs.StringVar(&o.region, "region", "", "AWS region of the stream (default: from the AWS SDK's environment and shared config)")
	fs.StringVar(&o.stream, "stream", "", "stream name (required with -endpoint or -region; default kpl-demo on the local server)")
	fs.IntVar(&o.shards, "shards", 4, "shards of the stream created on the local server")
	fs.IntVar(&o.records, "records", 200000, "records to put")
	fs.IntVar(&o.size, "size", 200, fmt.Sprintf("bytes of data per record (at least %d)", headerSize))
	fs.IntVar(&o.goroutines, "goroutines", 8, "goroutines calling Put")
	fs.IntVar(&o.rateLimit, "rate-limit", 0, "per-shard rate limit in percent of a shard's write limits (0: the producer's default, 150; negative: off)")
	fs.BoolVar(&o.verify, "verify", false, "read the stream back and verify it (always done on the local server)")
	fs.BoolVar(&o.verbose, "v", false, "show the producer's log")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: kpl-demo [flags]\n\n"+
			"Puts records through the producer, reads them back and verifies them.\n"+
			"Without -endpoint and -region it runs against a local Kinesis (kinesalite).\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected arguments: %v", fs.Args())
	case o.records < 1:
		return o, fmt.Errorf("-records %d: need at least 1", o.records)
	case o.size < headerSize || o.size > maxRecordSize-keySize:
		return o, fmt.Errorf("-size %d: need %d..%d", o.size, headerSize, maxRecordSize-keySize)
	case o.goroutines < 1:
		return o, fmt.Errorf("-goroutines %d: need at least 1", o.goroutines)
	case o.local() && (o.shards < 1 || o.shards > 1000):
		return o, fmt.Errorf("-shards %d: need 1..1000", o.shards)
	case !o.local() && o.stream == "":
		return o, fmt.Errorf("-stream is required with -endpoint or -region")
	}
	if o.stream == "" {
		o.stream = "kpl-demo"
	}
	return o, nil
}

func main() {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(exitOK)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "kpl-demo: %v\n", err)
		os.Exit(exitUsage)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C ends the process at once
	}()
	os.Exit(run(ctx, o, os.Stdout, os.Stderr))
}

// run sets up the client (and the local server and stream), runs the demo
// and returns the exit code.
func run(ctx context.Context, o options, stdout, stderr io.Writer) int {
	fail := func(format string, args ...any) int {
		if ctx.Err() != nil { // interrupted while starting the server or creating the stream
			fmt.Fprintln(stderr, "kpl-demo: interrupted")
			return exitInterrupted
		}
		fmt.Fprintf(stderr, "kpl-demo: "+format+"\n", args...)
		return exitFailed
	}
	var client *kinesis.Client
	if o.local() {
		fmt.Fprintf(stdout, "Starting a local Kinesis (kinesalite)... ")
		srv, err := startLocalServer(ctx)
		if err != nil {
			fmt.Fprintln(stdout)
			return fail("%v\n(`make demo` installs the server with npm ci; or pass -endpoint/-region to use a real stream)", err)
		}
		defer func() {
			if err := srv.Close(); err != nil {
				fmt.Fprintf(stderr, "kpl-demo: %v\n", err)
			}
		}()
		fmt.Fprintf(stdout, "listening on %s\n", srv.Endpoint())
		o.serverPID = srv.PID()
		client = srv.client()
		fmt.Fprintf(stdout, "Creating stream %s with %d shards... ", o.stream, o.shards)
		if err := createStream(ctx, client, o.stream, o.shards); err != nil {
			fmt.Fprintln(stdout)
			return fail("%v", err)
		}
		fmt.Fprintln(stdout, "ACTIVE")
	} else {
		var opts []func(*config.LoadOptions) error
		if o.region != "" {
			opts = append(opts, config.WithRegion(o.region))
		}
		cfg, err := config.LoadDefaultConfig(ctx, opts...)
		if err != nil {
			return fail("AWS config: %v", err)
		}
		if cfg.Region == "" {
			return fail("no AWS region: pass -region, or set AWS_REGION or a region in the shared config")
		}
		client = kinesis.NewFromConfig(cfg, func(ko *kinesis.Options) {
			if o.endpoint != "" {
				ko.BaseEndpoint = aws.String(o.endpoint)
			}
		})
		fmt.Fprintf(stdout, "Using stream %s at %s\n", o.stream, endpointOf(ctx, client))
	}

	res, err := demo(ctx, client, o, stdout, stderr)
	if res != nil {
		res.print(stdout, o)
	}
	switch {
	case ctx.Err() != nil:
		fmt.Fprintln(stderr, "kpl-demo: interrupted")
		return exitInterrupted
	case err != nil:
		return fail("%v", err)
	case !res.ok(o):
		fmt.Fprintln(stdout, "FAILED: not every record arrived intact.")
		return exitFailed
	}
	fmt.Fprintln(stdout, "OK: every record arrived intact.")
	return exitOK
}

// endpointOf returns the endpoint the client sends requests to without a
// stream ARN, as its endpoint resolver finds it for its region and options,
// or the region when the resolver fails.
func endpointOf(ctx context.Context, client *kinesis.Client) string {
	opts := client.Options()
	ep, err := opts.EndpointResolverV2.ResolveEndpoint(ctx, kinesis.EndpointParameters{
		Region:       aws.String(opts.Region),
		Endpoint:     opts.BaseEndpoint,
		UseFIPS:      aws.Bool(opts.EndpointOptions.UseFIPSEndpoint == aws.FIPSEndpointStateEnabled),
		UseDualStack: aws.Bool(opts.EndpointOptions.UseDualStackEndpoint == aws.DualStackEndpointStateEnabled),
	})
	if err != nil {
		return "region " + opts.Region
	}
	return ep.URI.String()
}

// createStream creates a stream and waits until it is ACTIVE, polling
// quickly: the local server creates a stream in milliseconds.
func createStream(ctx context.Context, client *kinesis.Client, name string, shards int) error {
	_, err := client.CreateStream(ctx, &kinesis.CreateStreamInput{
		StreamName: aws.String(name),
		ShardCount: aws.Int32(int32(shards)),
	})
	if err != nil {
		return fmt.Errorf("create stream %s: %w", name, err)
	}
	waiter := kinesis.NewStreamExistsWaiter(client, func(wo *kinesis.StreamExistsWaiterOptions) {
		wo.MinDelay = 100 * time.Millisecond
		wo.MaxDelay = time.Second
		wo.ClientOptions = append(wo.ClientOptions, retryReads)
	})
	if err := waiter.Wait(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String(name)}, streamWaitTimeout); err != nil {
		return fmt.Errorf("wait for stream %s: %w", name, err)
	}
	return nil
}

// ---------------------------------------------------------------------------
// Records.

// splitmix64 advances the state and returns the next value of the
// SplitMix64 generator: cheap, deterministic content for the records.
func splitmix64(state *uint64) uint64 {
	*state += 0x9E3779B97F4A7C15
	z := *state
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// recordGen makes the key and data of each record of one run.
type recordGen struct {
	run  uint64
	size int
}

// data returns the data of record seq: run id, sequence number, then bytes
// derived from both.
func (g recordGen) data(seq uint64) []byte {
	b := make([]byte, g.size)
	binary.BigEndian.PutUint64(b[0:8], g.run)
	binary.BigEndian.PutUint64(b[8:16], seq)
	state := g.run ^ seq*0xD1B54A32D192ED03
	var word [8]byte
	for i := headerSize; i < len(b); i += 8 {
		binary.LittleEndian.PutUint64(word[:], splitmix64(&state))
		copy(b[i:], word[:])
	}
	return b
}

// key returns the partition key of record seq: a version-4 UUID derived
// from the run id and the sequence number.
func (g recordGen) key(seq uint64) string {
	state := g.run + seq*0x9E3779B97F4A7C15 + 1
	var u [16]byte
	binary.BigEndian.PutUint64(u[0:8], splitmix64(&state))
	binary.BigEndian.PutUint64(u[8:16], splitmix64(&state))
	u[6] = u[6]&0x0F | 0x40
	u[8] = u[8]&0x3F | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// parse returns the run id and sequence number of data, if it has a header.
func parse(data []byte) (run, seq uint64, ok bool) {
	if len(data) < headerSize {
		return 0, 0, false
	}
	return binary.BigEndian.Uint64(data[0:8]), binary.BigEndian.Uint64(data[8:16]), true
}

// ---------------------------------------------------------------------------
// The run.

// result is what a run did and, when it read the stream back, found.
type result struct {
	stream   string
	put      int64         // records Put accepted
	failed   int64         // records reported on the failure channel
	putErr   error         // the first error Put returned
	elapsed  time.Duration // from the first Put to the end of Stop
	stats    sdkv2.Stats
	firstErr error // the first failure's error
	read     *readBack

	// For the verdict on what set the throughput (see verdict).
	obs    observations       // what the progress samples saw
	shards []sdkv2.ShardStats // the shards' queues and rate limits at the end
	procs  int                // cores this process may use

	// CPU time used from the first Put to the end of Stop, when measured.
	cpu       time.Duration // this process: the producer, its client and the record generation
	cpuOK     bool
	server    bool          // a local server's CPU time was asked for
	serverCPU time.Duration // the local server's process
	serverOK  bool
}

// readBack is what the read-back found.
type readBack struct {
	local          bool
	kinesisRecords int
	aggregated     int
	kinesisBytes   int
	userRecords    int // user records read, ours or not
	found          int // distinct records of this run read
	missing        int // records of this run neither read nor failed
	duplicates     int // extra copies of records of this run
	corrupt        int // records with this run's header whose key or data are wrong, or undecodable Kinesis records
	foreign        int // user records of other runs or writers
	misplaced      int // user records outside the hash range of the shard they were read from
	oversize       int // Kinesis records over 1 MiB of data and partition key
	shards         []shardCount
}

// shardCount is what one shard held.
type shardCount struct {
	id             string
	open           bool
	userRecords    int
	kinesisRecords int
}

// ok reports whether the run delivered every record intact.
func (r *result) ok(o options) bool {
	if r.putErr != nil || r.failed > 0 || r.stats.UserRecordsPut != r.put {
		return false
	}
	if b := r.read; b != nil {
		if b.found != int(r.put) || b.missing > 0 || b.corrupt > 0 || b.misplaced > 0 || b.oversize > 0 {
			return false
		}
		if b.local && (b.duplicates > 0 || b.foreign > 0) {
			return false
		}
	}
	return true
}

// demo puts the records, stops the producer and, on the local server or
// with -verify, reads the stream back.
func demo(ctx context.Context, client *kinesis.Client, o options, stdout, stderr io.Writer) (*result, error) {
	if o.run == 0 {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		o.run = binary.BigEndian.Uint64(b[:]) | 1
	}
	gen := recordGen{run: o.run, size: o.size}
	logger := sdkv2.Standard(log.New(io.Discard, "", 0))
	if o.verbose {
		logger = sdkv2.Standard(log.New(stderr, "producer: ", log.Ltime|log.Lmicroseconds))
	}
	p := sdkv2.New(&sdkv2.Config{
		StreamName: o.stream,
		Client:     client,
		GetShards:  sdkv2.GetKinesisShardsFunc(client, o.stream),
		Logger:     logger,
		RateLimit:  o.rateLimit,
		// The default, set here for the verdict on what set the throughput.
		MaxConnections: maxConnections,
	})
	res := &result{stream: o.stream}
	failed := make([]bool, o.records)
	failuresDone := make(chan struct{})
	failures := p.NotifyFailures()
	go func() {
		defer close(failuresDone)
		for fr := range failures {
			if res.firstErr == nil {
				res.firstErr = fr.Err
			}
			for _, ur := range fr.UserRecords {
				res.failed++
				if run, seq, ok := parse(ur.Data()); ok && run == gen.run && seq < uint64(len(failed)) {
					failed[seq] = true
				}
			}
		}
	}()
	startCtx, cancelStart := context.WithTimeout(ctx, startTimeout)
	err := p.Start(startCtx)
	cancelStart()
	if err != nil {
		p.Stop()
		<-failuresDone
		return nil, err
	}
	fmt.Fprintf(stdout, "Putting %d records of %d bytes from %d goroutines (run %016x)\n", o.records, o.size, o.goroutines, gen.run)

	start := time.Now()
	cpu0, cpuOK := processCPU()
	srv0, srvOK := serverCPU(o.serverPID)
	var next, accepted atomic.Int64
	var errOnce sync.Once
	var wg sync.WaitGroup
	for g := 0; g < o.goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				seq := next.Add(1) - 1
				if seq >= int64(o.records) {
					return
				}
				if err := p.Put(ctx, gen.data(uint64(seq)), gen.key(uint64(seq))); err != nil {
					if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
						return // interrupted while Put waited: not a failure
					}
					errOnce.Do(func() { res.putErr = fmt.Errorf("Put of record %d: %w", seq, err) })
					return
				}
				accepted.Add(1)
			}
		}()
	}
	prog := newProgress(stdout, p.Stats, int64(o.records), start, o)
	wg.Wait()
	// Stop, but when interrupted give the records in hand only a short
	// grace: those still undelivered then fail with ErrStopDeadline.
	stopCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	defer context.AfterFunc(ctx, func() { time.AfterFunc(interruptGrace, cancel) })()
	if err := p.Shutdown(stopCtx); err != nil {
		fmt.Fprintf(stderr, "\nkpl-demo: %v\n", err)
	}
	res.elapsed = time.Since(start)
	if cpu1, ok := processCPU(); ok && cpuOK {
		res.cpu, res.cpuOK = cpu1-cpu0, true
	}
	if o.serverPID > 0 {
		res.server = true
		if srv1, ok := serverCPU(o.serverPID); ok && srvOK {
			res.serverCPU, res.serverOK = srv1-srv0, true
		}
	}
	res.obs = prog.finish()
	<-failuresDone
	res.put = accepted.Load()
	res.stats = p.Stats()
	res.shards = p.ShardStats()
	res.procs = min(runtime.GOMAXPROCS(0), runtime.NumCPU())
	if res.putErr != nil {
		return res, res.putErr
	}
	if ctx.Err() != nil || !(o.local() || o.verify) {
		return res, nil
	}

	fmt.Fprintf(stdout, "Reading the stream back... ")
	readStart := time.Now()
	rb, err := verify(ctx, client, o.stream, gen, o.records, failed)
	if err != nil {
		fmt.Fprintln(stdout)
		return res, fmt.Errorf("read back: %w", err)
	}
	rb.local = o.local()
	res.read = rb
	fmt.Fprintf(stdout, "%d Kinesis records in %v\n", rb.kinesisRecords, time.Since(readStart).Round(time.Millisecond))
	return res, nil
}

// verify reads every shard of the stream, deaggregates every Kinesis record
// and checks every user record of the run.
func verify(ctx context.Context, client *kinesis.Client, stream string, gen recordGen, records int, failed []bool) (*readBack, error) {
	shards, err := listAllShards(ctx, client, stream)
	if err != nil {
		return nil, err
	}
	type hashRange struct{ lo, hi *big.Int }
	ranges := make(map[string]hashRange, len(shards))
	perShard := make(map[string]*shardCount, len(shards))
	for _, sh := range shards {
		id := aws.ToString(sh.ShardId)
		if sh.HashKeyRange == nil {
			return nil, fmt.Errorf("shard %s has no hash key range", id)
		}
		lo, ok1 := new(big.Int).SetString(aws.ToString(sh.HashKeyRange.StartingHashKey), 10)
		hi, ok2 := new(big.Int).SetString(aws.ToString(sh.HashKeyRange.EndingHashKey), 10)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("shard %s has a bad hash key range", id)
		}
		ranges[id] = hashRange{lo, hi}
		perShard[id] = &shardCount{id: id, open: isOpen(sh)}
	}
	var recs []shardRecord
	for _, sh := range shards {
		got, err := readShard(ctx, client, stream, aws.ToString(sh.ShardId), !isOpen(sh))
		if err != nil {
			return nil, err
		}
		recs = append(recs, got...)
	}

	rb := &readBack{}
	counts := make([]uint32, records)
	for _, r := range recs {
		rb.kinesisRecords++
		rb.kinesisBytes += len(r.data)
		if len(r.data)+len(r.partitionKey) > maxRecordSize {
			rb.oversize++
		}
		sc, rng := perShard[r.shardID], ranges[r.shardID]
		if sc == nil {
			return nil, fmt.Errorf("record read from shard %s, which ListShards does not list", r.shardID)
		}
		sc.kinesisRecords++
		if deaggregator.IsAggregated(r.data) {
			rb.aggregated++
		}
		subs, err := deaggregator.Deaggregate(r.data, r.partitionKey, "")
		if err != nil {
			rb.corrupt++
			continue
		}
		for _, s := range subs {
			rb.userRecords++
			run, seq, ok := parse(s.Data)
			if !ok || run != gen.run {
				rb.foreign++
				continue
			}
			if seq >= uint64(records) || s.PartitionKey != gen.key(seq) || string(s.Data) != string(gen.data(seq)) {
				rb.corrupt++
				continue
			}
			counts[seq]++
			sc.userRecords++
			var hash *big.Int
			if s.ExplicitHashKey != "" {
				hash, _ = new(big.Int).SetString(s.ExplicitHashKey, 10)
			} else {
				sum := md5.Sum([]byte(s.PartitionKey))
				hash = new(big.Int).SetBytes(sum[:])
			}
			if hash == nil || hash.Cmp(rng.lo) < 0 || hash.Cmp(rng.hi) > 0 {
				rb.misplaced++
			}
		}
	}
	for seq, n := range counts {
		switch {
		case n == 0 && !failed[seq]:
			rb.missing++
		case n > 0:
			rb.found++
			rb.duplicates += int(n) - 1
		}
	}
	for _, sh := range shards {
		rb.shards = append(rb.shards, *perShard[aws.ToString(sh.ShardId)])
	}
	sort.Slice(rb.shards, func(i, j int) bool { return rb.shards[i].id < rb.shards[j].id })
	return rb, nil
}

// isOpen reports whether a shard still accepts records (it has no ending
// sequence number).
func isOpen(sh types.Shard) bool {
	return sh.SequenceNumberRange == nil || sh.SequenceNumberRange.EndingSequenceNumber == nil
}

// listAllShards returns all shards of the stream, open and closed, in the
// order the server lists them.
func listAllShards(ctx context.Context, client *kinesis.Client, stream string) ([]types.Shard, error) {
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	// kinesalite answers with every shard at once and never returns a
	// NextToken (and fails on a request carrying only one); the loop only
	// matters against a server that pages. A request with a NextToken
	// carries no StreamName, as the API requires.
	in := &kinesis.ListShardsInput{StreamName: aws.String(stream), MaxResults: aws.Int32(readLimit)}
	var shards []types.Shard
	for {
		out, err := client.ListShards(ctx, in, retryReads)
		if err != nil {
			return nil, fmt.Errorf("list shards of %s: %w", stream, err)
		}
		shards = append(shards, out.Shards...)
		if aws.ToString(out.NextToken) == "" {
			return shards, nil
		}
		in = &kinesis.ListShardsInput{NextToken: out.NextToken, MaxResults: aws.Int32(readLimit)}
	}
}

// shardRecord is a Kinesis record read back from a shard.
type shardRecord struct {
	shardID      string
	partitionKey string
	data         []byte
}

// readShard reads one shard from TRIM_HORIZON until it has nothing more (see
// shardread.Drain).
func readShard(ctx context.Context, client *kinesis.Client, stream, shardID string, closed bool) ([]shardRecord, error) {
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	it, err := client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
		StreamName:        aws.String(stream),
		ShardId:           aws.String(shardID),
		ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
	}, retryReads)
	if err != nil {
		return nil, fmt.Errorf("get TRIM_HORIZON iterator for %s/%s: %w", stream, shardID, err)
	}
	return shardread.Drain(stream+"/"+shardID, it.ShardIterator, closed, func(iter *string) (shardread.Page[shardRecord], error) {
		out, err := client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(readLimit)}, retryReads)
		if err != nil {
			return shardread.Page[shardRecord]{}, err
		}
		page := shardread.Page[shardRecord]{NextIterator: out.NextShardIterator, MillisBehindLatest: aws.ToInt64(out.MillisBehindLatest)}
		for _, r := range out.Records {
			page.Records = append(page.Records, shardRecord{shardID: shardID, partitionKey: aws.ToString(r.PartitionKey), data: r.Data})
		}
		return page, nil
	})
}

// ---------------------------------------------------------------------------
// Output.

// print writes the summary table.
func (r *result) print(w io.Writer, o options) {
	secs := r.elapsed.Seconds()
	if secs <= 0 {
		secs = 1e-9
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(name string, format string, args ...any) {
		fmt.Fprintf(tw, "  %s\t"+format+"\n", append([]any{name}, args...)...)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Summary (stream %s)\n", r.stream)
	row("records put", "%d", r.put)
	row("acknowledged", "%d", r.stats.UserRecordsPut)
	row("failed", "%d", r.failed)
	if b := r.read; b != nil {
		row("read back", "%d", b.found)
		row("missing", "%d", b.missing)
		row("duplicates", "%d", b.duplicates)
		row("corrupt", "%d", b.corrupt)
		row("outside their shard (KCL)", "%d", b.misplaced)
		if b.foreign > 0 || !b.local {
			row("other records in the stream", "%d", b.foreign)
		}
		row("Kinesis records read", "%d (%d aggregated)", b.kinesisRecords, b.aggregated)
		if b.oversize > 0 {
			row("Kinesis records over 1 MiB", "%d", b.oversize)
		}
	}
	row("Kinesis records put", "%d", r.stats.KinesisRecordsPut)
	if r.stats.KinesisRecordsPut > 0 {
		row("user records per Kinesis record", "%.1f", float64(r.stats.UserRecordsPut)/float64(r.stats.KinesisRecordsPut))
	}
	row("PutRecords calls", "%d", r.stats.Requests)
	row("retries", "%d", r.stats.Retries)
	row("throttled", "%d", r.stats.Throttled)
	row("elapsed (Put to Stop)", "%v", r.elapsed.Round(time.Millisecond))
	row("records/s", "%.0f", float64(r.put)/secs)
	row("MB/s (user data)", "%.2f", float64(r.put)*float64(o.size)/secs/1e6)
	row("MB/s (Kinesis data)", "%.2f", float64(r.stats.BytesPut)/secs/1e6)
	row("CPU, this process (Put to Stop)", "%s", cpuShare(r.cpu, r.cpuOK, secs))
	if r.server {
		row("CPU, local server (Put to Stop)", "%s", cpuShare(r.serverCPU, r.serverOK, secs))
	}
	if b := r.read; b != nil {
		fmt.Fprintf(tw, "  per shard\n")
		for _, sc := range b.shards {
			state := ""
			if !sc.open {
				state = ", closed"
			}
			fmt.Fprintf(tw, "    %s\t%d records in %d Kinesis records%s\n", sc.id, sc.userRecords, sc.kinesisRecords, state)
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "Throughput was set by: %s\n", verdict(r.figures()))
	if r.firstErr != nil {
		fmt.Fprintf(w, "first failure: %v\n", r.firstErr)
	}
}

// figures returns what the verdict on the run's throughput is drawn from.
func (r *result) figures() runFigures {
	return runFigures{
		elapsed: r.elapsed, obs: r.obs, stats: r.stats, shards: r.shards,
		maxConns: maxConnections, procs: r.procs,
		cpu: r.cpu, cpuOK: r.cpuOK, serverCPU: r.serverCPU, serverOK: r.serverOK,
	}
}

// cpuShare formats CPU time as seconds and as a share of one core over secs
// seconds of elapsed time, or "n/a" when it was not measured.
func cpuShare(cpu time.Duration, ok bool, secs float64) string {
	if !ok {
		return "n/a"
	}
	return fmt.Sprintf("%.2f s (%.0f%% of one core)", cpu.Seconds(), 100*cpu.Seconds()/secs)
}

// clockTicks is the unit of the CPU times in /proc/<pid>/stat (USER_HZ),
// 100 per second on Linux.
const clockTicks = 100

// serverCPU returns the CPU time (user and system, all threads) used by
// process pid, read from /proc/<pid>/stat: Linux only, false elsewhere or
// when pid is 0.
func serverCPU(pid int) (time.Duration, bool) {
	if pid <= 0 {
		return 0, false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	return parseProcStat(string(b))
}

// parseProcStat returns utime+stime of a /proc/<pid>/stat line.
func parseProcStat(stat string) (time.Duration, bool) {
	// The command name (field 2) is in parentheses and may hold spaces or
	// parentheses itself: the fields that follow start after the last ')'.
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, true
}
