// Package otelmetrics reports a producer's measurements as OpenTelemetry
// metrics: set Config.Metrics (of package producer or package sdkv2) to the
// value New returns. It uses only the OpenTelemetry metric API
// (go.opentelemetry.io/otel/metric); the application chooses the SDK and
// the exporter through the Meter it passes.
//
// # Semantic conventions
//
// Two measurements follow the OpenTelemetry semantic conventions for
// messaging client metrics (status: development; names as of semantic
// conventions v1.39.0), with their names, units and attributes:
//
//   - messaging.client.sent.messages (counter, {message}): the user records
//     settled, once each, with messaging.operation.name "send": acknowledged
//     by Kinesis, or failed for good, then with error.type, the reason of the
//     failure (attempts_exhausted, expired, throttled, not_retryable,
//     stop_deadline, other);
//   - messaging.client.operation.duration (histogram, s): the duration of
//     each PutRecords call, with messaging.operation.name "PutRecords" and
//     messaging.operation.type "send", in the buckets the conventions
//     advise. It has no error.type: the producer does not tell whether a
//     call failed (the records of a failed call are counted by
//     kinesis.producer.put.errors).
//
// The conventions define no instrument for what the producer does between
// the application and Kinesis (aggregation, retries, rate limits, queues),
// so the other measurements have names of their own under
// kinesis.producer.*, following the conventions' naming rules (the unit in
// the unit, not in the name):
//
//   - counters: kinesis.producer.kinesis_records.put,
//     kinesis.producer.kinesis_records.size (bytes put),
//     kinesis.producer.put.errors (with error.type: the error code, such as
//     ProvisionedThroughputExceededException, or ClientError for a call
//     without an answer), kinesis.producer.retries,
//     kinesis.producer.rate_limited;
//   - histograms: kinesis.producer.buffering.duration,
//     kinesis.producer.kinesis_record.user_records,
//     kinesis.producer.kinesis_record.attempts;
//   - asynchronous gauges, read from the producer at each collection:
//     kinesis.producer.calls.in_flight,
//     kinesis.producer.user_records.outstanding,
//     kinesis.producer.kinesis_records.queued,
//     kinesis.producer.kinesis_records.queued.size,
//     kinesis.producer.kinesis_records.held_back, and each shard's current
//     rate limit, kinesis.producer.shard.rate_limit.records and
//     kinesis.producer.shard.rate_limit.size (only for shards with a rate
//     limit).
//
// # Attributes
//
// Every measurement carries messaging.system "aws_kinesis" and
// messaging.destination.name, Options.Stream. The conventions register no
// messaging.system value for Kinesis (they have aws_sqs and aws.sns, among
// others); "aws_kinesis" is this package's choice, after aws_sqs.
//
// With Options.ShardAttribute, the measurements of one shard (Kinesis
// records and bytes put, put errors, retries, rate-limit refusals, buffering
// time, and the queue gauges) also carry messaging.destination.partition.id:
// the shard's id. It is off by default, since a stream may have many shards,
// and resharding brings new ids. The two shard rate-limit gauges always
// carry it.
//
// The gauges report nothing until the producer has started (nor for a
// Metrics no producer was built with). After Stop they read what is left: 0
// in flight, 0 queued. A Metrics serves one producer: given to a second
// one, its gauges read the last producer built.
package otelmetrics

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kplgo/producer/internal/engine"
	"github.com/kplgo/producer/metrics/internal/measure"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// The attributes, as the semantic conventions name them.
const (
	// system is the value of messaging.system: not one the conventions
	// register.
	system = "aws_kinesis"

	keySystem      = "messaging.system"
	keyDestination = "messaging.destination.name"
	keyPartition   = "messaging.destination.partition.id"
	keyOperation   = "messaging.operation.name"
	keyOpType      = "messaging.operation.type"
	keyErrorType   = "error.type"
)

// Options configure New.
type Options struct {
	// Stream is the value of messaging.destination.name: usually the
	// stream's name. Required.
	Stream string
	// ShardAttribute sets messaging.destination.partition.id, the shard's
	// id, on the measurements of one shard. Default off.
	ShardAttribute bool
}

// Metrics implements the producer's Metrics with OpenTelemetry instruments.
type Metrics struct {
	byShard bool
	base    []attribute.KeyValue // messaging.system, messaging.destination.name
	plain   metric.MeasurementOption

	sent         metric.Int64Counter
	acknowledged metric.MeasurementOption
	failed       map[string]metric.MeasurementOption // by reason

	kinesisRecordsPut shardCounter
	bytesPut          shardCounter
	putErrors         shardCounter
	retries           shardCounter
	rateLimited       shardCounter
	buffering         floatHistogram
	perKinesisRecord  intHistogram
	attempts          intHistogram
	requestDuration   metric.Float64Histogram
	request           metric.MeasurementOption

	gauges map[string]gauge
	state  atomic.Pointer[state]

	shards sync.Map // shard id -> metric.MeasurementOption: base + partition id
	codes  sync.Map // code "\x00" shard -> metric.MeasurementOption
	// failedCalls: call error code -> metric.MeasurementOption
	failedCalls sync.Map
}

