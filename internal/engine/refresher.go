package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/jpillora/backoff"
)

// A wrong-shard answer asks for a listing at once, but no sooner than
// minListGap after the last listing nor minRefreshGap after the last early
// one: a burst of such answers gets one listing.
const (
	minListGap    = 0
	minRefreshGap = time.Second
)

// refresher lists the shards every ShardRefreshInterval, and within about
// a second when the pipeline saw a record land on another shard than
// predicted, and hands a changed map to the pipeline. A failed listing
// keeps the old map and is retried with backoff. Each listing is bounded by
// ListShardsTimeout, and cut short by stop.
type refresher struct {
	list     ListShardsFunc
	interval time.Duration
	timeout  time.Duration
	logger   Logger
	stream   string
	updates  chan *shardMap // to the pipeline; nil: an early listing found no change
	early    chan struct{}  // holds a request for an early listing
	quit     chan struct{}  // closed to stop
	done     chan struct{}  // closed when run has returned
	ctx      context.Context
	cancel   context.CancelFunc // ends a listing under way at stop
}

func newRefresher(cfg *Config, stream string) *refresher {
	r := &refresher{
		list: cfg.ListShards, interval: cfg.ShardRefreshInterval, timeout: cfg.ListShardsTimeout,
		logger: cfg.Logger, stream: stream,
		updates: make(chan *shardMap), early: make(chan struct{}, 1),
		quit: make(chan struct{}), done: make(chan struct{}),
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	return r
}

// listing lists the shards once, within ctx and the listing timeout, and
// builds the map of generation gen from them. It returns a nil map when
// the shards did not change.
func (r *refresher) listing(ctx context.Context, gen uint64) (*shardMap, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	shards, changed, err := r.list(ctx)
	switch {
	case err != nil:
		return nil, err
	case !changed:
		return nil, nil
	case len(shards) == 0:
		return nil, fmt.Errorf("no open shards")
	}
	return newShardMap(shards, gen)
}

// request asks for an early listing; requests coalesce.
func (r *refresher) request() {
	select {
	case r.early <- struct{}{}:
	default:
	}
}

// stop ends run and waits for it.
func (r *refresher) stop() {
	close(r.quit)
	r.cancel()
	<-r.done
}

// run lists shards until stop. gen is the generation of the current map.
func (r *refresher) run(gen uint64) {
	defer close(r.done)
	if r.interval <= 0 {
		// No periodic listing; early ones still follow wrong-shard answers.
		r.interval = 100 * 365 * 24 * time.Hour
	}
	retry := backoff.Backoff{Min: time.Second, Max: min(r.interval, time.Minute), Factor: 2, Jitter: true}
	listed := time.Now()
	var early time.Time // when the last early listing was due
	asked := false      // the pipeline waits for the next listing
	due := listed.Add(r.interval)
	timer := time.NewTimer(time.Until(due))
	defer timer.Stop()
	for {
		select {
		case <-r.quit:
			return
		case <-timer.C:
		case <-r.early:
			at := listed.Add(minListGap)
			if next := early.Add(minRefreshGap); next.After(at) {
				at = next
			}
			if at.Before(due) {
				due, early = at, at
				timer.Reset(time.Until(due))
			}
			asked = true
			continue
		}
		listed = time.Now()
		m, err := r.listing(r.ctx, gen+1)
		if r.ctx.Err() != nil {
			return // stopped during the listing
		}
		if err != nil {
			wait := retry.Duration()
			r.logger.Error("shard listing failed, keeping the old map", err,
				logValue("stream", r.stream), logValue("retry_in", wait))
			due = listed.Add(wait)
		} else {
			retry.Reset()
			due = listed.Add(r.interval)
		}
		timer.Reset(time.Until(due))
		if m == nil && (!asked || err != nil) {
			continue
		}
		// A nil map tells the pipeline that the listing it asked for
		// found no change.
		asked = false
		select {
		case r.updates <- m:
			if m != nil {
				gen++
			}
		case <-r.quit:
			return
		}
	}
}
