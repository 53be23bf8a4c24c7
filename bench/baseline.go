package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/parklot/parklot/activities"
	"github.com/parklot/parklot/executor"
	"github.com/parklot/parklot/workflows"
)

// BareWorkflowName is the baselines' workflow type.
const BareWorkflowName = "ParklotBenchBare"

// BareInput is one baseline task.
type BareInput struct {
	Execute workflows.ExecuteInput `json:"execute"`
	Timeout time.Duration          `json:"timeout"`
}

// BareResult carries the workflow's own clock, as TaskStatus does for
// Parklot's tasks, so both are timed the same way.
type BareResult struct {
	StartedAt   time.Time `json:"startedAt"`
	CompletedAt time.Time `json:"completedAt"`
	Error       string    `json:"error,omitempty"`
}

// BareWorkflow runs the Execute activity once, with no capacity
// coordination: the shortest lifecycle a task can have on Temporal.
func BareWorkflow(ctx workflow.Context, in BareInput) (BareResult, error) {
	res := BareResult{StartedAt: workflow.Now(ctx)}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		// Start-to-close only: under `slots` a task waits in the activity
		// queue, which a schedule-to-close timeout would count.
		StartToCloseTimeout: in.Timeout,
		HeartbeatTimeout:    10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
	})
	err := workflow.ExecuteActivity(ctx, workflows.ActivityExecute, in.Execute).Get(ctx, nil)
	res.CompletedAt = workflow.Now(ctx)
	if err != nil {
		res.Error = err.Error()
	}
	return res, nil
}

// bareOutcome is what the bench learnt about one baseline task.
type bareOutcome struct {
	latency time.Duration
	err     error
	result  BareResult
	lost    bool
}

// runBaseline runs the workload through BareWorkflow on task queues of its
// own, served by workers started here for the phase: one queue for `bare`;
// one per pool for `slots`, whose worker runs at most the pool's units of
// activities at once.
func runBaseline(ctx context.Context, t Target, o Options, kind string, specs []Spec) (*BaselineReport, error) {
	queues := map[string]string{}
	var ws []worker.Worker
	defer func() {
		for _, w := range ws {
			w.Stop()
		}
	}()
	acts := &activities.Activities{Executors: executor.Builtins(nil)}
	newWorker := func(queue string, opts worker.Options) error {
		w := worker.New(t.Client, queue, opts)
		w.RegisterWorkflowWithOptions(BareWorkflow, workflow.RegisterOptions{Name: BareWorkflowName})
		w.RegisterActivityWithOptions(acts.Execute, activity.RegisterOptions{Name: workflows.ActivityExecute})
		if err := w.Start(); err != nil {
			return fmt.Errorf("start a worker on %s: %w", queue, err)
		}
		ws = append(ws, w)
		return nil
	}
	switch kind {
	case BaselineBare:
		q := fmt.Sprintf("parklot-bench-%s-bare", o.RunID)
		if err := newWorker(q, worker.Options{}); err != nil {
			return nil, err
		}
		for _, p := range o.Pools {
			queues[p.Name] = q
		}
	case BaselineSlots:
		for _, p := range o.Pools {
			q := fmt.Sprintf("parklot-bench-%s-slots-%s", o.RunID, p.Name)
			if err := newWorker(q, worker.Options{MaxConcurrentActivityExecutionSize: int(p.MaxUnits)}); err != nil {
				return nil, err
			}
			queues[p.Name] = q
		}
	}

	timeout := TaskTimeout(o)
	outs := make([]bareOutcome, len(specs))
	runs := make([]client.WorkflowRun, len(specs))
	prog := newProgress(o.Progress, kind, len(specs))
	ph := runPhase(ctx, o, prog, len(specs),
		func(ctx context.Context, i int) error {
			s := specs[i]
			start := time.Now()
			run, err := t.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
				ID:        fmt.Sprintf("bench-%s-%s/%06d", o.RunID, kind, s.Index),
				TaskQueue: queues[s.Pool],
			}, BareWorkflowName, BareInput{Timeout: timeout, Execute: workflows.ExecuteInput{
				TaskID: fmt.Sprintf("bench-%s-%s-%06d", o.RunID, kind, s.Index), Pool: s.Pool, Tenant: s.Tenant,
				Kind: "sleep", Units: s.Units, Payload: s.Payload(),
			}})
			outs[i].latency, outs[i].err, runs[i] = time.Since(start), err, run
			return err
		},
		func(ctx context.Context, i int) bool {
			if runs[i] == nil {
				return false
			}
			err := runs[i].Get(ctx, &outs[i].result)
			var nf *serviceerror.NotFound
			if err != nil && !errors.As(err, &nf) {
				outs[i].lost = true
				return false
			}
			return err == nil
		})
	br := baselineReport(outs, ph)
	ids := make([]string, len(runs))
	for i, run := range runs {
		if run != nil {
			ids[i] = run.GetID()
		}
	}
	br.History = sampleHistories(ctx, t.Client, ids, min(o.HistorySample, 20))
	return br, nil
}

// TaskTimeout bounds one run of the sleep executor: far above the longest
// hold, so that only a stuck task ever reaches it.
func TaskTimeout(o Options) time.Duration {
	return max(time.Minute, 10*o.Hold.Max)
}
