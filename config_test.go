package producer

import (
	"context"
	"errors"
	"math"
	"math/big"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/service/kinesis"
	"github.com/kplgo/producer/internal/engine"
)

// maxUint32 is a variable so that the tests compile where int has 32 bits.
var maxUint32 int64 = math.MaxUint32

// withDefaults is the engine's Config for c with its defaults in place.
func withDefaults(c *Config) (engine.Config, error) {
	return c.engineConfig().WithDefaults()
}

func TestConfigDefaults(t *testing.T) {
	c := &fakeClient{}
	in := &Config{StreamName: "s", Client: c}
	got, err := withDefaults(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		name      string
		got, want any
	}{
		{"BacklogCount", got.BacklogCount, 500},
		{"BatchCount", got.BatchCount, 500},
		{"BatchSize", got.BatchSize, 5 << 20},
		{"AggregateBatchCount", uint64(got.AggregateBatchCount), uint64(math.MaxUint32)},
		{"AggregateBatchSize", got.AggregateBatchSize, 50 * 1024},
		{"MaxConnections", got.MaxConnections, 24},
		{"FlushInterval", got.FlushInterval, 5 * time.Second},
		{"ShardRefreshInterval", got.ShardRefreshInterval, time.Minute},
		{"MaxRecordSize", got.MaxRecordSize, 1 << 20},
		{"MaxAttempts", got.MaxAttempts, 0},
		{"RecordTTL", got.RecordTTL, 30 * time.Second},
		{"RetryBackoffMin", got.RetryBackoffMin, 100 * time.Millisecond},
		{"RetryBackoffMax", got.RetryBackoffMax, 5 * time.Second},
		{"RequestTimeout", got.RequestTimeout, 30 * time.Second},
		{"StreamName", got.StreamName, "s"},
		{"Verbose", got.Verbose, false},
	} {
		if f.got != f.want {
			t.Errorf("default %s = %v, want %v", f.name, f.got, f.want)
		}
	}
	if cl, ok := got.Client.(*client); !ok || cl.api != PutRecordsAPI(c) {
		t.Error("Client not kept")
	}
	if got.ListShards != nil {
		t.Error("a shard listing set by default")
	}
	if l, ok := got.Logger.(*engine.StdLogger); !ok || l.Logger == nil {
		t.Errorf("default Logger = %T, want the standard library logger", got.Logger)
	}
	// The caller's Config is left alone.
	if in.BacklogCount != 0 || in.Logger != nil || in.FlushInterval != 0 {
		t.Errorf("withDefaults changed the caller's Config: %+v", in)
	}
}

func TestConfigKeepsSetValues(t *testing.T) {
	l := quietLogger()
	gs := StaticGetShardsFunc(2)
	in := Config{
		StreamName: "s", Client: &fakeClient{}, BacklogCount: 7, BatchCount: 9, BatchSize: 3000,
		AggregateBatchCount: 11, AggregateBatchSize: 1000, MaxConnections: 13, FlushInterval: time.Millisecond,
		Logger: l, Verbose: true, GetShards: gs, ShardRefreshInterval: -1, MaxRecordSize: 2000,
		MaxAttempts: -1, RecordTTL: time.Second, RetryBackoffMin: time.Nanosecond, RetryBackoffMax: time.Nanosecond,
		RequestTimeout: time.Hour,
	}
	got, err := withDefaults(&in)
	if err != nil {
		t.Fatal(err)
	}
	if got.BacklogCount != 7 || got.BatchCount != 9 || got.BatchSize != 3000 || got.AggregateBatchCount != 11 ||
		got.AggregateBatchSize != 1000 || got.MaxConnections != 13 || got.FlushInterval != time.Millisecond ||
		got.Logger != l || !got.Verbose || got.ListShards == nil || got.ShardRefreshInterval != -1 ||
		got.MaxRecordSize != 2000 || got.MaxAttempts != -1 || got.RecordTTL != time.Second ||
		got.RetryBackoffMin != time.Nanosecond || got.RetryBackoffMax != time.Nanosecond || got.RequestTimeout != time.Hour {
		t.Errorf("set values changed: %+v", got)
	}
}

