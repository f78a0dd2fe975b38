package engine

import (
	"context"
	"log/slog"
)

// Slog returns a Logger that writes to l with attributes, at slog's Info
// and Error levels; an error is the attribute "err".
func Slog(l *slog.Logger) Logger { return &slogLogger{l: l} }

type slogLogger struct{ l *slog.Logger }

func (s *slogLogger) Info(msg string, values ...LogValue) {
	s.l.LogAttrs(context.Background(), slog.LevelInfo, msg, slogAttrs(values, nil)...)
}

func (s *slogLogger) Error(msg string, err error, values ...LogValue) {
	s.l.LogAttrs(context.Background(), slog.LevelError, msg, slogAttrs(values, err)...)
}

func slogAttrs(values []LogValue, err error) []slog.Attr {
	a := make([]slog.Attr, 0, len(values)+1)
	for _, v := range values {
		a = append(a, slog.Any(v.Name, v.Value))
	}
	if err != nil {
		a = append(a, slog.String("err", err.Error()))
	}
	return a
}
