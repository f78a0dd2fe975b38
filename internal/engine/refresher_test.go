package engine

import (
	"context"
	"errors"
	"io"
	"log"
	"testing"
	"time"
)

// TestListingTimesOut: a listing that never answers by itself ends with
// ListShardsTimeout, as an error, and stop ends one under way at once.
func TestListingTimesOut(t *testing.T) {
	calls := make(chan struct{}, 10)
	stall := func(ctx context.Context) ([]Shard, bool, error) {
		calls <- struct{}{}
		<-ctx.Done()
		return nil, false, context.Cause(ctx)
	}
	cfg := &Config{ListShards: stall, ListShardsTimeout: 50 * time.Millisecond, ShardRefreshInterval: time.Hour,
		Logger: Standard(log.New(io.Discard, "", 0))}
	r := newRefresher(cfg, "s")
	start := time.Now()
	m, err := r.listing(context.Background(), 2)
	if m != nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("listing: map %v, error %v; want a deadline error", m, err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("the listing took %v, its limit is 50ms", took)
	}

	// A listing under way when the refresher stops ends at once.
	r = newRefresher(&Config{ListShards: stall, ListShardsTimeout: time.Hour, ShardRefreshInterval: time.Hour,
		Logger: cfg.Logger}, "s")
	go r.run(1)
	r.request()
	<-calls
	done := make(chan struct{})
	go func() { r.stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("stop still waits for a listing 5s later")
	}
}

// TestListingNoChange: a listing that reports no change gives no map and no
// error; an empty changed listing is an error.
func TestListingNoChange(t *testing.T) {
	same := func(context.Context) ([]Shard, bool, error) { return nil, false, nil }
	r := newRefresher(&Config{ListShards: same, ListShardsTimeout: time.Second}, "s")
	if m, err := r.listing(context.Background(), 2); m != nil || err != nil {
		t.Errorf("no change: map %v, error %v", m, err)
	}
	empty := func(context.Context) ([]Shard, bool, error) { return nil, true, nil }
	r = newRefresher(&Config{ListShards: empty, ListShardsTimeout: time.Second}, "s")
	if _, err := r.listing(context.Background(), 2); err == nil {
		t.Error("an empty changed listing gave no error")
	}
}
