package deaggregator_test

import (
	"crypto/md5"
	"errors"
	"fmt"
	"log"
	"math/big"

	"github.com/kplgo/producer/deaggregator"
	"google.golang.org/protobuf/encoding/protowire"
)

// userRecord is a user record a KPL producer put: a partition key and data.
type userRecord struct {
	partitionKey string
	data         string
}

// kplAggregate returns the Kinesis record a KPL producer makes of records
// (see aggregation-format.md): the 4-byte magic, an AggregatedRecord
// protobuf message, and the MD5 of that message. The message holds a table
// of the distinct partition keys (field 1) and one Record (field 3) per user
// record, with the index of its key (field 1) and its data (field 3).
func kplAggregate(records ...userRecord) []byte {
	var msg []byte
	index := map[string]uint64{}
	for _, r := range records {
		if _, ok := index[r.partitionKey]; !ok {
			index[r.partitionKey] = uint64(len(index))
			msg = protowire.AppendTag(msg, 1, protowire.BytesType)
			msg = protowire.AppendString(msg, r.partitionKey)
		}
	}
	for _, r := range records {
		var rec []byte
		rec = protowire.AppendTag(rec, 1, protowire.VarintType)
		rec = protowire.AppendVarint(rec, index[r.partitionKey])
		rec = protowire.AppendTag(rec, 3, protowire.BytesType)
		rec = protowire.AppendString(rec, r.data)
		msg = protowire.AppendTag(msg, 3, protowire.BytesType)
		msg = protowire.AppendBytes(msg, rec)
	}
	sum := md5.Sum(msg)
	out := append([]byte{0xF3, 0x89, 0x9A, 0xC2}, msg...)
	return append(out, sum[:]...)
}

// Deaggregate returns the user records of a Kinesis record, in order.
func ExampleDeaggregate() {
	// A Kinesis record as GetRecords returns it: its data and partition key
	// (the partition key of an aggregate is that of one of its records).
	data := kplAggregate(
		userRecord{"alice", `{"order":1}`},
		userRecord{"bob", `{"order":2}`},
		userRecord{"alice", `{"order":3}`},
	)
	records, err := deaggregator.Deaggregate(data, "alice", "")
	if err != nil {
		log.Fatal(err)
	}
	for i, r := range records { // i is the KPL's sub-sequence number
		fmt.Println(i, r.PartitionKey, string(r.Data), r.Aggregated)
	}

	// A record that is not an aggregate comes back as itself.
	records, _ = deaggregator.Deaggregate([]byte(`{"order":4}`), "carol", "")
	fmt.Println(len(records), records[0].PartitionKey, string(records[0].Data), records[0].Aggregated)
	// Output:
	// 0 alice {"order":1} true
	// 1 bob {"order":2} true
	// 2 alice {"order":3} true
	// 1 carol {"order":4} false
}

// A KCL consumer drops an aggregate whole when one of its user records
// hashes outside the shard it was read from; DeaggregateShard does the same.
// Here the shard is the first of a stream of two: "alice" hashes into its
// range, "bob" into the second shard's.
func ExampleDeaggregateShard() {
	start := big.NewInt(0)
	end, _ := new(big.Int).SetString("170141183460469231731687303715884105727", 10) // 2^127-1

	inside := kplAggregate(userRecord{"alice", "a1"}, userRecord{"alice", "a2"})
	records, err := deaggregator.DeaggregateShard(inside, "alice", "", start, end)
	fmt.Println(len(records), err)

	mixed := kplAggregate(userRecord{"alice", "a3"}, userRecord{"bob", "b1"})
	records, err = deaggregator.DeaggregateShard(mixed, "alice", "", start, end)
	fmt.Println(len(records), errors.Is(err, deaggregator.ErrOutsideShard))
	fmt.Println("dropped:", deaggregator.SubRecords(mixed)) // the whole aggregate
	// Output:
	// 2 <nil>
	// 0 true
	// dropped: 2
}

// IsAggregated tells the framing of an aggregate apart from other data;
// Deaggregate also checks the checksum.
func ExampleIsAggregated() {
	aggregate := kplAggregate(userRecord{"alice", "a1"})
	fmt.Println(deaggregator.IsAggregated(aggregate))
	fmt.Println(deaggregator.IsAggregated([]byte(`{"order":1}`)))

	// A damaged checksum: framed as an aggregate, but Deaggregate takes it
	// as an ordinary record, as KCL does.
	aggregate[len(aggregate)-1] ^= 0xFF
	records, _ := deaggregator.Deaggregate(aggregate, "alice", "")
	fmt.Println(deaggregator.IsAggregated(aggregate), len(records), records[0].Aggregated)
	// Output:
	// true
	// false
	// true 1 false
}
