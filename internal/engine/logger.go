package engine

import (
	"fmt"
	"log"
	"os"
	"strconv"
	"strings"
)

// Logger receives the producer's log lines. Implementations must be safe for
// concurrent use. The producer never logs record data or credentials.
type Logger interface {
	// Info logs an informational message with key=value pairs.
	Info(msg string, values ...LogValue)
	// Error logs a message about err with key=value pairs.
	Error(msg string, err error, values ...LogValue)
}

// LogValue is one key=value pair of a log line.
type LogValue struct {
	Name  string
	Value any
}

// String formats the pair as key=value, quoting values with spaces.
func (v LogValue) String() string {
	return v.Name + "=" + quoteValue(fmt.Sprint(v.Value))
}

func quoteValue(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\n\"=") {
		return strconv.Quote(s)
	}
	return s
}

// StdLogger is a Logger over a standard library *log.Logger. Lines read
// `msg key=value ... err="..."`.
type StdLogger struct {
	Logger *log.Logger
}

// Standard returns a Logger that writes to l, or to os.Stderr with the prefix
// "kinesis-producer: " when l is nil.
func Standard(l *log.Logger) Logger {
	if l == nil {
		l = log.New(os.Stderr, "kinesis-producer: ", log.LstdFlags)
	}
	return &StdLogger{Logger: l}
}

// Info implements Logger.
func (l *StdLogger) Info(msg string, values ...LogValue) {
	l.Logger.Print(formatLine(msg, nil, values))
}

// Error implements Logger.
func (l *StdLogger) Error(msg string, err error, values ...LogValue) {
	l.Logger.Print(formatLine(msg, err, values))
}

func formatLine(msg string, err error, values []LogValue) string {
	var b strings.Builder
	b.WriteString(msg)
	for _, v := range values {
		b.WriteByte(' ')
		b.WriteString(v.String())
	}
	if err != nil {
		b.WriteString(" err=")
		b.WriteString(strconv.Quote(err.Error()))
	}
	return b.String()
}

// logValue is shorthand for building a LogValue.
func logValue(name string, value any) LogValue { return LogValue{Name: name, Value: value} }
