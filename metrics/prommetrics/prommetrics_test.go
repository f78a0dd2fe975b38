package prommetrics_test

import (
	"errors"
	"fmt"
	"io"
	"log"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws/awserr"
	"github.com/kplgo/producer"
	"github.com/kplgo/producer/metrics/internal/fakekinesis"
	"github.com/kplgo/producer/metrics/prommetrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// newProducer returns a producer of the v1 door over client with metrics m:
// no aggregation (each user record is one Kinesis record, so that the
// counts do not depend on timing) and retries without delay.
func newProducer(client producer.PutRecordsAPI, m producer.Metrics, shards producer.GetShardsFunc) *producer.Producer {
	return producer.New(&producer.Config{
		StreamName: "orders", Client: client, Metrics: m, GetShards: shards,
		AggregateBatchCount: 1, RetryBackoffMin: time.Nanosecond, RetryBackoffMax: time.Nanosecond,
		Logger: producer.Standard(log.New(io.Discard, "", 0)),
	})
}

// put puts n records, "payload-000" to "payload-<n-1>", with the distinct
// keys "key-0" to "key-<n-1>".
func put(t *testing.T, p *producer.Producer, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if err := p.Put([]byte(fmt.Sprintf("payload-%03d", i)), fmt.Sprint("key-", i)); err != nil {
			t.Fatal(err)
		}
	}
}

