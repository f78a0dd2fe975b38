package producer_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go/service/kinesis"
	producer "github.com/kplgo/producer"
	"github.com/kplgo/producer/internal/kinesistest"
	"github.com/kplgo/producer/sdkv2"
)

// The integration tests run one body through each of the producer's front
// doors: the root package over an aws-sdk-go v1 client, and package sdkv2
// over an aws-sdk-go-v2 client that talks to the same server through the
// same HTTP client (and so the same fault injection).

// testProducer is what the tests call on a producer, whichever its door.
type testProducer interface {
	Start() error
	Put(data []byte, partitionKey string) error
	PutUserRecord(r producer.UserRecord) error
	Flush()
	FlushSync(ctx context.Context) error
	Stop()
	Shutdown(ctx context.Context) error
	NotifyFailures() <-chan *producer.FailureRecord
	NotifySuccesses() <-chan *producer.SuccessRecord
	Stats() producer.Stats
	ShardStats() []producer.ShardStats
}

// door builds producers through one front door.
type door struct {
	name string
	// open returns an unstarted producer for cfg, a Config of the v1 door
	// whose Client is a *kinesis.Kinesis; with lister, the producer keeps a
	// shard map listed through lister (or its v2 twin).
	open func(cfg *producer.Config, lister *kinesis.Kinesis) testProducer
}

var doors = []door{
	{"v1", func(cfg *producer.Config, lister *kinesis.Kinesis) testProducer {
		if lister != nil {
			cfg.GetShards = producer.GetKinesisShardsFunc(lister, streamOf(cfg))
		}
		return producer.New(cfg)
	}},
	{"v2", func(cfg *producer.Config, lister *kinesis.Kinesis) testProducer {
		v2 := &sdkv2.Config{}
		copyShared(v2, cfg)
		if c, ok := cfg.Client.(*kinesis.Kinesis); ok {
			v2.Client = kinesistest.V2Of(c)
		}
		if lister != nil {
			v2.GetShards = sdkv2.GetKinesisShardsFunc(kinesistest.V2Of(lister), streamOf(cfg))
		}
		return v2Producer{sdkv2.New(v2)}
	}},
}

// forEachDoor runs body as a subtest for each door.
func forEachDoor(t *testing.T, body func(t *testing.T, d door)) {
	t.Helper()
	for _, d := range doors {
		t.Run(d.name, func(t *testing.T) { body(t, d) })
	}
}

func streamOf(cfg *producer.Config) string {
	if cfg.StreamARN != "" {
		return cfg.StreamARN
	}
	return cfg.StreamName
}

// copyShared copies the fields of src that dst has with the same name and
// type: every field but the client and the shard listing.
func copyShared(dst *sdkv2.Config, src *producer.Config) {
	d, s := reflect.ValueOf(dst).Elem(), reflect.ValueOf(src).Elem()
	for i := 0; i < s.NumField(); i++ {
		f := s.Type().Field(i)
		if g, ok := d.Type().FieldByName(f.Name); ok && g.Type == f.Type {
			d.FieldByIndex(g.Index).Set(s.Field(i))
		}
	}
}

// v2Producer gives an sdkv2.Producer the methods of testProducer; the
// context-free calls use context.Background().
type v2Producer struct{ *sdkv2.Producer }

func (p v2Producer) Start() error { return p.Producer.Start(context.Background()) }

func (p v2Producer) Put(data []byte, key string) error {
	return p.Producer.Put(context.Background(), data, key)
}

func (p v2Producer) PutUserRecord(r producer.UserRecord) error {
	return p.Producer.PutUserRecord(context.Background(), r)
}

// TestDoorsShareEveryField checks that copyShared leaves no field of the v1
// Config behind but the two that name SDK types, so that a test through the
// v2 door runs with the very settings of the v1 one.
func TestDoorsShareEveryField(t *testing.T) {
	v1 := reflect.TypeOf(producer.Config{})
	v2 := reflect.TypeOf(sdkv2.Config{})
	var missing []string
	for i := 0; i < v1.NumField(); i++ {
		f := v1.Field(i)
		if g, ok := v2.FieldByName(f.Name); !ok || g.Type != f.Type {
			missing = append(missing, f.Name)
		}
	}
	if len(missing) != 2 || missing[0] != "Client" || missing[1] != "GetShards" {
		t.Errorf("fields of producer.Config that sdkv2.Config lacks: %v, want [Client GetShards]", missing)
	}
	if v1.NumField() != v2.NumField() {
		t.Errorf("producer.Config has %d fields, sdkv2.Config %d", v1.NumField(), v2.NumField())
	}
}
