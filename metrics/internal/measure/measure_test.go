package measure

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/kplgo/producer/internal/engine"
)

// state is a State with fixed figures, counting its reads.
type state struct {
	stats          engine.Stats
	shards         []engine.ShardStats
	statsN, shardN int
}

func (s *state) Stats() engine.Stats             { s.statsN++; return s.stats }
func (s *state) ShardStats() []engine.ShardStats { s.shardN++; return s.shards }

func readGauges(s engine.State, byShard bool) map[string]float64 {
	out := map[string]float64{}
	Read(s, byShard, func(key, shard string, v float64) {
		k := key + "{" + shard + "}"
		if _, dup := out[k]; dup {
			panic("read twice: " + k)
		}
		out[k] = v
	})
	return out
}

func TestReadNothingBeforeStart(t *testing.T) {
	if got := readGauges(nil, true); len(got) != 0 {
		t.Errorf("nil State: %v", got)
	}
	s := &state{stats: engine.Stats{InFlight: 3}}
	if got := readGauges(s, false); len(got) != 0 {
		t.Errorf("not started: %v", got)
	}
}

func TestRead(t *testing.T) {
	s := &state{
		stats: engine.Stats{InFlight: 2, Outstanding: 40, QueuedRecords: 9, QueuedBytes: 900, HeldBack: 5},
		shards: []engine.ShardStats{
			{ShardID: "a", QueuedRecords: 5, QueuedBytes: 500, HeldBack: true, RateRecords: 1000, RateBytes: 1 << 20,
				RateReason: engine.RateThrottled, RateChanged: time.Now().Add(-5 * time.Second)},
			{ShardID: "b", QueuedRecords: 1, QueuedBytes: 100, RateRecords: 1500, RateBytes: 1.5 * (1 << 20),
				RateReason: engine.RateProbe, RateChanged: time.Now().Add(-2 * time.Second)},
			{ShardID: "", QueuedRecords: 3, QueuedBytes: 300}, // outside every shard: no rate
		},
	}
	want := map[string]float64{
		"calls_in_flight{}": 2, "outstanding{}": 40,
		"queued_records{}": 9, "queued_bytes{}": 900, "held_back{}": 5,
		"shard_rate_limit_records{a}": 1000, "shard_rate_limit_records{b}": 1500,
		"shard_rate_limit_bytes{a}": 1 << 20, "shard_rate_limit_bytes{b}": 1.5 * (1 << 20),
		"shard_rate_limit_reason{a}": float64(engine.RateThrottled), "shard_rate_limit_reason{b}": float64(engine.RateProbe),
	}
	// The ages are read against the clock: within a second of 5 and 2 s.
	read := func(s *state, byShard bool) map[string]float64 {
		got := readGauges(s, byShard)
		for k, age := range map[string]float64{"shard_rate_limit_age{a}": 5, "shard_rate_limit_age{b}": 2} {
			if v, ok := got[k]; !ok || v < age || v > age+1 {
				t.Errorf("%s = %v (%v), want about %v", k, v, ok, age)
			}
			delete(got, k)
		}
		return got
	}
	if got := read(s, false); !reflect.DeepEqual(got, want) {
		t.Errorf("totals:\n got %v\nwant %v", got, want)
	}
	if s.statsN != 1 || s.shardN != 1 {
		t.Errorf("%d Stats and %d ShardStats calls for one reading", s.statsN, s.shardN)
	}
	for _, k := range []string{"queued_records{}", "queued_bytes{}", "held_back{}"} {
		delete(want, k)
	}
	for k, v := range map[string]float64{
		"queued_records{a}": 5, "queued_bytes{a}": 500, "held_back{a}": 5,
		"queued_records{b}": 1, "queued_bytes{b}": 100, "held_back{b}": 0,
		"queued_records{}": 3, "queued_bytes{}": 300, "held_back{}": 0,
	} {
		want[k] = v
	}
	if got := read(s, true); !reflect.DeepEqual(got, want) {
		t.Errorf("by shard:\n got %v\nwant %v", got, want)
	}

	// Two entries with one id (a producer without a map whose records wait
	// in both of its stages) make one series.
	s.shards = []engine.ShardStats{{QueuedRecords: 2, QueuedBytes: 20, HeldBack: true}, {QueuedRecords: 1, QueuedBytes: 10}}
	got := readGauges(s, true)
	if got["queued_records{}"] != 3 || got["queued_bytes{}"] != 30 || got["held_back{}"] != 2 {
		t.Errorf("merged: %v", got)
	}
}

// Read labels by shard exactly the gauges ByShard says.
func TestReadAgreesWithTheList(t *testing.T) {
	s := &state{shards: []engine.ShardStats{{ShardID: "a", RateRecords: 1, RateBytes: 1}}}
	for _, byShard := range []bool{false, true} {
		labelled := map[string]bool{}
		Read(s, byShard, func(key, shard string, _ float64) { labelled[key] = shard != "" })
		n := 0
		for i := range engine.Measurements {
			m := &engine.Measurements[i]
			if m.Kind != engine.Gauge {
				continue
			}
			n++
			got, ok := labelled[m.Key]
			if !ok {
				t.Errorf("%s not read", m.Key)
			} else if got != ByShard(m, byShard) {
				t.Errorf("byShard %v: %s read with shard %v, ByShard says %v", byShard, m.Key, got, !got)
			}
		}
		if n != len(labelled) {
			t.Errorf("read %d gauges, the list has %d", len(labelled), n)
		}
	}
}

func TestKeysAreTheList(t *testing.T) {
	var list []string
	for _, m := range engine.Measurements {
		list = append(list, m.Key)
		if m.Kind == engine.Histogram && Buckets(m.Key) == nil {
			t.Errorf("no buckets for %s", m.Key)
		}
	}
	if !reflect.DeepEqual(list, Keys) {
		t.Errorf("Keys %v, the list %v", Keys, list)
	}
}

func TestReason(t *testing.T) {
	for err, want := range map[error]string{
		fmt.Errorf("%w after 3 attempts: %w", engine.ErrAttemptsExhausted, errors.New("x")): AttemptsExhausted,
		fmt.Errorf("%w before it could be sent", engine.ErrRecordExpired):                   Expired,
		fmt.Errorf("%w: x", engine.ErrThrottled):                                            Throttled,
		fmt.Errorf("%w: x", engine.ErrNotRetryable):                                         NotRetryable,
		fmt.Errorf("%w after 1 attempts", engine.ErrStopDeadline):                           StopDeadline,
		errors.New("something else"):                                                        Other,
	} {
		if got := Reason(err); got != want {
			t.Errorf("Reason(%v) = %s, want %s", err, got, want)
		}
	}
}
