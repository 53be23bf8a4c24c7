package executor

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func newSleep() *sleepExecutor { return &sleepExecutor{tick: 10 * time.Millisecond} }

func TestSleepRefusesBadPayloads(t *testing.T) {
	tests := []struct {
		name, payload, want string
	}{
		{"duration that is not a Go duration", `{"duration":"abc"}`,
			`sleep payload: "duration" must be a Go duration like "2s", got "abc"`},
		{"duration without a unit", `{"duration":"5"}`,
			`sleep payload: "duration" must be a Go duration like "2s", got "5"`},
		{"negative duration", `{"duration":"-1s"}`,
			`sleep payload: "duration" must not be negative, got "-1s"`},
		{"duration as a number", `{"duration":2}`,
			`sleep payload: "duration" must be a string, got number`},
		{"unknown field", `{"duration":"1s","sleep":"2s"}`,
			`sleep payload: unknown field "sleep": the allowed fields are "duration", "result", "fail", "permanent", "usage"`},
		{"negative usage", `{"usage":-1}`,
			`sleep payload: "usage" must be a non-negative integer, got -1`},
		{"fractional usage", `{"usage":1.5}`,
			`sleep payload: "usage" must be an integer, got number 1.5`},
		{"fail that is not a string", `{"fail":true}`,
			`sleep payload: "fail" must be a string, got bool`},
		{"an array", `[1,2]`,
			`sleep payload must be a JSON object with the fields "duration", "result", "fail", "permanent", "usage", got array`},
		{"a bare string", `"2s"`,
			`sleep payload must be a JSON object with the fields`},
		{"invalid JSON", `{"duration":2s}`,
			`sleep payload is not valid JSON`},
		{"truncated JSON", `{"duration":"2s"`,
			`sleep payload is truncated JSON`},
		{"two objects", `{} {}`,
			`sleep payload has data after the JSON object`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err, rec := run(context.Background(), t, newSleep(), task(KindSleep, tt.payload))
			wantError(t, err, CodeInvalidPayload, true, tt.want)
			if out != nil {
				t.Errorf("result = %s, want none", out)
			}
			if len(rec.usages()) != 0 {
				t.Errorf("usage reported for a refused payload: %v", rec.usages())
			}
		})
	}
}

func TestSleepResults(t *testing.T) {
	tests := []struct {
		name, payload, want string
	}{
		{"empty payload sleeps 0s", ``, `{"slept":"0s"}`},
		{"null payload sleeps 0s", `null`, `{"slept":"0s"}`},
		{"empty object sleeps 0s", ` {} `, `{"slept":"0s"}`},
		{"duration is echoed", `{"duration":"20ms"}`, `{"slept":"20ms"}`},
		{"duration is normalised", `{"duration":"0.5ms"}`, `{"slept":"500µs"}`},
		{"given result is returned", `{"duration":"1ms","result":{"answer":42}}`, `{"answer":42}`},
		{"given scalar result is returned", `{"result":"done"}`, `"done"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err, _ := run(context.Background(), t, newSleep(), task(KindSleep, tt.payload))
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.want {
				t.Errorf("result = %s, want %s", out, tt.want)
			}
		})
	}
}

func TestSleepReportsUsageWhenGiven(t *testing.T) {
	_, err, rec := run(context.Background(), t, newSleep(), task(KindSleep, `{"usage":12}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.usages(); !slices.Equal(got, []int64{12}) {
		t.Errorf("usage = %v, want [12]", got)
	}
	_, _, rec = run(context.Background(), t, newSleep(), task(KindSleep, `{"usage":0}`))
	if got := rec.usages(); !slices.Equal(got, []int64{0}) {
		t.Errorf("usage 0 = %v, want [0]", got)
	}
	_, _, rec = run(context.Background(), t, newSleep(), task(KindSleep, `{}`))
	if got := rec.usages(); len(got) != 0 {
		t.Errorf("usage without the field = %v, want none", got)
	}
}

func TestSleepFailsWithTheGivenMessage(t *testing.T) {
	out, err, rec := run(context.Background(), t, newSleep(), task(KindSleep, `{"duration":"1ms","fail":"model crashed","usage":3}`))
	wantError(t, err, CodeFailed, false, "model crashed")
	if err.Error() != "model crashed" {
		t.Errorf("message = %q, want exactly the given one", err)
	}
	if out != nil {
		t.Errorf("result = %s, want none", out)
	}
	if got := rec.usages(); !slices.Equal(got, []int64{3}) {
		t.Errorf("usage of a failed sleep = %v, want [3]", got)
	}

	_, err, _ = run(context.Background(), t, newSleep(), task(KindSleep, `{"fail":"bad input","permanent":true}`))
	wantError(t, err, CodeFailed, true, "bad input")
}

func TestSleepReportsProgressWithElapsedTime(t *testing.T) {
	_, err, rec := run(context.Background(), t, newSleep(), task(KindSleep, `{"duration":"100ms"}`))
	if err != nil {
		t.Fatal(err)
	}
	if rec.progressCount() == 0 {
		t.Fatal("no progress reported during a sleep of 10 ticks")
	}
	p, ok := rec.progress[0].(Running)
	if !ok {
		t.Fatalf("progress detail is %T, want Running", rec.progress[0])
	}
	if p.ElapsedMs < 0 || p.Elapsed == "" {
		t.Errorf("progress = %+v", p)
	}
}

func TestSleepReturnsPromptlyOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	out, err, _ := runWithin(ctx, t, 5*time.Second, newSleep(), task(KindSleep, `{"duration":"30s"}`))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if out != nil {
		t.Errorf("result = %s, want none", out)
	}
}

func TestSleepStopsAtTheContextDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err, _ := runWithin(ctx, t, 5*time.Second, newSleep(), task(KindSleep, `{"duration":"30s"}`))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
}

func TestSleepWithACancelledContextDoesNothing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err, rec := run(ctx, t, newSleep(), task(KindSleep, `{"duration":"0s","usage":5}`))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if len(rec.usages()) != 0 {
		t.Errorf("usage reported for a task that never ran: %v", rec.usages())
	}
}

func TestSleepFromBuiltinsRunsWithANilReporter(t *testing.T) {
	e, err := Builtins(nil).Lookup(KindSleep)
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.Execute(context.Background(), task(KindSleep, `{"duration":"1ms","usage":1}`), nil)
	if err != nil || string(out) != `{"slept":"1ms"}` {
		t.Errorf("Execute = %s, %v", out, err)
	}
}
