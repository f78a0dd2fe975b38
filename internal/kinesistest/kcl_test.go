package kinesistest_test

import (
	"crypto/md5"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/kinesis"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/kplgo/producer/internal/kinesistest"
)

// sub is one user record of a hand-made aggregate.
type sub struct {
	key  string
	ehk  string // "" for none
	data string
}

// aggregate encodes subs as a KPL aggregated record, with one table entry
// per distinct key and explicit hash key.
func aggregate(subs ...sub) []byte {
	var keys, ehks []string
	index := func(table *[]string, v string) uint64 {
		for i, k := range *table {
			if k == v {
				return uint64(i)
			}
		}
		*table = append(*table, v)
		return uint64(len(*table) - 1)
	}
	var recs [][]byte
	for _, s := range subs {
		var r []byte
		r = protowire.AppendTag(r, 1, protowire.VarintType)
		r = protowire.AppendVarint(r, index(&keys, s.key))
		if s.ehk != "" {
			r = protowire.AppendTag(r, 2, protowire.VarintType)
			r = protowire.AppendVarint(r, index(&ehks, s.ehk))
		}
		r = protowire.AppendTag(r, 3, protowire.BytesType)
		r = protowire.AppendBytes(r, []byte(s.data))
		recs = append(recs, r)
	}
	var body []byte
	for _, k := range keys {
		body = protowire.AppendTag(body, 1, protowire.BytesType)
		body = protowire.AppendString(body, k)
	}
	for _, h := range ehks {
		body = protowire.AppendTag(body, 2, protowire.BytesType)
		body = protowire.AppendString(body, h)
	}
	for _, r := range recs {
		body = protowire.AppendTag(body, 3, protowire.BytesType)
		body = protowire.AppendBytes(body, r)
	}
	sum := md5.Sum(body)
	out := append([]byte{0xF3, 0x89, 0x9A, 0xC2}, body...)
	return append(out, sum[:]...)
}

// twoShards returns the shards of a stream split once: a closed parent
// covering everything and two open children meeting at 2^127.
func twoShards() []*kinesis.Shard {
	mid := new(big.Int).Lsh(big.NewInt(1), 127)
	max := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1))
	shard := func(id string, lo, hi *big.Int, closed bool) *kinesis.Shard {
		sh := &kinesis.Shard{
			ShardId:             aws.String(id),
			HashKeyRange:        &kinesis.HashKeyRange{StartingHashKey: aws.String(lo.String()), EndingHashKey: aws.String(hi.String())},
			SequenceNumberRange: &kinesis.SequenceNumberRange{StartingSequenceNumber: aws.String("1")},
		}
		if closed {
			sh.SequenceNumberRange.EndingSequenceNumber = aws.String("2")
		}
		return sh
	}
	return []*kinesis.Shard{
		shard("parent", new(big.Int), max, true),
		shard("low", new(big.Int), new(big.Int).Sub(mid, big.NewInt(1)), false),
		shard("high", mid, max, false),
	}
}

// keyIn returns a partition key starting with prefix whose hash key lies in
// the shard with the given id.
func keyIn(t *testing.T, shards []*kinesis.Shard, id, prefix string) string {
	t.Helper()
	for i := 0; i < 10000; i++ {
		k := fmt.Sprintf("%s-%d", prefix, i)
		if sh := kinesistest.ShardForHashKey(shards, kinesistest.HashKey(k)); sh != nil && aws.StringValue(sh.ShardId) == id {
			return k
		}
	}
	t.Fatalf("no key for shard %s", id)
	return ""
}

// datas returns the data of the records, in order.
func datas(recs []kinesistest.KCLRecord) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = string(r.Data)
	}
	return out
}

