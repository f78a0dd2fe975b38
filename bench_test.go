package producer

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"math/big"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/kinesis"
)

// okClient acknowledges every entry and keeps nothing: the cost of the client
// stays out of the producer's figures.
type okClient struct{ calls atomic.Int64 }

func (c *okClient) PutRecords(in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
	c.calls.Add(1)
	out := &kinesis.PutRecordsOutput{Records: make([]*kinesis.PutRecordsResultEntry, len(in.Records))}
	// No shard id: the producer then has no prediction to check.
	ok := &kinesis.PutRecordsResultEntry{SequenceNumber: aws.String("1")}
	for i := range out.Records {
		out.Records[i] = ok
	}
	return out, nil
}

// benchRecord is a UserRecord with an explicit hash key.
type benchRecord struct {
	key  string
	ehk  *big.Int
	data []byte
}

func (r *benchRecord) PartitionKey() string      { return r.key }
func (r *benchRecord) ExplicitHashKey() *big.Int { return r.ehk }
func (r *benchRecord) Data() []byte              { return r.data }
func (r *benchRecord) Size() int                 { return len(r.data) }

func uuidKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		var b [16]byte
		_, _ = rand.Read(b[:])
		h := hex.EncodeToString(b[:])
		keys[i] = h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
	}
	return keys
}

// benchModes are the modes of BenchmarkProducer and BenchmarkAllocsPerRecord.
var benchModes = []struct {
	name   string
	shards int
	ehk    bool
}{
	{"default", 0, false},
	{"shards=10", 10, false},
	{"shards=500", 500, false},
	{"shards=10/ehk", 10, true},
	{"shards=500/ehk", 500, true},
}

// forEachBenchMode runs body as a sub-benchmark for each record size and mode
// with a started producer whose client always succeeds, and a put function
// that sends one record (PutUserRecord with an explicit hash key in the ehk
// modes, Put otherwise). body stops the producer.
func forEachBenchMode(b *testing.B, body func(b *testing.B, size int, p *Producer, put func(i int) error)) {
	for _, size := range []int{1024, 100} {
		for _, m := range benchModes {
			b.Run(fmt.Sprintf("size=%d/%s", size, m.name), func(b *testing.B) {
				keys := uuidKeys(4096)
				recs := make([]*benchRecord, len(keys))
				data := make([]byte, size)
				for i, k := range keys {
					recs[i] = &benchRecord{key: k, data: data}
					if m.ehk {
						recs[i].ehk = hashKey(k).big()
					}
				}
				// No rate limit: the fake client has no shards to protect.
				cfg := &Config{StreamName: "bench", Client: &okClient{}, RateLimit: -1, Logger: Standard(log.New(io.Discard, "", 0))}
				if m.shards > 0 {
					cfg.GetShards = StaticGetShardsFunc(m.shards)
				}
				p := New(cfg)
				if err := p.Start(); err != nil {
					b.Fatal(err)
				}
				put := func(i int) error {
					r := recs[i%len(recs)]
					if m.ehk {
						return p.PutUserRecord(r)
					}
					return p.Put(r.data, r.key)
				}
				body(b, size, p, put)
			})
		}
	}
}

// putParallel calls put from GOMAXPROCS goroutines b.N times in all.
func putParallel(b *testing.B, put func(i int) error) {
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(1)) * 7919
		for pb.Next() {
			if err := put(i); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// BenchmarkProducer puts records from GOMAXPROCS goroutines into a producer
// whose client always succeeds, Stop included in the timing.
func BenchmarkProducer(b *testing.B) {
	forEachBenchMode(b, func(b *testing.B, size int, p *Producer, put func(int) error) {
		b.SetBytes(int64(size))
		b.ReportAllocs()
		b.ResetTimer()
		putParallel(b, put)
		p.Stop()
	})
}
