package devserver

import (
	"context"
	"log/slog"
	"os"
	"slices"
	"sync/atomic"

	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// slogLogger adapts the server's tag-based logger interface to log/slog so the
// embedded server writes the same structured lines as the rest of the process.
type slogLogger struct {
	l *slog.Logger
	// min drops the server's routine lines (it logs every task queue it
	// loads and unloads at info) unless the process logs at debug.
	min slog.Level
	// stopping drops warnings too while the server shuts down: its
	// services warn about each other's closed connections, as expected.
	stopping *atomic.Bool
	// with are the tags of With, turned into attributes only when a line is
	// written: the server derives a logger per request and per task, and
	// almost none of them ever writes a line.
	with []tag.Tag
}

func newSlogLogger(l *slog.Logger) slogLogger {
	min := slog.LevelWarn
	if l.Enabled(context.Background(), slog.LevelDebug) {
		min = slog.LevelDebug
	}
	return slogLogger{l: l, min: min, stopping: new(atomic.Bool)}
}

var _ log.Logger = slogLogger{}

func (s slogLogger) log(level slog.Level, msg string, tags []tag.Tag) {
	ctx := context.Background()
	if level < s.min || (s.stopping.Load() && level < slog.LevelError && s.min > slog.LevelDebug) || !s.l.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, len(s.with)+len(tags))
	for _, t := range slices.Concat(s.with, tags) {
		attrs = append(attrs, slog.Any(t.Key(), t.Value()))
	}
	s.l.LogAttrs(ctx, level, msg, attrs...)
}

func (s slogLogger) Debug(msg string, tags ...tag.Tag)  { s.log(slog.LevelDebug, msg, tags) }
func (s slogLogger) Info(msg string, tags ...tag.Tag)   { s.log(slog.LevelInfo, msg, tags) }
func (s slogLogger) Warn(msg string, tags ...tag.Tag)   { s.log(slog.LevelWarn, msg, tags) }
func (s slogLogger) Error(msg string, tags ...tag.Tag)  { s.log(slog.LevelError, msg, tags) }
func (s slogLogger) DPanic(msg string, tags ...tag.Tag) { s.log(slog.LevelError, msg, tags) }
func (s slogLogger) Panic(msg string, tags ...tag.Tag) {
	s.log(slog.LevelError, msg, tags)
	panic(msg)
}

// Fatal keeps the contract of the server's logger: it never returns.
func (s slogLogger) Fatal(msg string, tags ...tag.Tag) {
	s.log(slog.LevelError, msg, tags)
	os.Exit(1)
}

func (s slogLogger) With(tags ...tag.Tag) log.Logger {
	s.with = slices.Concat(s.with, tags)
	return s
}