func TestConfigGoodEdges(t *testing.T) {
	for name, mod := range map[string]func(*Config){
		"BatchCount 1":          func(c *Config) { c.BatchCount = 1 },
		"BatchCount 500":        func(c *Config) { c.BatchCount = 500 },
		"MaxConnections 1":      func(c *Config) { c.MaxConnections = 1 },
		"MaxConnections 256":    func(c *Config) { c.MaxConnections = 256 },
		"AggregateBatchCount 1": func(c *Config) { c.AggregateBatchCount = 1 },
		"AggregateBatchCount 2^32-1": func(c *Config) {
			if strconv.IntSize == 64 {
				c.AggregateBatchCount = int(maxUint32)
			}
		},
		"AggregateBatchSize 1":           func(c *Config) { c.AggregateBatchSize = 1 },
		"AggregateBatchSize = record":    func(c *Config) { c.AggregateBatchSize = c.MaxRecordSize },
		"MaxRecordSize 10 MiB":           func(c *Config) { c.MaxRecordSize, c.BatchSize = MaxRecordSizeLimit, MaxBatchSizeLimit },
		"BatchSize = MaxRecordSize":      func(c *Config) { c.BatchSize = DefaultMaxRecordSize },
		"BatchSize 10 MiB":               func(c *Config) { c.BatchSize = MaxBatchSizeLimit },
		"StreamName 128":                 func(c *Config) { c.StreamName = strings.Repeat("s", 128) },
		"unlimited attempts with a TTL":  func(c *Config) { c.MaxAttempts = -1 },
		"unlimited TTL with attempts":    func(c *Config) { c.RecordTTL, c.MaxAttempts = -1, 5 },
		"no shard refresh":               func(c *Config) { c.ShardRefreshInterval = -1 },
		"backoff min = max":              func(c *Config) { c.RetryBackoffMin, c.RetryBackoffMax = time.Second, time.Second },
		"tiny FlushInterval":             func(c *Config) { c.FlushInterval = time.Nanosecond },
		"MaxRecordSize 1, the rest fits": func(c *Config) { c.MaxRecordSize, c.AggregateBatchSize, c.BatchSize = 1, 1, 1 },
	} {
		t.Run(name, func(t *testing.T) {
			c := testConfig(&fakeClient{})
			c.MaxRecordSize = DefaultMaxRecordSize
			mod(c)
			if _, err := withDefaults(c); err != nil {
				t.Fatalf("rejected: %v", err)
			}
		})
	}
}