var (
	_ engine.Metrics  = (*Metrics)(nil)
	_ engine.Observer = (*Metrics)(nil)
)

// state holds the producer Observe was given.
type state struct{ engine.State }

// shardCounter is a counter and whether it carries the shard.
type shardCounter struct {
	metric.Int64Counter
	byShard bool
}

// floatHistogram and intHistogram are histograms and whether they carry the
// shard.
type floatHistogram struct {
	metric.Float64Histogram
	byShard bool
}

type intHistogram struct {
	metric.Int64Histogram
	byShard bool
}

// gauge is an asynchronous gauge: one of i (whole numbers) and f.
type gauge struct {
	i       metric.Int64ObservableGauge
	f       metric.Float64ObservableGauge
	byShard bool
}

// ctx is the context of every measurement: the Metrics calls carry none.
var ctx = context.Background()

// New creates the instruments of engine.Measurements with meter, and
// registers the one callback that reads the gauges.
func New(meter metric.Meter, opts Options) (*Metrics, error) {
	if meter == nil {
		return nil, errors.New("otelmetrics: nil Meter")
	}
	if opts.Stream == "" {
		return nil, errors.New("otelmetrics: Options.Stream is required")
	}
	m := &Metrics{
		byShard: opts.ShardAttribute,
		base:    []attribute.KeyValue{attribute.String(keySystem, system), attribute.String(keyDestination, opts.Stream)},
		failed:  make(map[string]metric.MeasurementOption, len(measure.Reasons)),
		gauges:  make(map[string]gauge),
	}
	m.plain = m.with()
	m.acknowledged = m.with(attribute.String(keyOperation, "send"))
	for _, r := range measure.Reasons {
		m.failed[r] = m.with(attribute.String(keyOperation, "send"), attribute.String(keyErrorType, r))
	}
	m.request = m.with(attribute.String(keyOperation, "PutRecords"), attribute.String(keyOpType, "send"))

	var errs []error
	var observables []metric.Observable
	seen := make(map[string]bool, len(engine.Measurements))
	for i := range engine.Measurements {
		ms := &engine.Measurements[i]
		if seen[ms.Key] {
			return nil, fmt.Errorf("otelmetrics: measurement %s listed twice", ms.Key)
		}
		seen[ms.Key] = true
		byShard := measure.ByShard(ms, opts.ShardAttribute)
		desc, unit := metric.WithDescription(ms.Description), metric.WithUnit(ms.Unit)
		var err error
		switch ms.Kind {
		case engine.Counter:
			var c metric.Int64Counter
			c, err = meter.Int64Counter(ms.OTel, desc, unit)
			sc := shardCounter{c, byShard}
			switch ms.Key {
			case engine.MUserRecordsSent:
				m.sent = c
			case engine.MKinesisRecordsPut:
				m.kinesisRecordsPut = sc
			case engine.MBytesPut:
				m.bytesPut = sc
			case engine.MPutErrors:
				m.putErrors = sc
			case engine.MRetries:
				m.retries = sc
			case engine.MRateLimited:
				m.rateLimited = sc
			default:
				return nil, fmt.Errorf("otelmetrics: unknown counter %s", ms.Key)
			}
		case engine.Histogram:
			buckets := metric.WithExplicitBucketBoundaries(measure.Buckets(ms.Key)...)
			switch ms.Key {
			case engine.MBuffering:
				m.buffering.byShard = byShard
				m.buffering.Float64Histogram, err = meter.Float64Histogram(ms.OTel, desc, unit, buckets)
			case engine.MRequestDuration:
				m.requestDuration, err = meter.Float64Histogram(ms.OTel, desc, unit, buckets)
			case engine.MUserRecordsPerKR:
				m.perKinesisRecord.byShard = byShard
				m.perKinesisRecord.Int64Histogram, err = meter.Int64Histogram(ms.OTel, desc, unit, buckets)
			case engine.MAttempts:
				m.attempts.byShard = byShard
				m.attempts.Int64Histogram, err = meter.Int64Histogram(ms.OTel, desc, unit, buckets)
			default:
				return nil, fmt.Errorf("otelmetrics: unknown histogram %s", ms.Key)
			}
		case engine.Gauge:
			g := gauge{byShard: byShard}
			switch ms.Key {
			case engine.MShardRateLimitRecs, engine.MShardRateLimitBytes, engine.MShardRateReason, engine.MShardRateAge:
				g.f, err = meter.Float64ObservableGauge(ms.OTel, desc, unit)
				observables = append(observables, g.f)
			case engine.MCallsInFlight, engine.MOutstanding, engine.MQueuedRecords, engine.MQueuedBytes, engine.MHeldBack:
				g.i, err = meter.Int64ObservableGauge(ms.OTel, desc, unit)
				observables = append(observables, g.i)
			default:
				return nil, fmt.Errorf("otelmetrics: unknown gauge %s", ms.Key)
			}
			m.gauges[ms.Key] = g
		default:
			return nil, fmt.Errorf("otelmetrics: measurement %s of unknown kind %q", ms.Key, ms.Kind)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("otelmetrics: %s: %w", ms.OTel, err))
		}
	}
	for _, key := range measure.Keys {
		if !seen[key] {
			return nil, fmt.Errorf("otelmetrics: engine.Measurements lacks %s", key)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if _, err := meter.RegisterCallback(m.observe, observables...); err != nil {
		return nil, fmt.Errorf("otelmetrics: registering the gauges' callback: %w", err)
	}
	return m, nil
}

// with returns the option of the attributes base plus kv.
func (m *Metrics) with(kv ...attribute.KeyValue) metric.MeasurementOption {
	all := make([]attribute.KeyValue, 0, len(m.base)+len(kv))
	return metric.WithAttributeSet(attribute.NewSet(append(append(all, m.base...), kv...)...))
}

// shard returns the option of the base attributes, plus the shard's id when
// byShard is set.
func (m *Metrics) shard(id string, byShard bool) metric.MeasurementOption {
	if !byShard {
		return m.plain
	}
	if o, ok := m.shards.Load(id); ok {
		return o.(metric.MeasurementOption)
	}
	o, _ := m.shards.LoadOrStore(id, m.with(attribute.String(keyPartition, id)))
	return o.(metric.MeasurementOption)
}

// observe is the callback of the gauges: it reads the producer's Stats and
// ShardStats once for all of them.
func (m *Metrics) observe(_ context.Context, o metric.Observer) error {
	st := m.state.Load()
	if st == nil {
		return nil
	}
	measure.Read(st.State, m.byShard, func(key, shard string, value float64) {
		g, ok := m.gauges[key]
		switch {
		case !ok:
		case g.f != nil:
			o.ObserveFloat64(g.f, value, m.shard(shard, g.byShard))
		default:
			o.ObserveInt64(g.i, int64(value), m.shard(shard, g.byShard))
		}
	})
	return nil
}

// Observe implements the engine's Observer: the producer's New calls it,
// and the gauges read s from then on.
func (m *Metrics) Observe(s engine.State) {
	m.state.Store(&state{s})
}

// UserRecordsAggregated implements Metrics.
func (m *Metrics) UserRecordsAggregated(shard string, userRecords int, buffered time.Duration) {
	m.perKinesisRecord.Record(ctx, int64(userRecords), m.shard(shard, m.perKinesisRecord.byShard))
	m.buffering.Record(ctx, buffered.Seconds(), m.shard(shard, m.buffering.byShard))
}

// KinesisRecordPut implements Metrics.
func (m *Metrics) KinesisRecordPut(shard string, userRecords, bytes, attempts int) {
	m.sent.Add(ctx, int64(userRecords), m.acknowledged)
	m.kinesisRecordsPut.Add(ctx, 1, m.shard(shard, m.kinesisRecordsPut.byShard))
	m.bytesPut.Add(ctx, int64(bytes), m.shard(shard, m.bytesPut.byShard))
	m.attempts.Record(ctx, int64(attempts), m.shard(shard, m.attempts.byShard))
}

// PutError implements Metrics.
func (m *Metrics) PutError(shard, code string) {
	if !m.putErrors.byShard {
		shard = ""
	}
	key := code + "\x00" + shard
	o, ok := m.codes.Load(key)
	if !ok {
		kv := []attribute.KeyValue{attribute.String(keyErrorType, code)}
		if m.putErrors.byShard {
			kv = append(kv, attribute.String(keyPartition, shard))
		}
		o, _ = m.codes.LoadOrStore(key, m.with(kv...))
	}
	m.putErrors.Add(ctx, 1, o.(metric.MeasurementOption))
}

// Retry implements Metrics.
func (m *Metrics) Retry(shard string) {
	m.retries.Add(ctx, 1, m.shard(shard, m.retries.byShard))
}

// RateLimited implements Metrics.
func (m *Metrics) RateLimited(shard string) {
	m.rateLimited.Add(ctx, 1, m.shard(shard, m.rateLimited.byShard))
}

// UserRecordsFailed implements Metrics.
func (m *Metrics) UserRecordsFailed(userRecords int, err error) {
	m.sent.Add(ctx, int64(userRecords), m.failed[measure.Reason(err)])
}

// Request implements Metrics.
func (m *Metrics) Request(_ int, latency time.Duration, code string) {
	if code == "" {
		m.requestDuration.Record(ctx, latency.Seconds(), m.request)
		return
	}
	// A failed call carries error.type, as the conventions require.
	o, ok := m.failedCalls.Load(code)
	if !ok {
		o, _ = m.failedCalls.LoadOrStore(code, m.with(attribute.String(keyOperation, "PutRecords"),
			attribute.String(keyOpType, "send"), attribute.String(keyErrorType, code)))
	}
	m.requestDuration.Record(ctx, latency.Seconds(), o.(metric.MeasurementOption))
}