// gather returns the samples of the families named, as "name{labels}" ->
// value (the sample count for a histogram).
func gather(t *testing.T, reg prometheus.Gatherer, names ...string) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]float64{}
	for _, f := range families {
		if !want[f.GetName()] {
			continue
		}
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			key := f.GetName() + "{" + strings.Join(labels, ",") + "}"
			switch f.GetType().String() {
			case "COUNTER":
				out[key] = m.GetCounter().GetValue()
			case "GAUGE":
				out[key] = m.GetGauge().GetValue()
			case "HISTOGRAM":
				out[key] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

// A known run: 100 records, each throttled once and then acknowledged.
// The counters, the deterministic histograms and the gauges after Stop read
// exactly, and equal the producer's Stats.
func TestCountsOfAKnownRun(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := prommetrics.New(reg, prommetrics.Options{Namespace: "kp", Stream: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	p := newProducer(&fakekinesis.Kinesis{ThrottleFirst: true}, m, nil)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	put(t, p, 100)
	p.Stop()

	const want = `
# HELP kp_user_records_total User records settled: acknowledged by Kinesis, or failed for good with a reason.
# TYPE kp_user_records_total counter
kp_user_records_total{outcome="acknowledged",stream="orders"} 100
# HELP kp_kinesis_records_put_total Kinesis records (aggregated or plain) Kinesis acknowledged.
# TYPE kp_kinesis_records_put_total counter
kp_kinesis_records_put_total{stream="orders"} 100
# HELP kp_kinesis_bytes_put_total Data bytes of the Kinesis records Kinesis acknowledged.
# TYPE kp_kinesis_bytes_put_total counter
kp_kinesis_bytes_put_total{stream="orders"} 1100
# HELP kp_put_errors_total Failed attempts of Kinesis records, by error code (ProvisionedThroughputExceededException is throttling; ClientError is a call without an answer).
# TYPE kp_put_errors_total counter
kp_put_errors_total{code="ProvisionedThroughputExceededException",stream="orders"} 100
# HELP kp_retries_total Kinesis records sent again after a failed attempt.
# TYPE kp_retries_total counter
kp_retries_total{stream="orders"} 100
# HELP kp_rate_limited_total Times a shard's rate limit held back its next Kinesis record (again at each look while it waits).
# TYPE kp_rate_limited_total counter
kp_rate_limited_total{stream="orders"} 0
# HELP kp_kinesis_record_attempts PutRecords attempts an acknowledged Kinesis record took.
# TYPE kp_kinesis_record_attempts histogram
kp_kinesis_record_attempts_bucket{stream="orders",le="1"} 0
kp_kinesis_record_attempts_bucket{stream="orders",le="2"} 100
kp_kinesis_record_attempts_bucket{stream="orders",le="3"} 100
kp_kinesis_record_attempts_bucket{stream="orders",le="5"} 100
kp_kinesis_record_attempts_bucket{stream="orders",le="8"} 100
kp_kinesis_record_attempts_bucket{stream="orders",le="13"} 100
kp_kinesis_record_attempts_bucket{stream="orders",le="+Inf"} 100
kp_kinesis_record_attempts_sum{stream="orders"} 200
kp_kinesis_record_attempts_count{stream="orders"} 100
# HELP kp_user_records_per_kinesis_record User records in one Kinesis record, at its first send.
# TYPE kp_user_records_per_kinesis_record histogram
kp_user_records_per_kinesis_record_bucket{stream="orders",le="1"} 100
kp_user_records_per_kinesis_record_bucket{stream="orders",le="2"} 100
kp_user_records_per_kinesis_record_bucket{stream="orders",le="4"} 100
kp_user_records_per_kinesis_record_bucket{stream="orders",le="8"} 100
kp_user_records_per_kinesis_record_bucket{stream="orders",le="16"} 100
kp_user_records_per_kinesis_record_bucket{stream="orders",le="32"} 100
kp_user_records_per_kinesis_record_bucket{stream="orders",le="64"} 100
kp_user_records_per_kinesis_record_bucket{stream="orders",le="128"} 100
kp_user_records_per_kinesis_record_bucket{stream="orders",le="256"} 100
kp_user_records_per_kinesis_record_bucket{stream="orders",le="512"} 100
kp_user_records_per_kinesis_record_bucket{stream="orders",le="1024"} 100
kp_user_records_per_kinesis_record_bucket{stream="orders",le="2048"} 100
kp_user_records_per_kinesis_record_bucket{stream="orders",le="+Inf"} 100
kp_user_records_per_kinesis_record_sum{stream="orders"} 100
kp_user_records_per_kinesis_record_count{stream="orders"} 100
# HELP kp_put_records_in_flight PutRecords calls under way.
# TYPE kp_put_records_in_flight gauge
kp_put_records_in_flight{stream="orders"} 0
# HELP kp_outstanding_user_records User records accepted by Put and not yet acknowledged or failed.
# TYPE kp_outstanding_user_records gauge
kp_outstanding_user_records{stream="orders"} 0
# HELP kp_queued_kinesis_records Kinesis records closed and waiting in the shards' queues.
# TYPE kp_queued_kinesis_records gauge
kp_queued_kinesis_records{stream="orders"} 0
# HELP kp_queued_bytes Bytes of the Kinesis records waiting in the shards' queues.
# TYPE kp_queued_bytes gauge
kp_queued_bytes{stream="orders"} 0
# HELP kp_held_back_kinesis_records Kinesis records waiting in the queues of shards whose rate limit holds them back now.
# TYPE kp_held_back_kinesis_records gauge
kp_held_back_kinesis_records{stream="orders"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"kp_user_records_total", "kp_kinesis_records_put_total", "kp_kinesis_bytes_put_total", "kp_put_errors_total",
		"kp_retries_total", "kp_rate_limited_total", "kp_kinesis_record_attempts", "kp_user_records_per_kinesis_record",
		"kp_put_records_in_flight", "kp_outstanding_user_records", "kp_queued_kinesis_records", "kp_queued_bytes",
		"kp_held_back_kinesis_records",
		// Without a shard map there is no rate limit: no series.
		"kp_shard_rate_limit_records_per_second", "kp_shard_rate_limit_bytes_per_second",
	); err != nil {
		t.Fatal(err)
	}

	// The same figures as Stats.
	st := p.Stats()
	got := gather(t, reg, "kp_user_records_total", "kp_kinesis_records_put_total", "kp_kinesis_bytes_put_total",
		"kp_put_errors_total", "kp_retries_total", "kp_rate_limited_total", "kp_put_records_seconds")
	for _, c := range []struct {
		series string
		stat   int64
	}{
		{`kp_user_records_total{outcome="acknowledged",stream="orders"}`, st.UserRecordsPut},
		{`kp_kinesis_records_put_total{stream="orders"}`, st.KinesisRecordsPut},
		{`kp_kinesis_bytes_put_total{stream="orders"}`, st.BytesPut},
		{`kp_put_errors_total{code="ProvisionedThroughputExceededException",stream="orders"}`, st.Throttled},
		{`kp_retries_total{stream="orders"}`, st.Retries},
		{`kp_rate_limited_total{stream="orders"}`, st.RateLimited},
		{`kp_put_records_seconds{stream="orders"}`, st.Requests}, // the histogram's count
	} {
		if got[c.series] != float64(c.stat) {
			t.Errorf("%s = %v, Stats says %d", c.series, got[c.series], c.stat)
		}
	}
	if st.UserRecordsPut != 100 || st.UserRecordsFailed != 0 {
		t.Errorf("Stats: %+v", st)
	}
}

// Records that fail for good are counted by reason, their attempts by code.
func TestFailuresByReason(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := prommetrics.New(reg, prommetrics.Options{Stream: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	p := newProducer(&fakekinesis.Kinesis{Err: awserr.New("ResourceNotFoundException", "no such stream", nil)}, m, nil)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		for range p.NotifyFailures() {
		}
	}()
	put(t, p, 10)
	p.Stop()
	const want = `
# HELP kinesis_producer_user_records_total User records settled: acknowledged by Kinesis, or failed for good with a reason.
# TYPE kinesis_producer_user_records_total counter
kinesis_producer_user_records_total{outcome="acknowledged",stream="orders"} 0
kinesis_producer_user_records_total{outcome="not_retryable",stream="orders"} 10
# HELP kinesis_producer_put_errors_total Failed attempts of Kinesis records, by error code (ProvisionedThroughputExceededException is throttling; ClientError is a call without an answer).
# TYPE kinesis_producer_put_errors_total counter
kinesis_producer_put_errors_total{code="ResourceNotFoundException",stream="orders"} 10
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"kinesis_producer_user_records_total", "kinesis_producer_put_errors_total"); err != nil {
		t.Fatal(err)
	}
	if st := p.Stats(); st.UserRecordsFailed != 10 {
		t.Errorf("Stats.UserRecordsFailed = %d, want 10", st.UserRecordsFailed)
	}
}

// The gauges are read when scraped: nothing before the producer starts, the
// call under way while it is, nothing left after Stop.
func TestGaugesReadWhenScraped(t *testing.T) {
	gauges := []string{"kinesis_producer_put_records_in_flight", "kinesis_producer_outstanding_user_records",
		"kinesis_producer_queued_kinesis_records", "kinesis_producer_queued_bytes", "kinesis_producer_held_back_kinesis_records",
		"kinesis_producer_shard_rate_limit_records_per_second", "kinesis_producer_shard_rate_limit_bytes_per_second"}
	reg := prometheus.NewRegistry()
	m, err := prommetrics.New(reg, prommetrics.Options{Stream: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	if got := gather(t, reg, gauges...); len(got) != 0 {
		t.Fatalf("gauges without a producer: %v", got)
	}
	k := &fakekinesis.Kinesis{Entered: make(chan struct{}, 1), Release: make(chan struct{})}
	p := newProducer(k, m, nil)
	if got := gather(t, reg, gauges...); len(got) != 0 {
		t.Fatalf("gauges before Start: %v", got)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	put(t, p, 1)
	p.Flush()
	<-k.Entered
	got := gather(t, reg, gauges...)
	if got[`kinesis_producer_put_records_in_flight{stream="orders"}`] != 1 ||
		got[`kinesis_producer_outstanding_user_records{stream="orders"}`] != 1 {
		t.Errorf("gauges during a call: %v", got)
	}
	close(k.Release)
	p.Stop()
	got = gather(t, reg, gauges...)
	want := map[string]float64{
		`kinesis_producer_put_records_in_flight{stream="orders"}`:     0,
		`kinesis_producer_outstanding_user_records{stream="orders"}`:  0,
		`kinesis_producer_queued_kinesis_records{stream="orders"}`:    0,
		`kinesis_producer_queued_bytes{stream="orders"}`:              0,
		`kinesis_producer_held_back_kinesis_records{stream="orders"}`: 0,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("gauges after Stop:\n got %v\nwant %v", got, want)
	}
}

// With ShardLabel, the shard's measurements are labelled by the shard
// Kinesis stored the records on, and every shard's rate limit is reported.
func TestShardLabel(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := prommetrics.New(reg, prommetrics.Options{Stream: "orders", ShardLabel: true})
	if err != nil {
		t.Fatal(err)
	}
	shards, _, err := producer.StaticGetShardsFunc(4)(nil)
	if err != nil {
		t.Fatal(err)
	}
	k := &fakekinesis.Kinesis{Shards: shards}
	p := producer.New(&producer.Config{ // aggregating: the counts per shard come from Kinesis's answers
		StreamName: "orders", Client: k, Metrics: m, GetShards: producer.StaticGetShardsFunc(4),
		Logger: producer.Standard(log.New(io.Discard, "", 0)),
	})
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	put(t, p, 100)
	p.Stop()

	st := p.Stats()
	stored := k.Stored()
	got := gather(t, reg, "kinesis_producer_kinesis_records_put_total", "kinesis_producer_kinesis_bytes_put_total",
		"kinesis_producer_queued_kinesis_records", "kinesis_producer_shard_rate_limit_records_per_second",
		"kinesis_producer_shard_rate_limit_bytes_per_second", "kinesis_producer_kinesis_record_attempts",
		"kinesis_producer_buffering_seconds", "kinesis_producer_shard_rate_limit_reason")
	sum, bytes := 0.0, 0.0
	for _, s := range shards {
		id := *s.ShardId
		series := func(name string) string {
			return fmt.Sprintf("kinesis_producer_%s{shard=%q,stream=\"orders\"}", name, id)
		}
		n := got[series("kinesis_records_put_total")]
		if int(n) != stored[id] {
			t.Errorf("%s: %v Kinesis records put, Kinesis stored %d", id, n, stored[id])
		}
		sum += n
		bytes += got[series("kinesis_bytes_put_total")]
		if v, ok := got[series("queued_kinesis_records")]; !ok || v != 0 {
			t.Errorf("%s: queued_kinesis_records %v (%v) after Stop", id, v, ok)
		}
		// Unthrottled, the rate limit stays where it starts: a shard's
		// capacity (under the ceiling of 150%).
		if v := got[series("shard_rate_limit_records_per_second")]; v != 1000 {
			t.Errorf("%s: rate limit %v records/s, want 1000", id, v)
		}
		if v := got[series("shard_rate_limit_bytes_per_second")]; v != 1<<20 {
			t.Errorf("%s: rate limit %v bytes/s, want 1 MiB", id, v)
		}
		if v, ok := got[series("shard_rate_limit_reason")]; !ok || v != float64(producer.RateInitial) {
			t.Errorf("%s: shard_rate_limit_reason %v (%v), want %d (initial)", id, v, ok, producer.RateInitial)
		}
		if _, ok := got[series("buffering_seconds")]; !ok && n > 0 {
			t.Errorf("%s: no buffering_seconds", id)
		}
	}
	if sum != float64(st.KinesisRecordsPut) || bytes != float64(st.BytesPut) || st.UserRecordsPut != 100 {
		t.Errorf("per shard: %v Kinesis records, %v bytes; Stats: %+v", sum, bytes, st)
	}
	// Not labelled by shard: the histogram of attempts.
	if got[`kinesis_producer_kinesis_record_attempts{stream="orders"}`] != float64(st.KinesisRecordsPut) {
		t.Errorf("kinesis_record_attempts: %v", got)
	}
	n := 0
	for series := range got {
		if strings.HasPrefix(series, "kinesis_producer_shard_rate_limit_") {
			n++
		}
	}
	if n != 12 {
		t.Errorf("%d rate-limit series, want 3 for each of 4 shards (records, bytes, reason)", n)
	}
}

func TestNew(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := prommetrics.New(reg, prommetrics.Options{}); err == nil {
		t.Error("New without a stream succeeded")
	}
	if _, err := prommetrics.New(nil, prommetrics.Options{Stream: "orders"}); err == nil {
		t.Error("New without a Registerer succeeded")
	}
	if _, err := prommetrics.New(reg, prommetrics.Options{Stream: "orders"}); err != nil {
		t.Fatal(err)
	}
	var are prometheus.AlreadyRegisteredError
	if _, err := prommetrics.New(reg, prommetrics.Options{Stream: "orders"}); !errors.As(err, &are) {
		t.Fatalf("registering the same stream twice: %v", err)
	}
	if _, err := prommetrics.New(reg, prommetrics.Options{Stream: "payments"}); err != nil {
		t.Fatalf("a second stream on the same registry: %v", err)
	}
	// Nothing was registered by the failed calls.
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), prommetrics.DefaultNamespace+"_") {
			t.Errorf("family %s", f.GetName())
		}
	}
}
