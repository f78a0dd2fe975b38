// Package prometheus exposes a producer's metrics to Prometheus: set
// producer.Config.Metrics to the value New returns.
package prometheus

import (
	"errors"
	"time"

	"github.com/kplgo/producer/internal/engine"
	prom "github.com/prometheus/client_golang/prometheus"
)

// Metrics implements producer.Metrics with Prometheus collectors.
type Metrics struct {
	userRecordsPut    prom.Counter
	kinesisRecordsPut prom.Counter
	bytesPut          prom.Counter
	attempts          prom.Histogram
	putErrors         *prom.CounterVec
	userFailed        *prom.CounterVec
	buffered          prom.Histogram
	perKinesisRecord  prom.Histogram
	requestLatency    prom.Histogram
	inFlight          prom.Gauge
}

// New creates the collectors under namespace (for example "kinesis_producer"),
// labelled with the stream name, and registers them with reg (use
// prometheus.DefaultRegisterer for the global registry). It returns the
// registration error of a duplicate, such as a second producer for the same
// stream on the same registry.
func New(reg prom.Registerer, namespace, stream string) (*Metrics, error) {
	labels := prom.Labels{"stream": stream}
	counter := func(name, help string) prom.Counter {
		return prom.NewCounter(prom.CounterOpts{Namespace: namespace, Name: name, Help: help, ConstLabels: labels})
	}
	histogram := func(name, help string, buckets []float64) prom.Histogram {
		return prom.NewHistogram(prom.HistogramOpts{Namespace: namespace, Name: name, Help: help, ConstLabels: labels, Buckets: buckets})
	}
	m := &Metrics{
		userRecordsPut:    counter("user_records_put_total", "User records Kinesis acknowledged."),
		kinesisRecordsPut: counter("kinesis_records_put_total", "Kinesis records (aggregated or plain) Kinesis acknowledged."),
		bytesPut:          counter("kinesis_bytes_put_total", "Data bytes of the acknowledged Kinesis records."),
		attempts: histogram("kinesis_record_attempts", "PutRecords attempts an acknowledged Kinesis record took.",
			[]float64{1, 2, 3, 5, 8, 13}),
		putErrors: prom.NewCounterVec(prom.CounterOpts{Namespace: namespace, Name: "put_errors_total",
			Help: "Failed attempts of Kinesis records, by error code.", ConstLabels: labels}, []string{"code"}),
		userFailed: prom.NewCounterVec(prom.CounterOpts{Namespace: namespace, Name: "user_records_failed_total",
			Help: "User records that failed for good, by reason.", ConstLabels: labels}, []string{"reason"}),
		buffered: histogram("buffering_seconds", "Time the oldest user record of a Kinesis record waited buffered.",
			prom.ExponentialBuckets(0.001, 2, 14)),
		perKinesisRecord: histogram("user_records_per_kinesis_record", "User records in one Kinesis record.",
			prom.ExponentialBuckets(1, 2, 12)),
		requestLatency: histogram("put_records_seconds", "Duration of PutRecords calls.",
			prom.ExponentialBuckets(0.005, 2, 12)),
		inFlight: prom.NewGauge(prom.GaugeOpts{Namespace: namespace, Name: "put_records_in_flight",
			Help: "PutRecords calls under way when the last one started.", ConstLabels: labels}),
	}
	for _, c := range []prom.Collector{m.userRecordsPut, m.kinesisRecordsPut, m.bytesPut, m.attempts, m.putErrors,
		m.userFailed, m.buffered, m.perKinesisRecord, m.requestLatency, m.inFlight} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// UserRecordsAggregated implements producer.Metrics.
func (m *Metrics) UserRecordsAggregated(userRecords int, buffered time.Duration) {
	m.perKinesisRecord.Observe(float64(userRecords))
	m.buffered.Observe(buffered.Seconds())
}

// KinesisRecordPut implements producer.Metrics.
func (m *Metrics) KinesisRecordPut(userRecords, bytes, attempts int) {
	m.userRecordsPut.Add(float64(userRecords))
	m.kinesisRecordsPut.Inc()
	m.bytesPut.Add(float64(bytes))
	m.attempts.Observe(float64(attempts))
}

// PutError implements producer.Metrics.
func (m *Metrics) PutError(code string, kinesisRecords int) {
	m.putErrors.WithLabelValues(code).Add(float64(kinesisRecords))
}

// UserRecordsFailed implements producer.Metrics.
func (m *Metrics) UserRecordsFailed(userRecords int, err error) {
	m.userFailed.WithLabelValues(reason(err)).Add(float64(userRecords))
}

// Request implements producer.Metrics.
func (m *Metrics) Request(_ int, latency time.Duration, inFlight int) {
	m.requestLatency.Observe(latency.Seconds())
	m.inFlight.Set(float64(inFlight))
}

// reason is a short, bounded label for a failure.
func reason(err error) string {
	switch {
	case errors.Is(err, engine.ErrAttemptsExhausted):
		return "attempts_exhausted"
	case errors.Is(err, engine.ErrRecordExpired):
		return "expired"
	case errors.Is(err, engine.ErrThrottled):
		return "throttled"
	case errors.Is(err, engine.ErrNotRetryable):
		return "not_retryable"
	case errors.Is(err, engine.ErrStopDeadline):
		return "stop_deadline"
	}
	return "other"
}

var _ engine.Metrics = (*Metrics)(nil)

// UserRecordsPutCounter returns the counter of acknowledged user records.
func (m *Metrics) UserRecordsPutCounter() prom.Counter { return m.userRecordsPut }
