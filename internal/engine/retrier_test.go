package engine

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// TestRetrierSuccess: every record of a call stored where predicted is
// acknowledged once; nothing is queued again and nothing fails.
func TestRetrierSuccess(t *testing.T) {
	p := newParts(t, Config{}, halves())
	p.put(keysIn(t, p.set.m, 0, 3)...)
	p.put(keysIn(t, p.set.m, 1, 2)...)
	now := time.Now()
	sent := p.sendAll(now)
	if len(sent) != 1 || len(sent[0]) != 2 {
		t.Fatalf("sent %d batches, want one of 2 aggregates", len(sent))
	}
	p.answer(sent[0], now, stored)
	if got := p.report.stats.userRecordsPut.Load(); got != 5 {
		t.Errorf("%d user records acknowledged, want 5", got)
	}
	if got := p.report.stats.kinesisRecordsPut.Load(); got != 2 {
		t.Errorf("%d Kinesis records acknowledged, want 2", got)
	}
	if p.set.queuedRecs != 0 || !p.collect.idle() || p.retry.waiting() {
		t.Errorf("after the answer: %d queued, collector idle %v, waiting %v", p.set.queuedRecs, p.collect.idle(), p.retry.waiting())
	}
	p.noFailure()
}

// TestRetrierPartial: of a call's records the failed one alone waits for its
// backoff at the head of its stage, with its attempt counted, and goes out
// again once due; the others are acknowledged.
func TestRetrierPartial(t *testing.T) {
	p := newParts(t, Config{RetryBackoffMin: 100 * time.Millisecond, RetryBackoffMax: 100 * time.Millisecond}, halves())
	p.put(keysIn(t, p.set.m, 0, 2)...)
	p.put(keysIn(t, p.set.m, 1, 2)...)
	now := time.Now()
	batch := p.sendAll(now)[0]
	p.answer(batch, now, func(a *aggregate) outcome {
		if a.predictedShard() == "high" {
			return internalFailure(a)
		}
		return stored(a)
	})
	if got := p.report.stats.userRecordsPut.Load(); got != 2 {
		t.Errorf("%d user records acknowledged, want the 2 of shard low", got)
	}
	q := p.queued("high")
	if len(q) != 1 || q[0].attempts != 1 || q[0].sends != 1 || !q[0].notBefore.After(now) {
		t.Fatalf("shard high holds %d records; want the failed aggregate, 1 attempt, waiting", len(q))
	}
	if st := &p.set.stages[1]; st.retries.len() != 1 {
		t.Errorf("the failed record is not among the stage's retries")
	}
	if sent := p.sendAll(now); len(sent) != 0 {
		t.Errorf("the retry went out before its backoff")
	}
	sent := p.sendAll(now.Add(150 * time.Millisecond))
	if len(sent) != 1 || len(sent[0]) != 1 || sent[0][0] != q[0] || q[0].sends != 2 {
		t.Fatalf("after its backoff the retry did not go out alone (%d batches)", len(sent))
	}
	if got := p.report.stats.retries.Load(); got != 1 {
		t.Errorf("%d retries counted, want 1", got)
	}
	p.answer(sent[0], now, stored)
	if got := p.report.stats.userRecordsPut.Load(); got != 4 {
		t.Errorf("%d user records acknowledged in all, want 4", got)
	}
	p.noFailure()
}

// TestRetrierFailIfThrottled: with FailIfThrottled a throttled record fails
// at once with ErrThrottled and the throttle is counted.
func TestRetrierFailIfThrottled(t *testing.T) {
	p := newParts(t, Config{FailIfThrottled: true}, halves())
	p.put(keysIn(t, p.set.m, 0, 3)...)
	now := time.Now()
	p.answer(p.sendAll(now)[0], now, throttledOutcome)
	f := p.failure()
	if !errors.Is(f.Err, ErrThrottled) || len(f.UserRecords) != 3 {
		t.Errorf("failure %v with %d records; want ErrThrottled with 3", f.Err, len(f.UserRecords))
	}
	var pe *PutRecordError
	if !errors.As(f.Err, &pe) || pe.Code != throttleCode {
		t.Errorf("the failure does not carry the entry's error: %v", f.Err)
	}
	if p.report.stats.throttled.Load() != 1 || p.set.queuedRecs != 0 {
		t.Errorf("throttled %d, queued %d; want 1 and 0", p.report.stats.throttled.Load(), p.set.queuedRecs)
	}
}

