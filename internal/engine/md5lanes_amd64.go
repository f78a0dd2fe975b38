//go:build amd64 && !noasm

package engine

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

//go:generate go run ./md5gen

// haveLanes reports whether MD5 runs in SIMD lanes here: md5Blocks16 runs
// 16 lanes with AVX-512 Foundation, or twice 8 with AVX2. cpu also checks
// that the OS saves the registers, and honours GODEBUG=cpu.avx512f=off and
// cpu.avx2=off.
var (
	haveAVX512 = cpu.X86.HasAVX512F
	haveAVX2   = cpu.X86.HasAVX2
	haveLanes  = haveAVX512 || haveAVX2
)

// laneMinCount is how many messages of laneMinBytes or more the lanes need
// to beat crypto/md5 one after another: 2 with AVX-512's 16 lanes (1.3 to
// 1.7 times faster, 11 times with 16); with AVX2's 8 lanes, whose gathers
// and rotations cost more, 6 (1.6 to 1.9 times; 2.3 to 2.4 with 8). The same
// holds for partition keys (hashRecords).
var laneMinCount = minLaneCount()

func minLaneCount() int {
	if haveAVX512 {
		return 2
	}
	return 6
}

// md5Blocks16 runs MD5's compression over counts[l] 64-byte blocks from
// ptrs[l] in lane l, updating state[0..3][l]; most is the largest count.
// Without AVX-512 or AVX2, where the producer hashes with crypto/md5 and
// only tests call it, it runs the portable md5Blocks16Go: the assembly
// would stop the process with an illegal instruction.
func md5Blocks16(state *[4][laneCount]uint32, ptrs *[laneCount]unsafe.Pointer, counts *[laneCount]uint32, most int) {
	switch {
	case haveAVX512:
		md5Blocks16AVX512(state, ptrs, counts, most)
	case haveAVX2:
		md5Blocks8AVX2(&state[0][0], &ptrs[0], &counts[0], most)
		for _, c := range counts[8:] {
			if c > 0 {
				md5Blocks8AVX2(&state[0][8], &ptrs[8], &counts[8], most)
				break
			}
		}
	default:
		md5Blocks16Go(state, ptrs, counts, most)
	}
}

// md5Blocks16AVX512 is md5Blocks16 in md5_amd64.s, written by md5gen.
//
//go:noescape
func md5Blocks16AVX512(state *[4][laneCount]uint32, ptrs *[laneCount]unsafe.Pointer, counts *[laneCount]uint32, most int)

// md5Blocks8AVX2 is md5Blocks16 for the 8 lanes from state[0][l], ptrs[l]
// and counts[l] (l = 0 or 8), in md5_amd64.s, written by md5gen.
//
//go:noescape
func md5Blocks8AVX2(state *uint32, ptrs *unsafe.Pointer, counts *uint32, most int)
