package producer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go/service/kinesis"
	"github.com/jpillora/backoff"
)

// Producer aggregates user records into KPL aggregated records and sends them
// to one Kinesis stream with PutRecords. It is safe for concurrent use.
//
// Every record Put accepts ends in exactly one of two ways: Kinesis
// acknowledges it, or it is reported as a FailureRecord (see NotifyFailures).
type Producer struct {
	cfg     Config
	cfgErr  error
	stream  string // the stream's name or ARN, for log lines
	lim     limits
	hashing bool // shard-map mode: Put computes the partition key's hash

	// backlog holds the records between Put and the drain loop.
	backlog *backlog

	startMu  sync.Mutex
	started  bool
	stopping atomic.Bool   // Stop was called
	done     chan struct{} // closed when the drain loop has finished

	// Owned by the drain goroutine.
	shards    *shardMap
	stages    []stage
	batch     []*aggregate
	bytes     int       // bytes of batch
	oldest    time.Time // creation of the oldest aggregate in batch
	throttled int       // Kinesis records held back by the shards' rate limits
	heldBytes int       // their bytes
	// How many records and bytes may be held back before the loop stops
	// taking records (see holdingTooMuch).
	maxThrottled, maxHeldBytes int
	unlimited                  bool // Shutdown gave up: rate limits no longer apply

	current    atomic.Pointer[shardMap] // the map the drain goroutine uses, for the workers
	mapUpdates chan *shardMap
	refreshNow chan struct{} // asks the refresher for an early listing
	quit       chan struct{} // closed to stop the refresher
	refreshed  chan struct{} // closed when the refresher has returned

	sem      chan struct{} // one slot per PutRecords call in flight
	workers  sync.WaitGroup
	backoff  backoff.Backoff
	failures notifier[*FailureRecord]
	success  notifier[*SuccessRecord]
	results  atomic.Bool // someone asked for NotifySuccesses

	epoch    *epoch // records emitted since the last flush marker (drain goroutine)
	abortCtx context.Context
	abort    context.CancelCauseFunc // Shutdown's deadline: fail what is left
	stats    counters
}

// stage is the per-shard step of the pipeline: the aggregate being filled
// for one shard (or for the whole stream without a shard map).
type stage struct {
	agg   *aggregate
	limit *shardLimiter // nil when rate limiting is off or without a shard map
}

// New returns a Producer for config. A bad config is reported by Start (and
// by Put), never by a panic.
func New(config *Config) *Producer {
	p := &Producer{done: make(chan struct{}), quit: make(chan struct{}), refreshed: make(chan struct{}), epoch: newEpoch()}
	p.abortCtx, p.abort = context.WithCancelCause(context.Background())
	cfg, err := config.withDefaults()
	if err != nil {
		p.cfgErr = err
		close(p.done)
		close(p.refreshed)
		p.failures.init(1)
		p.success.init(1)
		p.failures.close() // nothing will ever fail: the channels close at once
		p.success.close()
		return p
	}
	p.cfg = cfg
	p.stream = cfg.StreamName
	if cfg.StreamARN != "" {
		p.stream = cfg.StreamARN
	}
	p.lim = limits{count: cfg.AggregateBatchCount, size: cfg.AggregateBatchSize, recordMax: cfg.MaxRecordSize, seed: rand.Uint64()}
	p.hashing = cfg.GetShards != nil
	p.backlog = newBacklog(cfg.BacklogCount)
	p.sem = make(chan struct{}, cfg.MaxConnections)
	p.stages = make([]stage, 1)
	p.mapUpdates = make(chan *shardMap)
	p.refreshNow = make(chan struct{}, 1)
	p.backoff = backoff.Backoff{Min: cfg.RetryBackoffMin, Max: cfg.RetryBackoffMax, Factor: 2, Jitter: true}
	p.failures.init(cfg.BacklogCount)
	p.success.init(cfg.BacklogCount)
	return p
}

