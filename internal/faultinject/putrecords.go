package faultinject

import (
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// errSyntax is wrapped by the errors of scanPutRecords.
var errSyntax = errors.New("faultinject: PutRecords body is not the JSON expected")

// putRecordsBody is a PutRecords request body read in one pass: the stream
// it names, and the span and the routing facts of each entry, so that a
// body without some entries can be built by copying bytes. Reading it with
// encoding/json would cost several passes over megabytes of base64 per
// call, enough to make the transport, not the producer, the bottleneck of a
// load test.
type putRecordsBody struct {
	raw        []byte
	streamName string
	streamARN  string
	// open and close are the offsets of the Records array's brackets.
	open, close int
	entries     []putEntry
}

// putEntry is one entry of a PutRecords request.
type putEntry struct {
	start, end      int // span of the entry's object in the body
	partitionKey    string
	explicitHashKey *string
	dataLen         int // decoded length of Data
}

// size returns the entry's data plus partition key bytes.
func (e *putEntry) size() int { return e.dataLen + len(e.partitionKey) }

// hashKey returns the entry's hash key; ok is false if its explicit hash
// key is not a decimal in 0..2^128-1.
func (e *putEntry) hashKey() (uint128, bool) {
	if e.explicitHashKey != nil {
		x, ok := new(big.Int).SetString(*e.explicitHashKey, 10)
		if !ok {
			return uint128{}, false
		}
		return toUint128(x)
	}
	sum := md5.Sum([]byte(e.partitionKey))
	return uint128{binary.BigEndian.Uint64(sum[:8]), binary.BigEndian.Uint64(sum[8:])}, true
}

// streamKey names the stream of a request: its StreamName, else the name in
// its StreamARN, so that clients naming a stream either way share limits.
// It also returns what a listing is asked for, and in which field.
func (p *putRecordsBody) streamKey() (key, listName, listField string) {
	if p.streamName != "" {
		return p.streamName, p.streamName, "StreamName"
	}
	if i := strings.LastIndex(p.streamARN, ":stream/"); i >= 0 {
		return p.streamARN[i+len(":stream/"):], p.streamARN, "StreamARN"
	}
	return p.streamARN, p.streamARN, "StreamARN"
}

// scanPutRecords reads a PutRecords request body.
func scanPutRecords(b []byte) (*putRecordsBody, error) {
	s := scanner{b: b}
	p := &putRecordsBody{raw: b, open: -1}
	err := s.object(func(key string) error {
		switch key {
		case "StreamName":
			v, err := s.str()
			p.streamName = v
			return err
		case "StreamARN":
			v, err := s.str()
			p.streamARN = v
			return err
		case "Records":
			s.ws()
			p.open = s.i
			err := s.array(func() error {
				s.ws()
				e := putEntry{start: s.i}
				err := s.object(func(key string) error {
					switch key {
					case "PartitionKey":
						v, err := s.str()
						e.partitionKey = v
						return err
					case "ExplicitHashKey":
						v, err := s.str()
						e.explicitHashKey = &v
						return err
					case "Data":
						n, err := s.base64Len()
						e.dataLen = n
						return err
					}
					return s.skip()
				})
				e.end = s.i
				p.entries = append(p.entries, e)
				return err
			})
			p.close = s.i - 1
			return err
		}
		return s.skip()
	})
	if err != nil {
		return nil, err
	}
	if s.ws(); s.i != len(b) {
		return nil, fmt.Errorf("%w: data after the object at offset %d", errSyntax, s.i)
	}
	if p.open < 0 {
		return nil, fmt.Errorf("%w: no Records", errSyntax)
	}
	return p, nil
}

// without returns the body with the entries whose fault code is set left
// out.
func (p *putRecordsBody) without(faults []entryFault) []byte {
	out := make([]byte, 0, len(p.raw))
	out = append(out, p.raw[:p.open+1]...)
	first := true
	for i, e := range p.entries {
		if faults[i].code != "" {
			continue
		}
		if !first {
			out = append(out, ',')
		}
		first = false
		out = append(out, p.raw[e.start:e.end]...)
	}
	return append(out, p.raw[p.close:]...)
}

// scanner reads JSON from b, starting at i.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// expect consumes c after white space.
func (s *scanner) expect(c byte) error {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != c {
		return fmt.Errorf("%w: want %q at offset %d", errSyntax, c, s.i)
	}
	s.i++
	return nil
}

// peek returns the next byte after white space, or 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

// object reads an object, calling member with each key; member must
// consume the value.
func (s *scanner) object(member func(key string) error) error {
	if err := s.expect('{'); err != nil {
		return err
	}
	if s.peek() == '}' {
		s.i++
		return nil
	}
	for {
		key, err := s.str()
		if err != nil {
			return err
		}
		if err := s.expect(':'); err != nil {
			return err
		}
		if err := member(key); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return fmt.Errorf("%w: want ',' or '}' at offset %d", errSyntax, s.i)
		}
	}
}

