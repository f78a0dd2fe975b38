package engine

import (
	"crypto/md5"
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkChecksums measures what the checksums of one batch cost: count
// aggregates of size bytes, hashed with crypto/md5 one after another
// ("alone") or together in SIMD lanes ("lanes"), from GOMAXPROCS goroutines
// at once, as concurrent calls hash their batches. The crossing points set
// laneMinBytes and laneMinCount.
func BenchmarkChecksums(b *testing.B) {
	if !haveLanes {
		b.Skip("no SIMD lanes on this machine or build")
	}
	for _, size := range []int{256, 512, 1024, 2048, 4096, 8192, 16384, 51200} {
		for _, count := range []int{1, 2, 3, 4, 6, 8, 16, 96} {
			for _, way := range []string{"alone", "lanes"} {
				b.Run(fmt.Sprintf("size=%d/count=%d/%s", size, count, way), func(b *testing.B) {
					b.SetBytes(int64(size * count))
					b.RunParallel(func(pb *testing.PB) {
						msgs, sums := randomMessages(count, size)
						for pb.Next() {
							if way == "lanes" {
								laneSums(msgs, sums)
							} else {
								aloneSums(msgs, sums)
							}
						}
					})
				})
			}
		}
	}
}

// randomMessages returns count random messages of size bytes and room for
// their sums.
func randomMessages(count, size int) (msgs, sums [][]byte) {
	rng := rand.New(rand.NewPCG(uint64(count), uint64(size)))
	for range count {
		m := make([]byte, size)
		for i := range m {
			m[i] = byte(rng.Uint32())
		}
		msgs = append(msgs, m)
		sums = append(sums, make([]byte, md5.Size))
	}
	return msgs, sums
}
