package otelmetrics_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws/awserr"
	"github.com/kplgo/producer"
	"github.com/kplgo/producer/metrics/internal/fakekinesis"
	"github.com/kplgo/producer/metrics/otelmetrics"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	semconv "go.opentelemetry.io/otel/semconv/v1.39.0"
	"go.opentelemetry.io/otel/semconv/v1.39.0/messagingconv"
)

// The attributes every measurement carries, as the semantic conventions
// name them.
var (
	system      = semconv.MessagingSystemKey.String("aws_kinesis")
	destination = semconv.MessagingDestinationName("orders")
)

// attrs returns the encoding of the attribute set of system, destination
// and kv, as the samples are keyed.
func attrs(kv ...attribute.KeyValue) string {
	set := attribute.NewSet(append([]attribute.KeyValue{system, destination}, kv...)...)
	return set.Encoded(attribute.DefaultEncoder())
}

// sample is one data point: its value (a histogram's count), and, for a
// histogram, its sum, bounds and bucket counts.
type sample struct {
	value   float64
	sum     float64
	bounds  []float64
	buckets []uint64
}

// collected is what one Collect read: instrument name -> attribute set
// (encoded) -> sample, and each instrument's unit.
type collected struct {
	points map[string]map[string]sample
	units  map[string]string
}

func collect(t *testing.T, r *sdkmetric.ManualReader) collected {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	c := collected{points: map[string]map[string]sample{}, units: map[string]string{}}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			c.units[m.Name] = m.Unit
			pts := map[string]sample{}
			enc := func(s attribute.Set) string { return s.Encoded(attribute.DefaultEncoder()) }
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					pts[enc(p.Attributes)] = sample{value: float64(p.Value)}
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					pts[enc(p.Attributes)] = sample{value: float64(p.Value)}
				}
			case metricdata.Gauge[float64]:
				for _, p := range d.DataPoints {
					pts[enc(p.Attributes)] = sample{value: p.Value}
				}
			case metricdata.Histogram[int64]:
				for _, p := range d.DataPoints {
					pts[enc(p.Attributes)] = sample{value: float64(p.Count), sum: float64(p.Sum), bounds: p.Bounds, buckets: p.BucketCounts}
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					pts[enc(p.Attributes)] = sample{value: float64(p.Count), sum: p.Sum, bounds: p.Bounds, buckets: p.BucketCounts}
				}
			default:
				t.Fatalf("%s: unexpected data %T", m.Name, m.Data)
			}
			if len(pts) > 0 {
				c.points[m.Name] = pts
			}
		}
	}
	return c
}

// values returns the values of instrument name by attribute set.
func (c collected) values(name string) map[string]float64 {
	out := map[string]float64{}
	for a, s := range c.points[name] {
		out[a] = s.value
	}
	return out
}

// check compares the values of instrument name with want, exactly.
func (c collected) check(t *testing.T, name string, want map[string]float64) {
	t.Helper()
	if got := c.values(name); !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %v\nwant %v", name, got, want)
	}
}

// setup returns a manual reader and the Metrics of a meter it reads.
func setup(t *testing.T, opts otelmetrics.Options) (*sdkmetric.ManualReader, *otelmetrics.Metrics) {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = provider.Shutdown(context.Background()) })
	m, err := otelmetrics.New(provider.Meter("github.com/kplgo/producer"), opts)
	if err != nil {
		t.Fatal(err)
	}
	return reader, m
}

