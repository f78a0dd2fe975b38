package producer

import (
	"log"

	"github.com/kplgo/producer/internal/engine"
)

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

// NopLogger is a Logger that drops every line.
type NopLogger struct{}

// Info implements Logger.
func (*NopLogger) Info(string, ...LogValue) {}

// Error implements Logger.
func (*NopLogger) Error(string, error, ...LogValue) {}
