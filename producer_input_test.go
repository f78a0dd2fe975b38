package producer

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/awserr"
	"github.com/aws/aws-sdk-go/service/kinesis"
	"github.com/kplgo/producer/internal/kinesistest"
)

// TestBadInput puts every kind of bad record between good ones: each bad
// one gets its error at once, nothing else is harmed, and the good ones all
// arrive.
func TestBadInput(t *testing.T) {
	const maxRecord = 1000
	two128 := new(big.Int).Lsh(big.NewInt(1), 128)
	type put struct {
		name    string
		data    []byte
		key     string
		ehk     *big.Int
		user    bool // via PutUserRecord
		nilUser bool
		wantErr error
	}
	cases := []put{
		{name: "empty key", data: []byte("d"), key: "", wantErr: ErrIllegalPartitionKey},
		{name: "257 ASCII characters", data: []byte("d"), key: strings.Repeat("a", 257), wantErr: ErrIllegalPartitionKey},
		{name: "257 two-byte characters", data: []byte("d"), key: strings.Repeat("é", 257), wantErr: ErrIllegalPartitionKey},
		{name: "256 ASCII characters", data: []byte("ok-256-ascii"), key: strings.Repeat("a", 256)},
		{name: "256 two-byte characters", data: []byte("ok-256-two-byte"), key: strings.Repeat("é", 256)},
		{name: "256 three-byte characters", data: []byte("ok-256-three-byte"), key: strings.Repeat("語", 256)},
		{name: "invalid UTF-8", data: []byte("d"), key: "ab\xffcd", wantErr: ErrIllegalPartitionKey},
		{name: "truncated UTF-8", data: []byte("d"), key: "語"[:2], wantErr: ErrIllegalPartitionKey},
		{name: "over MaxRecordSize", data: bytes.Repeat([]byte("o"), maxRecord-2), key: "abc", wantErr: ErrRecordSizeExceeded},
		{name: "at MaxRecordSize", data: append([]byte("ok-at-limit"), bytes.Repeat([]byte("x"), maxRecord-3-11)...), key: "abc"},
		{name: "key pushes over MaxRecordSize", data: bytes.Repeat([]byte("p"), maxRecord-255), key: strings.Repeat("k", 256), wantErr: ErrRecordSizeExceeded},
		{name: "nil data", data: nil, key: "k", wantErr: ErrNilData},
		{name: "empty data", data: []byte{}, key: "empty"},
		{name: "nil data (user)", data: nil, key: "k", user: true, wantErr: ErrNilData},
		{name: "nil user record", nilUser: true, wantErr: ErrNilUserRecord},
		{name: "hash key 2^128", data: []byte("d"), key: "k", ehk: two128, user: true, wantErr: ErrIllegalExplicitHashKey},
		{name: "hash key -1", data: []byte("d"), key: "k", ehk: big.NewInt(-1), user: true, wantErr: ErrIllegalExplicitHashKey},
		{name: "hash key 2^128-1", data: []byte("ok-max-hash"), key: "k", ehk: kinesistest.BigSub(two128, 1), user: true},
		{name: "hash key 0", data: []byte("ok-zero-hash"), key: "k", ehk: big.NewInt(0), user: true},
		{name: "bad key (user)", data: []byte("d"), key: "", user: true, wantErr: ErrIllegalPartitionKey},
		{name: "too big (user)", data: bytes.Repeat([]byte("u"), maxRecord), key: "k", user: true, wantErr: ErrRecordSizeExceeded},
	}
	for _, shards := range []int{0, 2} {
		t.Run(fmt.Sprint("shards=", shards), func(t *testing.T) {
			c := &fakeClient{}
			cfg := testConfig(c)
			cfg.MaxRecordSize, cfg.AggregateBatchSize, cfg.BatchSize = maxRecord, maxRecord, maxRecord
			cfg.RateLimit = -1
			if shards > 0 {
				cfg.GetShards = StaticGetShardsFunc(shards)
				c.shards = staticShards(t, shards)
			}
			p := New(cfg)
			f := collectFailures(p)
			if err := p.Start(); err != nil {
				t.Fatal(err)
			}
			want := map[string]wantRec{}
			good := 0
			for i, tc := range cases {
				// A good record before each case.
				g := []byte(fmt.Sprintf("good-%d", i))
				want[string(g)] = wantRec{key: "good"}
				if err := p.Put(g, "good"); err != nil {
					t.Fatal(err)
				}
				var err error
				switch {
				case tc.nilUser:
					err = p.PutUserRecord(nil)
				case tc.user:
					err = p.PutUserRecord(&testRecord{key: tc.key, data: tc.data, ehk: tc.ehk})
				default:
					err = p.Put(tc.data, tc.key)
				}
				if tc.wantErr == nil {
					if err != nil {
						t.Errorf("%s: %v", tc.name, err)
						continue
					}
					w := wantRec{key: tc.key}
					if tc.ehk != nil {
						w.ehk = tc.ehk.String()
					}
					want[string(tc.data)] = w
					good++
					continue
				}
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("%s: error %v, want %v", tc.name, err, tc.wantErr)
				}
			}
			p.Stop()
			if fs := f.wait(t); len(fs) > 0 {
				t.Fatalf("%d failures, first: %v", len(fs), fs[0].Err)
			}
			checkDelivered(t, want, c.userRecords(t))
			for _, s := range c.sentRecords() {
				if n := len(s.Data) + len(s.PartitionKey); n > maxRecord {
					t.Fatalf("Kinesis record of %d bytes, MaxRecordSize %d", n, maxRecord)
				}
			}
			if good != 7 {
				t.Fatalf("%d good odd cases, want 7", good)
			}
		})
	}
}