// array reads an array, calling elem for each element; elem must consume
// it.
func (s *scanner) array(elem func() error) error {
	if err := s.expect('['); err != nil {
		return err
	}
	if s.peek() == ']' {
		s.i++
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return nil
		default:
			return fmt.Errorf("%w: want ',' or ']' at offset %d", errSyntax, s.i)
		}
	}
}

// strSpan consumes a string and returns its raw contents (between the
// quotes) and whether they hold an escape.
func (s *scanner) strSpan() ([]byte, bool, error) {
	if err := s.expect('"'); err != nil {
		return nil, false, err
	}
	start := s.i
	for {
		j := bytes.IndexByte(s.b[s.i:], '"')
		if j < 0 {
			return nil, false, fmt.Errorf("%w: unterminated string at offset %d", errSyntax, start-1)
		}
		end := s.i + j
		s.i = end + 1
		backslashes := 0
		for k := end - 1; k >= start && s.b[k] == '\\'; k-- {
			backslashes++
		}
		if backslashes%2 == 0 { // the quote is not escaped
			raw := s.b[start:end]
			return raw, bytes.IndexByte(raw, '\\') >= 0, nil
		}
	}
}

// str consumes a string and returns its value.
func (s *scanner) str() (string, error) {
	raw, escaped, err := s.strSpan()
	if err != nil || !escaped {
		return string(raw), err
	}
	var v string
	if err := json.Unmarshal(s.b[s.i-len(raw)-2:s.i], &v); err != nil {
		return "", fmt.Errorf("%w: %w", errSyntax, err)
	}
	return v, nil
}

// base64Len consumes a base64 string and returns the length of the bytes
// it encodes.
func (s *scanner) base64Len() (int, error) {
	raw, escaped, err := s.strSpan()
	if err != nil {
		return 0, err
	}
	if escaped {
		var v []byte
		if err := json.Unmarshal(s.b[s.i-len(raw)-2:s.i], &v); err != nil {
			return 0, fmt.Errorf("%w: %w", errSyntax, err)
		}
		return len(v), nil
	}
	return base64Len(raw), nil
}

// base64Len returns the decoded length of standard base64, padded or not.
func base64Len(s []byte) int {
	n := len(s) / 4 * 3
	if r := len(s) % 4; r != 0 {
		n += r * 6 / 8 // unpadded tail
	}
	return n - bytes.Count(s[max(0, len(s)-2):], []byte("="))
}

// skip consumes any value.
func (s *scanner) skip() error {
	switch s.peek() {
	case '"':
		_, _, err := s.strSpan()
		return err
	case '{':
		return s.object(func(string) error { return s.skip() })
	case '[':
		return s.array(s.skip)
	case 0:
		return fmt.Errorf("%w: unexpected end", errSyntax)
	}
	start := s.i
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			if s.i == start {
				return fmt.Errorf("%w: unexpected %q at offset %d", errSyntax, s.b[s.i], s.i)
			}
			return nil
		}
		s.i++
	}
	return nil
}
