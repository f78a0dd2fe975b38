package engine

import (
	"crypto/md5"
	"sync"
	"time"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"
)

// magic starts every KPL aggregated record.
var magic = [4]byte{0xF3, 0x89, 0x9A, 0xC2}

// Protobuf field numbers of messages.proto.
const (
	fieldKeyTable  = 1 // AggregatedRecord.partition_key_table
	fieldHashTable = 2 // AggregatedRecord.explicit_hash_key_table
	fieldRecords   = 3 // AggregatedRecord.records
	fieldKeyIndex  = 1 // Record.partition_key_index
	fieldHashIndex = 2 // Record.explicit_hash_key_index
	fieldData      = 3 // Record.data
)

// aggOverhead is what an aggregate adds around its protobuf: magic and MD5.
const aggOverhead = len(magic) + md5.Size

// noIndex marks a record without an explicit hash key.
const noIndex = ^uint32(0)

// aggregate is one Kinesis record under construction: the user records of a
// KPL aggregate (or a single user record sent plain), their key tables and the
// exact size of the encoding. The router fills it and queues it in its
// shard's stage, the collector hands it to the sender for each call, and
// between calls it is the drain goroutine's again. It goes back to the pool when every record in it is
// acknowledged or failed.
type aggregate struct {
	recs      []aggRec // per record: its data, key index and caller's value
	hashIdx   []uint32 // per record: index in hashes, or noIndex
	keys      []string
	keyHashes []hash128 // per key: its MD5 as Put worked it out, zero when it did not (see hashAt)
	hashes    []hash128
	pos       *keyTables // find indexes in keys and hashes while open: the stage's (see useTables), else own
	own       keyTables
	pbSize    int // exact size of the protobuf encoding so far
	outerKey  string

	// Set when the aggregate is closed.
	outerHash string    // explicit hash key of the Kinesis record, "" for none
	shard     int       // predicted shard: index in smap, -1 for none
	smap      *shardMap // the shard map the prediction was made with, nil without one
	epoch     *epoch    // the flush epoch whose count includes this aggregate's records
	created   time.Time

	// Kept by the retrier across calls.
	sends     int       // PutRecords calls that carried it
	attempts  int       // failed calls that count toward MaxAttempts (throttling does not)
	throttles int       // consecutive throttled answers
	lastErr   error     // the cause of the last failed attempt
	notBefore time.Time // a retry waits until then
	lane      *lane     // with OrderPerKey, while sent and not resolved: the lane it holds

	// Written by the sender during a call, read by the retrier after it.
	data    []byte  // encoded Kinesis record data
	buf     *[]byte // pooled buffer behind data, nil when data is a user's slice
	entry   Entry   // the PutRecords entry, once encoded
	encoded bool    // entry is set
	result  outcome // of the last call
}

// aggRec is what an aggregate keeps of a user record besides the index of
// its explicit hash key: 32 bytes where a record takes 88. That matters on
// the drain goroutine, where every record is appended to the open aggregate
// of its shard: with hundreds of shards nearly every append writes to a
// cache line the goroutine has not touched since the aggregate's last use.
// record gives back the whole record.
type aggRec struct {
	ptr  unsafe.Pointer // the data's first byte; nil for empty data
	size uint32         // len(data), which MaxRecordSize keeps far below 4 GiB
	key  uint32         // index in keys
	user UserRecord     // the caller's value for PutUserRecord; nil for Put
}

// emptyData backs the data of an empty record: non-nil, as Put requires.
var emptyData [1]byte

func newAggRec(data []byte, key uint32, user UserRecord) aggRec {
	r := aggRec{size: uint32(len(data)), key: key, user: user}
	if len(data) > 0 {
		// Not for empty data: its pointer may be one past the end of an
		// allocation, which the garbage collector must never see.
		r.ptr = unsafe.Pointer(unsafe.SliceData(data))
	}
	return r
}

// data returns the record's data, with capacity cut to its length.
func (r *aggRec) data() []byte {
	if r.ptr == nil {
		return emptyData[:0:0]
	}
	return unsafe.Slice((*byte)(r.ptr), r.size)
}

