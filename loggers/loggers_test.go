package loggers_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/kinesis"
	"github.com/kplgo/producer"
	"github.com/kplgo/producer/loggers"
	"github.com/sirupsen/logrus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

var values = []producer.LogValue{
	{Name: "stream", Value: "orders"},
	{Name: "records", Value: 42},
	{Name: "retry_in", Value: 1500 * time.Millisecond},
}

var errBoom = errors.New(`boom: "quoted" cause`)

// jsonLines decodes one JSON object per line.
func jsonLines(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		m := map[string]any{}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func checkFields(t *testing.T, got map[string]any, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("field %s = %#v, want %#v (all: %v)", k, got[k], v, got)
		}
	}
}

func TestLogrus(t *testing.T) {
	var buf bytes.Buffer
	l := logrus.New()
	l.SetOutput(&buf)
	l.SetFormatter(&logrus.JSONFormatter{})
	lg := loggers.Logrus(l)
	lg.Info("producer started", values...)
	lg.Error("PutRecords failed", errBoom, values...)
	lines := jsonLines(t, buf.Bytes())
	if len(lines) != 2 {
		t.Fatalf("%d lines", len(lines))
	}
	// JSON numbers decode as float64; a Duration is an int64 of nanoseconds.
	checkFields(t, lines[0], map[string]any{"level": "info", "msg": "producer started", "stream": "orders", "records": 42.0, "retry_in": 1.5e9})
	if _, ok := lines[0]["error"]; ok {
		t.Error("Info line has an error field")
	}
	checkFields(t, lines[1], map[string]any{"level": "error", "msg": "PutRecords failed", "stream": "orders", "records": 42.0, "error": errBoom.Error()})
}

func TestZap(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	lg := loggers.Zap(zap.New(core))
	lg.Info("producer started", values...)
	lg.Error("PutRecords failed", errBoom, values...)
	entries := logs.AllUntimed()
	if len(entries) != 2 {
		t.Fatalf("%d entries", len(entries))
	}
	if e := entries[0]; e.Level != zapcore.InfoLevel || e.Message != "producer started" {
		t.Errorf("entry 0: %v %q", e.Level, e.Message)
	}
	if e := entries[1]; e.Level != zapcore.ErrorLevel || e.Message != "PutRecords failed" {
		t.Errorf("entry 1: %v %q", e.Level, e.Message)
	}
	want := map[string]any{"stream": "orders", "records": int64(42), "retry_in": 1500 * time.Millisecond}
	for i, e := range entries {
		ctx := e.ContextMap()
		for k, v := range want {
			if ctx[k] != v {
				t.Errorf("entry %d: %s = %#v, want %#v", i, k, ctx[k], v)
			}
		}
	}
	if _, ok := entries[0].ContextMap()["error"]; ok {
		t.Error("Info entry has an error field")
	}
	if got := entries[1].ContextMap()["error"]; got != errBoom.Error() {
		t.Errorf("error field %#v", got)
	}
}

func TestSlog(t *testing.T) {
	var buf bytes.Buffer
	lg := loggers.Slog(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	lg.Info("producer started", values...)
	lg.Error("PutRecords failed", errBoom, values...)
	lines := jsonLines(t, buf.Bytes())
	if len(lines) != 2 {
		t.Fatalf("%d lines", len(lines))
	}
	checkFields(t, lines[0], map[string]any{"level": "INFO", "msg": "producer started", "stream": "orders", "records": 42.0, "retry_in": 1.5e9})
	if _, ok := lines[0]["err"]; ok {
		t.Error("Info line has an err field")
	}
	checkFields(t, lines[1], map[string]any{"level": "ERROR", "msg": "PutRecords failed", "stream": "orders", "records": 42.0, "err": errBoom.Error()})
}

func TestNoValues(t *testing.T) {
	var buf bytes.Buffer
	lg := loggers.Slog(slog.New(slog.NewJSONHandler(&buf, nil)))
	lg.Info("bare")
	lines := jsonLines(t, buf.Bytes())
	if len(lines[0]) != 3 { // time, level, msg
		t.Fatalf("fields %v", lines[0])
	}
}

// okClient acknowledges every PutRecords entry.
type okClient struct{}

func (okClient) PutRecords(in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
	out := &kinesis.PutRecordsOutput{}
	for range in.Records {
		out.Records = append(out.Records, &kinesis.PutRecordsResultEntry{ShardId: aws.String("shardId-000000000000"), SequenceNumber: aws.String("1")})
	}
	return out, nil
}

// syncBuffer is a bytes.Buffer safe for the producer's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.b.Bytes()...)
}

// TestAdaptersInAProducer: each adapter receives the producer's own lines.
func TestAdaptersInAProducer(t *testing.T) {
	var lr, sl syncBuffer
	logr := logrus.New()
	logr.SetOutput(&lr)
	logr.SetFormatter(&logrus.JSONFormatter{})
	core, zlogs := observer.New(zapcore.InfoLevel)
	for name, tc := range map[string]struct {
		lg    producer.Logger
		lines func() []string
	}{
		"logrus": {loggers.Logrus(logr), func() []string { return msgs(t, lr.Bytes()) }},
		"zap": {loggers.Zap(zap.New(core)), func() []string {
			var m []string
			for _, e := range zlogs.AllUntimed() {
				m = append(m, e.Message)
			}
			return m
		}},
		"slog": {loggers.Slog(slog.New(slog.NewJSONHandler(&sl, nil))), func() []string { return msgs(t, sl.Bytes()) }},
	} {
		t.Run(name, func(t *testing.T) {
			p := producer.New(&producer.Config{StreamName: "orders", Client: okClient{}, Logger: tc.lg})
			if err := p.Start(); err != nil {
				t.Fatal(err)
			}
			if err := p.Put([]byte("data"), "key"); err != nil {
				t.Fatal(err)
			}
			p.Stop()
			got := strings.Join(tc.lines(), "|")
			if !strings.Contains(got, "producer started") || !strings.Contains(got, "producer stopped") {
				t.Fatalf("lines %q", got)
			}
		})
	}
}

func msgs(t *testing.T, b []byte) []string {
	var m []string
	for _, l := range jsonLines(t, b) {
		m = append(m, l["msg"].(string))
	}
	return m
}