// newProducer returns a producer of the v1 door over client with metrics m:
// no aggregation (each user record is one Kinesis record, so that the
// counts do not depend on timing) and retries without delay.
func newProducer(client producer.PutRecordsAPI, m producer.Metrics) *producer.Producer {
	return producer.New(&producer.Config{
		StreamName: "orders", Client: client, Metrics: m,
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

var gaugeNames = []string{
	"kinesis.producer.calls.in_flight", "kinesis.producer.user_records.outstanding",
	"kinesis.producer.kinesis_records.queued", "kinesis.producer.kinesis_records.queued.size",
	"kinesis.producer.kinesis_records.held_back",
	"kinesis.producer.shard.rate_limit.records", "kinesis.producer.shard.rate_limit.size",
}

// A known run: 100 records, each throttled once and then acknowledged.
func TestValuesOfAKnownRun(t *testing.T) {
	reader, m := setup(t, otelmetrics.Options{Stream: "orders"})
	p := newProducer(&fakekinesis.Kinesis{ThrottleFirst: true}, m)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	put(t, p, 100)
	p.Stop()
	st := p.Stats()
	c := collect(t, reader)

	sent := messagingconv.ClientSentMessages{}
	c.check(t, sent.Name(), map[string]float64{attrs(semconv.MessagingOperationName("send")): 100})
	if c.units[sent.Name()] != sent.Unit() {
		t.Errorf("%s: unit %q, want %q", sent.Name(), c.units[sent.Name()], sent.Unit())
	}
	throttled := attrs(semconv.ErrorTypeKey.String("ProvisionedThroughputExceededException"))
	c.check(t, "kinesis.producer.put.errors", map[string]float64{throttled: 100})
	c.check(t, "kinesis.producer.retries", map[string]float64{attrs(): 100})
	c.check(t, "kinesis.producer.kinesis_records.put", map[string]float64{attrs(): 100})
	c.check(t, "kinesis.producer.kinesis_records.size", map[string]float64{attrs(): 1100})
	c.check(t, "kinesis.producer.rate_limited", map[string]float64{}) // never called: no data point
	c.check(t, "kinesis.producer.kinesis_record.user_records", map[string]float64{attrs(): 100})
	c.check(t, "kinesis.producer.buffering.duration", map[string]float64{attrs(): 100})

	// Each record took 2 attempts.
	a := c.points["kinesis.producer.kinesis_record.attempts"][attrs()]
	if a.value != 100 || a.sum != 200 || !reflect.DeepEqual(a.bounds, []float64{1, 2, 3, 5, 8, 13}) ||
		!reflect.DeepEqual(a.buckets, []uint64{0, 100, 0, 0, 0, 0, 0}) {
		t.Errorf("attempts: %+v", a)
	}

	duration := messagingconv.ClientOperationDuration{}
	call := attrs(semconv.MessagingOperationName("PutRecords"), semconv.MessagingOperationTypeSend)
	c.check(t, duration.Name(), map[string]float64{call: float64(st.Requests)})
	if d := c.points[duration.Name()][call]; !reflect.DeepEqual(d.bounds,
		[]float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}) {
		t.Errorf("%s: bounds %v", duration.Name(), d.bounds)
	}
	if c.units[duration.Name()] != duration.Unit() {
		t.Errorf("%s: unit %q", duration.Name(), c.units[duration.Name()])
	}

	// The gauges after Stop: nothing left; no rate limit without a map.
	for _, name := range gaugeNames[:5] {
		c.check(t, name, map[string]float64{attrs(): 0})
	}
	for _, name := range gaugeNames[5:] {
		c.check(t, name, map[string]float64{})
	}

	// The same figures as Stats.
	for _, x := range []struct {
		name, attrs string
		stat        int64
	}{
		{sent.Name(), attrs(semconv.MessagingOperationName("send")), st.UserRecordsPut},
		{"kinesis.producer.put.errors", throttled, st.Throttled},
		{"kinesis.producer.retries", attrs(), st.Retries},
		{"kinesis.producer.kinesis_records.put", attrs(), st.KinesisRecordsPut},
		{"kinesis.producer.kinesis_records.size", attrs(), st.BytesPut},
	} {
		if got := c.values(x.name)[x.attrs]; got != float64(x.stat) {
			t.Errorf("%s = %v, Stats says %d", x.name, got, x.stat)
		}
	}
}

// Records that fail for good are counted with their reason as error.type,
// their attempts with the error code.
func TestFailuresByReason(t *testing.T) {
	reader, m := setup(t, otelmetrics.Options{Stream: "orders"})
	p := newProducer(&fakekinesis.Kinesis{Err: awserr.New("ResourceNotFoundException", "no such stream", nil)}, m)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		for range p.NotifyFailures() {
		}
	}()
	put(t, p, 10)
	p.Stop()
	c := collect(t, reader)
	c.check(t, "messaging.client.sent.messages", map[string]float64{
		attrs(semconv.MessagingOperationName("send"), semconv.ErrorTypeKey.String("not_retryable")): 10,
	})
	c.check(t, "kinesis.producer.put.errors", map[string]float64{attrs(semconv.ErrorTypeKey.String("ResourceNotFoundException")): 10})
	// Every call failed as a whole: its duration carries error.type.
	failed := attrs(semconv.MessagingOperationName("PutRecords"), semconv.MessagingOperationTypeSend,
		semconv.ErrorTypeKey.String("ResourceNotFoundException"))
	durations := c.values("messaging.client.operation.duration")
	if len(durations) != 1 || durations[failed] != float64(p.Stats().Requests) {
		t.Errorf("operation.duration: %v, want %d calls with %s", durations, p.Stats().Requests, failed)
	}
	if st := p.Stats(); st.UserRecordsFailed != 10 {
		t.Errorf("Stats.UserRecordsFailed = %d, want 10", st.UserRecordsFailed)
	}
}

// The gauges are read at collection: nothing before the producer starts,
// the call under way while it is, nothing left after Stop.
func TestGaugesReadWhenCollected(t *testing.T) {
	reader, m := setup(t, otelmetrics.Options{Stream: "orders"})
	noGauges := func(when string) {
		c := collect(t, reader)
		for _, name := range gaugeNames {
			if v := c.values(name); len(v) != 0 {
				t.Errorf("%s %s: %v", name, when, v)
			}
		}
	}
	noGauges("without a producer")
	k := &fakekinesis.Kinesis{Entered: make(chan struct{}, 1), Release: make(chan struct{})}
	p := newProducer(k, m)
	noGauges("before Start")
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	put(t, p, 1)
	p.Flush()
	<-k.Entered
	c := collect(t, reader)
	c.check(t, "kinesis.producer.calls.in_flight", map[string]float64{attrs(): 1})
	c.check(t, "kinesis.producer.user_records.outstanding", map[string]float64{attrs(): 1})
	close(k.Release)
	p.Stop()
	c = collect(t, reader)
	c.check(t, "kinesis.producer.calls.in_flight", map[string]float64{attrs(): 0})
	c.check(t, "kinesis.producer.user_records.outstanding", map[string]float64{attrs(): 0})
}

// With a shard map, the shard rate-limit gauges always carry the shard's
// id; the other measurements of a shard carry it with ShardAttribute.
func TestShardAttribute(t *testing.T) {
	for _, byShard := range []bool{false, true} {
		t.Run(fmt.Sprint("ShardAttribute=", byShard), func(t *testing.T) {
			reader, m := setup(t, otelmetrics.Options{Stream: "orders", ShardAttribute: byShard})
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
			c := collect(t, reader)

			wantPut, wantRecs, wantBytes, wantQueued := map[string]float64{}, map[string]float64{}, map[string]float64{}, map[string]float64{}
			for _, s := range shards {
				id := *s.ShardId
				shard := attrs(semconv.MessagingDestinationPartitionID(id))
				wantRecs[shard] = 1000 // a shard's capacity, where the rate starts
				wantBytes[shard] = 1 << 20
				if byShard {
					if n := k.Stored()[id]; n > 0 {
						wantPut[shard] = float64(n)
					}
					wantQueued[shard] = 0
				}
			}
			if !byShard {
				wantPut[attrs()] = float64(st.KinesisRecordsPut)
				wantQueued[attrs()] = 0
			}
			c.check(t, "kinesis.producer.kinesis_records.put", wantPut)
			c.check(t, "kinesis.producer.kinesis_records.queued", wantQueued)
			c.check(t, "kinesis.producer.shard.rate_limit.records", wantRecs)
			c.check(t, "kinesis.producer.shard.rate_limit.size", wantBytes)
			sum := 0.0
			for _, v := range c.values("kinesis.producer.kinesis_records.put") {
				sum += v
			}
			if sum != float64(st.KinesisRecordsPut) || st.UserRecordsPut != 100 {
				t.Errorf("%v Kinesis records put; Stats: %+v", sum, st)
			}
			// Never by shard: the settled user records and the calls.
			c.check(t, "messaging.client.sent.messages", map[string]float64{attrs(semconv.MessagingOperationName("send")): 100})
			for a := range c.values("messaging.client.operation.duration") {
				if strings.Contains(a, "partition") {
					t.Errorf("operation.duration with %s", a)
				}
			}
		})
	}
}

func TestNew(t *testing.T) {
	if _, err := otelmetrics.New(nil, otelmetrics.Options{Stream: "orders"}); err == nil {
		t.Error("New without a Meter succeeded")
	}
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(context.Background())
	if _, err := otelmetrics.New(provider.Meter("x"), otelmetrics.Options{}); err == nil {
		t.Error("New without a stream succeeded")
	}
	// Every instrument, with its unit.
	m, err := otelmetrics.New(provider.Meter("x"), otelmetrics.Options{Stream: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	p := newProducer(&fakekinesis.Kinesis{}, m)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	p.Stop()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, sm := range rm.ScopeMetrics {
		for _, x := range sm.Metrics {
			names = append(names, x.Name+" "+x.Unit)
		}
	}
	sort.Strings(names)
	want := []string{ // the instruments with data: the gauges, and the histograms and counters used
		"kinesis.producer.calls.in_flight {call}",
		"kinesis.producer.kinesis_records.held_back {record}",
		"kinesis.producer.kinesis_records.queued {record}",
		"kinesis.producer.kinesis_records.queued.size By",
		"kinesis.producer.user_records.outstanding {message}",
	}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("instruments:\n got %q\nwant %q", names, want)
	}
}
