package faultinject

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// ListShardsTarget is the X-Amz-Target header value of ListShards calls.
const ListShardsTarget = "Kinesis_20131202.ListShards"

// Defaults of ShardLimitsConfig: the write limits Kinesis enforces per shard.
const (
	// DefaultShardBytesPerSecond is a shard's write limit in bytes (data
	// plus partition keys) a second: 1 MiB.
	DefaultShardBytesPerSecond = 1 << 20
	// DefaultShardRecordsPerSecond is a shard's write limit in records a
	// second.
	DefaultShardRecordsPerSecond = 1000
	// DefaultShardRefreshInterval is how often ShardLimits lists a stream's
	// shards again while it sees PutRecords calls for it.
	DefaultShardRefreshInterval = 500 * time.Millisecond
)

// ErrOutage is returned, wrapped in a *net.OpError, for PutRecords calls
// made during an Outage. It matches ErrInjected.
var ErrOutage error = injected("injected: outage, connection refused")

// ShardRange is an open shard and its hash key range, both ends included.
type ShardRange struct {
	// ShardID is the shard's id.
	ShardID string
	// StartingHashKey is the lowest hash key of the shard.
	StartingHashKey *big.Int
	// EndingHashKey is the highest hash key of the shard.
	EndingHashKey *big.Int
}

// ShardLister returns the open shards of a stream, named as the PutRecords
// request names it (a stream name, or an ARN when the request carries only
// StreamARN).
type ShardLister func(ctx context.Context, stream string) ([]ShardRange, error)

// ShardLimitsConfig configures a ShardLimits transport. Zero values take
// the defaults named on each field.
type ShardLimitsConfig struct {
	// BytesPerSecond is each shard's write rate in bytes of data plus
	// partition key. Default DefaultShardBytesPerSecond (1 MiB).
	BytesPerSecond float64
	// RecordsPerSecond is each shard's write rate in records. Default
	// DefaultShardRecordsPerSecond (1,000).
	RecordsPerSecond float64
	// ByteBurst is the capacity of each shard's byte bucket. Default one
	// second of BytesPerSecond.
	ByteBurst float64
	// RecordBurst is the capacity of each shard's record bucket. Default
	// one second of RecordsPerSecond.
	RecordBurst float64
	// RefreshInterval is how old a stream's shard listing may be before a
	// PutRecords call for the stream lists the shards again. Default
	// DefaultShardRefreshInterval; negative lists only on first use and
	// after Refresh.
	RefreshInterval time.Duration
	// ListShards, when set, lists a stream's open shards. By default the
	// transport sends ListShards calls itself, through the next transport,
	// to the PutRecords request's endpoint and with its Authorization and
	// X-Amz-Date headers (good enough for servers that do not check
	// signatures, such as kinesalite).
	ListShards ShardLister
}

// withDefaults returns c with defaults in place of zero values.
func (c ShardLimitsConfig) withDefaults() ShardLimitsConfig {
	if c.BytesPerSecond <= 0 {
		c.BytesPerSecond = DefaultShardBytesPerSecond
	}
	if c.RecordsPerSecond <= 0 {
		c.RecordsPerSecond = DefaultShardRecordsPerSecond
	}
	if c.ByteBurst <= 0 {
		c.ByteBurst = c.BytesPerSecond
	}
	if c.RecordBurst <= 0 {
		c.RecordBurst = c.RecordsPerSecond
	}
	if c.RefreshInterval == 0 {
		c.RefreshInterval = DefaultShardRefreshInterval
	}
	return c
}

// ShardStats counts what ShardLimits did with the entries of one shard.
type ShardStats struct {
	// Stream is the stream name (or ARN) the shard belongs to.
	Stream string
	// ShardID is the shard's id.
	ShardID string
	// Open reports whether the shard was open in the last listing.
	Open bool
	// AcceptedRecords is the number of entries let through to the server.
	AcceptedRecords int64
	// AcceptedBytes is the data plus partition key bytes of those entries.
	AcceptedBytes int64
	// Throttled is the number of entries answered with
	// ProvisionedThroughputExceededException, hot-shard ones included.
	Throttled int64
	// HotThrottled is the number of entries throttled by ThrottleShard.
	HotThrottled int64
}

