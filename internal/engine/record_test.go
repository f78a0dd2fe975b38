package engine

import (
	"crypto/md5"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/kplgo/producer/internal/kinesistest"
)

// hashEdges are 128-bit values where decimal formatting changes.
func hashEdges() []*big.Int {
	var xs []*big.Int
	for k := int64(0); k <= 38; k++ {
		p := bigPow(10, k)
		xs = append(xs, p, kinesistest.BigSub(p, 1), new(big.Int).Add(p, big.NewInt(1)))
	}
	for k := int64(0); k <= 128; k++ {
		p := new(big.Int).Lsh(big.NewInt(1), uint(k))
		xs = append(xs, kinesistest.BigSub(p, 1))
		if k < 128 {
			xs = append(xs, p, new(big.Int).Add(p, big.NewInt(1)))
		}
	}
	// 2^64 * 10^19 and its neighbours: where the quotient by 10^19 needs a
	// second word.
	q := new(big.Int).Mul(new(big.Int).Lsh(big.NewInt(1), 64), bigPow(10, 19))
	xs = append(xs, q, kinesistest.BigSub(q, 1), new(big.Int).Add(q, big.NewInt(1)))
	var out []*big.Int
	max := kinesistest.BigSub(new(big.Int).Lsh(big.NewInt(1), 128), 1)
	for _, x := range xs {
		if x.Sign() >= 0 && x.Cmp(max) <= 0 {
			out = append(out, x)
		}
	}
	return out
}

func TestHash128Decimal(t *testing.T) {
	check := func(x *big.Int) {
		t.Helper()
		h, err := hashFromBig(x)
		if err != nil {
			t.Fatalf("hashFromBig(%s): %v", x, err)
		}
		want := x.String()
		if got := string(h.appendDecimal(nil)); got != want {
			t.Fatalf("appendDecimal(%s) = %s", want, got)
		}
		if got := string(h.appendDecimal([]byte("pre:"))); got != "pre:"+want {
			t.Fatalf("appendDecimal with prefix = %s", got)
		}
		if got := h.decimalLen(); got != len(want) {
			t.Fatalf("decimalLen(%s) = %d, want %d", want, got, len(want))
		}
		if got := h.String(); got != want {
			t.Fatalf("String() = %s, want %s", got, want)
		}
		if got := h.big(); got.Cmp(x) != 0 {
			t.Fatalf("big() = %s, want %s", got, want)
		}
	}
	for _, x := range hashEdges() {
		check(x)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < 20000; i++ {
		check(kinesistest.RandomHash(rng))
	}
}

func TestHash128Less(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	edges := hashEdges()
	for i := 0; i < 5000; i++ {
		x, y := kinesistest.RandomHash(rng), kinesistest.RandomHash(rng)
		if i < len(edges) {
			x = edges[i]
			y = edges[(i*7+3)%len(edges)]
		}
		hx, _ := hashFromBig(x)
		hy, _ := hashFromBig(y)
		if got, want := hx.less(hy), x.Cmp(y) < 0; got != want {
			t.Fatalf("%s < %s: %v, want %v", x, y, got, want)
		}
	}
}

func TestHashKeyIsMD5BigEndian(t *testing.T) {
	for _, key := range []string{"a", "partition-key", "ключ", "🔑", strings.Repeat("x", 256), "\x00"} {
		sum := md5.Sum([]byte(key))
		want := new(big.Int).SetBytes(sum[:])
		if got := hashKey(key).big(); got.Cmp(want) != 0 {
			t.Fatalf("hashKey(%q) = %s, want %s", key, got, want)
		}
	}
	// A known value: md5("a") = 0cc175b9c0f1b6a831c399e269772661.
	want, _ := new(big.Int).SetString("0cc175b9c0f1b6a831c399e269772661", 16)
	if got := hashKey("a"); got.big().Cmp(want) != 0 || got.hi != 0x0cc175b9c0f1b6a8 || got.lo != 0x31c399e269772661 {
		t.Fatalf("hashKey(a) = %x %x", got.hi, got.lo)
	}
}

func TestHashFromBigRange(t *testing.T) {
	two128 := new(big.Int).Lsh(big.NewInt(1), 128)
	for _, bad := range []*big.Int{big.NewInt(-1), two128, new(big.Int).Add(two128, two128), new(big.Int).Neg(two128)} {
		if _, err := hashFromBig(bad); !errors.Is(err, ErrIllegalExplicitHashKey) {
			t.Errorf("hashFromBig(%s) = %v, want ErrIllegalExplicitHashKey", bad, err)
		}
	}
	for _, good := range []*big.Int{big.NewInt(0), kinesistest.BigSub(two128, 1)} {
		h, err := hashFromBig(good)
		if err != nil {
			t.Errorf("hashFromBig(%s): %v", good, err)
		}
		if h.big().Cmp(good) != 0 {
			t.Errorf("round trip of %s gave %s", good, h.big())
		}
	}
	for _, s := range []string{"", "abc", "-1", "1e5", two128.String(), " 1"} {
		if _, err := parseHash(s); !errors.Is(err, ErrIllegalExplicitHashKey) {
			t.Errorf("parseHash(%q) = %v, want ErrIllegalExplicitHashKey", s, err)
		}
	}
	if h, err := parseHash(kinesistest.BigSub(two128, 1).String()); err != nil || h.hi != ^uint64(0) || h.lo != ^uint64(0) {
		t.Errorf("parseHash(2^128-1) = %v, %v", h, err)
	}
}

func TestCheckPartitionKey(t *testing.T) {
	for _, tc := range []struct {
		key string
		ok  bool
	}{
		{"", false},
		{"a", true},
		{strings.Repeat("a", 256), true},
		{strings.Repeat("a", 257), false},
		{strings.Repeat("é", 256), true},
		{strings.Repeat("é", 257), false},
		{strings.Repeat("🔑", 128), true}, // 256 UTF-16 code units
		{strings.Repeat("🔑", 257), false},
		{strings.Repeat("🔑", 100) + strings.Repeat("a", 56), true},
		{"\xff", false},
		{"ok\xfe\xffok", false},
		{strings.Repeat("a", 255) + "\xff", false},
		{strings.Repeat("a", 300) + "\xff", false},
	} {
		err := checkPartitionKey(tc.key)
		if tc.ok && err != nil {
			t.Errorf("key of %d bytes: %v", len(tc.key), err)
		}
		if !tc.ok && !errors.Is(err, ErrIllegalPartitionKey) {
			t.Errorf("key %q: %v, want ErrIllegalPartitionKey", trim(tc.key), err)
		}
	}
}

// TestPartitionKeyLimitCountsUTF16 follows Kinesis and the KPL, which count
// a partition key's length in UTF-16 code units (as Java does): a character
// outside the Basic Multilingual Plane counts twice. A key Put accepts but
// Kinesis refuses fails the whole PutRecords call as not retryable, with
// every other record in it.
func TestPartitionKeyLimitCountsUTF16(t *testing.T) {
	for _, key := range []string{
		strings.Repeat("🔑", 129),
		strings.Repeat("🔑", 256),
		strings.Repeat("a", 255) + "🔑",
	} {
		if err := checkPartitionKey(key); !errors.Is(err, ErrIllegalPartitionKey) {
			t.Errorf("key of %d runes, %d UTF-16 code units: %v, want ErrIllegalPartitionKey", len([]rune(key)), len(utf16.Encode([]rune(key))), err)
		}
	}
}

func trim(s string) string {
	if len(s) > 20 {
		return fmt.Sprintf("%s...(%d bytes)", s[:20], len(s))
	}
	return s
}