// TestBadInputErrorsSayWhy: the errors carry detail beyond the sentinel.
func TestBadInputErrorsSayWhy(t *testing.T) {
	p := New(testConfig(&fakeClient{}))
	defer p.Stop()
	err := p.Put(bytes.Repeat([]byte("x"), DefaultMaxRecordSize), "key")
	if !errors.Is(err, ErrRecordSizeExceeded) || !strings.Contains(err.Error(), fmt.Sprint(DefaultMaxRecordSize)) {
		t.Errorf("size error %q does not give the limit", err)
	}
	err = p.Put([]byte("x"), strings.Repeat("a", 300))
	if !errors.Is(err, ErrIllegalPartitionKey) || !strings.Contains(err.Error(), "300") {
		t.Errorf("key error %q does not give the length", err)
	}
}

// validatingClient refuses a whole PutRecords call, as Kinesis does, when a
// partition key is longer than 256 UTF-16 code units.
func validatingClient() *fakeClient {
	return &fakeClient{checkIn: func(in *kinesis.PutRecordsInput) error {
		for i, e := range in.Records {
			if n := len(utf16.Encode([]rune(aws.StringValue(e.PartitionKey)))); n > 256 {
				return awserr.NewRequestFailure(awserr.New("ValidationException",
					fmt.Sprintf("Value at 'records.%d.member.partitionKey' failed to satisfy constraint: Member must have length less than or equal to 256", i+1), nil), 400, "req")
			}
		}
		return nil
	}}
}

// TestLongSupplementaryKeyHarmsNothingElse: a key that Kinesis refuses must
// be refused by Put, not take the records around it down.
func TestLongSupplementaryKeyHarmsNothingElse(t *testing.T) {
	c := validatingClient()
	cfg := testConfig(c)
	cfg.AggregateBatchSize = 100 // the odd record goes out plain, next to the others
	p := New(cfg)
	f := collectFailures(p)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	want := map[string]wantRec{}
	for i := 0; i < 50; i++ {
		want[string(recordData(i))] = wantRec{key: "good"}
		if err := p.Put(recordData(i), "good"); err != nil {
			t.Fatal(err)
		}
	}
	long := strings.Repeat("😀", 200)
	err := p.Put(bytes.Repeat([]byte("L"), 200), long)
	if err != nil && !errors.Is(err, ErrIllegalPartitionKey) {
		t.Fatalf("Put with a long key: %v", err)
	}
	p.Stop()
	fs := f.wait(t)
	checkDelivered(t, want, c.userRecords(t))
	for _, fr := range fs {
		for _, u := range fr.UserRecords {
			if u.PartitionKey() != long {
				t.Fatalf("good record %q failed: %v", u.Data(), fr.Err)
			}
		}
	}
}

// TestPutCountsKeyInUTF16 checks that Put refuses a key Kinesis would refuse
// (the rule itself is tested in internal/engine).
func TestPutCountsKeyInUTF16(t *testing.T) {
	p := New(testConfig(&fakeClient{}))
	defer p.Stop()
	if err := p.Put([]byte("x"), strings.Repeat("😀", 200)); !errors.Is(err, ErrIllegalPartitionKey) {
		t.Errorf("Put with 200 emoji: %v, want ErrIllegalPartitionKey", err)
	}
}

func TestFailureRecordUnwrap(t *testing.T) {
	cause := &PutRecordError{Code: "InternalFailure", Message: "boom"}
	f := &FailureRecord{Err: fmt.Errorf("%w: %w", ErrAttemptsExhausted, cause), UserRecords: []UserRecord{&testRecord{key: "k"}}}
	if !errors.Is(f, ErrAttemptsExhausted) {
		t.Error("FailureRecord does not unwrap to its Err")
	}
	var pe *PutRecordError
	if !errors.As(f, &pe) || pe.Code != "InternalFailure" {
		t.Errorf("errors.As PutRecordError: %v", pe)
	}
	if msg := f.Error(); !strings.Contains(msg, "1 user records") || !strings.Contains(msg, "InternalFailure") || !strings.Contains(msg, "boom") {
		t.Errorf("Error() = %q", msg)
	}
}
