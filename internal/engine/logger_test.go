package engine

import (
	"bytes"
	"errors"
	"log"
	"os"
	"testing"
	"time"
)

func TestStdLoggerFormat(t *testing.T) {
	var buf bytes.Buffer
	l := Standard(log.New(&buf, "", 0))
	l.Info("producer started", LogValue{"stream", "orders"}, LogValue{"shards", 4})
	l.Error("PutRecords failed", errors.New(`boom "x"`), LogValue{"records", 3}, LogValue{"retry_in", 1500 * time.Millisecond})
	l.Info("odd values", LogValue{"empty", ""}, LogValue{"space", "a b"}, LogValue{"eq", "a=b"}, LogValue{"quote", `say "hi"`}, LogValue{"nil", nil})
	l.Error("no values", errors.New("x"))
	l.Info("bare")
	want := `producer started stream=orders shards=4
PutRecords failed records=3 retry_in=1.5s err="boom \"x\""
odd values empty="" space="a b" eq="a=b" quote="say \"hi\"" nil=<nil>
no values err="x"
bare
`
	if got := buf.String(); got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestStandardNil(t *testing.T) {
	l, ok := Standard(nil).(*StdLogger)
	if !ok {
		t.Fatalf("Standard(nil) is %T", Standard(nil))
	}
	if l.Logger.Writer() != os.Stderr || l.Logger.Prefix() != "kinesis-producer: " || l.Logger.Flags() != log.LstdFlags {
		t.Fatalf("Standard(nil): writer %v prefix %q flags %d", l.Logger.Writer(), l.Logger.Prefix(), l.Logger.Flags())
	}
}

func TestLogValueString(t *testing.T) {
	for v, want := range map[LogValue]string{
		{"a", 1}:           "a=1",
		{"b", "x"}:         "b=x",
		{"c", "x y"}:       `c="x y"`,
		{"d", "tab\there"}: `d="tab\there"`,
		{"e", "new\nline"}: `e="new\nline"`,
		{"f", ""}:          `f=""`,
		{"g", true}:        "g=true",
	} {
		if got := v.String(); got != want {
			t.Errorf("%v: %s, want %s", v, got, want)
		}
	}
}

// TestProducerLogsThroughLogger: the producer's own lines reach Config.Logger
// in the documented format.