// TestRetrierThrottlesDoNotCountTowardMaxAttempts: a record throttled many
// times keeps trying; failed calls of other kinds use up MaxAttempts.
func TestRetrierThrottlesDoNotCountTowardMaxAttempts(t *testing.T) {
	p := newParts(t, Config{MaxAttempts: 2, RetryBackoffMin: time.Millisecond, RetryBackoffMax: time.Millisecond}, halves())
	p.put(keysIn(t, p.set.m, 1, 1)...)
	now := time.Now()
	round := func(of func(*aggregate) outcome) {
		t.Helper()
		now = now.Add(time.Second)
		sent := p.sendAll(now)
		if len(sent) != 1 {
			t.Fatalf("the record was not sent again (%d batches)", len(sent))
		}
		p.answer(sent[0], now, of)
	}
	for range 5 {
		round(throttledOutcome)
	}
	p.noFailure()
	q := p.queued("high")
	if len(q) != 1 || q[0].attempts != 0 || q[0].throttles != 5 {
		t.Fatalf("after 5 throttles: %d queued; want 1 with 0 attempts and 5 throttles", len(q))
	}
	round(internalFailure)
	p.noFailure()
	if q[0].throttles != 0 {
		t.Errorf("a failure of another kind left the throttles at %d", q[0].throttles)
	}
	round(internalFailure)
	f := p.failure()
	if !errors.Is(f.Err, ErrAttemptsExhausted) {
		t.Errorf("failure %v, want ErrAttemptsExhausted", f.Err)
	}
	if got := p.report.stats.throttled.Load(); got != 5 {
		t.Errorf("%d throttles counted, want 5", got)
	}
}

// TestRetrierTTLCapsBackoff: a record whose backoff would outlast its
// RecordTTL is due when its time is up, and then fails as expired with the
// error of its last attempt rather than being sent.
func TestRetrierTTLCapsBackoff(t *testing.T) {
	ttl := 300 * time.Millisecond
	p := newParts(t, Config{RecordTTL: ttl, RetryBackoffMin: time.Hour, RetryBackoffMax: time.Hour}, halves())
	p.put(keysIn(t, p.set.m, 0, 2)...)
	now := time.Now()
	batch := p.sendAll(now)[0]
	a := batch[0]
	p.answer(batch, now, internalFailure)
	if want := a.created.Add(ttl); !a.notBefore.Equal(want) {
		t.Fatalf("the retry is due at +%v, want its TTL's end, +%v", a.notBefore.Sub(a.created), ttl)
	}
	if sent := p.sendAll(a.created.Add(ttl)); len(sent) != 0 {
		t.Fatal("an expired record was sent")
	}
	f := p.failure()
	var pe *PutRecordError
	if !errors.Is(f.Err, ErrRecordExpired) || !errors.As(f.Err, &pe) || pe.Code != "InternalFailure" {
		t.Errorf("failure %v; want ErrRecordExpired wrapping the last attempt's error", f.Err)
	}
}

// TestRetrierNotRetryable: an error no retry can cure fails the record at
// once, wrapping ErrNotRetryable.
func TestRetrierNotRetryable(t *testing.T) {
	p := newParts(t, Config{}, halves())
	p.put(keysIn(t, p.set.m, 0, 1)...)
	now := time.Now()
	p.answer(p.sendAll(now)[0], now, func(*aggregate) outcome {
		return outcome{err: errors.New("access denied"), code: "AccessDeniedException", final: true}
	})
	if f := p.failure(); !errors.Is(f.Err, ErrNotRetryable) {
		t.Errorf("failure %v, want ErrNotRetryable", f.Err)
	}
}

// TestRetrierWrongShard: an aggregate Kinesis stored on a known shard whose
// range does not hold its user records would be dropped by a KCL consumer:
// its records go out again, plain, and a listing is asked for.
func TestRetrierWrongShard(t *testing.T) {
	p := newParts(t, Config{}, halves())
	keys := keysIn(t, p.set.m, 0, 3)
	p.put(keys...)
	now := time.Now()
	p.answer(p.sendAll(now)[0], now, storedOn("high"))
	if p.refreshes != 1 || p.report.stats.wrongShard.Load() != 1 || p.report.stats.resent.Load() != 3 {
		t.Errorf("refreshes %d, wrong shard %d, resent %d; want 1, 1, 3",
			p.refreshes, p.report.stats.wrongShard.Load(), p.report.stats.resent.Load())
	}
	if p.report.stats.userRecordsPut.Load() != 0 {
		t.Error("the misplaced aggregate was acknowledged")
	}
	q := p.queued("low")
	if got := userKeys(q...); len(q) != 3 || !q[0].plain() || !slices.Equal(got, keys) {
		t.Fatalf("shard low holds %v in %d records; want %v, plain", got, len(q), keys)
	}
	for _, a := range q {
		if a.sends != 1 || p.set.stages[0].retries.len() != 3 {
			t.Errorf("a re-sent record is not a retry that keeps its sends")
		}
	}
	p.noFailure()
}