// Start lists the shards (when Config.GetShards is set) and starts sending.
// It returns the Config error, if any, or the first shard listing's error
// (wrapping ErrShardListing). Calling it again does nothing.
func (p *Producer) Start() error {
	if p.cfgErr != nil {
		return p.cfgErr
	}
	p.startMu.Lock()
	defer p.startMu.Unlock()
	if p.stopping.Load() {
		return ErrStoppedProducer
	}
	if p.started {
		return nil
	}
	var list []*kinesis.Shard
	if p.cfg.GetShards != nil {
		shards, _, err := p.cfg.GetShards(nil)
		if err == nil && len(shards) == 0 {
			err = fmt.Errorf("no open shards")
		}
		if err != nil {
			return fmt.Errorf("%w: stream %s: %w", ErrShardListing, p.stream, err)
		}
		m, err := newShardMap(shards, 1)
		if err != nil {
			return fmt.Errorf("%w: stream %s: %w", ErrShardListing, p.stream, err)
		}
		p.installMap(m)
		list = shards
	}
	p.started = true
	go p.loop()
	if p.cfg.GetShards != nil && p.cfg.ShardRefreshInterval > 0 {
		go p.refresher(list)
	} else {
		close(p.refreshed)
	}
	p.cfg.Logger.Info("producer started", logValue("stream", p.stream), logValue("shards", len(p.stages)))
	return nil
}

// Put sends data with partitionKey. It blocks while BacklogCount records wait
// to be aggregated. It returns an error at once for bad input (wrapping
// ErrNilData, ErrIllegalPartitionKey or ErrRecordSizeExceeded), and
// ErrStoppedProducer after Stop. The producer keeps data: do not change it
// after the call.
func (p *Producer) Put(data []byte, partitionKey string) error {
	return p.PutContext(context.Background(), data, partitionKey)
}

// PutContext is Put that gives up with ctx.Err() when the backlog stays full
// until ctx ends. A record PutContext returned an error for was not accepted.
func (p *Producer) PutContext(ctx context.Context, data []byte, partitionKey string) error {
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
	if p.hashing {
		r.hash = hashKey(partitionKey)
	}
	return p.enqueue(ctx, &r)
}

// PutUserRecord sends a UserRecord. The producer keeps the value and returns
// it in a FailureRecord if it cannot be delivered. Errors are those of Put,
// plus ErrNilUserRecord and ErrIllegalExplicitHashKey.
func (p *Producer) PutUserRecord(userRecord UserRecord) error {
	return p.PutUserRecordContext(context.Background(), userRecord)
}

