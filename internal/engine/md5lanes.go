package engine

import (
	"crypto/md5"
	"encoding/binary"
	"unsafe"
)

// laneCount is how many messages the SIMD lanes hash at once: the sixteen
// 32-bit lanes of an AVX-512 register.
const laneCount = 16

// laneChunk is how many blocks of each message one md5Blocks16 call hashes
// at most.
const laneChunk = 256

// md5Init is MD5's initial state, words a to d.
var md5Init = [4]uint32{0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476}

// laneSums writes the MD5 of msgs[i] into sums[i] (md5.Size bytes) for
// every i, 16 messages at a time in SIMD lanes.
func laneSums(msgs, sums [][]byte) {
	var group [laneCount][]byte
	var out [laneCount][md5.Size]byte
	for len(msgs) > 0 {
		n := copy(group[:], msgs)
		md5x16(&group, n, &out)
		for i := range n {
			copy(sums[i], out[i][:])
		}
		msgs, sums = msgs[n:], sums[n:]
	}
}

// md5x16 writes the MD5 of msgs[i] into out[i] for i below n (at most 16),
// hashing the messages side by side: first their whole 64-byte blocks,
// straight from the messages, then each one's last bytes with MD5's
// padding (a 0x80 byte, zeros, and the length in bits), one or two blocks.
// A lane with fewer blocks than the others idles while they finish, so
// messages of about the same size suit it best.
func md5x16(msgs *[laneCount][]byte, n int, out *[laneCount][md5.Size]byte) {
	var state [4][laneCount]uint32
	var ptrs [laneCount]unsafe.Pointer
	var counts [laneCount]uint32
	var tails [laneCount][2 * md5.BlockSize]byte
	for i := range state {
		for l := range state[i] {
			state[i][l] = md5Init[i]
		}
	}
	most := 0
	for _, m := range msgs[:n] {
		most = max(most, len(m)/md5.BlockSize)
	}
	// The whole blocks, laneChunk at a time: the assembly cannot be
	// preempted, so a call must not last long (256 blocks in 16 lanes take
	// some tens of microseconds).
	for done := 0; done < most; done += laneChunk {
		for l, m := range msgs[:n] {
			c := min(max(len(m)/md5.BlockSize-done, 0), laneChunk)
			ptrs[l], counts[l] = nil, uint32(c)
			if c > 0 {
				ptrs[l] = unsafe.Pointer(&m[done*md5.BlockSize])
			}
		}
		md5Blocks16(&state, &ptrs, &counts, min(most-done, laneChunk))
	}
	most = 0
	for l, m := range msgs[:n] {
		t := &tails[l]
		rest := copy(t[:], m[len(m)/md5.BlockSize*md5.BlockSize:])
		t[rest] = 0x80
		blocks := 1
		if rest >= md5.BlockSize-8 { // no room left for the length
			blocks = 2
		}
		binary.LittleEndian.PutUint64(t[blocks*md5.BlockSize-8:], uint64(len(m))<<3)
		ptrs[l], counts[l] = unsafe.Pointer(t), uint32(blocks)
		most = max(most, blocks)
	}
	md5Blocks16(&state, &ptrs, &counts, most)
	for l := range n {
		for i := range state {
			binary.LittleEndian.PutUint32(out[l][4*i:], state[i][l])
		}
	}
}