// TestRetrierWrongShardButCorrectHashRange: an aggregate predicted with a
// map since replaced lands on a shard of the new map that holds all of its
// user records: a KCL consumer keeps it, so it is acknowledged.
func TestRetrierWrongShardButCorrectHashRange(t *testing.T) {
	whole, err := StaticShards(1)
	if err != nil {
		t.Fatal(err)
	}
	p := newParts(t, Config{}, whole)
	low := keysIn(t, mapOf(t, halves()), 0, 3)
	high := keysIn(t, mapOf(t, halves()), 1, 1)
	p.put(low...)
	now := time.Now()
	inLow := p.sendAll(now)[0]
	p.put(append(append([]string(nil), low...), high...)...)
	across := p.sendAll(now)[0]
	p.route.install(mapOf(t, halves()), p.collect.release()) // the stream was split meanwhile

	p.answer(inLow, now, storedOn("low"))
	if got := p.report.stats.userRecordsPut.Load(); got != 3 {
		t.Errorf("%d user records acknowledged, want the 3 shard low holds", got)
	}
	p.answer(across, now, storedOn("low"))
	if got := p.report.stats.resent.Load(); got != 4 {
		t.Errorf("%d user records resent, want the 4 of the aggregate across both halves", got)
	}
	// Predicted with the old map, they go to the open aggregates of their
	// shards again.
	p.route.closeAll()
	if got := len(userKeys(p.queued("low")...)) + len(userKeys(p.queued("high")...)); got != 4 {
		t.Errorf("%d user records queued again, want 4", got)
	}
	p.noFailure()
}

// TestRetrierUnknownShardWaits: an aggregate stored on a shard the map does
// not know waits for a listing: acknowledged once the new map says its shard
// holds it, sent again when the wait runs out.
func TestRetrierUnknownShardWaits(t *testing.T) {
	whole, err := StaticShards(1)
	if err != nil {
		t.Fatal(err)
	}
	p := newParts(t, Config{}, whole)
	low := keysIn(t, mapOf(t, halves()), 0, 2)
	p.put(low...)
	now := time.Now()
	first := p.sendAll(now)[0]
	p.put(low...)
	second := p.sendAll(now)[0]
	p.answer(first, now, storedOn("low"))
	p.answer(second, now, storedOn("low"))
	if !p.retry.waiting() || p.report.stats.userRecordsPut.Load() != 0 {
		t.Fatalf("waiting %v, acknowledged %d; want both aggregates waiting", p.retry.waiting(), p.report.stats.userRecordsPut.Load())
	}
	p.retry.settleUnsure(now.Add(unsureWait/2), false)
	if !p.retry.waiting() {
		t.Fatal("the aggregates stopped waiting before the map knew their shard or the wait ran out")
	}
	p.route.install(mapOf(t, halves()), nil)
	p.retry.settleUnsure(now.Add(unsureWait/2), false)
	if p.retry.waiting() || p.report.stats.userRecordsPut.Load() != 4 {
		t.Errorf("with the map: waiting %v, acknowledged %d; want none waiting, 4", p.retry.waiting(), p.report.stats.userRecordsPut.Load())
	}

	// A shard no listing brings: after unsureWait the records go out again.
	p.put(low...)
	third := p.sendAll(now)[0]
	p.answer(third, now, storedOn("shardId-unknown"))
	p.retry.settleUnsure(now.Add(unsureWait), false)
	if p.retry.waiting() || p.report.stats.resent.Load() != 2 {
		t.Errorf("after the wait: waiting %v, resent %d; want none, 2", p.retry.waiting(), p.report.stats.resent.Load())
	}
	if q := p.queued("low"); len(q) != 2 || !q[0].plain() {
		t.Errorf("shard low holds %d records, want the 2 plain", len(q))
	}
	p.noFailure()
}
