package producer_test

import (
	"errors"
	"math/big"
	"math/rand"
	"strings"
	"testing"

	"github.com/kplgo/producer"
	"github.com/kplgo/producer/internal/kinesistest"
)

// TestIntegrationBadInput puts bad records through the public API of a
// running producer with a shard map: each is refused at once with the
// documented error, and the good records put around them, including those
// right at the limits, all arrive intact.
func TestIntegrationBadInput(t *testing.T) { forEachDoor(t, testIntegrationBadInput) }

func testIntegrationBadInput(t *testing.T, d door) {
	t.Parallel()
	srv := kinesistest.Shared(t)
	client := srv.Client(t, nil)
	stream := srv.CreateStream(t, 3)
	cfg := bulkConfig(client, stream)
	h := startProducer(t, d, cfg, client)
	p := h.p
	rng := rand.New(rand.NewSource(51))

	maxHash := new(big.Int).Sub(hashSpace, big.NewInt(1))
	key256 := strings.Repeat("é", 256)
	bad := []struct {
		name string
		put  func() error
		want error
	}{
		{"empty key", func() error { return p.Put([]byte("data"), "") }, producer.ErrIllegalPartitionKey},
		{"257-character key", func() error { return p.Put([]byte("data"), strings.Repeat("k", 257)) }, producer.ErrIllegalPartitionKey},
		{"257 two-byte characters", func() error { return p.Put([]byte("data"), strings.Repeat("é", 257)) }, producer.ErrIllegalPartitionKey},
		{"key not UTF-8", func() error { return p.Put([]byte("data"), "bad\xff") }, producer.ErrIllegalPartitionKey},
		{"user record with empty key", func() error { return p.PutUserRecord(&userRec{data: []byte("data")}) }, producer.ErrIllegalPartitionKey},
		{"data over 1 MiB", func() error { return p.Put(make([]byte, maxKinesisRecord+1), "k") }, producer.ErrRecordSizeExceeded},
		{"data and key one byte over 1 MiB", func() error { return p.Put(make([]byte, maxKinesisRecord-3), "abcd") }, producer.ErrRecordSizeExceeded},
		{"data and 256-character key over 1 MiB", func() error {
			return p.PutUserRecord(&userRec{key: key256, data: make([]byte, maxKinesisRecord-len(key256)+1)})
		}, producer.ErrRecordSizeExceeded},
		{"explicit hash key 2^128", func() error {
			return p.PutUserRecord(&userRec{key: "k", ehk: new(big.Int).Set(hashSpace), data: []byte("data")})
		}, producer.ErrIllegalExplicitHashKey},
		{"explicit hash key -1", func() error {
			return p.PutUserRecord(&userRec{key: "k", ehk: big.NewInt(-1), data: []byte("data")})
		}, producer.ErrIllegalExplicitHashKey},
		{"nil user record", func() error { return p.PutUserRecord(nil) }, producer.ErrNilUserRecord},
		{"nil data", func() error { return p.Put(nil, "k") }, producer.ErrNilData},
		{"user record with nil data", func() error { return p.PutUserRecord(&userRec{key: "k"}) }, producer.ErrNilData},
	}
	good := []struct {
		name string
		key  string
		ehk  *big.Int
		data []byte
	}{
		{"256-character key", key256, nil, recordData(rng, 100)},
		{"256 ASCII characters", strings.Repeat("a", 256), nil, recordData(rng, 100)},
		{"empty data", "empty-data", nil, []byte{}},
		{"exactly 1 MiB with the key", "abcd", nil, recordData(rng, maxKinesisRecord-4)},
		{"exactly 1 MiB with a 256-character key", key256, nil, recordData(rng, maxKinesisRecord-len(key256))},
		{"explicit hash key 0", "k0", big.NewInt(0), recordData(rng, 50)},
		{"explicit hash key 2^128-1", "kmax", maxHash, recordData(rng, 50)},
	}

	// Good records before, between and after the bad ones, from a
	// concurrent goroutine too, so that bad input meets records in flight.
	putGood := func(n int, prefix string) {
		for i := 0; i < n; i++ {
			key := prefix + "-" + string(rune('a'+i%26))
			if err := h.put(key, nil, recordData(rng, 1+i%200), false); err != nil {
				t.Errorf("good record %s/%d: %v", prefix, i, err)
			}
		}
	}
	bg := make(chan struct{})
	go func() {
		defer close(bg)
		r := rand.New(rand.NewSource(52))
		for i := 0; i < 3000; i++ {
			if err := h.put("bg-"+string(rune('A'+i%26)), nil, recordData(r, 1+r.Intn(300)), i%3 == 0); err != nil {
				t.Errorf("background record %d: %v", i, err)
				return
			}
		}
	}()
	putGood(100, "first")
	for i, b := range bad {
		err := b.put()
		if !errors.Is(err, b.want) {
			t.Errorf("%s: got %v, want %v", b.name, err, b.want)
		}
		if i < len(good) {
			g := good[i]
			if err := h.put(g.key, g.ehk, g.data, true); err != nil {
				t.Errorf("good record %q: %v", g.name, err)
			}
		}
		putGood(50, "between")
	}
	<-bg
	h.stop()

	o := readBack(t, client, stream, h.ledger, checkOptions{})
	t.Logf("%v", o)
	if o.Failed != 0 {
		t.Errorf("%d user records failed: %s", o.Failed, h.failures)
	}
	checkStats(t, p, o)
	if n := h.log.errors.Load(); n != 0 {
		t.Errorf("the producer logged %d errors", n)
	}
}

