package engine

import "crypto/md5"

// laneMinBytes: an aggregate smaller than this is hashed alone, with
// crypto/md5, and so are the aggregates of a call with fewer than
// laneMinCount bigger ones (see the platform's file). The lanes take the
// time of all their lanes whatever the number of messages, and a short
// message is mostly its padded last block. Measured with BenchmarkChecksums
// (BENCHMARKS.md, "MD5 in the producer's own AVX-512 lanes").
const laneMinBytes = 256

// checksums computes the MD5 that ends each KPL aggregate, in SIMD lanes
// (see md5x16) when lanes is set, else with crypto/md5. The sender sets
// lanes where the CPU has them (haveLanes); tests clear it to check the
// other way.
type checksums struct {
	lanes bool
}

// sum fills in the checksum of each aggregate in aggs, which were encoded
// with encodeUnsummed. The bytes are those crypto/md5 gives, whichever way
// they are computed.
func (c *checksums) sum(aggs []*aggregate) {
	big := 0
	if c.lanes {
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
	laneSums(msgs, sums)
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

// aloneSums is laneSums with crypto/md5, one message after another.
func aloneSums(msgs, sums [][]byte) {
	for i, m := range msgs {
		md5Into(sums[i], m)
	}
}
