package engine

import (
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"math/big"
	"math/bits"
	"strconv"
	"unsafe"
)

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