// ShardLimitStats is a snapshot of the counters of a ShardLimits transport.
type ShardLimitStats struct {
	// Calls is the number of PutRecords calls received.
	Calls int64
	// Forwarded is the number of PutRecords calls sent on to the server.
	Forwarded int64
	// Answered is the number of calls answered without forwarding because
	// every entry was throttled.
	Answered int64
	// OutageCalls is the number of calls failed by an Outage.
	OutageCalls int64
	// Entries is the number of entries of all PutRecords calls received.
	Entries int64
	// Throttled is the number of entries answered with
	// ProvisionedThroughputExceededException.
	Throttled int64
	// OutageEntries is the number of entries of the calls failed by an
	// Outage.
	OutageEntries int64
	// Unlimited is the number of entries passed on without a limit: no shard
	// holds their hash key (or it is invalid), or the stream's shards could
	// not be listed.
	Unlimited int64
	// Listings is the number of successful shard listings.
	Listings int64
	// ListErrors is the number of failed shard listings.
	ListErrors int64
	// Shards holds the counters of every shard seen, ordered by stream and
	// shard id.
	Shards []ShardStats
}

// Shard returns the counters of one shard (zero if it was never seen).
func (s ShardLimitStats) Shard(stream, shardID string) ShardStats {
	for _, sh := range s.Shards {
		if sh.Stream == stream && sh.ShardID == shardID {
			return sh
		}
	}
	return ShardStats{Stream: stream, ShardID: shardID}
}

// ThrottledShare returns Throttled / Entries, or 0 without entries.
func (s ShardLimitStats) ThrottledShare() float64 {
	if s.Entries == 0 {
		return 0
	}
	return float64(s.Throttled) / float64(s.Entries)
}

// String summarizes the counters for test logs.
func (s ShardLimitStats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "shard limits: %d PutRecords calls (%d forwarded, %d answered all throttled, %d failed by outage); "+
		"%d entries: %d throttled (%.1f%%), %d in outages, %d unlimited; %d listings, %d listing errors",
		s.Calls, s.Forwarded, s.Answered, s.OutageCalls, s.Entries, s.Throttled, 100*s.ThrottledShare(),
		s.OutageEntries, s.Unlimited, s.Listings, s.ListErrors)
	for _, sh := range s.Shards {
		state := "open"
		if !sh.Open {
			state = "closed"
		}
		fmt.Fprintf(&b, "\n  %s/%s (%s): accepted %d records, %d bytes; throttled %d (%d hot)",
			sh.Stream, sh.ShardID, state, sh.AcceptedRecords, sh.AcceptedBytes, sh.Throttled, sh.HotThrottled)
	}
	return b.String()
}

// uint128 is a hash key as two halves, compared without allocation.
type uint128 struct{ hi, lo uint64 }

func (a uint128) less(b uint128) bool { return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo) }

// toUint128 converts a hash key in 0..2^128-1; ok is false outside.
func toUint128(x *big.Int) (uint128, bool) {
	if x == nil || x.Sign() < 0 || x.BitLen() > 128 {
		return uint128{}, false
	}
	var b [16]byte
	x.FillBytes(b[:])
	return uint128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}, true
}

// bucket is a token bucket refilled continuously.
type bucket struct {
	tokens, capacity, rate float64
	last                   time.Time
}

func newBucket(rate, capacity float64, now time.Time) bucket {
	return bucket{tokens: capacity, capacity: capacity, rate: rate, last: now}
}

// refill adds the tokens earned since the last refill.
func (b *bucket) refill(now time.Time) {
	if now.After(b.last) {
		b.tokens = min(b.capacity, b.tokens+b.rate*now.Sub(b.last).Seconds())
		b.last = now
	}
}

// fits reports whether n tokens may be taken. An amount larger than the
// capacity fits a full bucket (and leaves it in debt), so that no entry is
// throttled forever.
func (b *bucket) fits(n float64) bool { return b.tokens >= min(n, b.capacity) }

// shardState is one shard's buckets and counters. Guarded by
// ShardLimits.mu.
type shardState struct {
	id                      string
	lo, hi                  uint128
	open                    bool
	bytes, records          bucket
	acceptedRecords         int64
	acceptedBytes           int64
	throttled, hotThrottled int64
}

// streamState is what ShardLimits knows of one stream.
type streamState struct {
	name string

	// listMu serializes listings of the stream's shards.
	listMu sync.Mutex

	// Guarded by ShardLimits.mu:
	open     []*shardState          // open shards, sorted by start of range
	byID     map[string]*shardState // every shard seen, closed ones included
	listedAt time.Time              // zero until the first successful listing
	stale    bool                   // Refresh was called since the last listing
}

// hotKey names a shard throttled by ThrottleShard; stream "" matches every
// stream.
type hotKey struct{ stream, shard string }