// PutUserRecordContext is PutUserRecord that gives up with ctx.Err() when the
// backlog stays full until ctx ends.
func (p *Producer) PutUserRecordContext(ctx context.Context, userRecord UserRecord) error {
	if p.cfgErr != nil {
		return p.cfgErr
	}
	if userRecord == nil {
		return ErrNilUserRecord
	}
	data, key := userRecord.Data(), userRecord.PartitionKey()
	if data == nil {
		return ErrNilData
	}
	if err := p.checkRecord(data, key); err != nil {
		return err
	}
	r := record{data: data, key: key, user: userRecord}
	if ehk := userRecord.ExplicitHashKey(); ehk != nil {
		h, err := hashFromBig(ehk)
		if err != nil {
			return err
		}
		r.hash, r.hasEHK, r.ehkLen = h, true, uint8(h.decimalLen())
	} else if p.hashing {
		r.hash = hashKey(key)
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

// enqueue hands r to the drain goroutine.
func (p *Producer) enqueue(ctx context.Context, r *record) error {
	return p.backlog.push(ctx, r)
}

// Flush asks for every buffered record to be sent now, without waiting for
// FlushInterval or full batches. It returns at once; see FlushSync to wait.
// After Stop it does nothing.
func (p *Producer) Flush() {
	_ = p.enqueue(context.Background(), &record{marker: &flushMarker{}})
}

// FlushSync sends every buffered record now and waits until every record
// accepted before the call is acknowledged or failed, or until ctx ends
// (returning ctx.Err()). Records accepted during the wait are not waited for.
func (p *Producer) FlushSync(ctx context.Context) error {
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
	return p.failures.channel()
}

// NotifySuccesses turns on success results and returns their channel: one
// SuccessRecord per acknowledged Kinesis record, with the shard and sequence
// number Kinesis gave it and the user records it carried. Results are off
// (and cost nothing) until the first call; call it before Start to see all.
// The channel is closed after Stop, once the last result is delivered. Read
// it steadily: results wait in memory until they are read.
func (p *Producer) NotifySuccesses() <-chan *SuccessRecord {
	ch := p.success.channel()
	p.results.Store(true)
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
	// delivery: run the loop without a shard map.
	p.startMu.Lock()
	if !p.started {
		p.started = true
		go p.loop()
		close(p.refreshed)
	}
	p.startMu.Unlock()

	p.stopping.Store(true)
	p.backlog.close()
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
	before := p.stats.aborted.Load()
	p.abort(fmt.Errorf("%w: %w", ErrStopDeadline, ctx.Err()))
	<-stopped
	if n := p.stats.aborted.Load() - before; n > 0 {
		return fmt.Errorf("%w: %d user records not delivered: %w", ErrStopDeadline, n, ctx.Err())
	}
	return nil
}

// loop is the drain goroutine: it owns the aggregates, the batch being
// collected and the shard map.
func (p *Producer) loop() {
	defer close(p.done)
	period := p.cfg.FlushInterval
	if d := p.cfg.RecordMaxBufferedTime / 2; d > 0 && d < period {
		period = d
	}
	tick := time.NewTicker(period)
	defer tick.Stop()
	lastFlush := time.Now()
	throttle := time.NewTicker(throttleTick)
	defer throttle.Stop()
	abortC := p.abortCtx.Done()
	items := make([]record, 0, p.cfg.BacklogCount) // the spare backlog buffer
	for {
		// The throttle ticker only counts while records wait for tokens.
		// While too many records wait for their shards' tokens, take no new
		// ones: the backlog fills and Put blocks, which bounds memory.
		var throttleC <-chan time.Time
		ready := p.backlog.ready
		if p.throttled > 0 {
			throttleC = throttle.C
			if p.holdingTooMuch() {
				ready = nil
			}
		}
		select {
		case <-ready:
			var closed bool
			items, closed = p.backlog.take(items)
			p.stats.received.Add(int64(len(items)))
			for i := range items {
				p.take(&items[i])
			}
			clear(items) // let the records' data go
			if closed {
				p.shutdown()
				return
			}
		case now := <-tick.C:
			if now.Sub(lastFlush) >= p.cfg.FlushInterval-period/2 {
				p.flush()
				lastFlush = now
			} else {
				p.flushOlder(now.Add(-p.cfg.RecordMaxBufferedTime / 2))
			}
		case m := <-p.mapUpdates:
			p.swapMap(m)
		case <-throttleC:
			p.releaseWaiting(false)
		case <-abortC:
			// Shutdown's deadline passed: stop holding records back, so
			// that the workers can fail them now.
			abortC = nil
			p.unlimited = true
			p.releaseWaiting(true)
		}
	}
}

// take handles one item from the backlog: a record or a flush marker.
func (p *Producer) take(r *record) {
	if r.marker != nil {
		p.stats.received.Add(-1) // counted with the records taken
		p.flush()
		p.nextEpoch(r.marker)
		return
	}
	p.add(r, time.Time{})
}

// shutdown runs on the drain goroutine once the backlog is closed and empty.
func (p *Producer) shutdown() {
	close(p.quit)
	<-p.refreshed
	p.flush()
	for p.throttled > 0 {
		select {
		case <-time.After(throttleTick):
			p.releaseWaiting(false)
		case <-p.abortCtx.Done():
			p.releaseWaiting(true) // the workers fail them at once
		}
	}
	p.workers.Wait()
	p.failures.close()
	p.success.close()
	p.abort(nil)
	p.cfg.Logger.Info("producer stopped", logValue("stream", p.stream),
		logValue("user_records_put", p.stats.userRecordsPut.Load()),
		logValue("user_records_failed", p.stats.userRecordsFailed.Load()))
}

// add puts r into the aggregate of its shard. created, when not zero, is the
// time the record was first aggregated (kept when a refresh re-homes it).
func (p *Producer) add(r *record, created time.Time) {
	shard := 0
	if p.shards != nil {
		shard = p.shards.find(r.hash)
	}
	// aloneSize is below data plus key plus 100 bytes of framing.
	if shard < 0 || (len(r.data)+len(r.key)+100 > p.lim.size && aloneSize(r) > p.lim.size) {
		// Outside every known shard, or too big to share an aggregate:
		// the record goes out alone with its own key.
		a := newAggregate()
		a.add(r, &p.lim)
		a.created = stamp(created)
		p.emit(a, shard)
		return
	}
	st := &p.stages[shard]
	if st.agg != nil && st.agg.add(r, &p.lim) {
		if !created.IsZero() && created.Before(st.agg.created) {
			st.agg.created = created
		}
	} else {
		if st.agg != nil {
			p.emit(st.agg, shard)
		}
		st.agg = newAggregate()
		st.agg.created = stamp(created)
		st.agg.add(r, &p.lim)
	}
	p.closeIfFull(st, shard)
}

func stamp(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now()
	}
	return t
}

// closeIfFull sends the stage's aggregate once it holds AggregateBatchCount records.
func (p *Producer) closeIfFull(st *stage, shard int) {
	if len(st.agg.recs) >= p.lim.count {
		p.emit(st.agg, shard)
		st.agg = nil
	}
}

// emit closes a and adds it to the batch being collected, sending the batch
// first if a would not fit and after if it is full.
func (p *Producer) emit(a *aggregate, shard int) {
	a.shard = shard
	a.smap = p.shards
	a.epoch = p.epoch
	p.epoch.add(len(a.recs))
	switch {
	case a.plain():
		a.outerHash = a.plainHashKey()
	case p.shards != nil && shard >= 0:
		a.outerHash = p.shards.startKeys[shard]
	case a.recs[0].hasEHK:
		a.outerHash = a.recs[0].hash.String()
	}
	p.place(a)
}

// place puts a closed Kinesis record through its shard's rate limit into
// the batch.
func (p *Producer) place(a *aggregate) {
	if p.shards != nil && a.shard >= 0 && !p.unlimited {
		p.admit(&p.stages[a.shard], a)
	} else {
		p.toBatch(a)
	}
}

// toBatch adds a to the batch being collected, sending the batch first if a
// would not fit and after if it is full.
func (p *Producer) toBatch(a *aggregate) {
	size := a.size()
	if len(p.batch) > 0 && p.bytes+size > p.cfg.BatchSize {
		p.dispatch()
	}
	if len(p.batch) == 0 || a.created.Before(p.oldest) {
		p.oldest = a.created
	}
	p.batch = append(p.batch, a)
	p.bytes += size
	if len(p.batch) >= p.cfg.BatchCount {
		p.dispatch()
	}
}

// flush sends every open aggregate and the batch, however small.
func (p *Producer) flush() {
	for i := range p.stages {
		if st := &p.stages[i]; st.agg != nil {
			p.emit(st.agg, i)
			st.agg = nil
		}
	}
	p.dispatch()
}

// flushOlder sends the open aggregates created at or before cut, and the
// batch if its oldest aggregate is that old. Ticking every half
// RecordMaxBufferedTime, it keeps every record's wait under that bound.
func (p *Producer) flushOlder(cut time.Time) {
	for i := range p.stages {
		if st := &p.stages[i]; st.agg != nil && !st.agg.created.After(cut) {
			p.emit(st.agg, i)
			st.agg = nil
		}
	}
	if len(p.batch) > 0 && !p.oldest.After(cut) {
		p.dispatch()
	}
}

// dispatch hands the batch to a worker, waiting for a free connection.
func (p *Producer) dispatch() {
	if len(p.batch) == 0 {
		return
	}
	batch := p.batch
	p.batch, p.bytes = make([]*aggregate, 0, p.cfg.BatchCount), 0
	p.sem <- struct{}{}
	p.workers.Add(1)
	go p.send(batch)
}

// installMap makes m the current shard map. Only the drain goroutine (or
// Start, before it runs) calls it.
func (p *Producer) installMap(m *shardMap) {
	// A shard that stays keeps its rate limiter's tokens, so that a refresh
	// is no occasion for a burst.
	kept := make(map[string]*shardLimiter)
	if p.shards != nil {
		for i, id := range p.shards.ids {
			if l := p.stages[i].limit; l != nil {
				kept[id] = l
			}
		}
	}
	p.shards = m
	p.stages = make([]stage, len(m.ids))
	if p.cfg.RateLimit > 0 {
		now := time.Now()
		for i, id := range m.ids {
			l := kept[id]
			if l == nil {
				l = newShardLimiter(p.cfg.RateLimit, now)
			}
			l.waiting = nil // the caller re-homes what waited
			p.stages[i].limit = l
		}
	}
	p.throttled, p.heldBytes = 0, 0
	p.setHoldLimits(len(m.ids))
	p.current.Store(m)
}

// swapMap installs a new shard map and re-homes every buffered record: the
// open aggregates, the batch not yet handed to a worker, and the records
// waiting for a shard's rate limit. Nothing is lost or sent twice: each
// record leaves its old aggregate and enters a new one.
func (p *Producer) swapMap(m *shardMap) {
	var open, emitted []*aggregate
	for i := range p.stages {
		if a := p.stages[i].agg; a != nil {
			open = append(open, a)
		}
	}
	emitted = append(emitted, p.batch...)
	for i := range p.stages {
		if l := p.stages[i].limit; l != nil {
			emitted = append(emitted, l.waiting...)
		}
	}
	p.batch, p.bytes = p.batch[:0], 0
	p.installMap(m)
	p.stats.mapUpdates.Add(1)
	moved := 0
	for _, a := range open {
		moved += p.readd(a)
	}
	for _, a := range emitted {
		if a.epoch != p.epoch {
			// Its flush epoch is sealed: a FlushSync waits for these
			// records, so they must stay counted there. They go out plain.
			for i := range a.recs {
				p.place(p.plainFrom(a, &a.recs[i], m))
				moved++
			}
			a.release()
			continue
		}
		a.epoch.complete(len(a.recs)) // counted again when emitted anew
		moved += p.readd(a)
	}
	p.cfg.Logger.Info("shard map updated", logValue("stream", p.stream),
		logValue("shards", len(m.ids)), logValue("rehomed_records", moved))
}

// readd adds the records of a to the aggregates of the current map, frees a
// and returns the number of records.
func (p *Producer) readd(a *aggregate) int {
	n := len(a.recs)
	for i := range a.recs {
		p.add(&a.recs[i], a.created)
	}
	a.release()
	return n
}

// refresher lists the shards every ShardRefreshInterval, or earlier when a
// worker saw a record land on another shard than predicted (at most once per
// interval), and hands a changed map to the drain goroutine. A failed listing
// keeps the old map and is retried with backoff.
func (p *Producer) refresher(last []*kinesis.Shard) {
	defer close(p.refreshed)
	interval := p.cfg.ShardRefreshInterval
	retry := backoff.Backoff{Min: time.Second, Max: interval, Factor: 2, Jitter: true}
	gen := p.current.Load().gen
	timer := time.NewTimer(interval)
	defer timer.Stop()
	lastEarly := time.Time{}
	for {
		select {
		case <-p.quit:
			return
		case <-timer.C:
		case <-p.refreshNow:
			if time.Since(lastEarly) < interval {
				continue
			}
			lastEarly = time.Now()
			timer.Stop() // Go 1.23 timers: no stale tick can follow Stop

		}
		shards, updated, err := p.cfg.GetShards(last)
		var m *shardMap
		if err == nil && updated {
			if len(shards) == 0 {
				err = fmt.Errorf("no open shards")
			} else {
				m, err = newShardMap(shards, gen+1)
			}
		}
		if err != nil {
			wait := retry.Duration()
			p.cfg.Logger.Error("shard listing failed, keeping the old map", err,
				logValue("stream", p.stream), logValue("retry_in", wait))
			timer.Reset(wait)
			continue
		}
		retry.Reset()
		timer.Reset(interval)
		if m == nil {
			continue
		}
		select {
		case p.mapUpdates <- m:
			gen++
			last = shards
		case <-p.quit:
			return
		}
	}
}

// requestRefresh asks the refresher for an early shard listing.
func (p *Producer) requestRefresh() {
	select {
	case p.refreshNow <- struct{}{}:
	default:
	}
}
