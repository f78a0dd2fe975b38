// Package deaggregator splits Kinesis records written in the KPL aggregated
// format back into the user records they carry, exactly as the Kinesis
// Client Library 2.x does (its AggregatorUtil). It is for consumers that read
// a stream with GetRecords, Lambda or any other client, and for tests that
// want to see what a KCL consumer sees: it depends on no AWS SDK.
//
// KCL's rules, which Deaggregate and DeaggregateShard follow:
//   - A record is an aggregate when it starts with the 4-byte KPL magic and
//     has more than the 16 bytes of an MD5 checksum after it.
//   - An aggregate whose checksum does not match, or whose protobuf does not
//     parse (required fields included), is an ordinary record: user data may
//     start with the magic.
//   - The sub-records are taken in order. When one hashes (its explicit hash
//     key, else the MD5 of its partition key) outside the shard's hash key
//     range, the whole aggregate is dropped.
//   - A sub-record whose key index is out of range or whose explicit hash
//     key is not a number ends the aggregate: the sub-records before it are
//     kept, the rest dropped (KCL logs an error).
package deaggregator

import (
	"bytes"
	"crypto/md5"
	"errors"
	"fmt"
	"math/big"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

// magic is the prefix of every KPL aggregated record.
var magic = [4]byte{0xF3, 0x89, 0x9A, 0xC2}

// Errors of Deaggregate and DeaggregateShard; compare with errors.Is.
var (
	// ErrMalformed means a sub-record of an aggregate has a partition key
	// or explicit hash key index out of range, or an explicit hash key that
	// is not a number: KCL keeps the sub-records before it and drops the
	// rest, which is what comes back with the error.
	ErrMalformed = errors.New("deaggregator: malformed sub-record")
	// ErrOutsideShard means a sub-record of an aggregate hashes outside the
	// shard's hash key range, so KCL drops the whole aggregate: no record
	// comes back with the error.
	ErrOutsideShard = errors.New("deaggregator: sub-record outside the shard")
)

// Record is one user record.
type Record struct {
	// PartitionKey is the user record's partition key.
	PartitionKey string
	// ExplicitHashKey is the user record's explicit hash key in decimal, or "".
	ExplicitHashKey string
	// Data is the payload; it shares memory with the Kinesis record's data.
	Data []byte
	// Aggregated is set for a sub-record of an aggregate, whose index in
	// the result is its sub-sequence number; it is false for a Kinesis
	// record that comes back as itself.
	Aggregated bool
}

// IsAggregated reports whether data is framed as an aggregated record, as
// KCL tests it: the magic prefix and more than the 16 bytes of a checksum
// after it. The checksum itself is checked by Deaggregate.
func IsAggregated(data []byte) bool {
	return len(data) > len(magic)+md5.Size && bytes.Equal(data[:len(magic)], magic[:])
}

// maxHash is 2^128-1, the top of the hash key space.
var maxHash = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1))

// Deaggregate returns the user records KCL 2.x delivers for one Kinesis
// record with the given partition key and explicit hash key ("" for none),
// taking the whole hash key space as the shard's range: the sub-records of
// an aggregate, or the record itself. See the package documentation for the
// rules and DeaggregateShard for the errors.
func Deaggregate(data []byte, partitionKey, explicitHashKey string) ([]Record, error) {
	return DeaggregateShard(data, partitionKey, explicitHashKey, big.NewInt(0), maxHash)
}

// DeaggregateShard is Deaggregate for a record read from a shard whose hash
// key range is start..end (both included). It returns nil and an error
// wrapping ErrOutsideShard when KCL would drop the whole aggregate because a
// sub-record hashes outside the range, and the sub-records KCL keeps with an
// error wrapping ErrMalformed when a sub-record is malformed. A record that
// is not an aggregate for KCL comes back as itself, whatever its hash.
func DeaggregateShard(data []byte, partitionKey, explicitHashKey string, start, end *big.Int) ([]Record, error) {
	plain := []Record{{PartitionKey: partitionKey, ExplicitHashKey: explicitHashKey, Data: data}}
	if !IsAggregated(data) {
		return plain, nil
	}
	body := data[len(magic) : len(data)-md5.Size]
	if sum := md5.Sum(body); !bytes.Equal(sum[:], data[len(data)-md5.Size:]) {
		return plain, nil
	}
	keys, hashes, subs, ok := parse(body)
	if !ok {
		return plain, nil
	}
	out := make([]Record, 0, len(subs))
	for i, s := range subs {
		ki := javaIndex(s.key)
		if ki < 0 || ki >= len(keys) {
			return out, fmt.Errorf("%w: record %d has partition key index %d of %d", ErrMalformed, i, s.key, len(keys))
		}
		r := Record{PartitionKey: keys[ki], Data: s.data, Aggregated: true}
		if s.hasHash {
			hi := javaIndex(s.hash)
			if hi < 0 || hi >= len(hashes) {
				return out, fmt.Errorf("%w: record %d has explicit hash key index %d of %d", ErrMalformed, i, s.hash, len(hashes))
			}
			r.ExplicitHashKey = hashes[hi]
		}
		h, err := effectiveHash(r.PartitionKey, r.ExplicitHashKey, s.hasHash)
		if err != nil {
			return out, fmt.Errorf("%w: record %d: %w", ErrMalformed, i, err)
		}
		if h.Cmp(start) < 0 || h.Cmp(end) > 0 {
			return nil, fmt.Errorf("%w: record %d of %d hashes to %s, outside %s..%s", ErrOutsideShard, i, len(subs), h, start, end)
		}
		out = append(out, r)
	}
	return out, nil
}

