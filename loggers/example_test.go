package loggers_test

import (
	"fmt"
	"log"
	"log/slog"
	"os"
	"sync/atomic"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/kinesis"
	"github.com/kplgo/producer"
	"github.com/kplgo/producer/loggers"
	"github.com/sirupsen/logrus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// oneShardKinesis stands in for *kinesis.Kinesis so that the examples run
// offline: a stream of one shard that acknowledges every record.
type oneShardKinesis struct {
	sequence atomic.Int64 // the last sequence number given
}

// PutRecords acknowledges every entry, on the stream's one shard.
func (k *oneShardKinesis) PutRecords(in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
	out := &kinesis.PutRecordsOutput{FailedRecordCount: aws.Int64(0)}
	for range in.Records {
		out.Records = append(out.Records, &kinesis.PutRecordsResultEntry{
			ShardId:        aws.String("shardId-000000000000"),
			SequenceNumber: aws.String(fmt.Sprint(k.sequence.Add(1))),
		})
	}
	return out, nil
}

// putOne runs a producer with logger: it starts, puts one record and stops,
// and logs a line when it starts and one when it stops.
func putOne(logger producer.Logger) {
	p := producer.New(&producer.Config{
		StreamName: "orders",
		Client:     &oneShardKinesis{}, // in a program: kinesis.New(session.Must(session.NewSession()))
		Logger:     logger,
	})
	if err := p.Start(); err != nil {
		log.Fatal(err)
	}
	if err := p.Put([]byte(`{"order":1}`), "customer-1"); err != nil {
		log.Fatal(err)
	}
	p.Stop()
}

// Logrus sends the producer's log lines to a logrus logger, with fields.
func ExampleLogrus() {
	logger := logrus.New()
	logger.SetOutput(os.Stdout)
	logger.SetFormatter(&logrus.TextFormatter{DisableTimestamp: true}) // no time, for a stable output

	putOne(loggers.Logrus(logger))
	// Output:
	// level=info msg="producer started" stream=orders
	// level=info msg="producer stopped" stream=orders user_records_failed=0 user_records_put=1
}

// Zap sends the producer's log lines to a zap logger, with fields.
func ExampleZap() {
	config := zap.NewProductionEncoderConfig()
	config.TimeKey = "" // no time, for a stable output
	logger := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(config), zapcore.Lock(os.Stdout), zap.InfoLevel))
	defer logger.Sync()

	putOne(loggers.Zap(logger))
	// Output:
	// {"level":"info","msg":"producer started","stream":"orders"}
	// {"level":"info","msg":"producer stopped","stream":"orders","user_records_put":1,"user_records_failed":0}
}

// Slog sends the producer's log lines to a log/slog logger, with
// attributes. (sdkv2.Slog is the same adapter, without this package's
// logrus and zap dependencies.)
func ExampleSlog() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // no time, for a stable output
			}
			return a
		},
	}))

	putOne(loggers.Slog(logger))
	// Output:
	// level=INFO msg="producer started" stream=orders
	// level=INFO msg="producer stopped" stream=orders user_records_put=1 user_records_failed=0
}
