package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
)

// Producer aggregates user records into KPL aggregated records and sends them
// to one Kinesis stream with PutRecords. It is safe for concurrent use.
//
// Every record Put accepts ends in exactly one of two ways: Kinesis
// acknowledges it, or it is reported as a FailureRecord (see NotifyFailures).
//
// Producer is the facade: it holds the pieces of the pipeline and their
// lifecycle, not their state. A record goes from Put through the backlog
// (backlog.go) to the drain goroutine (pipeline.go), whose router
// (router.go) aggregates it for its shard and queues it in the shard's
// stage (shard_set.go, stage.go); the collector (collector.go) builds
// batches for the sender (sender.go), and the retrier (retrier.go) decides
// what becomes of each record after a call; the refresher (refresher.go)
// follows resharding, and the reporter (reporter.go) settles records for
// good. The package doc says which goroutine owns what.
type Producer struct {
	cfg    Config
	cfgErr error
	stream string // the stream's name or ARN, for log lines

	backlog *backlog               // between Put and the pipeline
	routes  atomic.Pointer[routes] // the gates Put waits at, published by the pipeline
	pipe    *pipeline
	send    *sender
	refresh *refresher // nil without a shard map
	report  *reporter

	startMu sync.Mutex
	started bool
	closed  bool          // Stop was called
	closing chan struct{} // closed by Stop: Puts waiting at a gate give up
	stopped sync.Once
	done    chan struct{} // closed when Stop has finished

	abortCtx context.Context
	abort    context.CancelCauseFunc // Shutdown's deadline: fail what is left
}

// New returns a Producer for config. A bad config is reported by Start (and
// by Put), never by a panic.
func New(config *Config) *Producer {
	p := &Producer{done: make(chan struct{}), closing: make(chan struct{})}
	p.abortCtx, p.abort = context.WithCancelCause(context.Background())
	cfg, err := config.WithDefaults()
	if err != nil {
		p.cfgErr = err
		close(p.done)
		p.report = newReporter(nil, nil, "", 1)
		p.report.close() // nothing will ever fail: the channels close at once
		return p
	}
	p.cfg = cfg
	p.stream = cfg.StreamName
	if cfg.StreamARN != "" {
		p.stream = cfg.StreamARN
	}
	p.backlog = newBacklog(cfg.BacklogCount)
	r := newReporter(cfg.Metrics, cfg.Logger, p.stream, cfg.BacklogCount)
	p.report = r
	p.send = newSender(&p.cfg, p.stream, r, p.abortCtx)
	askRefresh := func() {}
	if cfg.routesByHash() {
		p.refresh = newRefresher(&p.cfg, p.stream)
		askRefresh = p.refresh.request
	}
	lim := limits{count: cfg.AggregateBatchCount, size: cfg.AggregateBatchSize, recordMax: cfg.MaxRecordSize, seed: rand.Uint64()}
	p.pipe = newPipeline(&p.cfg, lim, p.backlog, p.send, r, &p.routes, askRefresh, p.abortCtx)
	if o, ok := cfg.Metrics.(Observer); ok {
		o.Observe(p)
	}
	return p
}

// Start lists the shards (when Config.ListShards is set) and starts sending.
// It returns the Config error, if any, or the first shard listing's error
// (wrapping ErrShardListing). The listing is bounded by ctx and by
// ListShardsTimeout, and a Stop meanwhile ends it. Calling Start again does
// nothing.
func (p *Producer) Start(ctx context.Context) error {
	if p.cfgErr != nil {
		return p.cfgErr
	}
	if done, err := p.startStatus(); done {
		return err
	}
	var m *shardMap
	if p.cfg.routesByHash() {
		var err error
		if m, err = p.firstMap(ctx); err != nil {
			if _, stopped := p.startStatus(); stopped != nil {
				return stopped // the listing failed because Stop ended it
			}
			return fmt.Errorf("%w: stream %s: %w", ErrShardListing, p.stream, err)
		}
	}
	p.startMu.Lock()
	defer p.startMu.Unlock()
	if p.closed {
		return ErrStoppedProducer
	}
	if p.started {
		return nil
	}
	p.run(m)
	if m != nil {
		p.cfg.Logger.Info("producer started", logValue("stream", p.stream), logValue("shards", len(m.ids)))
	} else {
		p.cfg.Logger.Info("producer started", logValue("stream", p.stream))
	}
	return nil
}

