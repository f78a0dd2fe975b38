package engine

import (
	"fmt"
	"math/big"
	"unicode/utf8"
)

// UserRecord is a record a caller hands to PutUserRecord. The producer keeps
// the caller's value and gives the very same value back in a FailureRecord.
// The producer calls PartitionKey, ExplicitHashKey and Data once, inside
// PutUserRecord; the value must not change until the record is acknowledged or
// comes back as a failure.
type UserRecord interface {
	// PartitionKey is the Kinesis partition key: 1 to 256 UTF-16 code units
	// (a character outside the Basic Multilingual Plane counts twice).
	PartitionKey() string
	// ExplicitHashKey, when not nil, overrides the hash of the partition key
	// and decides the shard. It must be in 0..2^128-1.
	ExplicitHashKey() *big.Int
	// Data is the payload.
	Data() []byte
	// Size is the size of the payload in bytes. The producer computes sizes
	// itself from Data and PartitionKey; Size is kept for compatibility.
	Size() int
}

// dataRecord is the UserRecord that Put builds for a failure or a result.
type dataRecord struct {
	data []byte
	key  string
	ehk  *big.Int
}

func (r *dataRecord) PartitionKey() string      { return r.key }
func (r *dataRecord) ExplicitHashKey() *big.Int { return r.ehk }
func (r *dataRecord) Data() []byte              { return r.data }
func (r *dataRecord) Size() int                 { return len(r.data) }

// ehkDigits is the decimal length of r's explicit hash key.
func (r *record) ehkDigits() int {
	if r.ehkLen != 0 {
		return int(r.ehkLen)
	}
	return r.hash.decimalLen()
}

// maxKeyRunes is the longest partition key Kinesis accepts, in UTF-16 code
// units.
// Kinesis counts them as Java does, in UTF-16 code units: a character outside
// the Basic Multilingual Plane (an emoji, say) counts twice.
const maxKeyRunes = 256

// keyLength is the length of key in UTF-16 code units.
func keyLength(key string) int {
	n := 0
	for _, r := range key {
		n++
		if r >= 0x10000 {
			n++
		}
	}
	return n
}

// checkPartitionKey reports whether key is a legal partition key.
func checkPartitionKey(key string) error {
	if len(key) == 0 {
		return fmt.Errorf("%w: empty", ErrIllegalPartitionKey)
	}
	// A key of at most 256 bytes has at most 256 UTF-16 code units.
	if len(key) > maxKeyRunes {
		if n := keyLength(key); n > maxKeyRunes {
			return fmt.Errorf("%w: %d UTF-16 code units, the limit is %d", ErrIllegalPartitionKey, n, maxKeyRunes)
		}
	}
	if !utf8.ValidString(key) {
		return fmt.Errorf("%w: not valid UTF-8", ErrIllegalPartitionKey)
	}
	return nil
}

// userRecordOf is the record of a caller's UserRecord: its data, key and
// value, and its explicit hash key with its number of digits. An explicit
// hash key outside 0..2^128-1 is left out of the record and reported by the
// error, which wraps ErrIllegalExplicitHashKey.
func userRecordOf(u UserRecord) (record, error) {
	r := record{data: u.Data(), key: u.PartitionKey(), user: u}
	if ehk := u.ExplicitHashKey(); ehk != nil {
		h, err := hashFromBig(ehk)
		if err != nil {
			return r, err
		}
		r.hash, r.hasEHK, r.ehkLen = h, true, uint8(h.decimalLen())
	}
	return r, nil
}

// record is one accepted user record on its way through the pipeline. It is
// passed by value: accepting a record allocates nothing.
type record struct {
	data []byte
	key  string
	user UserRecord // the caller's value for PutUserRecord; nil for Put
	hash hash128    // md5 of key or the explicit hash key (shard-map mode or hasEHK)
	// hasEHK is set when the caller gave an explicit hash key (in hash).
	hasEHK bool
	// ehkLen is the number of decimal digits of the explicit hash key,
	// worked out by the caller's goroutine in Put (0 when unknown).
	ehkLen uint8
	// marker, when set, makes this a flush request rather than a record.
	marker *flushMarker
}

// size is the bytes r counts for in a PutRecords request when sent alone.
func (r *record) size() int { return len(r.data) + len(r.key) }
