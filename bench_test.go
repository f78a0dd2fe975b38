package producer

import (
	"context"
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
	"log"
	"math/big"
	"runtime"
	"sync/atomic"
	"testing"

	kinesisv2 "github.com/aws/aws-sdk-go-v2/service/kinesis"
	typesv2 "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/kinesis"
	"github.com/kplgo/producer/internal/kinesistest"
	"github.com/kplgo/producer/sdkv2"
)

// okClient acknowledges every entry at once and keeps nothing, so the cost
// of the client stays out of the producer's figures. Like Kinesis, it names
// the shard that owns each entry in a stream of the benchmark's shards
// (StaticGetShardsFunc(shards); one shard without a map), so the producer's
// check of where its aggregates landed runs and stays quiet.
type okClient struct{ owner *staticOwner }

func newOKClient(shards int) *okClient { return &okClient{owner: newStaticOwner(shards)} }

func (c *okClient) PutRecords(in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
	out := &kinesis.PutRecordsOutput{Records: make([]*kinesis.PutRecordsResultEntry, len(in.Records))}
	results := make([]kinesis.PutRecordsResultEntry, len(in.Records))
	seq := "1"
	for i, e := range in.Records {
		shard := c.owner.Owner(aws.StringValue(e.PartitionKey), aws.StringValue(e.ExplicitHashKey))
		results[i] = kinesis.PutRecordsResultEntry{ShardId: shard, SequenceNumber: &seq}
		out.Records[i] = &results[i]
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

// benchDoor starts a producer through one front door for the benchmarks:
// no rate limit (the fake clients have no shards to protect) and shards
// equal shards (none: no shard map). It returns the door's put calls, and a
// stop that stops the producer and fails the benchmark if any aggregate
// landed on a shard other than the one predicted (the client answering
// unlike Kinesis would make the producer re-send, and measure that).
type benchDoor func(b *testing.B, shards int) (put func([]byte, string) error, putUser func(UserRecord) error, stop func())

// stopChecked stops a producer and checks its Stats as benchDoor says.
func stopChecked(b *testing.B, stop func(), stats func() Stats) func() {
	return func() {
		stop()
		if s := stats(); s.WrongShard != 0 || s.Resent != 0 {
			b.Fatalf("%d Kinesis records on another shard than predicted, %d user records re-sent", s.WrongShard, s.Resent)
		}
	}
}

// v1Door is the root package over okClient.
func v1Door(b *testing.B, shards int) (func([]byte, string) error, func(UserRecord) error, func()) {
	cfg := &Config{StreamName: "bench", Client: newOKClient(shards), RateLimit: -1, Logger: Standard(log.New(io.Discard, "", 0))}
	if shards > 0 {
		cfg.GetShards = StaticGetShardsFunc(shards)
	}
	p := New(cfg)
	if err := p.Start(); err != nil {
		b.Fatal(err)
	}
	return p.Put, p.PutUserRecord, stopChecked(b, p.Stop, p.Stats)
}

// v2Door is package sdkv2 over okClientV2.
func v2Door(b *testing.B, shards int) (func([]byte, string) error, func(UserRecord) error, func()) {
	cfg := &sdkv2.Config{StreamName: "bench", Client: okClientV2{newStaticOwner(shards)}, RateLimit: -1, Logger: Standard(log.New(io.Discard, "", 0))}
	if shards > 0 {
		cfg.GetShards = sdkv2.StaticGetShardsFunc(shards)
	}
	p := sdkv2.New(cfg)
	ctx := context.Background()
	if err := p.Start(ctx); err != nil {
		b.Fatal(err)
	}
	return func(data []byte, key string) error { return p.Put(ctx, data, key) },
		func(r UserRecord) error { return p.PutUserRecord(ctx, r) }, stopChecked(b, p.Stop, p.Stats)
}

// okClientV2 is okClient for aws-sdk-go-v2.
type okClientV2 struct{ owner *staticOwner }

func (c okClientV2) PutRecords(_ context.Context, in *kinesisv2.PutRecordsInput, _ ...func(*kinesisv2.Options)) (*kinesisv2.PutRecordsOutput, error) {
	out := &kinesisv2.PutRecordsOutput{Records: make([]typesv2.PutRecordsResultEntry, len(in.Records))}
	seq := "1"
	for i, e := range in.Records {
		shard := c.owner.Owner(aws.StringValue(e.PartitionKey), aws.StringValue(e.ExplicitHashKey))
		out.Records[i] = typesv2.PutRecordsResultEntry{ShardId: shard, SequenceNumber: &seq}
	}
	return out, nil
}

// forEachBenchMode runs body as a sub-benchmark for each record size and mode
// with a producer started through door, and a put function that sends one
// record (PutUserRecord with an explicit hash key in the ehk modes, Put
// otherwise). body calls stop.
func forEachBenchMode(b *testing.B, door benchDoor, body func(b *testing.B, size int, stop func(), put func(i int) error)) {
	for _, size := range []int{1024, 100} {
		for _, m := range benchModes {
			b.Run(fmt.Sprintf("size=%d/%s", size, m.name), func(b *testing.B) {
				keys := kinesistest.UUIDKeys(4096)
				recs := make([]*benchRecord, len(keys))
				data := make([]byte, size)
				for i, k := range keys {
					recs[i] = &benchRecord{key: k, data: data}
					if m.ehk {
						recs[i].ehk = md5Big(k)
					}
				}
				putData, putUser, stop := door(b, m.shards)
				put := func(i int) error {
					r := recs[i%len(recs)]
					if m.ehk {
						return putUser(r)
					}
					return putData(r.data, r.key)
				}
				body(b, size, stop, put)
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
// whose client always succeeds, Stop included in the timing, through the
// aws-sdk-go v1 door; BenchmarkProducerV2 does the same through sdkv2.
func BenchmarkProducer(b *testing.B) { benchmarkProducer(b, v1Door) }

// BenchmarkProducerV2 is BenchmarkProducer through the aws-sdk-go-v2 door.
func BenchmarkProducerV2(b *testing.B) { benchmarkProducer(b, v2Door) }

func benchmarkProducer(b *testing.B, door benchDoor) {
	forEachBenchMode(b, door, func(b *testing.B, size int, stop func(), put func(int) error) {
		b.SetBytes(int64(size))
		b.ReportAllocs()
		cpu := processCPU()
		b.ResetTimer()
		putParallel(b, put)
		stop()
		b.StopTimer()
		if used := processCPU() - cpu; used > 0 {
			b.ReportMetric(used.Seconds()/(float64(b.N)*float64(size)/(1<<30)), "cpu-s/GiB")
		}
	})
}

// BenchmarkMD5Floor is BenchmarkProducer's workload reduced to its floor:
// from GOMAXPROCS goroutines, each op feeds one record's data and key to a
// running MD5 (summed and restarted every 50 KiB, like an aggregate), which
// is the MD5 work an aggregate of these records costs. The "+key" variants
// add the MD5 of the partition key itself, which Put computes in shard-map
// mode without explicit hash keys; the "+ehk" variants add the decimal
// explicit hash key an aggregate carries for each record in the ehk modes.
// Its ns/op is the floor for BenchmarkProducer's ns/op at the same size on
// the same machine.
func BenchmarkMD5Floor(b *testing.B) {
	for _, size := range []int{1024, 100} {
		for _, variant := range []string{"", "+key", "+ehk"} {
			key, ehk := variant == "+key", variant == "+ehk"
			b.Run(fmt.Sprintf("size=%d/aggregate%s", size, variant), func(b *testing.B) {
				keys := kinesistest.UUIDKeys(4096)
				keyBytes := make([][]byte, len(keys))
				for i, k := range keys {
					keyBytes[i] = []byte(k)
					if ehk {
						sum := md5.Sum(keyBytes[i])
						keyBytes[i] = append(keyBytes[i], new(big.Int).SetBytes(sum[:]).String()...)
					}
				}
				data := make([]byte, size)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				b.ResetTimer()
				var next atomic.Int64
				var sink atomic.Uint64
				b.RunParallel(func(pb *testing.PB) {
					var d hash.Hash = md5.New()
					var sum [md5.Size]byte
					var acc uint64
					n := 0
					i := int(next.Add(1)) * 7919
					for pb.Next() {
						j := i % len(keys)
						i++
						if key {
							ks := md5.Sum(keyBytes[j][:len(keys[j])])
							acc ^= binary.BigEndian.Uint64(ks[8:])
						}
						d.Write(data)
						d.Write(keyBytes[j])
						if n += len(data) + len(keyBytes[j]); n >= DefaultAggregateBatchSize {
							d.Sum(sum[:0])
							d.Reset()
							n = 0
						}
					}
					d.Sum(sum[:0])
					sink.Add(acc + uint64(sum[0]))
				})
			})
		}
	}
}

// BenchmarkAllocsPerRecord is BenchmarkProducer reporting the heap
// allocations of the whole producer (Put, drain goroutine, workers, Stop) per
// user record as a fraction, which allocs/op rounds down to 0.
func BenchmarkAllocsPerRecord(b *testing.B) {
	forEachBenchMode(b, v1Door, func(b *testing.B, _ int, stop func(), put func(int) error) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		b.ResetTimer()
		putParallel(b, put)
		stop()
		b.StopTimer()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N), "allocs/record")
		b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N), "B/record")
	})
}
