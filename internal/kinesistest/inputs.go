package kinesistest

import (
	"crypto/rand"
	"encoding/hex"
	"math/big"
	mrand "math/rand/v2"
	"strings"
)

// Inputs for tests and benchmarks of the producer: keys and hash keys of
// every shape Kinesis accepts.

// UUIDKeys returns n random partition keys shaped like UUIDs, the keys of
// the benchmarks.
func UUIDKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		var b [16]byte
		_, _ = rand.Read(b[:])
		h := hex.EncodeToString(b[:])
		keys[i] = h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
	}
	return keys
}

// maxKeyUnits is the longest partition key Kinesis accepts, in UTF-16 code
// units.
const maxKeyUnits = 256

// RandomKey returns a legal partition key of 1 to 256 UTF-16 code units,
// mixing ASCII, two- and three-byte UTF-8 and characters outside the Basic
// Multilingual Plane (which count twice).
func RandomKey(rng *mrand.Rand) string {
	alphabet := []string{"a", "b", "z", "0", "-", "é", "語", "🔑"}
	n := 1 + rng.IntN(40)
	if rng.IntN(20) == 0 {
		n = 100 + rng.IntN(157) // up to 256 characters
	}
	var b strings.Builder
	for units := 0; units < n; {
		c := alphabet[rng.IntN(len(alphabet))]
		w := 1
		if c == "🔑" {
			w = 2 // two UTF-16 code units: Kinesis counts it twice
		}
		if units+w > maxKeyUnits {
			c, w = "a", 1
		}
		b.WriteString(c)
		units += w
	}
	return b.String()
}

// RandomHash returns an explicit hash key in 0..2^128-1, the bounds and every
// number of decimal digits included.
func RandomHash(rng *mrand.Rand) *big.Int {
	switch rng.IntN(6) {
	case 0:
		return big.NewInt(0)
	case 1:
		return BigSub(new(big.Int).Lsh(big.NewInt(1), 128), 1)
	case 2:
		return new(big.Int).SetUint64(rng.Uint64())
	default:
		// A random bit length gives every number of decimal digits.
		x := new(big.Int).SetUint64(rng.Uint64())
		x.Lsh(x, 64).Or(x, new(big.Int).SetUint64(rng.Uint64()))
		return x.Rsh(x, uint(rng.IntN(128)))
	}
}

// BigSub returns a - b.
func BigSub(a *big.Int, b int64) *big.Int { return new(big.Int).Sub(a, big.NewInt(b)) }