// SubRecords returns the number of sub-records of an aggregate KCL takes
// apart, malformed or not, and 0 for a record KCL takes as it is. With the
// records DeaggregateShard returns, it says how many KCL drops.
func SubRecords(data []byte) int {
	if !IsAggregated(data) {
		return 0
	}
	body := data[len(magic) : len(data)-md5.Size]
	if sum := md5.Sum(body); !bytes.Equal(sum[:], data[len(data)-md5.Size:]) {
		return 0
	}
	_, _, subs, ok := parse(body)
	if !ok {
		return 0
	}
	return len(subs)
}

// javaIndex is the index KCL uses for a table index v: Java's (int) cast of
// a long, the low 32 bits as a signed number.
func javaIndex(v uint64) int { return int(int32(uint32(v))) }

// effectiveHash is the hash KCL places a sub-record by: its explicit hash
// key (when it has one, even "") as a decimal (Java's BigInteger: an
// optional sign and ASCII digits), else the MD5 of its partition key in
// UTF-8.
func effectiveHash(key, ehk string, hasEHK bool) (*big.Int, error) {
	if !hasEHK {
		if !utf8.ValidString(key) {
			key = string([]rune(key)) // Java decodes to a String first: invalid bytes become U+FFFD
		}
		sum := md5.Sum([]byte(key))
		return new(big.Int).SetBytes(sum[:]), nil
	}
	digits := ehk
	if digits != "" && (digits[0] == '+' || digits[0] == '-') {
		digits = digits[1:]
	}
	if digits == "" {
		return nil, fmt.Errorf("explicit hash key %q is not a number", ehk)
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return nil, fmt.Errorf("explicit hash key %q is not a number", ehk)
		}
	}
	h, _ := new(big.Int).SetString(ehk, 10) // big.Int takes the same sign and digits
	return h, nil
}

// sub is a Record message before its indexes are resolved.
type sub struct {
	key, hash uint64
	hasHash   bool
	data      []byte
}

// parse parses an AggregatedRecord as protobuf-java's parseFrom does: ok is
// false when it would throw (a broken encoding, or a required field
// missing: a Record's partition_key_index or data, a Tag's key). Fields of
// unknown number, or of a known number with another wire type, are skipped.
func parse(b []byte) (keys, hashes []string, subs []sub, ok bool) {
	for len(b) > 0 {
		num, typ, n := consumeTag(b)
		if n < 0 {
			return nil, nil, nil, false
		}
		b = b[n:]
		if typ != protowire.BytesType || num < 1 || num > 3 {
			if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
				return nil, nil, nil, false
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return nil, nil, nil, false
		}
		b = b[n:]
		switch num {
		case 1:
			keys = append(keys, string(v))
		case 2:
			hashes = append(hashes, string(v))
		case 3:
			s, ok := parseRecord(v)
			if !ok {
				return nil, nil, nil, false
			}
			subs = append(subs, s)
		}
	}
	return keys, hashes, subs, true
}

// parseRecord parses a Record message; ok is false when parseFrom would
// throw.
func parseRecord(b []byte) (s sub, ok bool) {
	hasKey, hasData := false, false
	for len(b) > 0 {
		num, typ, n := consumeTag(b)
		if n < 0 {
			return s, false
		}
		b = b[n:]
		switch {
		case (num == 1 || num == 2) && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return s, false
			}
			b = b[n:]
			if num == 1 {
				s.key, hasKey = v, true
			} else {
				s.hash, s.hasHash = v, true
			}
		case (num == 3 || num == 4) && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return s, false
			}
			b = b[n:]
			if num == 3 {
				s.data, hasData = v, true
			} else if !tagHasKey(v) {
				return s, false
			}
		default:
			if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
				return s, false
			}
			b = b[n:]
		}
	}
	if !hasKey || !hasData {
		return s, false
	}
	if s.data == nil {
		s.data = []byte{}
	}
	return s, true
}

// consumeTag is protowire.ConsumeTag that also refuses field numbers above
// 2^29-1, as the Go protobuf runtime does. (protobuf-java reads a tag as 32
// bits and would take such a number as an unknown field of a smaller
// number; no KPL-format producer writes one.)
func consumeTag(b []byte) (protowire.Number, protowire.Type, int) {
	num, typ, n := protowire.ConsumeTag(b)
	if n >= 0 && num > protowire.MaxValidNumber {
		return 0, 0, -1
	}
	return num, typ, n
}

// tagHasKey reports whether a Tag message parses and has its required key.
func tagHasKey(b []byte) bool {
	hasKey := false
	for len(b) > 0 {
		num, typ, n := consumeTag(b)
		if n < 0 {
			return false
		}
		b = b[n:]
		if num == 1 && typ == protowire.BytesType {
			hasKey = true
		}
		if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
			return false
		}
		b = b[n:]
	}
	return hasKey
}
