package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
)

// syncBuffer lets the test read what the dialer logs while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunKeepsDialingWhileTheClusterIsNotUpYet(t *testing.T) {
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := dialWithRetry(ctx, client.Options{HostPort: "127.0.0.1:1", Logger: quietTestLogger{}}, logger)
		done <- err
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(logs.String(), "Temporal not reachable yet; retrying") {
		select {
		case err := <-done:
			t.Fatalf("dialing gave up at once (%v); a worker that starts before Temporal must wait", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no retry was logged: %s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err == nil {
		t.Fatal("dialing an unreachable cluster succeeded")
	}
}
