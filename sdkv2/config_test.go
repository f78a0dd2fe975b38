package sdkv2_test

import (
	"context"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/kplgo/producer/sdkv2"
)

// TestBadConfigNeverPanics checks every method of a producer made from a
// bad Config: each returns the Config error or does nothing, and the
// result channels are closed.
func TestBadConfigNeverPanics(t *testing.T) {
	cases := []struct {
		name string
		cfg  *sdkv2.Config
	}{
		{"nil Config", nil},
		{"nil Client", &sdkv2.Config{StreamName: "s", Logger: quietLogger()}},
		{"typed nil Client", &sdkv2.Config{StreamName: "s", Client: (*kinesis.Client)(nil), Logger: quietLogger()}},
		{"typed nil Client with a shard map", &sdkv2.Config{StreamName: "s", Client: (*kinesis.Client)(nil),
			GetShards: sdkv2.StaticGetShardsFunc(2), Logger: quietLogger()}},
		{"no stream", &sdkv2.Config{Client: &fakeKinesis{}, Logger: quietLogger()}},
		{"BatchCount 501", &sdkv2.Config{StreamName: "s", Client: &fakeKinesis{}, BatchCount: 501, Logger: quietLogger()}},
		{"StreamARN not an ARN", &sdkv2.Config{StreamARN: "events", Client: &fakeKinesis{}, Logger: quietLogger()}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			p := sdkv2.New(c.cfg)
			// The channels are closed: nothing will ever come out.
			select {
			case f, ok := <-p.NotifyFailures():
				if ok {
					t.Errorf("NotifyFailures delivered %v", f)
				}
			case <-time.After(5 * time.Second):
				t.Error("the channel of NotifyFailures is not closed")
			}
			select {
			case s, ok := <-p.NotifySuccesses():
				if ok {
					t.Errorf("NotifySuccesses delivered %+v", s)
				}
			case <-time.After(5 * time.Second):
				t.Error("the channel of NotifySuccesses is not closed")
			}
			check := func(method string, err error) {
				t.Helper()
				if !errors.Is(err, sdkv2.ErrInvalidConfig) {
					t.Errorf("%s: %v, want ErrInvalidConfig", method, err)
				}
			}
			check("Start", p.Start(ctx))
			check("Start again", p.Start(ctx))
			check("Put", p.Put(ctx, []byte("data"), "key"))
			check("PutUserRecord", p.PutUserRecord(ctx, &userRecord{key: "key", data: []byte("data"), hash: big.NewInt(1)}))
			check("FlushSync", p.FlushSync(ctx))
			p.Flush()
			if n := p.Outstanding(); n != 0 {
				t.Errorf("Outstanding() = %d", n)
			}
			if st := p.Stats(); st != (sdkv2.Stats{}) {
				t.Errorf("Stats() = %+v", st)
			}
			if err := p.Shutdown(ctx); err != nil && !errors.Is(err, sdkv2.ErrInvalidConfig) {
				t.Errorf("Shutdown: %v", err)
			}
			p.Stop()
			p.Stop()
			check("Put after Stop", p.Put(ctx, []byte("data"), "key"))
		})
	}
}

// TestTypedNilClient checks that a typed nil *kinesis.Client is refused as a
// nil one, before anything calls it.
func TestTypedNilClient(t *testing.T) {
	var client *kinesis.Client
	p := sdkv2.New(&sdkv2.Config{StreamName: "s", Client: client, Logger: quietLogger()})
	if err := p.Start(context.Background()); !errors.Is(err, sdkv2.ErrInvalidConfig) {
		t.Errorf("Start: %v, want ErrInvalidConfig", err)
	}
	if err := p.Put(context.Background(), []byte("x"), "k"); !errors.Is(err, sdkv2.ErrInvalidConfig) {
		t.Errorf("Put: %v, want ErrInvalidConfig", err)
	}
	p.Stop()
}

// TestGoodConfig checks that a Config with a client and a stream starts, and
// that its values reach the producer (a BatchCount of 3 makes calls of at
// most 3 entries).
func TestGoodConfig(t *testing.T) {
	fake := &fakeKinesis{}
	cfg := testConfig(fake)
	cfg.BatchCount = 3
	cfg.AggregateBatchCount = 1
	cfg.StreamARN = "arn:aws:kinesis:us-east-1:123456789012:stream/events"
	p := sdkv2.New(cfg)
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if err := p.Put(context.Background(), []byte{byte(i)}, "k"); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.FlushSync(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.Stop()
	if err := p.Put(context.Background(), []byte("late"), "k"); !errors.Is(err, sdkv2.ErrStoppedProducer) {
		t.Errorf("Put after Stop: %v, want ErrStoppedProducer", err)
	}
	total := 0
	for _, c := range fake.putCalls() {
		total += len(c.Records)
		if len(c.Records) > 3 {
			t.Errorf("a call of %d entries, BatchCount is 3", len(c.Records))
		}
		if c.StreamName != nil || *c.StreamARN != cfg.StreamARN {
			t.Errorf("call names the stream %v/%v, want the ARN alone", c.StreamName, c.StreamARN)
		}
	}
	if total != 10 {
		t.Errorf("%d entries sent, want 10", total)
	}
}