// record returns user record i as it was added.
func (a *aggregate) record(i int) record {
	r := record{data: a.recs[i].data(), key: a.keys[a.recs[i].key], user: a.recs[i].user}
	r.hash, r.hasEHK = a.hashAt(i)
	return r
}

// hashAt returns the hash record i is routed by, and whether it is an
// explicit hash key: that key, else the MD5 of the partition key (worked out
// again if Put did not, which only a producer without a shard map skips,
// and it never routes by hash).
func (a *aggregate) hashAt(i int) (hash128, bool) {
	if j := a.hashIdx[i]; j != noIndex {
		return a.hashes[j], true
	}
	k := a.recs[i].key
	if h := a.keyHashes[k]; h != (hash128{}) {
		return h, false
	}
	return hashKey(a.keys[k]), false
}

// userRecord returns the value a failure or result reports for record i:
// the caller's own for PutUserRecord, else its data and key (and explicit
// hash key). It needs no routing hash, so it works none out.
func (a *aggregate) userRecord(i int) UserRecord {
	if u := a.recs[i].user; u != nil {
		return u
	}
	d := &dataRecord{data: a.recs[i].data(), key: a.keys[a.recs[i].key]}
	if j := a.hashIdx[i]; j != noIndex {
		d.ehk = a.hashes[j].big()
	}
	return d
}

// routeHash is hashAt without the kind.
func (a *aggregate) routeHash(i int) hash128 {
	h, _ := a.hashAt(i)
	return h
}

var aggregatePool = sync.Pool{New: func() any { return new(aggregate) }}

var bufferPool = sync.Pool{New: func() any { b := make([]byte, 0, DefaultAggregateBatchSize); return &b }}

func newAggregate() *aggregate {
	return aggregatePool.Get().(*aggregate)
}

// release clears a and gives it and its buffer back to their pools.
func (a *aggregate) release() {
	if a.buf != nil {
		*a.buf = (*a.buf)[:0]
		bufferPool.Put(a.buf)
	}
	clear(a.recs)
	clear(a.keys)
	a.own.reset()
	*a = aggregate{
		recs: a.recs[:0], hashIdx: a.hashIdx[:0],
		keys: a.keys[:0], keyHashes: a.keyHashes[:0], hashes: a.hashes[:0], own: a.own,
	}
	aggregatePool.Put(a)
}

func varintLen(v int) int { return protowire.SizeVarint(uint64(v)) }

// appendVarint is protowire.AppendVarint, inlined for one-byte values.
func appendVarint(b []byte, v uint64) []byte {
	if v < 0x80 {
		return append(b, byte(v))
	}
	return protowire.AppendVarint(b, v)
}

// bytesFieldLen is the encoded size of a length-delimited field with a
// one-byte tag and n bytes of payload.
func bytesFieldLen(n int) int { return 1 + varintLen(n) + n }

// recordLen is the encoded size of a Record message's body.
func recordLen(keyIdx, hashIdx uint32, dataLen int) int {
	n := 1 + varintLen(int(keyIdx)) + bytesFieldLen(dataLen)
	if hashIdx != noIndex {
		n += 1 + varintLen(int(hashIdx))
	}
	return n
}

// add appends r if the aggregate stays within lim, and reports whether it did.
// An empty aggregate always takes r: the pipeline sends a record whose
// aloneSize is over the limit as a plain record instead of adding it.
func (a *aggregate) add(r *record, lim *limits) bool {
	_, ok := a.place(r, lim, false)
	return ok
}

// grow returns how many bytes adding r would add to the protobuf, without
// adding it, and whether its partition key is in the key table already.
func (a *aggregate) grow(r *record, lim *limits) (n int, haveKey bool) {
	return a.place(r, lim, true)
}

