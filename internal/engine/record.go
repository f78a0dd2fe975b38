package engine

import (
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"math/big"
	"math/bits"
	"strconv"
	"unicode/utf8"
	"unsafe"
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

// hash128 is a 128-bit hash key as two halves, compared without big.Int.
type hash128 struct{ hi, lo uint64 }

func (a hash128) less(b hash128) bool {
	return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo)
}

// hashKey returns the 128-bit hash Kinesis computes for a partition key: its
// MD5 digest read as a big-endian integer.
func hashKey(key string) hash128 {
	sum := md5.Sum(unsafe.Slice(unsafe.StringData(key), len(key)))
	return hashFromDigest(&sum)
}

// hashFromDigest reads an MD5 digest as a big-endian 128-bit number.
func hashFromDigest(sum *[md5.Size]byte) hash128 {
	return hash128{binary.BigEndian.Uint64(sum[:8]), binary.BigEndian.Uint64(sum[8:])}
}

// hashFromBig converts an explicit hash key, checking its range.
func hashFromBig(x *big.Int) (hash128, error) {
	if x.Sign() < 0 || x.BitLen() > 128 {
		return hash128{}, fmt.Errorf("%w: %s is outside 0..2^128-1", ErrIllegalExplicitHashKey, x.String())
	}
	var h hash128
	for i, w := range x.Bits() { // little-endian words of bits.UintSize
		if shift := i * bits.UintSize; shift < 64 {
			h.lo |= uint64(w) << shift
		} else {
			h.hi |= uint64(w) << (shift - 64)
		}
	}
	return h, nil
}

// parseHash parses a decimal hash key such as a shard's StartingHashKey.
func parseHash(s string) (hash128, error) {
	x, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return hash128{}, fmt.Errorf("%w: %q is not a decimal number", ErrIllegalExplicitHashKey, s)
	}
	return hashFromBig(x)
}

// big converts back to a big.Int.
func (a hash128) big() *big.Int {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], a.hi)
	binary.BigEndian.PutUint64(b[8:], a.lo)
	return new(big.Int).SetBytes(b[:])
}

// pow10_19 is the largest power of ten that fits a uint64.
const pow10_19 = 10000000000000000000

// ehkDigits is the decimal length of r's explicit hash key.
func (r *record) ehkDigits() int {
	if r.ehkLen != 0 {
		return int(r.ehkLen)
	}
	return r.hash.decimalLen()
}

// decimalLen is the number of decimal digits of a.
func (a hash128) decimalLen() int {
	if a.hi == 0 {
		return uint64Len(a.lo)
	}
	// a >= 2^64 > 10^19: split off the low 19 digits.
	qhi := a.hi / pow10_19
	qlo, _ := bits.Div64(a.hi%pow10_19, a.lo, pow10_19)
	if qhi != 0 {
		// The quotient is at least 2^64 and below 2^128/10^19: 20 digits.
		return 39
	}
	return 19 + uint64Len(qlo)
}

// pow10 holds 10^0 .. 10^19.
var pow10 = [20]uint64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}

// uint64Len is the number of decimal digits of v.
func uint64Len(v uint64) int {
	// log10(2) ~ 1233/4096: a first guess from the bit length, off by at most one.
	n := (bits.Len64(v) * 1233) >> 12
	if n < len(pow10) && v >= pow10[n] {
		n++
	}
	return max(n, 1)
}

// appendDecimal appends the decimal form of a to b without allocating.
func (a hash128) appendDecimal(b []byte) []byte {
	if a.hi == 0 {
		return strconv.AppendUint(b, a.lo, 10)
	}
	// a = q*10^19 + r: q first, then r on 19 digits.
	q := hash128{hi: a.hi / pow10_19}
	var r uint64
	q.lo, r = bits.Div64(a.hi%pow10_19, a.lo, pow10_19)
	b = q.appendDecimal(b)
	var digits [19]byte
	d := strconv.AppendUint(digits[:0], r, 10)
	for i := len(d); i < 19; i++ {
		b = append(b, '0')
	}
	return append(b, d...)
}

// String returns the decimal form.
func (a hash128) String() string { return string(a.appendDecimal(nil)) }

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
