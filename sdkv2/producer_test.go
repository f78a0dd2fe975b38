package sdkv2_test

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/smithy-go"

	producer "github.com/kplgo/producer"
	"github.com/kplgo/producer/sdkv2"
)

func quietLogger() producer.Logger { return producer.Standard(log.New(io.Discard, "", 0)) }

// TestProducerRetriesTheRightEntries runs a producer over the Adapter with a
// fake v2 client that fails some entries of a PutRecords answer: exactly
// those records must be sent again, and every success must carry the shard
// and sequence number the answer gave its entry.
func TestProducerRetriesTheRightEntries(t *testing.T) {
	const n = 40
	failOnce := map[string]bool{}
	for i := 1; i < n; i += 3 {
		failOnce[fmt.Sprintf("key-%02d", i)] = true
	}
	var mu sync.Mutex
	sends := map[string]int{}
	fake := &fakeClient{putFunc: func(in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
		mu.Lock()
		defer mu.Unlock()
		out := &kinesis.PutRecordsOutput{FailedRecordCount: aws.Int32(0)}
		for _, e := range in.Records {
			key := aws.StringValue(e.PartitionKey)
			sends[key]++
			if failOnce[key] && sends[key] == 1 {
				*out.FailedRecordCount++
				out.Records = append(out.Records, types.PutRecordsResultEntry{
					ErrorCode:    aws.String("ProvisionedThroughputExceededException"),
					ErrorMessage: aws.String("Rate exceeded"),
				})
				continue
			}
			out.Records = append(out.Records, types.PutRecordsResultEntry{
				ShardId:        aws.String("shardId-" + key),
				SequenceNumber: aws.String("seq-" + key),
			})
		}
		return out, nil
	}}
	p := producer.New(&producer.Config{
		StreamName:          "stream",
		Client:              sdkv2.New(fake),
		AggregateBatchCount: 1, // every user record is a Kinesis record of its own
		FlushInterval:       20 * time.Millisecond,
		RetryBackoffMin:     time.Millisecond,
		RetryBackoffMax:     2 * time.Millisecond,
		Logger:              quietLogger(),
	})
	failures := p.NotifyFailures()
	successes := p.NotifySuccesses()
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if err := p.Put([]byte(fmt.Sprintf("data-%02d", i)), fmt.Sprintf("key-%02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	p.Stop()
	for f := range failures {
		t.Errorf("failure: %v", f)
	}
	acked := map[string]bool{}
	for s := range successes {
		if len(s.UserRecords) != 1 {
			t.Fatalf("success with %d user records", len(s.UserRecords))
		}
		key := s.UserRecords[0].PartitionKey()
		if acked[key] {
			t.Errorf("%s acknowledged twice", key)
		}
		acked[key] = true
		if s.ShardID != "shardId-"+key || s.SequenceNumber != "seq-"+key {
			t.Errorf("%s acknowledged with shard %q sequence %q", key, s.ShardID, s.SequenceNumber)
		}
		want := 1
		if failOnce[key] {
			want = 2
		}
		if s.Attempts != want || sends[key] != want {
			t.Errorf("%s: %d attempts, sent %d times; want %d", key, s.Attempts, sends[key], want)
		}
	}
	if len(acked) != n {
		t.Errorf("%d records acknowledged, want %d", len(acked), n)
	}
}

// TestProducerClassifiesV2Errors checks that the producer treats errors of
// a v2 client as it treats those of a v1 client.
func TestProducerClassifiesV2Errors(t *testing.T) {
	netErr := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	cases := []struct {
		name      string
		err       error
		throttled bool // FailIfThrottled
		calls     int
		is        error
		as        func(error) bool
	}{
		{
			name: "throttled", throttled: true, calls: 1, is: producer.ErrThrottled,
			err: operationError("PutRecords", 400, "r", &types.ProvisionedThroughputExceededException{Message: aws.String("Rate exceeded")}),
			as: func(err error) bool {
				var e *types.ProvisionedThroughputExceededException
				return errors.As(err, &e)
			},
		},
		{
			name: "not retryable", calls: 1, is: producer.ErrNotRetryable,
			err: operationError("PutRecords", 400, "r", &types.ResourceNotFoundException{Message: aws.String("Stream stream not found")}),
			as: func(err error) bool {
				var e *types.ResourceNotFoundException
				return errors.As(err, &e)
			},
		},
		{
			name: "server error", calls: 3, is: producer.ErrAttemptsExhausted,
			err: operationError("PutRecords", 500, "r", &smithy.GenericAPIError{Code: "InternalFailure", Message: "boom"}),
			as: func(err error) bool {
				var e smithy.APIError
				return errors.As(err, &e) && e.ErrorCode() == "InternalFailure"
			},
		},
		{
			name: "network", calls: 3, is: producer.ErrAttemptsExhausted,
			err: &smithy.OperationError{ServiceID: "Kinesis", OperationName: "PutRecords", Err: netErr},
			as: func(err error) bool {
				var e net.Error
				return errors.As(err, &e)
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fake := failingClient(c.err)
			p := producer.New(&producer.Config{
				StreamName:      "stream",
				Client:          sdkv2.New(fake),
				FailIfThrottled: c.throttled,
				MaxAttempts:     3,
				FlushInterval:   10 * time.Millisecond,
				RetryBackoffMin: time.Millisecond,
				RetryBackoffMax: 2 * time.Millisecond,
				Logger:          quietLogger(),
			})
			failures := p.NotifyFailures()
			if err := p.Start(); err != nil {
				t.Fatal(err)
			}
			if err := p.Put([]byte("data"), "key"); err != nil {
				t.Fatal(err)
			}
			p.Stop()
			var got []*producer.FailureRecord
			for f := range failures {
				got = append(got, f)
			}
			if len(got) != 1 {
				t.Fatalf("%d failures, want 1", len(got))
			}
			err := got[0].Err
			if !errors.Is(err, c.is) {
				t.Errorf("failure %v does not wrap %v", err, c.is)
			}
			if !c.as(err) {
				t.Errorf("failure %v lost the v2 error", err)
			}
			if n := len(fake.putCalls()); n != c.calls {
				t.Errorf("%d PutRecords calls, want %d", n, c.calls)
			}
		})
	}
}