func TestKCL2ViewRules(t *testing.T) {
	t.Parallel()
	shards := twoShards()
	low1, low2 := keyIn(t, shards, "low", "a"), keyIn(t, shards, "low", "b")
	high := keyIn(t, shards, "high", "c")
	lowEHK := "12345" // inside "low"

	badSum := aggregate(sub{key: low1, data: "bad-sum"})
	badSum[len(badSum)-1] ^= 1
	prefixOnly := append([]byte{0xF3, 0x89, 0x9A, 0xC2}, make([]byte, md5.Size)...)

	records := []kinesistest.Record{
		{ShardID: "low", SequenceNumber: "1", PartitionKey: high, Data: []byte("plain")}, // plain: never checked
		{ShardID: "low", SequenceNumber: "2", PartitionKey: low1, Data: aggregate(
			sub{key: low1, data: "in-1"}, sub{key: low2, data: "in-2"}, sub{key: low1, data: "in-3"})},
		{ShardID: "low", SequenceNumber: "3", PartitionKey: low1, Data: aggregate(
			sub{key: low1, data: "straddle-1"}, sub{key: high, data: "straddle-2"}, sub{key: low2, data: "straddle-3"})},
		{ShardID: "low", SequenceNumber: "4", PartitionKey: high, Data: aggregate(
			sub{key: high, ehk: lowEHK, data: "ehk-1"}, sub{key: low2, data: "ehk-2"})},
		{ShardID: "parent", SequenceNumber: "5", PartitionKey: low1, Data: aggregate(
			sub{key: low1, data: "parent-1"}, sub{key: high, data: "parent-2"})},
		{ShardID: "high", SequenceNumber: "6", PartitionKey: low1, Data: badSum},
		{ShardID: "high", SequenceNumber: "7", PartitionKey: high, Data: prefixOnly},
		{ShardID: "low", SequenceNumber: "8", PartitionKey: low1, Data: aggregate(
			sub{key: low1, data: "nan-1"}, sub{key: low1, ehk: "not-a-number", data: "nan-2"}, sub{key: low1, data: "nan-3"})},
		{ShardID: "high", SequenceNumber: "9", PartitionKey: high, Data: aggregate(
			sub{key: low1, ehk: lowEHK, data: "wrong-ehk"})},
	}
	res, err := kinesistest.KCL2View(records, shards)
	if err != nil {
		t.Fatalf("KCL2View: %v", err)
	}
	t.Log(res)
	want := []string{"plain", "in-1", "in-2", "in-3", "ehk-1", "ehk-2", "parent-1", "parent-2",
		string(badSum), string(prefixOnly), "nan-1"}
	if got := datas(res.Records); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("delivered %q\nwant      %q", got, want)
	}
	if res.KinesisRecords != 9 || res.Aggregates != 6 || res.DroppedAggregates != 2 ||
		res.DroppedUserRecords != 3+1+2 || res.Malformed != 1 || res.BadHashKeys != 1 {
		t.Errorf("counts: %+v", *res)
	}
	for _, r := range res.Records {
		switch string(r.Data) {
		case "in-2":
			if !r.Aggregated || r.SubSequenceNumber != 1 || r.PartitionKey != low2 || r.SequenceNumber != "2" || r.ShardID != "low" {
				t.Errorf("in-2: %+v", r)
			}
		case "ehk-1":
			if r.ExplicitHashKey != lowEHK || r.PartitionKey != high {
				t.Errorf("ehk-1: %+v", r)
			}
		case "plain":
			if r.Aggregated || r.PartitionKey != high {
				t.Errorf("plain: %+v", r)
			}
		}
	}

	if _, err := kinesistest.KCL2View([]kinesistest.Record{{ShardID: "nowhere", Data: []byte("x")}}, shards); err == nil {
		t.Error("KCL2View accepted a record of an unknown shard")
	}
}

// TestKCL2ViewOnStream stores hand-made aggregates on a real stream, one
// inside its shard and one straddling the boundary, and reads them back as
// a KCL 2.x consumer would.
func TestKCL2ViewOnStream(t *testing.T) {
	t.Parallel()
	srv := kinesistest.Shared(t)
	client := srv.Client(t, nil)
	stream := srv.CreateStream(t, 2)
	shards := kinesistest.Shards(t, client, stream)
	id0, id1 := aws.StringValue(shards[0].ShardId), aws.StringValue(shards[1].ShardId)
	a, b := keyIn(t, shards, id0, "a"), keyIn(t, shards, id0, "b")
	c := keyIn(t, shards, id1, "c")
	ehk0 := shards[0].HashKeyRange.StartingHashKey

	entries := []*kinesis.PutRecordsRequestEntry{
		{PartitionKey: aws.String("agg"), ExplicitHashKey: ehk0, Data: aggregate(
			sub{key: a, data: "inside-1"}, sub{key: b, data: "inside-2"})},
		{PartitionKey: aws.String("agg"), ExplicitHashKey: ehk0, Data: aggregate(
			sub{key: a, data: "straddle-1"}, sub{key: c, data: "straddle-2"})},
		{PartitionKey: aws.String(c), Data: []byte("plain")},
	}
	out, err := client.PutRecords(&kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries})
	if err != nil || aws.Int64Value(out.FailedRecordCount) != 0 {
		t.Fatalf("PutRecords: %v %v", out, err)
	}
	res := kinesistest.ReadKCL2(t, client, stream)
	t.Log(res)
	got := map[string]string{}
	for _, r := range res.Records {
		got[string(r.Data)] = r.ShardID
	}
	want := map[string]string{"inside-1": id0, "inside-2": id0, "plain": id1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("delivered %v, want %v", got, want)
	}
	if res.KinesisRecords != 3 || res.Aggregates != 2 || res.DroppedAggregates != 1 || res.DroppedUserRecords != 2 ||
		res.Malformed != 0 || res.BadHashKeys != 0 {
		t.Errorf("counts: %+v", *res)
	}
}
