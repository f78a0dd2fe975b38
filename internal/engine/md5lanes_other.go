//go:build !amd64 || noasm

package engine

import "unsafe"

// haveLanes is false without the AVX-512 assembly: the producer hashes
// with crypto/md5.
const haveLanes = false

// laneMinCount is the AVX-512 figure, for the tests of the lanes' logic.
const laneMinCount = 2

// md5Blocks16 runs MD5's compression over counts[l] 64-byte blocks from
// ptrs[l] in lane l, updating state[0..3][l]; most is the largest count.
// Here it is the portable md5Blocks16Go, so that the lanes' own logic
// (md5x16) is tested on every platform.
func md5Blocks16(state *[4][laneCount]uint32, ptrs *[laneCount]unsafe.Pointer, counts *[laneCount]uint32, most int) {
	md5Blocks16Go(state, ptrs, counts, most)
}
