package executor

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is a Reporter that remembers what it was told and fails the test
// when an executor calls it after Execute has returned.
type recorder struct {
	t        testing.TB
	mu       sync.Mutex
	progress []any
	usage    []int64
	closed   bool
}

func newRecorder(t testing.TB) *recorder { return &recorder{t: t} }

func (r *recorder) Progress(details any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		r.t.Errorf("Progress(%v) called after Execute returned", details)
	}
	r.progress = append(r.progress, details)
}

func (r *recorder) ReportUsage(units int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		r.t.Errorf("ReportUsage(%d) called after Execute returned", units)
	}
	r.usage = append(r.usage, units)
}

func (r *recorder) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
}

func (r *recorder) usages() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int64(nil), r.usage...)
}

func (r *recorder) progressCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.progress)
}

// run executes t on e and closes the recorder once Execute has returned.
func run(ctx context.Context, t *testing.T, e Executor, task Task) (json.RawMessage, error, *recorder) {
	t.Helper()
	rec := newRecorder(t)
	out, err := e.Execute(ctx, task, rec)
	rec.close()
	return out, err, rec
}

// runWithin is run with an upper bound on how long Execute may take, for
// the cancellation tests: generous, but far below the work it was given.
func runWithin(ctx context.Context, t *testing.T, limit time.Duration, e Executor, task Task) (json.RawMessage, error, *recorder) {
	t.Helper()
	start := time.Now()
	out, err, rec := run(ctx, t, e, task)
	if took := time.Since(start); took > limit {
		t.Fatalf("Execute returned after %s, want within %s", took, limit)
	}
	return out, err, rec
}

// wantError checks err is an *Error with code and permanence, whose message
// contains every fragment.
func wantError(t *testing.T, err error, code Code, permanent bool, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want %s error", code)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %T %q, want *Error with code %s", err, err, code)
	}
	if e.Code != code {
		t.Errorf("code = %s, want %s (err %q)", e.Code, code, err)
	}
	if got := IsPermanent(err); got != permanent {
		t.Errorf("IsPermanent = %v, want %v (err %q)", got, permanent, err)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("err = %q, want it to contain %q", err, f)
		}
	}
}

func task(kind, payload string) Task {
	return Task{ID: "task-1", Pool: "jobs", Tenant: "acme", Kind: kind, Units: 1, Payload: json.RawMessage(payload)}
}

func decode[T any](t *testing.T, raw json.RawMessage) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("result %s: %v", raw, err)
	}
	return v
}
