package producer

import (
	"log"
	"log/slog"

	"github.com/kplgo/producer/internal/engine"
)

// Logger receives the producer's log lines. Implementations must be safe for
// concurrent use. The producer never logs record data or credentials. See
// package loggers for logrus, zap and slog adapters.
type Logger = engine.Logger

// LogValue is one key=value pair of a log line.
type LogValue = engine.LogValue

// StdLogger is a Logger over a standard library *log.Logger. Lines read
// `msg key=value ... err="..."`. It is a type of this package, as in the
// established package, so that its one-field literal
// &StdLogger{log.New(...)} is idiomatic here; sdkv2.StdLogger writes the
// same lines.
type StdLogger struct {
	Logger *log.Logger
}

// Info implements Logger.
func (l *StdLogger) Info(msg string, values ...LogValue) {
	(&engine.StdLogger{Logger: l.Logger}).Info(msg, values...)
}

// Error implements Logger.
func (l *StdLogger) Error(msg string, err error, values ...LogValue) {
	(&engine.StdLogger{Logger: l.Logger}).Error(msg, err, values...)
}

// Slog returns a Logger that writes to l with attributes, at slog's Info and
// Error levels (the same adapter as loggers.Slog and sdkv2.Slog).
func Slog(l *slog.Logger) Logger { return engine.Slog(l) }

// Standard returns a Logger that writes to l, or to os.Stderr with the prefix
// "kinesis-producer: " when l is nil.
func Standard(l *log.Logger) Logger { return engine.Standard(l) }

// NopLogger is a Logger that drops every line.
type NopLogger struct{}

// Info implements Logger.
func (*NopLogger) Info(string, ...LogValue) {}

// Error implements Logger.
func (*NopLogger) Error(string, error, ...LogValue) {}
