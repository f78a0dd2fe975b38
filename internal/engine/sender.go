package engine

import (
	"context"
	"sync"
	"time"
)

// call is one batch of Kinesis records on its way through the sender and
// back to the pipeline. The sender acknowledges the records Kinesis stored
// where predicted and tells the pipeline their shards in acked; batch keeps
// the others, each with the outcome of the call, for the pipeline to decide.
type call struct {
	batch []*aggregate
	acked []shardRef // shards of the records acknowledged by the sender
	lanes []*lane    // with OrderPerKey: the lanes those records held
	sent  time.Time  // when the call was made
}

// shardRef names a shard by its index in a map.
type shardRef struct {
	smap  *shardMap
	shard int
}

// sender owns the client, the connection slots and the calls: at most
// MaxConnections PutRecords calls at once, each on its own goroutine. A slot
// is held for the call only, never across a backoff. The sender encodes the
// records, calls, writes each record's outcome, and hands the batch back to
// the pipeline on results; it never decides where a record goes or whether
// it is tried again.
type sender struct {
	client   Client
	timeout  time.Duration
	verbose  bool
	stream   string
	logger   Logger
	metrics  Metrics
	stats    *counters
	report   *reporter
	abortCtx context.Context
	sums     checksums

	slots   chan struct{} // one per call in flight
	calls   sync.WaitGroup
	results chan *call // read by the pipeline
}

func newSender(cfg *Config, stream string, report *reporter, abortCtx context.Context) *sender {
	s := &sender{
		client: cfg.Client, timeout: cfg.RequestTimeout, verbose: cfg.Verbose, stream: stream,
		logger: cfg.Logger, metrics: cfg.Metrics, stats: &report.stats, report: report, abortCtx: abortCtx,
		sums:    checksums{lanes: haveLanes},
		slots:   make(chan struct{}, cfg.MaxConnections),
		results: make(chan *call, cfg.MaxConnections),
	}
	return s
}

// free reports whether a connection slot is free. Only the pipeline takes
// slots, so a free slot stays free until it sends.
func (s *sender) free() bool { return len(s.slots) < cap(s.slots) }

// wait returns once every call's goroutine has ended.
func (s *sender) wait() { s.calls.Wait() }

// inFlight returns the number of calls under way.
func (s *sender) inFlight() int { return len(s.slots) }

// send starts a call for batch in a free slot.
func (s *sender) send(batch []*aggregate, now time.Time) {
	s.slots <- struct{}{}
	s.calls.Add(1)
	go s.run(&call{batch: batch, sent: now})
}

func (s *sender) run(c *call) {
	defer s.calls.Done()
	now := time.Now()
	var unsummed []*aggregate // the aggregates whose checksum is still blank
	for _, a := range c.batch {
		if !a.encoded {
			if s.metrics != nil {
				s.metrics.UserRecordsAggregated(a.predictedShard(), len(a.recs), now.Sub(a.created))
			}
			if a.encodeUnsummed() {
				unsummed = append(unsummed, a)
			}
		}
	}
	s.sums.sum(unsummed)
	s.attempt(c.batch)
	<-s.slots
	// What landed where predicted is delivered: settle it here, on this
	// goroutine, and leave the pipeline only what needs a decision.
	kept := c.batch[:0]
	for _, a := range c.batch {
		if a.result.err != nil || !a.landedAsPredicted() {
			kept = append(kept, a)
			continue
		}
		if a.smap != nil {
			if c.acked == nil {
				c.acked = make([]shardRef, 0, len(c.batch))
			}
			c.acked = append(c.acked, shardRef{a.smap, a.shard})
		}
		if a.lane != nil {
			c.lanes = append(c.lanes, a.lane) // released on the drain goroutine
			a.lane = nil
		}
		s.report.acknowledge(a)
	}
	clear(c.batch[len(kept):])
	c.batch = kept
	s.results <- c
}

// attempt makes one PutRecords call for batch and writes each record's
// outcome. A call refused for its content is tried again entry by entry, so
// that only the bad entry fails.
func (s *sender) attempt(batch []*aggregate) {
	if cause := context.Cause(s.abortCtx); cause != nil {
		setOutcome(batch, outcome{err: cause}) // the pipeline fails them
		return
	}
	entries := make([]Entry, len(batch))
	for i, a := range batch {
		entries[i] = a.entry
	}
	results := make([]Result, len(batch))
	began := time.Now()
	err := s.putRecords(entries, results)
	var failure CallFailure
	if err != nil {
		failure = s.client.Failure(err)
	}
	code := failure.Code
	if s.metrics != nil {
		callCode := ""
		if err != nil {
			callCode = metricCode(code)
		}
		s.metrics.Request(len(entries), time.Since(began), callCode)
		if err != nil {
			for _, a := range batch {
				s.metrics.PutError(a.predictedShard(), metricCode(code))
			}
		}
	}
	if err != nil {
		if len(batch) > 1 && invalidInput[code] {
			for _, a := range batch {
				s.attempt([]*aggregate{a})
			}
			return
		}
		if s.verbose {
			s.logger.Error("PutRecords failed", err, logValue("stream", s.stream), logValue("records", len(entries)))
		}
		setOutcome(batch, outcome{err: err, code: code, final: !failure.Retryable(),
			unknown: failure.Transport || failure.Status >= 500})
		return
	}
	for i, a := range batch {
		r := &results[i]
		if r.ErrorCode != "" {
			a.result = outcome{err: &PutRecordError{Code: r.ErrorCode, Message: r.ErrorMessage}, code: r.ErrorCode}
			if s.metrics != nil {
				s.metrics.PutError(a.predictedShard(), r.ErrorCode)
			}
			continue
		}
		a.result = outcome{shardID: r.ShardID, sequence: r.SequenceNumber}
	}
}

func setOutcome(batch []*aggregate, o outcome) {
	for _, a := range batch {
		a.result = o
	}
}

// putRecords makes one PutRecords call within the request timeout.
func (s *sender) putRecords(entries []Entry, results []Result) error {
	s.stats.requests.Add(1)
	ctx, cancel := context.WithTimeout(s.abortCtx, s.timeout)
	defer cancel()
	return s.client.PutRecords(ctx, entries, results)
}
