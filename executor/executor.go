package executor

import (
	"context"
	"encoding/json"
	"time"
)

// Kinds of the built-in executors.
const (
	KindSleep = "sleep"
	KindExec  = "exec"
	KindHTTP  = "http"
)

// Task is what an executor is asked to run: the granted task's identity, the
// units it declared and its kind-specific payload.
type Task struct {
	ID     string
	Pool   string
	Tenant string
	// Kind selects the executor in a Registry.
	Kind string
	// Units is the capacity the task declared (and was granted).
	Units int64
	// Payload is the executor-specific JSON given at submission.
	Payload json.RawMessage
}

// Reporter is how an executor talks to the scheduler while it runs.
//
// Built-in executors call it only from the goroutine that called Execute and
// never after Execute returns; custom executors should do the same, since the
// activity behind a Reporter is gone once Execute has returned.
type Reporter interface {
	// Progress records liveness and progress details; the activity turns it
	// into a Temporal heartbeat, so long executions should call it about once
	// a second.
	Progress(details any)
	// ReportUsage reports the units the task actually uses, when the executor
	// learns them (for example tokens counted by a gateway); the pool accounts
	// with this figure instead of the declared units.
	ReportUsage(units int64)
}

// Executor runs one kind of task.
//
// Execute must return promptly once ctx is done, with an error that wraps
// ctx.Err(). A failure that a retry cannot fix (bad payload, denied by
// policy) should be marked with Permanent. An executor may return a result
// together with an error (exec does on a non-zero exit, http on a non-2xx
// status) so that the caller can keep the output of a failed run.
type Executor interface {
	Execute(ctx context.Context, t Task, r Reporter) (json.RawMessage, error)
}

// Func adapts an ordinary function to Executor.
type Func func(ctx context.Context, t Task, r Reporter) (json.RawMessage, error)

// Execute calls f.
func (f Func) Execute(ctx context.Context, t Task, r Reporter) (json.RawMessage, error) {
	return f(ctx, t, r)
}

// Running is the progress detail the built-in executors pass to
// Reporter.Progress while they run.
type Running struct {
	// Elapsed is the time since the executor started, rounded to the second
	// (for people: "3s", "1m2s").
	Elapsed string `json:"elapsed"`
	// ElapsedMs is the same time in milliseconds, for machines.
	ElapsedMs int64 `json:"elapsedMs"`
}

func runningSince(start time.Time) Running {
	d := time.Since(start)
	return Running{Elapsed: d.Round(time.Second).String(), ElapsedMs: d.Milliseconds()}
}

// waitReporting waits for one value on done and reports progress every tick
// meanwhile, from the calling goroutine, so that the Reporter is never called
// concurrently or after the executor returns.
func waitReporting[T any](r Reporter, start time.Time, tick time.Duration, done <-chan T) T {
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	for {
		select {
		case v := <-done:
			return v
		case <-ticker.C:
			r.Progress(runningSince(start))
		}
	}
}

// nopReporter lets the built-ins run with a nil Reporter.
type nopReporter struct{}

func (nopReporter) Progress(any)      {}
func (nopReporter) ReportUsage(int64) {}

func orNop(r Reporter) Reporter {
	if r == nil {
		return nopReporter{}
	}
	return r
}
