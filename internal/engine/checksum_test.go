package engine

import (
	"bytes"
	"crypto/md5"
	"fmt"
	"math/big"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/kplgo/producer/internal/kinesistest"
)

// checksumLens are message lengths around MD5's 64-byte blocks (55 and 56
// decide whether the padding takes a block of its own), around the lanes
// threshold and md5x16's chunks of laneChunk blocks, and 0: the empty protobuf, which an aggregate never has but a
// hasher must still sum.
var checksumLens = []int{
	0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129,
	laneMinBytes - 1, laneMinBytes, laneMinBytes + 1,
	32<<10 - 1, 32 << 10, 32<<10 + 55, 32<<10 + 56, 32<<10 + 64,
	laneChunk*md5.BlockSize - 1, laneChunk * md5.BlockSize, laneChunk*md5.BlockSize + 1,
	2*laneChunk*md5.BlockSize + 56,
	DefaultAggregateBatchSize, 64 << 10, 1 << 20,
}

// sumWays are the ways a batch's checksums are computed here: in SIMD lanes
// (md5x16; in portable Go, one lane after another, where the assembly
// cannot run: not amd64, -tags noasm, or no AVX-512), and crypto/md5, one
// message after another.
func sumWays(t *testing.T) map[string]func(msgs, sums [][]byte) {
	if !haveLanes {
		t.Logf("no SIMD lanes here (%s, no AVX-512, or -tags noasm): the lanes' logic runs in portable Go", runtime.GOARCH)
	}
	return map[string]func(msgs, sums [][]byte){"lanes": laneSums, "crypto/md5": aloneSums}
}

// TestLaneSumsAreMD5 hashes messages of every length in checksumLens, and
// random ones, in batches of 1 to 40 mixed lengths, and compares every sum
// with crypto/md5's.
func TestLaneSumsAreMD5(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 13))
	random := func(n int) []byte {
		m := make([]byte, n)
		for i := range m {
			m[i] = byte(rng.Uint32())
		}
		return m
	}
	var batches [][][]byte
	var every [][]byte
	for _, n := range checksumLens {
		every = append(every, random(n))
	}
	batches = append(batches, every)
	for _, n := range checksumLens {
		batches = append(batches, [][]byte{random(n)})
	}
	for range 30 {
		b := make([][]byte, 1+rng.IntN(40))
		for i := range b {
			if rng.IntN(2) == 0 {
				b[i] = random(checksumLens[rng.IntN(len(checksumLens))])
			} else {
				b[i] = random(rng.IntN(80 << 10))
			}
		}
		batches = append(batches, b)
	}
	for name, sum := range sumWays(t) {
		for bi, msgs := range batches {
			if diff := sumsDiffer(msgs, sum); diff != "" {
				t.Fatalf("%s: batch %d: %s", name, bi, diff)
			}
		}
	}
}

// sumsDiffer sums msgs with sum and describes the first sum that differs
// from crypto/md5's, or returns "".
func sumsDiffer(msgs [][]byte, sum func(msgs, sums [][]byte)) string {
	sums := make([][]byte, len(msgs))
	for i := range sums {
		sums[i] = make([]byte, md5.Size)
	}
	sum(msgs, sums)
	for i, m := range msgs {
		if want := md5.Sum(m); !bytes.Equal(sums[i], want[:]) {
			return fmt.Sprintf("message %d of %d bytes: sum %x, want %x", i, len(m), sums[i], want)
		}
	}
	return ""
}

// TestChecksumsEncodeAsCryptoMD5 encodes random batches of aggregates, small
// and large, with and without explicit hash keys, as the sender does
// (encodeUnsummed, then checksums.sum), and requires every byte to equal
// the encoding whose MD5 crypto/md5 computed.
func TestChecksumsEncodeAsCryptoMD5(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	keys := kinesistest.UUIDKeys(300)
	hashes := make([]*big.Int, 20)
	for i := range hashes {
		hashes[i] = kinesistest.RandomHash(rng)
	}
	lim := benchLimits
	for _, name := range []string{"lanes", "crypto/md5"} {
		c := &checksums{lanes: name == "lanes"}
		inLanes := 0 // rounds with enough big aggregates for the lanes
		for round := range 20 {
			var batch []*aggregate
			for range 1 + rng.IntN(24) {
				a := newAggregate()
				target := []int{1, 2, 50, 400, 4000}[rng.IntN(5)] // records: plain, small and 50 KiB aggregates
				for range target {
					r := randomRecord(t, rng, keys, hashes)
					if rng.IntN(8) == 0 {
						r.data = make([]byte, 1000+rng.IntN(3000))
					}
					if !a.add(&r, &lim) {
						break
					}
				}
				batch = append(batch, a)
			}
			var unsummed []*aggregate
			for _, a := range batch {
				if a.encodeUnsummed() {
					unsummed = append(unsummed, a)
				}
			}
			big := 0
			for _, a := range unsummed {
				if len(a.data) >= laneMinBytes {
					big++
				}
			}
			if big >= laneMinCount {
				inLanes++
			}
			c.sum(unsummed)
			for i, a := range batch {
				want := a.data
				if !a.plain() {
					want = a.appendEncoded(nil)
				}
				if !bytes.Equal(a.data, want) {
					t.Fatalf("%s: round %d, aggregate %d (%d records, %d bytes): encoding differs from crypto/md5's", name, round, i, len(a.recs), len(a.data))
				}
				a.release()
			}
		}
		if inLanes < 5 {
			t.Fatalf("%s: only %d of 20 batches had %d aggregates of %d bytes or more", name, inLanes, laneMinCount, laneMinBytes)
		}
	}
}