// TestIntegrationSupplementaryCharacterKey puts records whose partition keys
// are made of characters outside the Basic Multilingual Plane (emoji, four
// bytes in UTF-8, two UTF-16 code units each). Kinesis limits a key to 256
// characters counted as Java does, in UTF-16 code units (so does the KPL).
// A key of 128 such characters is legal and arrives; a key of 200 is either
// refused by Put with ErrIllegalPartitionKey or fails on its own, and in no
// case takes the good records sent in the same PutRecords call down with it.
func TestIntegrationSupplementaryCharacterKey(t *testing.T) {
	forEachDoor(t, testIntegrationSupplementaryCharacterKey)
}

func testIntegrationSupplementaryCharacterKey(t *testing.T, d door) {
	t.Parallel()
	srv := kinesistest.Shared(t)
	client := srv.Client(t, nil)
	stream := srv.CreateStream(t, 1)
	h := startProducer(t, d, bulkConfig(client, stream), nil)
	h.log.quiet = true
	rng := rand.New(rand.NewSource(53))

	legal := strings.Repeat("😀", 128)   // 256 UTF-16 code units
	tooLong := strings.Repeat("😀", 200) // 200 runes, 400 UTF-16 code units
	putGood := func(n int) {
		for i := 0; i < n; i++ {
			if err := h.put("good", nil, recordData(rng, 10+rng.Intn(100)), false); err != nil {
				t.Fatalf("good record: %v", err)
			}
		}
	}
	putGood(200)
	// Over the aggregate size, so each goes out as a plain record with its
	// own partition key, in the same batch as the good records.
	if err := h.put(legal, nil, recordData(rng, 60<<10), false); err != nil {
		t.Errorf("key of 128 supplementary characters: %v", err)
	}
	err := h.put(tooLong, nil, recordData(rng, 60<<10), false)
	if !errors.Is(err, producer.ErrIllegalPartitionKey) {
		t.Errorf("key of 200 supplementary characters: %v, want ErrIllegalPartitionKey", err)
	}
	putGood(200)
	h.stop()

	o := readBack(t, client, stream, h.ledger, checkOptions{})
	t.Logf("%v; failures: %s", o, h.failures)
	innocent := o.Failed
	if err == nil {
		innocent-- // the record with the long key itself may fail
	}
	if innocent > 0 {
		t.Errorf("Put accepted a partition key of %d characters but %d UTF-16 code units; Kinesis refused it "+
			"and the whole PutRecords call failed as not retryable, taking %d good user records with it: %s",
			len([]rune(tooLong)), 2*len([]rune(tooLong)), innocent, h.failures)
	}
}
