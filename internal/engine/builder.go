package engine

import "math"

// Builder builds one KPL aggregated record outside a producer, for the
// doors' standalone Aggregator: the engine's own aggregate, its exact sizes
// and its encoder, with no limit of its own (the caller checks SizeWith).
// It is not safe for concurrent use.
type Builder struct {
	agg *aggregate
}

// noLimits lets a Builder's aggregate take every record it is given.
var noLimits = limits{count: math.MaxInt, size: math.MaxInt, recordMax: math.MaxInt}

// builderRecord is the record the aggregate keeps of u. An explicit hash
// key outside 0..2^128-1 cannot route anything: the record is then routed
// by its partition key, as without one.
func builderRecord(u UserRecord) record {
	r, _ := userRecordOf(u)
	return r
}

func (b *Builder) open() *aggregate {
	if b.agg == nil {
		b.agg = newAggregate()
	}
	return b.agg
}

// Add appends u.
func (b *Builder) Add(u UserRecord) {
	r := builderRecord(u)
	b.open().add(&r, &noLimits)
}

// HasKey reports whether a record with partition key key was added.
func (b *Builder) HasKey(key string) bool {
	if b.agg == nil {
		return false
	}
	r := record{key: key}
	_, have := b.agg.grow(&r, &noLimits)
	return have
}

// Len returns the number of records added.
func (b *Builder) Len() int {
	if b.agg == nil {
		return 0
	}
	return len(b.agg.recs)
}

// Size returns the exact size Kinesis counts for the aggregated record of
// what was added (its data plus its partition key), 0 when empty.
func (b *Builder) Size() int {
	if b.Len() == 0 {
		return 0
	}
	return aggOverhead + b.agg.pbSize + len(b.agg.outerKey)
}

// SizeWith returns what Size would be after adding u.
func (b *Builder) SizeWith(u UserRecord) int {
	r := builderRecord(u)
	a := b.open()
	grow, _ := a.grow(&r, &noLimits)
	outer := a.outerKey
	if len(a.recs) == 0 {
		outer = r.key
	}
	return aggOverhead + a.pbSize + grow + len(outer)
}

// Drained is what Builder.Drain returns: one Kinesis record and the user
// records it carries, in the order they were added.
type Drained struct {
	Data            []byte
	PartitionKey    string
	ExplicitHashKey string // "" for none
	Plain           bool   // the one user record's own data and keys, not an aggregate
	UserRecords     []UserRecord
}

// Drain returns the Kinesis record of what was added and empties b. The
// record is a KPL aggregate (magic, protobuf, MD5), with the first record's
// partition key and no explicit hash key, unless plain is set and there is
// one record only: that record then goes alone, with its own data,
// partition key and explicit hash key, as the producer sends it. Drain of
// an empty Builder returns false.
func (b *Builder) Drain(plain bool) (Drained, bool) {
	if b.Len() == 0 {
		return Drained{}, false
	}
	a := b.agg
	d := Drained{PartitionKey: a.outerKey, UserRecords: a.userRecords()}
	if plain && a.plain() {
		d.Data, d.ExplicitHashKey, d.Plain = a.recs[0].data(), a.plainHashKey(), true
	} else {
		d.Data = a.appendEncoded(nil)
	}
	a.release()
	b.agg = nil
	return d, true
}

// Records returns the user records added, in order.
func (b *Builder) Records() []UserRecord {
	if b.agg == nil {
		return nil
	}
	return b.agg.userRecords()
}
