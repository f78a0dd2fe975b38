// Package loggers adapts popular logging libraries to the producer's Logger:
// logrus, zap and the standard library's log/slog. producer.Logger and
// sdkv2.Logger are one interface (the engine's, shown as engine.Logger), so
// every adapter fits the Config of either door. This package imports logrus
// and zap; a program that wants slog alone can use producer.Slog or
// sdkv2.Slog, which pull in neither.
package loggers

import (
	"log/slog"

	"github.com/kplgo/producer/internal/engine"
	"github.com/sirupsen/logrus"
	"go.uber.org/zap"
)

// Logrus returns a Logger for producer.Config or sdkv2.Config that writes
// to l with fields.
func Logrus(l *logrus.Logger) engine.Logger { return &logrusLogger{l: l} }

type logrusLogger struct{ l *logrus.Logger }

func (g *logrusLogger) Info(msg string, values ...engine.LogValue) {
	g.l.WithFields(logrusFields(values)).Info(msg)
}

func (g *logrusLogger) Error(msg string, err error, values ...engine.LogValue) {
	g.l.WithFields(logrusFields(values)).WithError(err).Error(msg)
}

func logrusFields(values []engine.LogValue) logrus.Fields {
	f := make(logrus.Fields, len(values))
	for _, v := range values {
		f[v.Name] = v.Value
	}
	return f
}

// Zap returns a Logger for producer.Config or sdkv2.Config that writes to l
// with fields.
func Zap(l *zap.Logger) engine.Logger { return &zapLogger{l: l} }

type zapLogger struct{ l *zap.Logger }

func (z *zapLogger) Info(msg string, values ...engine.LogValue) {
	z.l.Info(msg, zapFields(values, 0)...)
}

func (z *zapLogger) Error(msg string, err error, values ...engine.LogValue) {
	z.l.Error(msg, append(zapFields(values, 1), zap.Error(err))...)
}

func zapFields(values []engine.LogValue, extra int) []zap.Field {
	f := make([]zap.Field, 0, len(values)+extra)
	for _, v := range values {
		f = append(f, zap.Any(v.Name, v.Value))
	}
	return f
}

// Slog returns a Logger that writes to l with attributes. It is the same
// adapter as producer.Slog and sdkv2.Slog, which programs that do not want
// this package's logrus and zap dependencies can use instead.
func Slog(l *slog.Logger) engine.Logger { return engine.Slog(l) }
