// Package loggers adapts popular logging libraries to producer.Logger:
// logrus, zap and the standard library's log/slog.
package loggers

import (
	"context"
	"log/slog"

	"github.com/kplgo/producer"
	"github.com/sirupsen/logrus"
	"go.uber.org/zap"
)

// Logrus returns a producer.Logger that writes to l with fields.
func Logrus(l *logrus.Logger) producer.Logger { return &logrusLogger{l: l} }

type logrusLogger struct{ l *logrus.Logger }

func (g *logrusLogger) Info(msg string, values ...producer.LogValue) {
	g.l.WithFields(logrusFields(values)).Info(msg)
}

func (g *logrusLogger) Error(msg string, err error, values ...producer.LogValue) {
	g.l.WithFields(logrusFields(values)).WithError(err).Error(msg)
}

func logrusFields(values []producer.LogValue) logrus.Fields {
	f := make(logrus.Fields, len(values))
	for _, v := range values {
		f[v.Name] = v.Value
	}
	return f
}

// Zap returns a producer.Logger that writes to l with fields.
func Zap(l *zap.Logger) producer.Logger { return &zapLogger{l: l} }

type zapLogger struct{ l *zap.Logger }

func (z *zapLogger) Info(msg string, values ...producer.LogValue) {
	z.l.Info(msg, zapFields(values, 0)...)
}

func (z *zapLogger) Error(msg string, err error, values ...producer.LogValue) {
	z.l.Error(msg, append(zapFields(values, 1), zap.Error(err))...)
}

func zapFields(values []producer.LogValue, extra int) []zap.Field {
	f := make([]zap.Field, 0, len(values)+extra)
	for _, v := range values {
		f = append(f, zap.Any(v.Name, v.Value))
	}
	return f
}

// Slog returns a producer.Logger that writes to l with attributes.
func Slog(l *slog.Logger) producer.Logger { return &slogLogger{l: l} }

type slogLogger struct{ l *slog.Logger }

func (s *slogLogger) Info(msg string, values ...producer.LogValue) {
	s.l.LogAttrs(context.Background(), slog.LevelInfo, msg, slogAttrs(values, nil)...)
}

func (s *slogLogger) Error(msg string, err error, values ...producer.LogValue) {
	s.l.LogAttrs(context.Background(), slog.LevelError, msg, slogAttrs(values, err)...)
}

func slogAttrs(values []producer.LogValue, err error) []slog.Attr {
	a := make([]slog.Attr, 0, len(values)+1)
	for _, v := range values {
		a = append(a, slog.Any(v.Name, v.Value))
	}
	if err != nil {
		a = append(a, slog.String("err", err.Error()))
	}
	return a
}