// badConfigs are Configs with one bad value each.
func badConfigs() map[string]*Config {
	mods := map[string]func(*Config){
		"no StreamName":                     func(c *Config) { c.StreamName = "" },
		"StreamName 129":                    func(c *Config) { c.StreamName = strings.Repeat("s", 129) },
		"no Client":                         func(c *Config) { c.Client = nil },
		"typed nil Client":                  func(c *Config) { c.Client = (*kinesis.Kinesis)(nil) },
		"typed nil fake Client":             func(c *Config) { c.Client = (*fakeClient)(nil) },
		"BacklogCount -1":                   func(c *Config) { c.BacklogCount = -1 },
		"BatchCount -1":                     func(c *Config) { c.BatchCount = -1 },
		"BatchCount 501":                    func(c *Config) { c.BatchCount = 501 },
		"BatchSize -1":                      func(c *Config) { c.BatchSize = -1 },
		"BatchSize over 10 MiB":             func(c *Config) { c.BatchSize = MaxBatchSizeLimit + 1 },
		"BatchSize under MaxRecordSize":     func(c *Config) { c.BatchSize = DefaultMaxRecordSize - 1 },
		"AggregateBatchCount -1":            func(c *Config) { c.AggregateBatchCount = -1 },
		"AggregateBatchSize -1":             func(c *Config) { c.AggregateBatchSize = -1 },
		"AggregateBatchSize over record":    func(c *Config) { c.AggregateBatchSize = DefaultMaxRecordSize + 1 },
		"MaxConnections -1":                 func(c *Config) { c.MaxConnections = -1 },
		"MaxConnections 257":                func(c *Config) { c.MaxConnections = 257 },
		"FlushInterval -1":                  func(c *Config) { c.FlushInterval = -1 },
		"MaxRecordSize -1":                  func(c *Config) { c.MaxRecordSize = -1 },
		"MaxRecordSize over 10 MiB":         func(c *Config) { c.MaxRecordSize, c.BatchSize = MaxRecordSizeLimit+1, MaxBatchSizeLimit },
		"attempts and TTL both unlimited":   func(c *Config) { c.MaxAttempts, c.RecordTTL = -1, -1 },
		"TTL unlimited, attempts default":   func(c *Config) { c.RecordTTL = -1 },
		"RetryBackoffMin -1":                func(c *Config) { c.RetryBackoffMin = -1 },
		"RetryBackoffMax below min":         func(c *Config) { c.RetryBackoffMin, c.RetryBackoffMax = 10*time.Millisecond, time.Millisecond },
		"RetryBackoffMax -1":                func(c *Config) { c.RetryBackoffMin, c.RetryBackoffMax = time.Millisecond, -1 },
		"RequestTimeout -1":                 func(c *Config) { c.RequestTimeout = -1 },
		"AggregateBatchSize over MaxRecord": func(c *Config) { c.MaxRecordSize, c.AggregateBatchSize = 1000, 1001 },
	}
	if strconv.IntSize == 64 {
		mods["AggregateBatchCount 2^32"] = func(c *Config) { c.AggregateBatchCount = int(maxUint32 + 1) }
	}
	out := make(map[string]*Config, len(mods)+1)
	for name, mod := range mods {
		c := testConfig(&fakeClient{})
		mod(c)
		out[name] = c
	}
	out["nil Config"] = nil
	return out
}

func TestConfigBadValues(t *testing.T) {
	for name, cfg := range badConfigs() {
		t.Run(name, func(t *testing.T) {
			if _, err := withDefaults(cfg); !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("withDefaults: %v, want ErrInvalidConfig", err)
			}
			var p *Producer
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("New panicked: %v", r)
					}
				}()
				p = New(cfg)
			}()
			if p == nil {
				t.Fatal("New returned nil")
			}
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("panic: %v", r)
				}
			}()
			if err := p.Start(); !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("Start: %v, want ErrInvalidConfig", err)
			}
			if err := p.Put([]byte("x"), "k"); !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("Put: %v, want ErrInvalidConfig", err)
			}
			if err := p.PutUserRecord(&testRecord{key: "k", data: []byte("x"), ehk: big.NewInt(1)}); !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("PutUserRecord: %v, want ErrInvalidConfig", err)
			}
			if err := p.StartContext(context.Background()); !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("StartContext: %v, want ErrInvalidConfig", err)
			}
			_ = p.Stats()
			_ = p.Outstanding()
			p.Flush()
			if err := p.FlushSync(context.Background()); !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("FlushSync: %v, want ErrInvalidConfig", err)
			}
			if err := p.Shutdown(context.Background()); err != nil {
				t.Errorf("Shutdown: %v", err)
			}
			_ = p.NotifySuccesses()
			p.Stop()
			p.Stop()
		})
	}
}

// TestConfigBadValuesFailureChannelCloses: NotifyFailures promises a channel
// closed after Stop, whatever the Config was.
func TestConfigBadValuesFailureChannelCloses(t *testing.T) {
	p := New(nil)
	ch := p.NotifyFailures()
	p.Stop()
	select {
	case _, ok := <-ch:
		if ok {
			t.Fatal("a failure from a producer that never ran")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the failure channel of a producer with a bad Config is still open 2s after Stop")
	}
}
