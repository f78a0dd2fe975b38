package engine

import (
	"encoding/binary"
	"math"
	"math/bits"
	"unsafe"
)

// md5Shifts and md5K are RFC 1321's per-step rotations and constants.
var (
	md5Shifts = [4][4]int{{7, 12, 17, 22}, {5, 9, 14, 20}, {4, 11, 16, 23}, {6, 10, 15, 21}}
	md5K      [64]uint32
)

func init() {
	// floor(abs(sin(i+1)) * 2^32), as the RFC defines them.
	for i := range md5K {
		md5K[i] = uint32(math.Floor(math.Abs(math.Sin(float64(i+1))) * (1 << 32)))
	}
}

// md5Blocks16Go is md5Blocks16 in portable Go, one lane after another: what
// runs where the assembly cannot (not amd64, -tags noasm, or no AVX-512),
// which only tests do, since the producer then hashes with crypto/md5.
func md5Blocks16Go(state *[4][laneCount]uint32, ptrs *[laneCount]unsafe.Pointer, counts *[laneCount]uint32, _ int) {
	for l := range laneCount {
		blocks := unsafe.Slice((*byte)(ptrs[l]), int(counts[l])*64)
		a, b, c, d := state[0][l], state[1][l], state[2][l], state[3][l]
		for len(blocks) >= 64 {
			var m [16]uint32
			for j := range m {
				m[j] = binary.LittleEndian.Uint32(blocks[4*j:])
			}
			a0, b0, c0, d0 := a, b, c, d
			for i := range 64 {
				var f uint32
				var g int
				switch i / 16 {
				case 0:
					f, g = (b&c)|(^b&d), i
				case 1:
					f, g = (d&b)|(^d&c), (5*i+1)%16
				case 2:
					f, g = b^c^d, (3*i+5)%16
				default:
					f, g = c^(b|^d), (7*i)%16
				}
				a, d, c, b = d, c, b, b+bits.RotateLeft32(a+f+md5K[i]+m[g], md5Shifts[i/16][i%4])
			}
			a, b, c, d = a+a0, b+b0, c+c0, d+d0
			blocks = blocks[64:]
		}
		state[0][l], state[1][l], state[2][l], state[3][l] = a, b, c, d
	}
}
