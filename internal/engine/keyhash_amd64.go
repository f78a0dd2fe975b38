//go:build amd64 && !noasm

package engine

import (
	"unsafe"

	"github.com/klauspost/cpuid/v2"
)

//go:generate go run ./keyhashgen

// haveKeyLanes reports whether hashBatch can run: md5Block16 needs
// AVX-512 (F), which cpuid also checks the OS saves the registers of.
var haveKeyLanes = cpuid.CPU.Supports(cpuid.AVX512F)

// md5Block16 hashes one padded MD5 block in each of 16 lanes: words[j][l]
// is little-endian word j of lane l's block, and out[i][l] receives word i
// of lane l's digest.
//
//go:noescape
func md5Block16(out *[4][keyLanes]uint32, words *[16][keyLanes]uint32)

// hashBatch hashes the partition keys of the first n records of batch in
// the key lanes. Each key is at most keyLaneMax bytes.
func hashBatch(batch *[keyLanes]*record, n int) {
	var words [16][keyLanes]uint32
	var sums [4][keyLanes]uint32
	for l, r := range batch[:n] {
		padBlock(&words, l, r.key)
	}
	md5Block16(&sums, &words)
	for l, r := range batch[:n] {
		// The digest is words a, b, c, d, each little-endian; the hash key
		// reads its 16 bytes as one big-endian number.
		hi := uint64(swap32(sums[0][l]))<<32 | uint64(swap32(sums[1][l]))
		lo := uint64(swap32(sums[2][l]))<<32 | uint64(swap32(sums[3][l]))
		r.hash = hash128{hi, lo}
	}
}

// padBlock writes lane l of words: key padded to one MD5 block (the key,
// a 0x80 byte, zeros, and the key's length in bits in the last 8 bytes),
// read as 16 little-endian words. words must be zero in lane l, and key
// at most keyLaneMax bytes.
func padBlock(words *[16][keyLanes]uint32, l int, key string) {
	p := unsafe.Pointer(unsafe.StringData(key))
	j := 0
	for ; 8*j+8 <= len(key); j++ { // whole 8-byte pieces: amd64 loads them unaligned
		v := *(*uint64)(unsafe.Add(p, 8*j))
		words[2*j][l], words[2*j+1][l] = uint32(v), uint32(v>>32)
	}
	// The rest of the key and the 0x80 byte, at most 8 bytes.
	var last uint64
	for i := 8 * j; i < len(key); i++ {
		last |= uint64(key[i]) << (8 * (i - 8*j))
	}
	last |= 0x80 << (8 * (len(key) - 8*j))
	words[2*j][l] = uint32(last)
	if 2*j+1 < 14 {
		words[2*j+1][l] = uint32(last >> 32)
	}
	bitLen := uint64(len(key)) * 8
	words[14][l], words[15][l] = uint32(bitLen), uint32(bitLen>>32)
}

func swap32(v uint32) uint32 {
	return v>>24 | (v>>8)&0xff00 | (v<<8)&0xff0000 | v<<24
}
