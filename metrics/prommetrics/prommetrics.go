// Package prommetrics exposes a producer's measurements to Prometheus: set
// Config.Metrics (of package producer or package sdkv2) to the value New
// returns.
//
// Every metric is named Options.Namespace + "_" + the Prometheus name of
// its measurement in the README's metric table, carries the label stream,
// and has the measurement's description as its help:
//
//   - counters: user_records_total (label outcome: "acknowledged", or the
//     reason of a failure: attempts_exhausted, expired, throttled,
//     not_retryable, stop_deadline, other), kinesis_records_put_total,
//     kinesis_bytes_put_total, put_errors_total (label code: the error code,
//     ProvisionedThroughputExceededException for throttling, ClientError for
//     a call without an answer), retries_total, rate_limited_total;
//   - histograms: buffering_seconds, user_records_per_kinesis_record,
//     kinesis_record_attempts, put_records_seconds;
//   - gauges, read from the producer when the registry is scraped:
//     put_records_in_flight, outstanding_user_records,
//     queued_kinesis_records, queued_bytes, held_back_kinesis_records, and
//     each shard's current rate limit, shard_rate_limit_records_per_second
//     and shard_rate_limit_bytes_per_second (label shard; only for shards
//     with a rate limit).
//
// With Options.ShardLabel, the measurements of one shard (Kinesis records
// and bytes put, put errors, retries, rate-limit refusals, buffering time,
// and the queue gauges) also carry the label shard: the shard's id. It is
// off by default, since a stream may have many shards, and resharding
// brings new ids.
//
// The gauges report nothing until the producer has started (nor for a
// Metrics no producer was built with): a scrape then shows no series rather
// than figures of nothing. After Stop they read what is left: 0 in flight,
// 0 queued. A Metrics serves one producer: given to a second one, its
// gauges read the last producer built.
package prommetrics

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/kplgo/producer/internal/engine"
	"github.com/kplgo/producer/metrics/internal/measure"
	"github.com/prometheus/client_golang/prometheus"
)

// DefaultNamespace is the namespace of the metrics when Options.Namespace
// is empty.
const DefaultNamespace = "kinesis_producer"

// Options configure New.
type Options struct {
	// Namespace is the prefix of every metric name, joined to it with "_".
	// Default DefaultNamespace.
	Namespace string
	// Stream is the value of the label stream every metric carries:
	// usually the stream's name. Required.
	Stream string
	// ShardLabel labels the measurements of one shard with the label shard.
	// Default off.
	ShardLabel bool
}

// Metrics implements the producer's Metrics with Prometheus collectors.
type Metrics struct {
	byShard bool

	userRecords       *prometheus.CounterVec // outcome
	acknowledged      prometheus.Counter     // userRecords{outcome="acknowledged"}
	kinesisRecordsPut counter
	bytesPut          counter
	putErrors         *prometheus.CounterVec // code[, shard]
	retries           counter
	rateLimited       counter
	buffering         histogram
	perKinesisRecord  histogram
	attempts          histogram
	requestDuration   histogram

	collectors []prometheus.Collector // the counters and histograms
	gauges     []gauge                // in the order of engine.Measurements
	state      atomic.Pointer[state]
}

var (
	_ engine.Metrics  = (*Metrics)(nil)
	_ engine.Observer = (*Metrics)(nil)
)

// state holds the producer Observe was given.
type state struct{ engine.State }

// gauge is one gauge, collected from the producer's State.
type gauge struct {
	key     string
	desc    *prometheus.Desc
	byShard bool
}

// counter is a counter that may be labelled by shard.
type counter struct {
	vec *prometheus.CounterVec
	all prometheus.Counter // the counter, when not labelled by shard
}

func (c counter) with(shard string) prometheus.Counter {
	if c.all != nil {
		return c.all
	}
	return c.vec.WithLabelValues(shard)
}

// histogram is a histogram that may be labelled by shard.
type histogram struct {
	vec *prometheus.HistogramVec
	all prometheus.Observer // the histogram, when not labelled by shard
}

func (h histogram) with(shard string) prometheus.Observer {
	if h.all != nil {
		return h.all
	}
	return h.vec.WithLabelValues(shard)
}

