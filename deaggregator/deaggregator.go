// Package deaggregator splits Kinesis records written in the KPL aggregated
// format back into the user records they carry. It is for consumers that read
// a stream with GetRecords, Lambda or any other client: it depends on no AWS
// SDK.
package deaggregator

import (
	"bytes"
	"crypto/md5"
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// Magic is the prefix of every KPL aggregated record.
var Magic = []byte{0xF3, 0x89, 0x9A, 0xC2}

// Errors of Deaggregate; compare with errors.Is.
var (
	// ErrChecksum means a record has the aggregation prefix but its MD5
	// checksum does not match its body.
	ErrChecksum = errors.New("deaggregator: checksum mismatch")
	// ErrMalformed means the protobuf body of an aggregated record is not a
	// valid AggregatedRecord.
	ErrMalformed = errors.New("deaggregator: malformed aggregated record")
)

// Record is one user record.
type Record struct {
	// PartitionKey is the user record's partition key.
	PartitionKey string
	// ExplicitHashKey is the user record's explicit hash key in decimal, or "".
	ExplicitHashKey string
	// Data is the payload; it shares memory with the Kinesis record's data.
	Data []byte
}

// IsAggregated reports whether data starts with the aggregation prefix and is
// long enough to hold a checksum.
func IsAggregated(data []byte) bool {
	return len(data) >= len(Magic)+md5.Size && bytes.Equal(data[:len(Magic)], Magic)
}

// Deaggregate returns the user records of one Kinesis record. A record that is
// not aggregated comes back as itself, with the given partition key and
// explicit hash key. An aggregated record whose checksum or body is wrong is
// an error wrapping ErrChecksum or ErrMalformed.
func Deaggregate(data []byte, partitionKey, explicitHashKey string) ([]Record, error) {
	if !IsAggregated(data) {
		return []Record{{PartitionKey: partitionKey, ExplicitHashKey: explicitHashKey, Data: data}}, nil
	}
	body := data[len(Magic) : len(data)-md5.Size]
	sum := md5.Sum(body)
	if !bytes.Equal(sum[:], data[len(data)-md5.Size:]) {
		return nil, ErrChecksum
	}
	return parse(body)
}

// inner is a Record message before its indexes are resolved.
type inner struct {
	key, hash    uint64
	hasKey, hasH bool
	data         []byte
}

func parse(b []byte) ([]Record, error) {
	var keys, hashes []string
	var recs []inner
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, fmt.Errorf("%w: %w", ErrMalformed, protowire.ParseError(n))
		}
		b = b[n:]
		if typ != protowire.BytesType || num < 1 || num > 3 {
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return nil, fmt.Errorf("%w: %w", ErrMalformed, protowire.ParseError(n))
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return nil, fmt.Errorf("%w: %w", ErrMalformed, protowire.ParseError(n))
		}
		b = b[n:]
		switch num {
		case 1:
			keys = append(keys, string(v))
		case 2:
			hashes = append(hashes, string(v))
		case 3:
			r, err := parseRecord(v)
			if err != nil {
				return nil, err
			}
			recs = append(recs, r)
		}
	}
	out := make([]Record, len(recs))
	for i, r := range recs {
		if !r.hasKey || r.key >= uint64(len(keys)) {
			return nil, fmt.Errorf("%w: record %d has partition key index %d of %d", ErrMalformed, i, r.key, len(keys))
		}
		out[i] = Record{PartitionKey: keys[r.key], Data: r.data}
		if r.hasH {
			if r.hash >= uint64(len(hashes)) {
				return nil, fmt.Errorf("%w: record %d has explicit hash key index %d of %d", ErrMalformed, i, r.hash, len(hashes))
			}
			out[i].ExplicitHashKey = hashes[r.hash]
		}
	}
	return out, nil
}

func parseRecord(b []byte) (inner, error) {
	var r inner
	haveData := false
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return r, fmt.Errorf("%w: %w", ErrMalformed, protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case (num == 1 || num == 2) && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return r, fmt.Errorf("%w: %w", ErrMalformed, protowire.ParseError(n))
			}
			b = b[n:]
			if num == 1 {
				r.key, r.hasKey = v, true
			} else {
				r.hash, r.hasH = v, true
			}
		case num == 3 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return r, fmt.Errorf("%w: %w", ErrMalformed, protowire.ParseError(n))
			}
			b = b[n:]
			r.data, haveData = v, true
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return r, fmt.Errorf("%w: %w", ErrMalformed, protowire.ParseError(n))
			}
			b = b[n:]
		}
	}
	if !haveData {
		return r, fmt.Errorf("%w: record without data", ErrMalformed)
	}
	if r.data == nil {
		r.data = []byte{}
	}
	return r, nil
}