// ShardLimits is an http.RoundTripper that enforces Kinesis's per-shard
// write limits on PutRecords calls, in front of a server that enforces none
// (such as kinesalite). Create it with NewShardLimits. It is safe for
// concurrent use, and several clients (producers, sessions) sharing one
// ShardLimits share the limits of each stream.
//
// Each entry of a PutRecords call is routed to the open shard whose hash key
// range holds its explicit hash key, or else the MD5 digest of its partition
// key read as a 128-bit big-endian integer. Each shard has a token bucket
// for bytes (data plus partition key) and one for records, refilled
// continuously. An entry that fits takes its tokens and is forwarded; one
// that does not is answered with ProvisionedThroughputExceededException in
// its position, while the call itself succeeds, as Kinesis does. If every
// entry is throttled the call is answered without forwarding. Other calls
// pass through untouched.
//
// The shards of a stream are listed on first use, again when a listing is
// older than RefreshInterval, and after Refresh, so the transport follows
// resharding.
type ShardLimits struct {
	next http.RoundTripper
	cfg  ShardLimitsConfig

	mu          sync.Mutex
	streams     map[string]*streamState
	hot         map[hotKey]time.Time
	outageUntil time.Time
	n           struct {
		calls, forwarded, answered, outageCalls                int64
		entries, throttled, outageEntries, unlimited, listings int64
		listErrors                                             int64
	}
}

// NewShardLimits returns a transport enforcing per-shard limits as cfg says
// and sending requests on through next (nil: a new plain http.Transport that
// uses no proxy).
func NewShardLimits(next http.RoundTripper, cfg ShardLimitsConfig) *ShardLimits {
	if next == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.Proxy = nil
		next = tr
	}
	return &ShardLimits{
		next:    next,
		cfg:     cfg.withDefaults(),
		streams: make(map[string]*streamState),
		hot:     make(map[hotKey]time.Time),
	}
}

// Config returns the configuration in effect, defaults applied.
func (s *ShardLimits) Config() ShardLimitsConfig { return s.cfg }

// Refresh makes the next PutRecords call of every stream list its shards
// again before it is routed (for example right after a reshard).
func (s *ShardLimits) Refresh() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.streams {
		st.stale = true
	}
}

// ThrottleShard throttles every entry of the shard shardID of stream (""
// for every stream the transport sees) for d from now: a hot shard. A
// later call replaces the window; d <= 0 ends it.
func (s *ShardLimits) ThrottleShard(stream, shardID string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d <= 0 {
		delete(s.hot, hotKey{stream, shardID})
		return
	}
	s.hot[hotKey{stream, shardID}] = time.Now().Add(d)
}

// Outage fails every PutRecords call with a connection error, without
// forwarding it, for d from now. d <= 0 ends an outage.
func (s *ShardLimits) Outage(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outageUntil = time.Now().Add(d)
}

// CloseIdleConnections closes idle connections of the next transport, if it
// supports that.
func (s *ShardLimits) CloseIdleConnections() {
	if c, ok := s.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// Stats returns a snapshot of the counters.
func (s *ShardLimits) Stats() ShardLimitStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := ShardLimitStats{
		Calls: s.n.calls, Forwarded: s.n.forwarded, Answered: s.n.answered, OutageCalls: s.n.outageCalls,
		Entries: s.n.entries, Throttled: s.n.throttled, OutageEntries: s.n.outageEntries,
		Unlimited: s.n.unlimited, Listings: s.n.listings, ListErrors: s.n.listErrors,
	}
	for _, st := range s.streams {
		for _, sh := range st.byID {
			out.Shards = append(out.Shards, ShardStats{
				Stream: st.name, ShardID: sh.id, Open: sh.open,
				AcceptedRecords: sh.acceptedRecords, AcceptedBytes: sh.acceptedBytes,
				Throttled: sh.throttled, HotThrottled: sh.hotThrottled,
			})
		}
	}
	sort.Slice(out.Shards, func(i, j int) bool {
		a, b := out.Shards[i], out.Shards[j]
		if a.Stream != b.Stream {
			return a.Stream < b.Stream
		}
		return a.ShardID < b.ShardID
	})
	return out
}

// String summarizes the counters for test logs.
func (s *ShardLimits) String() string { return s.Stats().String() }

