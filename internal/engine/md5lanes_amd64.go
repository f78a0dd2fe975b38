//go:build amd64 && !noasm

package engine

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

//go:generate go run ./md5gen

// haveLanes reports whether MD5 runs in SIMD lanes here: md5Blocks16 needs
// AVX-512 Foundation, which cpu also checks the OS saves the registers of.
var haveLanes = cpu.X86.HasAVX512F

// md5Blocks16 runs MD5's compression over counts[l] 64-byte blocks from
// ptrs[l] in lane l, updating state[0..3][l]; most is the largest count.
// Without AVX-512, where the producer hashes with crypto/md5 and only tests
// call it, it runs the portable md5Blocks16Go: the assembly would stop the
// process with an illegal instruction.
func md5Blocks16(state *[4][laneCount]uint32, ptrs *[laneCount]unsafe.Pointer, counts *[laneCount]uint32, most int) {
	if haveLanes {
		md5Blocks16AVX512(state, ptrs, counts, most)
		return
	}
	md5Blocks16Go(state, ptrs, counts, most)
}

// md5Blocks16AVX512 is md5Blocks16 in md5_amd64.s, written by md5gen.
//
//go:noescape
func md5Blocks16AVX512(state *[4][laneCount]uint32, ptrs *[laneCount]unsafe.Pointer, counts *[laneCount]uint32, most int)