// startStatus reports whether Start has nothing (more) to do: the producer
// has started, or Stop was called (err is then ErrStoppedProducer).
func (p *Producer) startStatus() (done bool, err error) {
	p.startMu.Lock()
	defer p.startMu.Unlock()
	if p.closed {
		return true, ErrStoppedProducer
	}
	return p.started, nil
}

// firstMap makes the first shard listing, within ctx and ListShardsTimeout;
// Stop cuts it short. The startMu is not held, so that Stop need not wait.
func (p *Producer) firstMap(ctx context.Context) (*shardMap, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.ListShardsTimeout)
	defer cancel()
	go func() {
		select {
		case <-p.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	shards, _, err := p.cfg.ListShards(ctx)
	if err == nil && ctx.Err() != nil {
		err = context.Cause(ctx)
	}
	if err == nil && len(shards) == 0 {
		err = fmt.Errorf("no open shards")
	}
	if err != nil {
		return nil, err
	}
	return newShardMap(shards, 1)
}

// run starts the pipeline with map m (nil for none) and the refresher.
// startMu is held.
func (p *Producer) run(m *shardMap) {
	p.started = true
	if p.refresh == nil {
		p.pipe.start(m, nil)
		return
	}
	p.pipe.start(m, p.refresh.updates)
	go p.refresh.run(1)
}

// Put sends data with partitionKey. It waits while the backlog, or the
// queue of the key's shard, is full, and gives up with ctx.Err() when ctx
// ends first. It returns an error at once for bad input (wrapping
// ErrNilData, ErrIllegalPartitionKey or ErrRecordSizeExceeded), and
// ErrStoppedProducer after Stop. A record Put returned an error for was not
// accepted. The producer keeps data.
func (p *Producer) Put(ctx context.Context, data []byte, partitionKey string) error {
	if p.cfgErr != nil {
		return p.cfgErr
	}
	if data == nil {
		return ErrNilData
	}
	if err := p.checkRecord(data, partitionKey); err != nil {
		return err
	}
	r := record{data: data, key: partitionKey}
	return p.enqueue(ctx, &r)
}

// PutUserRecord sends a UserRecord, as Put. The producer keeps the value and
// returns it in a FailureRecord if it cannot be delivered. Errors are those
// of Put, plus ErrNilUserRecord and ErrIllegalExplicitHashKey.
func (p *Producer) PutUserRecord(ctx context.Context, userRecord UserRecord) error {
	if p.cfgErr != nil {
		return p.cfgErr
	}
	if userRecord == nil {
		return ErrNilUserRecord
	}
	r, ehkErr := userRecordOf(userRecord)
	if r.data == nil {
		return ErrNilData
	}
	if err := p.checkRecord(r.data, r.key); err != nil {
		return err
	}
	if ehkErr != nil {
		return ehkErr
	}
	return p.enqueue(ctx, &r)
}

func (p *Producer) checkRecord(data []byte, key string) error {
	if err := checkPartitionKey(key); err != nil {
		return err
	}
	if n := len(data) + len(key); n > p.cfg.MaxRecordSize {
		return fmt.Errorf("%w: %d bytes of data and partition key, the limit is %d", ErrRecordSizeExceeded, n, p.cfg.MaxRecordSize)
	}
	return nil
}

// enqueue hands r to the pipeline. While the stage of r's shard is full,
// it waits: Put blocks for the keys of a saturated shard only.
func (p *Producer) enqueue(ctx context.Context, r *record) error {
	for r.marker == nil {
		rt := p.routes.Load()
		if rt == nil {
			break // not started: the backlog alone bounds what waits
		}
		if rt.closed.Load() == 0 {
			break // no shard's gate is shut
		}
		if p.cfg.routesByHash() && r.keyHashPending() {
			// The drain goroutine hashes keys many at a time; a record
			// that may have to wait for its shard needs its hash now.
			r.hash = hashKey(r.key)
		}
		g := rt.gateFor(r.hash)
		if g == nil || !g.shut.Load() {
			break
		}
		wake := g.wait()
		if wake == nil {
			continue
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		case <-p.closing:
			return ErrStoppedProducer
		}
	}
	return p.backlog.push(ctx, r)
}

// Flush asks for every buffered record to be sent now, without waiting for
// FlushInterval or full batches. It returns at once; see FlushSync to wait.
// After Stop it does nothing.
func (p *Producer) Flush() {
	if p.cfgErr != nil {
		return
	}
	_ = p.enqueue(context.Background(), &record{marker: &flushMarker{}})
}

// FlushSync sends every buffered record now and waits until every record
// accepted before the call is acknowledged or failed, or until ctx ends
// (returning ctx.Err()). Records accepted during the wait are not waited for.
// A producer built from a bad Config returns the Config error.
func (p *Producer) FlushSync(ctx context.Context) error {
	if p.cfgErr != nil {
		return p.cfgErr
	}
	m := &flushMarker{sealed: make(chan *epoch, 1)}
	if err := p.enqueue(ctx, &record{marker: m}); err != nil {
		if errors.Is(err, ErrStoppedProducer) {
			return nil // Stop has delivered or failed everything
		}
		return err
	}
	var e *epoch
	select {
	case e = <-m.sealed:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-e.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// NotifyFailures returns the channel on which records that could not be
// delivered come out. Call it before Start to see every failure: failures that
// happen while nobody has asked for the channel are logged, not kept. The
// channel is closed after Stop, once the last failure is delivered. Read it
// until it is closed; Stop does not wait for the reader.
func (p *Producer) NotifyFailures() <-chan *FailureRecord {
	return p.report.failures.channel()
}

// NotifySuccesses turns on success results and returns their channel: one
// SuccessRecord per acknowledged Kinesis record, with the shard and sequence
// number Kinesis gave it and the user records it carried. Results are off
// (and cost nothing) until the first call; call it before Start to see all.
// The channel is closed after Stop, once the last result is delivered. Read
// it steadily: results wait in memory until they are read.
func (p *Producer) NotifySuccesses() <-chan *SuccessRecord {
	ch := p.report.success.channel()
	p.report.results.Store(true)
	return ch
}

// Stop flushes every buffered record, waits until each is acknowledged or
// failed, and stops the producer. Put returns ErrStoppedProducer afterwards.
// It is safe to call more than once and from several goroutines.
func (p *Producer) Stop() {
	if p.cfgErr != nil {
		return
	}
	// A producer that was never started still owes its buffered records a
	// delivery: run the pipeline without a shard map.
	p.startMu.Lock()
	if !p.started {
		p.refresh = nil // no map, so nothing to follow
		p.run(nil)
	}
	if !p.closed {
		p.closed = true
		close(p.closing)
	}
	p.startMu.Unlock()

	p.stopped.Do(func() {
		p.backlog.close()
		<-p.pipe.done
		p.send.wait()
		if p.refresh != nil {
			p.refresh.stop()
		}
		p.report.close()
		p.abort(nil)
		p.cfg.Logger.Info("producer stopped", logValue("stream", p.stream),
			logValue("user_records_put", p.report.stats.userRecordsPut.Load()),
			logValue("user_records_failed", p.report.stats.userRecordsFailed.Load()))
		close(p.done)
	})
	<-p.done
}

// Shutdown is Stop with a deadline: when ctx ends before every record is
// delivered, requests under way are cancelled, retries stop, and the records
// not yet acknowledged fail with an error wrapping ErrStopDeadline (they come
// out on NotifyFailures). It then returns an error wrapping ErrStopDeadline
// and ctx.Err() that says how many user records were not delivered.
func (p *Producer) Shutdown(ctx context.Context) error {
	if p.cfgErr != nil {
		return nil
	}
	stopped := make(chan struct{})
	go func() {
		p.Stop()
		close(stopped)
	}()
	select {
	case <-stopped:
		return nil
	case <-ctx.Done():
	}
	before := p.report.stats.aborted.Load()
	p.abort(fmt.Errorf("%w: %w", ErrStopDeadline, ctx.Err()))
	<-stopped
	if n := p.report.stats.aborted.Load() - before; n > 0 {
		return fmt.Errorf("%w: %d user records not delivered: %w", ErrStopDeadline, n, ctx.Err())
	}
	return nil
}