// RoundTrip implements http.RoundTripper.
func (s *ShardLimits) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("X-Amz-Target") != PutRecordsTarget {
		return s.next.RoundTrip(req)
	}
	body, err := readBody(req)
	if err != nil {
		return nil, err
	}
	parsed, perr := scanPutRecords(body)
	n := 0
	if perr == nil {
		n = len(parsed.entries)
	}

	s.mu.Lock()
	s.n.calls++
	s.n.entries += int64(n)
	if time.Now().Before(s.outageUntil) {
		s.n.outageCalls++
		s.n.outageEntries += int64(n)
		s.mu.Unlock()
		return nil, opError("dial", req, ErrOutage)
	}
	s.mu.Unlock()

	if perr != nil {
		return s.passThrough(req, body, 0) // the server rejects it
	}
	key, listName, listField := parsed.streamKey()
	st, err := s.stream(req, key, listName, listField)
	if err != nil {
		return s.passThrough(req, body, n)
	}

	faults := s.admit(st, parsed.entries)
	if countFailed(faults) == 0 {
		return s.forward(req, body)
	}
	keptBody := func() ([]byte, error) { return parsed.without(faults), nil }
	return sendPartial(req, faults, keptBody, func(b []byte) (*http.Response, error) {
		return s.forward(req, b)
	})
}

// passThrough forwards a call whose entries the limits cannot judge.
func (s *ShardLimits) passThrough(req *http.Request, body []byte, entries int) (*http.Response, error) {
	s.mu.Lock()
	s.n.unlimited += int64(entries)
	s.mu.Unlock()
	return s.forward(req, body)
}

func (s *ShardLimits) forward(req *http.Request, body []byte) (*http.Response, error) {
	s.mu.Lock()
	s.n.forwarded++
	s.mu.Unlock()
	return forwardBody(s.next, req, body)
}

