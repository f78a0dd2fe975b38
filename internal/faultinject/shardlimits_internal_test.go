package faultinject

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"reflect"
	"testing"
	"time"
)

func TestBase64Len(t *testing.T) {
	for n := 0; n < 40; n++ {
		data := make([]byte, n)
		if got := base64Len([]byte(base64.StdEncoding.EncodeToString(data))); got != n {
			t.Errorf("padded, %d bytes: base64Len = %d", n, got)
		}
		if got := base64Len([]byte(base64.RawStdEncoding.EncodeToString(data))); got != n {
			t.Errorf("unpadded, %d bytes: base64Len = %d", n, got)
		}
	}
}

func TestBucket(t *testing.T) {
	t0 := time.Unix(1000, 0)
	b := newBucket(10, 5, t0)
	for i := 0; i < 5; i++ {
		if !b.fits(1) {
			t.Fatalf("token %d does not fit a full bucket", i)
		}
		b.tokens--
	}
	if b.fits(1) {
		t.Fatal("an empty bucket fits a token")
	}
	b.refill(t0.Add(250 * time.Millisecond))
	if b.tokens != 2.5 {
		t.Fatalf("after 250ms at 10/s: %v tokens, want 2.5", b.tokens)
	}
	b.refill(t0.Add(time.Hour))
	if b.tokens != 5 {
		t.Fatalf("refilled past the capacity: %v tokens", b.tokens)
	}
	if !b.fits(50) {
		t.Fatal("an amount over the capacity does not fit a full bucket")
	}
}

func TestToUint128(t *testing.T) {
	max := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1))
	if u, ok := toUint128(max); !ok || u.hi != ^uint64(0) || u.lo != ^uint64(0) {
		t.Errorf("2^128-1: %v %v", u, ok)
	}
	if _, ok := toUint128(new(big.Int).Add(max, big.NewInt(1))); ok {
		t.Error("2^128 accepted")
	}
	if _, ok := toUint128(big.NewInt(-1)); ok {
		t.Error("-1 accepted")
	}
	a, _ := toUint128(new(big.Int).Lsh(big.NewInt(1), 64))
	b, _ := toUint128(new(big.Int).SetUint64(^uint64(0)))
	if !b.less(a) || a.less(b) {
		t.Errorf("2^64-1 < 2^64: %v %v", b.less(a), a.less(b))
	}
}

// testEntry is a PutRecords entry as the SDK encodes it.
type testEntry struct {
	Data            []byte
	ExplicitHashKey *string `json:",omitempty"`
	PartitionKey    string
}

func TestScanPutRecords(t *testing.T) {
	ehk := "1234567890123456789"
	entries := []testEntry{
		{Data: []byte("plain"), PartitionKey: "k1"},
		{Data: bytes.Repeat([]byte{0xff}, 1001), PartitionKey: `quote " backslash \\ tab \t`, ExplicitHashKey: &ehk},
		{Data: []byte{}, PartitionKey: "ключ-🔑-<&>"},
		{Data: []byte("xy"), PartitionKey: "k4"},
		{Data: []byte("z"), PartitionKey: `ends with a backslash \`},
		{Data: []byte("zz"), PartitionKey: `ends with a quote "`},
	}
	body, err := json.Marshal(map[string]any{
		"StreamName": "s\u00e9",
		"Records":    entries,
		"Other":      map[string]any{"a": []any{1.5, true, nil, "x]}"}, "b": map[string]any{}},
		"Empty":      []any{},
	})
	if err != nil {
		t.Fatal(err)
	}
	body = append(append([]byte(" \n"), body...), "\t "...) // white space around
	p, err := scanPutRecords(body)
	if err != nil {
		t.Fatalf("scan: %v\n%s", err, body)
	}
	if p.streamName != "s\u00e9" || p.streamARN != "" || len(p.entries) != len(entries) {
		t.Fatalf("scanned %+v", p)
	}
	for i, e := range entries {
		got := p.entries[i]
		if got.partitionKey != e.PartitionKey || got.dataLen != len(e.Data) ||
			(got.explicitHashKey == nil) != (e.ExplicitHashKey == nil) ||
			(got.explicitHashKey != nil && *got.explicitHashKey != *e.ExplicitHashKey) {
			t.Errorf("entry %d: %+v, want %+v", i, got, e)
		}
		var back testEntry
		if err := json.Unmarshal(body[got.start:got.end], &back); err != nil || !reflect.DeepEqual(back, e) {
			t.Errorf("entry %d: span %q decodes to %+v (%v)", i, body[got.start:got.end], back, err)
		}
	}

	for _, drop := range [][]bool{
		{true, false, true, false, true, false}, {false, true, true, true, false, true},
		{true, true, true, true, true, true}, {false, false, false, false, false, false},
	} {
		faults := make([]entryFault, len(drop))
		var want []testEntry
		for i, d := range drop {
			if d {
				faults[i].code = "x"
			} else {
				want = append(want, entries[i])
			}
		}
		var out struct {
			StreamName string
			Records    []testEntry
			Other      map[string]any
		}
		if err := json.Unmarshal(p.without(faults), &out); err != nil {
			t.Fatalf("without %v: %v\n%s", drop, err, p.without(faults))
		}
		sameRecords := reflect.DeepEqual(out.Records, want) || (len(want) == 0 && len(out.Records) == 0)
		if out.StreamName != "s\u00e9" || !sameRecords || out.Other == nil {
			t.Errorf("without %v: %+v", drop, out)
		}
	}
}

func TestScanPutRecordsErrors(t *testing.T) {
	for _, body := range []string{
		``, `[]`, `{`, `{"Records":[`, `{"Records":[{"Data":"abc}]}`, `{"Records":{}}`,
		`{"StreamName":"s"}`, `{"Records":[]} x`, `{"Records":[{"Data":1,}]}`, `{"a" 1}`,
	} {
		if _, err := scanPutRecords([]byte(body)); !errors.Is(err, errSyntax) {
			t.Errorf("scan %q: %v, want a syntax error", body, err)
		}
	}
	if p, err := scanPutRecords([]byte(`{"StreamARN":"arn:aws:kinesis:r:1:stream/name","Records":[]}`)); err != nil {
		t.Errorf("scan: %v", err)
	} else if key, name, field := p.streamKey(); key != "name" || name != "arn:aws:kinesis:r:1:stream/name" || field != "StreamARN" {
		t.Errorf("streamKey = %q %q %q", key, name, field)
	}
}
