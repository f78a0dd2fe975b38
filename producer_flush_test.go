package producer

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/service/kinesis"
)

// TestFlushSyncWaitsForRateLimitedRecordsAcrossMapUpdate: records held back
// by a shard's rate limit when FlushSync is called are still owed to it when
// a shard map update re-homes them.
func TestFlushSyncWaitsForRateLimitedRecordsAcrossMapUpdate(t *testing.T) {
	list := staticShards(t, 1)
	c := &fakeClient{answer: shardAnswer(t, list)}
	cfg := limitConfig(c)
	cfg.RateLimit = 1 // 10 Kinesis records a second per shard
	cfg.AggregateBatchCount = 1
	cfg.ShardRefreshInterval = 30 * time.Millisecond
	cfg.GetShards = func([]*kinesis.Shard) ([]*kinesis.Shard, bool, error) {
		return list, true, nil // every listing installs a fresh map
	}
	p := New(cfg)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	const n = 30
	for i := 0; i < n; i++ {
		if err := p.Put(recordData(i), "k"); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.FlushSync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := len(c.userRecords(t)); got != n {
		t.Fatalf("FlushSync returned with %d of %d records delivered (%d map updates)", got, n, p.Stats().ShardMapUpdates)
	}
}

// TestShutdownDeadlineWithFullRateLimit: Shutdown's deadline holds also when
// the rate limit holds back so many records that the pipeline stopped
// taking new ones from the backlog.
func TestShutdownDeadlineWithFullRateLimit(t *testing.T) {
	list := staticShards(t, 1)
	c := &fakeClient{answer: shardAnswer(t, list)}
	cfg := limitConfig(c)
	cfg.GetShards = StaticGetShardsFunc(1)
	cfg.RateLimit = 1 // 10 Kinesis records a second
	cfg.AggregateBatchCount = 1
	cfg.BatchCount = 1
	cfg.MaxConnections = 1 // at most one record held back before the loop stops reading
	cfg.BacklogCount = 100
	p := New(cfg)
	f := collectFailures(p)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	const n = 111 // 10 sent at once, 1 held back, 100 in the backlog
	for i := 0; i < n; i++ {
		if err := p.Put(recordData(i), "k"); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := p.Shutdown(ctx)
	took := time.Since(start)
	fs := f.wait(t)
	if got := len(c.userRecords(t)) + userRecordCount(fs); got != n {
		t.Fatalf("%d of %d records settled", got, n)
	}
	if took > 3*time.Second {
		t.Fatalf("Shutdown with a 100ms deadline took %v (err %v)", took, err)
	}
	if !errors.Is(err, ErrStopDeadline) {
		t.Fatalf("Shutdown: %v, want ErrStopDeadline", err)
	}
}