// admit routes each entry to its shard and takes its tokens, or marks it
// throttled. It returns one entryFault per entry.
func (s *ShardLimits) admit(st *streamState, entries []putEntry) []entryFault {
	faults := make([]entryFault, len(entries))
	hashes := make([]uint128, len(entries))
	valid := make([]bool, len(entries))
	for i := range entries {
		hashes[i], valid[i] = entries[i].hashKey()
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	throttled := 0
	for i := range entries {
		var sh *shardState
		if valid[i] {
			sh = st.shardFor(hashes[i])
		}
		if sh == nil {
			s.n.unlimited++
			continue
		}
		if s.isHot(st.name, sh.id, now) {
			sh.throttled++
			sh.hotThrottled++
			throttled++
			faults[i] = throttleFault(st.name, sh.id)
			continue
		}
		size := float64(entries[i].size())
		sh.bytes.refill(now)
		sh.records.refill(now)
		if !sh.bytes.fits(size) || !sh.records.fits(1) {
			sh.throttled++
			throttled++
			faults[i] = throttleFault(st.name, sh.id)
			continue
		}
		sh.bytes.tokens -= size
		sh.records.tokens--
		sh.acceptedRecords++
		sh.acceptedBytes += int64(size)
	}
	s.n.throttled += int64(throttled)
	if throttled == len(entries) && throttled > 0 {
		s.n.answered++
	}
	return faults
}

// isHot reports whether ThrottleShard holds the shard now. Called with s.mu
// held.
func (s *ShardLimits) isHot(stream, shard string, now time.Time) bool {
	for _, k := range [2]hotKey{{stream, shard}, {"", shard}} {
		if until, ok := s.hot[k]; ok {
			if now.Before(until) {
				return true
			}
			delete(s.hot, k)
		}
	}
	return false
}

func throttleFault(stream, shard string) entryFault {
	return entryFault{CodeProvisionedThroughput, fmt.Sprintf(
		"Rate exceeded for shard %s in stream %s under account 000000000000.", shard, stream)}
}

// shardFor returns the open shard holding h, or nil. Called with
// ShardLimits.mu held.
func (st *streamState) shardFor(h uint128) *shardState {
	i := sort.Search(len(st.open), func(i int) bool { return h.less(st.open[i].lo) }) - 1
	if i < 0 || st.open[i].hi.less(h) {
		return nil
	}
	return st.open[i]
}

// stream returns the state of the stream, listing its shards first when it
// has none yet, when Refresh asked for it, or when the listing is older than
// RefreshInterval. A listing that fails is an error only when the stream has
// no shards yet; otherwise the old ones stay in use.
func (s *ShardLimits) stream(req *http.Request, key, listName, listField string) (*streamState, error) {
	s.mu.Lock()
	st := s.streams[key]
	if st == nil {
		st = &streamState{name: key, byID: make(map[string]*shardState)}
		s.streams[key] = st
	}
	must := st.listedAt.IsZero() || st.stale
	due := s.cfg.RefreshInterval > 0 && time.Since(st.listedAt) >= s.cfg.RefreshInterval
	s.mu.Unlock()
	if !must && !due {
		return st, nil
	}

	if must {
		st.listMu.Lock()
	} else if !st.listMu.TryLock() {
		return st, nil // another call is listing; the current shards do meanwhile
	}
	defer st.listMu.Unlock()

	// Another call may have listed while this one waited.
	s.mu.Lock()
	must = st.listedAt.IsZero() || st.stale
	due = s.cfg.RefreshInterval > 0 && time.Since(st.listedAt) >= s.cfg.RefreshInterval
	s.mu.Unlock()
	if !must && !due {
		return st, nil
	}

	var shards []ShardRange
	var err error
	if s.cfg.ListShards != nil {
		shards, err = s.cfg.ListShards(req.Context(), listName)
	} else {
		shards, err = s.listShards(req, listName, listField)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.n.listErrors++
		if st.listedAt.IsZero() {
			return nil, fmt.Errorf("faultinject: list shards of %s: %w", listName, err)
		}
		return st, nil
	}
	s.n.listings++
	st.install(shards, s.cfg, time.Now())
	return st, nil
}

// install makes shards the open shards of the stream. Shards seen before
// keep their buckets and counters. Called with ShardLimits.mu held.
func (st *streamState) install(shards []ShardRange, cfg ShardLimitsConfig, now time.Time) {
	for _, sh := range st.byID {
		sh.open = false
	}
	st.open = st.open[:0]
	for _, r := range shards {
		lo, ok1 := toUint128(r.StartingHashKey)
		hi, ok2 := toUint128(r.EndingHashKey)
		if !ok1 || !ok2 || hi.less(lo) {
			continue
		}
		sh := st.byID[r.ShardID]
		if sh == nil {
			sh = &shardState{
				id:      r.ShardID,
				bytes:   newBucket(cfg.BytesPerSecond, cfg.ByteBurst, now),
				records: newBucket(cfg.RecordsPerSecond, cfg.RecordBurst, now),
			}
			st.byID[r.ShardID] = sh
		}
		sh.lo, sh.hi, sh.open = lo, hi, true
		st.open = append(st.open, sh)
	}
	sort.Slice(st.open, func(i, j int) bool { return st.open[i].lo.less(st.open[j].lo) })
	st.listedAt = now
	st.stale = false
}

// listShardsPage is the part of a ListShards answer the transport reads.
type listShardsPage struct {
	NextToken *string
	Shards    []struct {
		ShardId      string
		HashKeyRange struct {
			StartingHashKey string
			EndingHashKey   string
		}
		SequenceNumberRange struct {
			EndingSequenceNumber *string
		}
	}
}

// listShards lists the open shards of a stream with ListShards calls sent
// through the next transport to the endpoint of req, following NextToken
// pages (a page request carries only the token).
func (s *ShardLimits) listShards(req *http.Request, stream, field string) ([]ShardRange, error) {
	var out []ShardRange
	params := map[string]any{field: stream}
	for page := 0; page < 1000; page++ {
		body, err := json.Marshal(params)
		if err != nil {
			return nil, fmt.Errorf("encode ListShards request: %w", err)
		}
		lreq, err := http.NewRequestWithContext(req.Context(), http.MethodPost, req.URL.String(), bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("build ListShards request: %w", err)
		}
		lreq.Header.Set("Content-Type", amzJSON)
		lreq.Header.Set("X-Amz-Target", ListShardsTarget)
		for _, h := range []string{"Authorization", "X-Amz-Date", "X-Amz-Security-Token", "User-Agent"} {
			if v := req.Header.Get(h); v != "" {
				lreq.Header.Set(h, v)
			}
		}
		resp, err := s.next.RoundTrip(lreq)
		if err != nil {
			return nil, fmt.Errorf("ListShards: %w", err)
		}
		rbody, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read ListShards answer: %w", err)
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("ListShards answered HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(rbody))
		}
		var p listShardsPage
		if err := json.Unmarshal(rbody, &p); err != nil {
			return nil, fmt.Errorf("decode ListShards answer: %w", err)
		}
		for _, sh := range p.Shards {
			if sh.SequenceNumberRange.EndingSequenceNumber != nil {
				continue // closed
			}
			lo, ok1 := new(big.Int).SetString(sh.HashKeyRange.StartingHashKey, 10)
			hi, ok2 := new(big.Int).SetString(sh.HashKeyRange.EndingHashKey, 10)
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("shard %s has an invalid hash key range %q..%q",
					sh.ShardId, sh.HashKeyRange.StartingHashKey, sh.HashKeyRange.EndingHashKey)
			}
			out = append(out, ShardRange{ShardID: sh.ShardId, StartingHashKey: lo, EndingHashKey: hi})
		}
		if p.NextToken == nil || *p.NextToken == "" {
			return out, nil
		}
		params = map[string]any{"NextToken": *p.NextToken}
	}
	return nil, fmt.Errorf("ListShards of %s did not end after 1000 pages", stream)
}
