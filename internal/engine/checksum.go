package engine

import "crypto/md5"

// Aggregates are hashed in SIMD lanes only when a call has enough big ones:
// below these figures crypto/md5 on the sender's goroutine is faster, since
// every message handed to the lanes costs a few microseconds of channel
// traffic with a lane server whatever its size, and md5-simd hashes one or
// two lanes with scalar code. Measured with BenchmarkChecksums
// (BENCHMARKS.md, "Hashing aggregates in SIMD lanes").
const (
	laneMinBytes = 4096 // an aggregate smaller than this is hashed alone
	laneMinCount = 3    // fewer big aggregates than this are hashed alone
)

// laneHasher computes the MD5 of several messages at once in SIMD lanes.
// Its methods are safe for concurrent use.
type laneHasher interface {
	// sum writes the MD5 of msgs[i] into sums[i] (md5.Size bytes) for
	// every i.
	sum(msgs, sums [][]byte)
	// close stops the lanes once the sums under way are done; a later
	// sum computes with crypto/md5.
	close()
}

// checksums computes the MD5 that ends each KPL aggregate. The sender owns
// it; lanes is nil where SIMD lanes are missing (no AVX2, not amd64, or the
// noasm build tag), and every sum is then crypto/md5's.
type checksums struct {
	lanes laneHasher
}

// sum fills in the checksum of each aggregate in aggs, which were encoded
// with encodeUnsummed. The bytes are those crypto/md5 gives, whichever way
// they are computed.
func (c *checksums) sum(aggs []*aggregate) {
	big := 0
	if c.lanes != nil {
		for _, a := range aggs {
			if len(a.data) >= laneMinBytes {
				big++
			}
		}
	}
	if big < laneMinCount {
		for _, a := range aggs {
			a.sumAlone()
		}
		return
	}
	msgs, sums := make([][]byte, 0, big), make([][]byte, 0, big)
	for _, a := range aggs {
		if len(a.data) < laneMinBytes {
			a.sumAlone()
			continue
		}
		msgs = append(msgs, a.body())
		sums = append(sums, a.sumSlot())
	}
	c.lanes.sum(msgs, sums)
}

// close stops the lanes, if any.
func (c *checksums) close() {
	if c.lanes != nil {
		c.lanes.close()
	}
}

// body is the part of an encoded aggregate its MD5 covers: the protobuf.
func (a *aggregate) body() []byte { return a.data[len(magic) : len(a.data)-md5.Size] }

// sumSlot is where an encoded aggregate's MD5 goes.
func (a *aggregate) sumSlot() []byte { return a.data[len(a.data)-md5.Size:] }

// sumAlone computes an encoded aggregate's MD5 with crypto/md5.
func (a *aggregate) sumAlone() { md5Into(a.sumSlot(), a.body()) }

// md5Into writes the MD5 of msg into dst.
func md5Into(dst, msg []byte) {
	sum := md5.Sum(msg)
	copy(dst, sum[:])
}

// fallbackSums is laneHasher.sum with crypto/md5.
func fallbackSums(msgs, sums [][]byte) {
	for i, m := range msgs {
		md5Into(sums[i], m)
	}
}