// TestLanesConcurrent sums from several goroutines at once, as concurrent
// calls do: the lanes keep no state between sums.
func TestLanesConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msgs, sums := randomMessages(6+g, 9000+g*1000)
			for range 20 {
				laneSums(msgs, sums)
				for i, m := range msgs {
					if want := md5.Sum(m); !bytes.Equal(sums[i], want[:]) {
						t.Errorf("goroutine %d: message %d: sum %x, want %x", g, i, sums[i], want)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

// TestAggregateGivesRecordsBack checks that an aggregate, which keeps only
// data and the caller's value per record, gives back each record as added:
// key, explicit hash key, the hash it is routed by, and the UserRecord.
func TestAggregateGivesRecordsBack(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 17))
	keys := kinesistest.UUIDKeys(40)
	hashes := []*big.Int{big.NewInt(0), big.NewInt(7), kinesistest.RandomHash(rng)}
	for round := range 50 {
		withHash := round%2 == 0 // as Put in shard-map mode; else no hash for keys
		a := newAggregate()
		var recs []record
		for i := range 200 {
			r := randomRecord(t, rng, keys, hashes)
			if !withHash && !r.hasEHK {
				r.hash = hash128{}
			}
			if i%3 == 0 {
				r.user = &dataRecord{data: r.data, key: r.key}
			}
			if !a.add(&r, &benchLimits) {
				break
			}
			recs = append(recs, r)
		}
		for i, want := range recs {
			got := a.record(i)
			if !want.hasEHK {
				want.hash = hashKey(want.key) // worked out again when Put did not
			}
			want.ehkLen = 0
			if fmt.Sprint(got) != fmt.Sprint(want) || got.user != want.user || !bytes.Equal(got.data, want.data) {
				t.Fatalf("round %d, record %d: got %+v, want %+v", round, i, got, want)
			}
			u := a.userRecord(i)
			if want.user != nil && u != want.user {
				t.Fatalf("round %d, record %d: reported %v, want the caller's value", round, i, u)
			}
			wantEHK := ""
			if want.hasEHK {
				wantEHK = want.hash.big().String()
			}
			gotEHK := ""
			if e := u.ExplicitHashKey(); e != nil {
				gotEHK = e.String()
			}
			if want.user == nil && (u.PartitionKey() != want.key || !bytes.Equal(u.Data(), want.data) || gotEHK != wantEHK) {
				t.Fatalf("round %d, record %d: reported %q %q %s, want %q %q %s", round, i, u.PartitionKey(), u.Data(), gotEHK, want.key, want.data, wantEHK)
			}
		}
		a.release()
	}
}

// FuzzMD5Lanes splits the input into up to 20 messages at the given cut
// points and checks every lane sum against crypto/md5's.
func FuzzMD5Lanes(f *testing.F) {
	f.Add([]byte("abc"), []byte{1, 2})
	f.Add(bytes.Repeat([]byte{0x5a}, 300), []byte{55, 56, 64, 120, 3})
	f.Add(make([]byte, 2000), []byte{0, 0, 200, 255, 17, 63})
	f.Fuzz(func(t *testing.T, data, cuts []byte) {
		var msgs [][]byte
		rest := data
		for _, c := range cuts {
			if len(msgs) == 19 {
				break
			}
			n := min(int(c)*4, len(rest))
			msgs = append(msgs, rest[:n])
			rest = rest[n:]
		}
		msgs = append(msgs, rest)
		if diff := sumsDiffer(msgs, laneSums); diff != "" {
			t.Fatal(diff)
		}
	})
}