// place is add, and grow when dry is set: one body, so that the sizes grow
// reports are the sizes add accounts. Dry, it reports the bytes r would add
// and whether its key is known; else the bytes it added, and whether it did.
func (a *aggregate) place(r *record, lim *limits, dry bool) (int, bool) {
	n := len(a.recs)
	if n >= lim.count {
		return 0, false
	}
	grow := 0
	if a.pos == nil {
		a.pos = &a.own
	}
	keySum := hashString(r.key, lim.seed)
	keySlot, keyIdx, haveKey := a.pos.keys.slot(keySum, func(i uint32) bool { return a.keys[i] == r.key })
	if !haveKey {
		keyIdx = uint32(len(a.keys))
		grow += bytesFieldLen(len(r.key))
	}
	hashIdx := noIndex
	haveHash := true
	var hashSum uint64
	var hashSlot int
	if r.hasEHK {
		hashSum = r.hash.hashOf(lim.seed)
		hashSlot, hashIdx, haveHash = a.pos.hashes.slot(hashSum, func(i uint32) bool { return a.hashes[i] == r.hash })
		if !haveHash {
			hashIdx = uint32(len(a.hashes))
			grow += bytesFieldLen(r.ehkDigits())
		}
	}
	grow += bytesFieldLen(recordLen(keyIdx, hashIdx, len(r.data)))
	if dry {
		return grow, haveKey
	}
	if n > 0 {
		size := aggOverhead + a.pbSize + grow
		if size > lim.size || size+len(a.outerKey) > lim.recordMax {
			return 0, false
		}
	} else {
		a.outerKey = r.key
	}
	if !haveKey {
		a.keys = append(a.keys, r.key)
		var kh hash128 // the MD5 of the key, when r.hash is it
		if !r.hasEHK {
			kh = r.hash
		}
		a.keyHashes = append(a.keyHashes, kh)
		a.pos.keys.insert(keySlot, keySum, keyIdx)
	}
	if !haveHash {
		a.hashes = append(a.hashes, r.hash)
		a.pos.hashes.insert(hashSlot, hashSum, hashIdx)
	}
	a.recs = append(a.recs, newAggRec(r.data, keyIdx, r.user))
	a.hashIdx = append(a.hashIdx, hashIdx)
	a.pbSize += grow
	return grow, true
}

// useTables makes an empty aggregate find its keys with t, emptied first,
// until it is closed. A stage lends its own tables to each aggregate it
// opens: they stay in the cache of the goroutine that fills them, where an
// aggregate's own tables, emptied on another goroutine when it was last
// released, would miss the cache on nearly every lookup.
func (a *aggregate) useTables(t *keyTables) {
	t.reset()
	a.pos = t
}

// aloneSize is the aggregated data size of an aggregate holding only r.
func aloneSize(r *record) int {
	n := bytesFieldLen(len(r.key))
	hashIdx := noIndex
	if r.hasEHK {
		hashIdx = 0
		n += bytesFieldLen(r.ehkDigits())
	}
	return aggOverhead + n + bytesFieldLen(recordLen(0, hashIdx, len(r.data)))
}

// resolve lets go of the lane a holds, if any: a is acknowledged, failed or
// queued again ahead of its shard's newer records.
func (a *aggregate) resolve() {
	l := a.lane
	a.lane = nil
	l.release()
}

// keepFate gives p, a part of a sent again, a's age, sends, attempts, last
// error, backoff and flush epoch.
func (p *aggregate) keepFate(a *aggregate) {
	p.created, p.sends, p.attempts, p.lastErr, p.notBefore, p.epoch = a.created, a.sends, a.attempts, a.lastErr, a.notBefore, a.epoch
}

// plain reports whether the aggregate goes out as a plain Kinesis record:
// the one user record's own data, partition key and explicit hash key.
func (a *aggregate) plain() bool { return len(a.recs) == 1 }

// size is the bytes the Kinesis record counts for in a PutRecords request:
// data plus partition key.
func (a *aggregate) size() int {
	if a.plain() {
		return int(a.recs[0].size) + len(a.keys[0])
	}
	return aggOverhead + a.pbSize + len(a.outerKey)
}

// encode builds the PutRecords entry of the Kinesis record: the user data
// itself for a plain record, or magic + protobuf + MD5 in a pooled buffer.
func (a *aggregate) encode() {
	if a.encodeUnsummed() {
		a.sumAlone()
	}
}

