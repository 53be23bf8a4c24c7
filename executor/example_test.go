package executor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/parklot/parklot/executor"
)

// printReporter stands in for the Temporal activity, which turns progress
// into heartbeats and usage into a report to the pool.
type printReporter struct{}

func (printReporter) Progress(details any)    { fmt.Println("progress:", details) }
func (printReporter) ReportUsage(units int64) { fmt.Println("usage:", units, "units") }

// A worker embedded in another program adds its own kind of task next to the
// built-ins: here a stub of an LLM call that reports the tokens it used, so
// the pool accounts with the real cost instead of the declared one.
func ExampleRegistry_Register() {
	reg := executor.Builtins(map[string]executor.Policy{"gpu": {}})

	err := reg.Register("llm", executor.Func(func(ctx context.Context, t executor.Task, r executor.Reporter) (json.RawMessage, error) {
		var req struct {
			Prompt string `json:"prompt"`
		}
		if err := json.Unmarshal(t.Payload, &req); err != nil || req.Prompt == "" {
			// A retry cannot fix a bad payload.
			return nil, executor.Permanent(fmt.Errorf(`llm payload: want {"prompt":"..."}, got %s`, t.Payload))
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// A real executor calls the model here, honouring ctx.
		completion := strings.ToUpper(req.Prompt)
		tokens := int64(len(strings.Fields(req.Prompt)) + len(strings.Fields(completion)))
		r.ReportUsage(tokens)
		return json.Marshal(map[string]any{"completion": completion, "tokens": tokens})
	}))
	if err != nil {
		fmt.Println("register:", err)
		return
	}
	fmt.Println("kinds:", reg.Kinds())

	llm, err := reg.Lookup("llm")
	if err != nil {
		fmt.Println("lookup:", err)
		return
	}
	task := executor.Task{ID: "t-1", Pool: "gpu", Tenant: "acme", Kind: "llm", Units: 8,
		Payload: json.RawMessage(`{"prompt":"park this task"}`)}
	out, err := llm.Execute(context.Background(), task, printReporter{})
	fmt.Println("result:", string(out), err)

	task.Payload = json.RawMessage(`{"text":"oops"}`)
	_, err = llm.Execute(context.Background(), task, printReporter{})
	fmt.Println("bad payload:", err, "| permanent:", executor.IsPermanent(err))

	_, err = reg.Lookup("llm-v2")
	fmt.Println(err)

	// Output:
	// kinds: [exec http llm sleep]
	// usage: 6 units
	// result: {"completion":"PARK THIS TASK","tokens":6} <nil>
	// bad payload: llm payload: want {"prompt":"..."}, got {"text":"oops"} | permanent: true
	// unknown executor kind "llm-v2": known kinds are exec, http, llm, sleep
}
