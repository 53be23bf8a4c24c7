package devserver

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

func TestServerLoggerWritesTheTagsOfWithOnItsOwnLinesOnly(t *testing.T) {
	var buf bytes.Buffer
	base := newSlogLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
	shard := log.With(base, tag.NewStringTag("shard", "1"))
	queue := log.With(shard, tag.NewStringTag("queue", "parklot"))
	other := log.With(shard, tag.NewStringTag("queue", "other"))

	queue.Warn("backlog", tag.NewStringTag("task", "t-1"))
	other.Warn("idle")
	base.Warn("plain")
	queue.Info("routine line") // below the server's minimum (warn) at info

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{
		"msg=backlog shard=1 queue=parklot task=t-1",
		"msg=idle shard=1 queue=other",
		"msg=plain",
	}
	if len(lines) != len(want) {
		t.Fatalf("wrote %d lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, w := range want {
		if !strings.HasSuffix(lines[i], w) {
			t.Errorf("line %d = %q, want it to end with %q", i+1, lines[i], w)
		}
	}
}