// encodeUnsummed is encode without the aggregate's MD5, which is left zero
// for the caller to fill in (see checksums). It reports whether there is
// one to fill in: false for a plain record.
func (a *aggregate) encodeUnsummed() bool {
	if a.plain() {
		a.data = a.recs[0].data()
	} else {
		a.buf = bufferPool.Get().(*[]byte)
		a.data = a.appendUnsummed((*a.buf)[:0])
		*a.buf = a.data
	}
	a.entry = Entry{Data: a.data, PartitionKey: a.outerKey, ExplicitHashKey: a.outerHash}
	a.encoded = true
	return !a.plain()
}

// landedAsPredicted reports whether the last call's answer put the record
// on the shard predicted for it (or there was nothing to check).
func (a *aggregate) landedAsPredicted() bool {
	want := a.predictedShard()
	return want == "" || a.result.shardID == "" || a.result.shardID == want
}

// storedShard is the shard Kinesis stored the record on, when it said so,
// else the one predicted.
func (a *aggregate) storedShard() string {
	if a.result.shardID != "" {
		return a.result.shardID
	}
	return a.predictedShard()
}

// expired reports whether a has outlived ttl (0: records never expire).
func (a *aggregate) expired(ttl time.Duration, now time.Time) bool {
	return ttl > 0 && now.Sub(a.created) >= ttl
}

// predictedShard is the id of the shard the record should land on, or "".
func (a *aggregate) predictedShard() string {
	if a.smap == nil || a.shard < 0 {
		return ""
	}
	return a.smap.ids[a.shard]
}

// appendEncoded appends the aggregated record (magic, protobuf, MD5) to b.
func (a *aggregate) appendEncoded(b []byte) []byte {
	start := len(b) + len(magic)
	b = a.appendUnsummed(b)
	n := len(b)
	md5Into(b[n-md5.Size:], b[start:n-md5.Size])
	return b
}

// appendUnsummed appends the aggregated record to b with room for its MD5,
// left zero.
func (a *aggregate) appendUnsummed(b []byte) []byte {
	need := aggOverhead + a.pbSize
	if cap(b)-len(b) < need {
		nb := make([]byte, len(b), len(b)+need)
		copy(nb, b)
		b = nb
	}
	b = append(b, magic[:]...)
	for _, k := range a.keys {
		b = protowire.AppendTag(b, fieldKeyTable, protowire.BytesType)
		b = protowire.AppendString(b, k)
	}
	for _, h := range a.hashes {
		b = protowire.AppendTag(b, fieldHashTable, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(h.decimalLen()))
		b = h.appendDecimal(b)
	}
	// The records: one-byte tags, and varints that are mostly one byte.
	const (
		tagRecords   = fieldRecords<<3 | byte(protowire.BytesType)
		tagKeyIndex  = fieldKeyIndex<<3 | byte(protowire.VarintType)
		tagHashIndex = fieldHashIndex<<3 | byte(protowire.VarintType)
		tagData      = fieldData<<3 | byte(protowire.BytesType)
	)
	for i := range a.recs {
		r := &a.recs[i]
		keyIdx, hashIdx := r.key, a.hashIdx[i]
		b = append(b, tagRecords)
		b = appendVarint(b, uint64(recordLen(keyIdx, hashIdx, int(r.size))))
		b = append(b, tagKeyIndex)
		b = appendVarint(b, uint64(keyIdx))
		if hashIdx != noIndex {
			b = append(b, tagHashIndex)
			b = appendVarint(b, uint64(hashIdx))
		}
		b = append(b, tagData)
		b = appendVarint(b, uint64(r.size))
		b = append(b, r.data()...)
	}
	var zero [md5.Size]byte
	return append(b, zero[:]...)
}

// plainHashKey is the explicit hash key a plain record is sent with: the
// caller's, or none.
func (a *aggregate) plainHashKey() string {
	if h, ehk := a.hashAt(0); ehk {
		return h.String()
	}
	return ""
}

// userRecords returns the values a failure or a result reports for a.
func (a *aggregate) userRecords() []UserRecord {
	users := make([]UserRecord, len(a.recs))
	for i := range a.recs {
		users[i] = a.userRecord(i)
	}
	return users
}
