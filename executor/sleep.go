package executor

import (
	"context"
	"encoding/json"
	"time"
)

// SleepPayload is the payload of the sleep executor. Every field is optional;
// an empty payload sleeps 0s.
type SleepPayload struct {
	// Duration is a Go duration ("2s", "1m30s").
	Duration string `json:"duration,omitempty"`
	// Result, when set, is returned instead of SleepResult.
	Result json.RawMessage `json:"result,omitempty"`
	// Fail, when set, makes the task fail with this message after sleeping.
	Fail string `json:"fail,omitempty"`
	// Permanent makes Fail a permanent failure (no retry).
	Permanent bool `json:"permanent,omitempty"`
	// Usage, when set, is reported as the units actually used, as soon as
	// the sleep starts, so that tests can watch a pool account with it while
	// the task still runs.
	Usage *int64 `json:"usage,omitempty"`
}

// SleepResult is what sleep returns when its payload gives no result.
type SleepResult struct {
	Slept string `json:"slept"`
}

// sleepExecutor waits, for demos and tests of the scheduler.
type sleepExecutor struct {
	tick time.Duration
}

func (e *sleepExecutor) Execute(ctx context.Context, t Task, r Reporter) (json.RawMessage, error) {
	r = orNop(r)
	var p SleepPayload
	if err := decodePayload(KindSleep, t.Payload, &p); err != nil {
		return nil, err
	}
	var d time.Duration
	if p.Duration != "" {
		var err error
		if d, err = time.ParseDuration(p.Duration); err != nil {
			return nil, fieldErrorf(KindSleep, "duration", "must be a Go duration like %q, got %q", "2s", p.Duration)
		}
		if d < 0 {
			return nil, fieldErrorf(KindSleep, "duration", "must not be negative, got %q", p.Duration)
		}
	}
	if p.Usage != nil && *p.Usage < 0 {
		return nil, fieldErrorf(KindSleep, "usage", "must be a non-negative integer, got %d", *p.Usage)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if p.Usage != nil {
		r.ReportUsage(*p.Usage)
	}

	start := time.Now()
	timer := time.NewTimer(d)
	defer timer.Stop()
	ticker := time.NewTicker(e.tick)
	defer ticker.Stop()
wait:
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-ticker.C:
			r.Progress(runningSince(start))
		case <-timer.C:
			break wait
		}
	}

	if p.Fail != "" {
		return nil, &Error{Code: CodeFailed, Kind: KindSleep, Message: p.Fail, Permanent: p.Permanent}
	}
	if len(p.Result) > 0 {
		return p.Result, nil
	}
	return json.Marshal(SleepResult{Slept: d.String()})
}
