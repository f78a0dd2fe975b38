package producer

import (
	"fmt"
	"io"
	"log"
	"testing"

	"github.com/kplgo/producer/internal/kinesistest"
)

// BenchmarkOrdering compares OrderPerKey with OrderNone on a client that
// answers at once (and as Kinesis would place each record), through the v1
// door, Stop included: what one unresolved record a shard costs when the
// round trip costs nothing. It reports user records a second.
func BenchmarkOrdering(b *testing.B) {
	for _, shards := range []int{4, 32} {
		for _, size := range []int{100, 1024} {
			for _, order := range []struct {
				name string
				mode Ordering
			}{{"none", OrderNone}, {"perkey", OrderPerKey}} {
				b.Run(fmt.Sprintf("shards=%d/size=%d/%s", shards, size, order.name), func(b *testing.B) {
					keys := kinesistest.UUIDKeys(1000)
					data := make([]byte, size)
					cfg := &Config{StreamName: "bench", Client: newOKClient(shards), RateLimit: -1,
						GetShards: StaticGetShardsFunc(shards), Ordering: order.mode,
						Logger: Standard(log.New(io.Discard, "", 0))}
					p := New(cfg)
					if err := p.Start(); err != nil {
						b.Fatal(err)
					}
					stop := stopChecked(b, p.Stop, p.Stats)
					b.SetBytes(int64(size))
					b.ReportAllocs()
					b.ResetTimer()
					putParallel(b, func(i int) error { return p.Put(data, keys[i%len(keys)]) })
					stop()
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
				})
			}
		}
	}
}