// New creates the metrics of engine.Measurements and registers them with
// reg (prometheus.DefaultRegisterer for the global registry) as one
// collector. It returns the registration error of a duplicate, a
// prometheus.AlreadyRegisteredError for a second Metrics of the same
// namespace and stream on the same registry; producers of different streams
// can share a registry.
func New(reg prometheus.Registerer, opts Options) (*Metrics, error) {
	if reg == nil {
		return nil, errors.New("prommetrics: nil Registerer")
	}
	if opts.Stream == "" {
		return nil, errors.New("prommetrics: Options.Stream is required")
	}
	ns := opts.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	m := &Metrics{byShard: opts.ShardLabel}
	constLabels := prometheus.Labels{"stream": opts.Stream}
	seen := make(map[string]bool, len(engine.Measurements))
	for i := range engine.Measurements {
		ms := &engine.Measurements[i]
		if seen[ms.Key] {
			return nil, fmt.Errorf("prommetrics: measurement %s listed twice", ms.Key)
		}
		seen[ms.Key] = true
		name := ns + "_" + ms.Prometheus
		var labels []string
		switch ms.Key {
		case engine.MUserRecordsSent:
			labels = []string{"outcome"}
		case engine.MPutErrors:
			labels = []string{"code"}
		}
		byShard := measure.ByShard(ms, opts.ShardLabel)
		if byShard {
			labels = append(labels, "shard")
		}
		switch ms.Kind {
		case engine.Counter:
			vec := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: ms.Description, ConstLabels: constLabels}, labels)
			m.collectors = append(m.collectors, vec)
			c := counter{vec: vec}
			if len(labels) == 0 {
				c.all = vec.WithLabelValues()
			}
			switch ms.Key {
			case engine.MUserRecordsSent:
				m.userRecords = vec
				m.acknowledged = vec.WithLabelValues("acknowledged")
			case engine.MPutErrors:
				m.putErrors = vec
			case engine.MKinesisRecordsPut:
				m.kinesisRecordsPut = c
			case engine.MBytesPut:
				m.bytesPut = c
			case engine.MRetries:
				m.retries = c
			case engine.MRateLimited:
				m.rateLimited = c
			default:
				return nil, fmt.Errorf("prommetrics: unknown counter %s", ms.Key)
			}
		case engine.Histogram:
			vec := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: ms.Description, ConstLabels: constLabels,
				Buckets: measure.Buckets(ms.Key)}, labels)
			m.collectors = append(m.collectors, vec)
			h := histogram{vec: vec}
			if len(labels) == 0 {
				h.all = vec.WithLabelValues()
			}
			switch ms.Key {
			case engine.MBuffering:
				m.buffering = h
			case engine.MUserRecordsPerKR:
				m.perKinesisRecord = h
			case engine.MAttempts:
				m.attempts = h
			case engine.MRequestDuration:
				m.requestDuration = h
			default:
				return nil, fmt.Errorf("prommetrics: unknown histogram %s", ms.Key)
			}
		case engine.Gauge:
			switch ms.Key {
			case engine.MCallsInFlight, engine.MOutstanding, engine.MQueuedRecords, engine.MQueuedBytes, engine.MHeldBack,
				engine.MShardRateLimitRecs, engine.MShardRateLimitBytes, engine.MShardRateReason, engine.MShardRateAge:
			default:
				return nil, fmt.Errorf("prommetrics: unknown gauge %s", ms.Key)
			}
			m.gauges = append(m.gauges, gauge{key: ms.Key, desc: prometheus.NewDesc(name, ms.Description, labels, constLabels), byShard: byShard})
		default:
			return nil, fmt.Errorf("prommetrics: measurement %s of unknown kind %q", ms.Key, ms.Kind)
		}
	}
	for _, key := range measure.Keys {
		if !seen[key] {
			return nil, fmt.Errorf("prommetrics: engine.Measurements lacks %s", key)
		}
	}
	if err := reg.Register(collector{m}); err != nil {
		return nil, err
	}
	return m, nil
}

// collector is the one prometheus.Collector of a Metrics: its counters and
// histograms, and its gauges read from the producer at each scrape.
type collector struct{ m *Metrics }

// Describe implements prometheus.Collector.
func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, col := range c.m.collectors {
		col.Describe(ch)
	}
	for _, g := range c.m.gauges {
		ch <- g.desc
	}
}

// Collect implements prometheus.Collector: it reads the producer's Stats
// and ShardStats once for all the gauges.
func (c collector) Collect(ch chan<- prometheus.Metric) {
	for _, col := range c.m.collectors {
		col.Collect(ch)
	}
	st := c.m.state.Load()
	if st == nil {
		return
	}
	measure.Read(st.State, c.m.byShard, func(key, shard string, value float64) {
		for i := range c.m.gauges {
			g := &c.m.gauges[i]
			if g.key != key {
				continue
			}
			if g.byShard {
				ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, value, shard)
			} else {
				ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, value)
			}
			return
		}
	})
}

// Observe implements the engine's Observer: the producer's New calls it,
// and the gauges read s from then on.
func (m *Metrics) Observe(s engine.State) {
	m.state.Store(&state{s})
}

// UserRecordsAggregated implements Metrics.
func (m *Metrics) UserRecordsAggregated(shard string, userRecords int, buffered time.Duration) {
	m.perKinesisRecord.with(shard).Observe(float64(userRecords))
	m.buffering.with(shard).Observe(buffered.Seconds())
}

// KinesisRecordPut implements Metrics.
func (m *Metrics) KinesisRecordPut(shard string, userRecords, bytes, attempts int) {
	m.acknowledged.Add(float64(userRecords))
	m.kinesisRecordsPut.with(shard).Inc()
	m.bytesPut.with(shard).Add(float64(bytes))
	m.attempts.with(shard).Observe(float64(attempts))
}

// PutError implements Metrics.
func (m *Metrics) PutError(shard, code string) {
	if m.byShard {
		m.putErrors.WithLabelValues(code, shard).Inc()
		return
	}
	m.putErrors.WithLabelValues(code).Inc()
}

// Retry implements Metrics.
func (m *Metrics) Retry(shard string) {
	m.retries.with(shard).Inc()
}

// RateLimited implements Metrics.
func (m *Metrics) RateLimited(shard string) {
	m.rateLimited.with(shard).Inc()
}

// UserRecordsFailed implements Metrics.
func (m *Metrics) UserRecordsFailed(userRecords int, err error) {
	m.userRecords.WithLabelValues(measure.Reason(err)).Add(float64(userRecords))
}

// Request implements Metrics.
func (m *Metrics) Request(_ int, latency time.Duration, _ string) {
	m.requestDuration.with("").Observe(latency.Seconds())
}
