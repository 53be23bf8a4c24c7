package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/parklot/parklot/activities"
	"github.com/parklot/parklot/api"
	"github.com/parklot/parklot/domain/mailbox"
	"github.com/parklot/parklot/executor"
	"github.com/parklot/parklot/storage/memory"
	"github.com/parklot/parklot/workflows"
)

// MinimalWorkflowName is the workflow type of the `minimal` and `slots`
// baselines.
const MinimalWorkflowName = "ParklotBenchMinimal"

// UncoordinatedTaskWorkflowName is the workflow type of the `bare` baseline:
// Parklot's task lifecycle with no pool manager (workflows.UncoordinatedTask).
const UncoordinatedTaskWorkflowName = "ParklotBenchUncoordinatedTask"

// MinimalInput is one minimal baseline task.
type MinimalInput struct {
	Execute workflows.ExecuteInput `json:"execute"`
	Timeout time.Duration          `json:"timeout"`
}

// MinimalResult carries the workflow's own clock, as TaskStatus does for
// Parklot's tasks, so both are timed the same way.
type MinimalResult struct {
	StartedAt   time.Time `json:"startedAt"`
	CompletedAt time.Time `json:"completedAt"`
	Error       string    `json:"error,omitempty"`
}

// MinimalWorkflow runs the Execute activity once and nothing else: no
// capacity coordination, no audit, no mailbox, no search attributes. It is
// the shortest lifecycle a task can have on Temporal.
func MinimalWorkflow(ctx workflow.Context, in MinimalInput) (MinimalResult, error) {
	res := MinimalResult{StartedAt: workflow.Now(ctx)}
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

// baselineOutcome is what the bench learnt about one baseline task.
type baselineOutcome struct {
	latency time.Duration
	err     error
	result  MinimalResult
	lost    bool
}

// baselinePhase is how one baseline starts its tasks and reads their ends.
type baselinePhase struct {
	// start submits one task.
	start func(ctx context.Context, id, queue string, s Spec) (client.WorkflowRun, error)
	// result reads a finished run.
	result func(ctx context.Context, run client.WorkflowRun) (MinimalResult, error)
	// cleanup runs once every task has ended.
	cleanup func(ctx context.Context)
}

// runBaseline runs the workload through a baseline on task queues of its
// own, served by workers started here for the phase:
//   - bare: workflows.UncoordinatedTask on one queue, with the same
//     activities and memory stores as the in-process node;
//   - minimal: MinimalWorkflow on one queue;
//   - slots: MinimalWorkflow on one queue per pool, whose worker runs at
//     most the pool's units of activities at once.
func runBaseline(ctx context.Context, t Target, o Options, kind string, specs []Spec) (*BaselineReport, error) {
	var ws []worker.Worker
	defer func() {
		for _, w := range ws {
			w.Stop()
		}
	}()
	startWorker := func(w worker.Worker, queue string) error {
		if err := w.Start(); err != nil {
			return fmt.Errorf("start a worker on %s: %w", queue, err)
		}
		ws = append(ws, w)
		return nil
	}
	acts := &activities.Activities{Executors: executor.Builtins(nil)}
	minimalWorker := func(queue string, opts worker.Options) error {
		w := worker.New(t.Client, queue, opts)
		w.RegisterWorkflowWithOptions(MinimalWorkflow, workflow.RegisterOptions{Name: MinimalWorkflowName})
		w.RegisterActivityWithOptions(acts.Execute, activity.RegisterOptions{Name: workflows.ActivityExecute})
		return startWorker(w, queue)
	}

	timeout := TaskTimeout(o)
	var ph baselinePhase
	queues := map[string]string{} // pool → the task queue its tasks go to
	switch kind {
	case BaselineBare:
		q := fmt.Sprintf("parklot-bench-%s-bare", o.RunID)
		w := worker.New(t.Client, q, worker.Options{})
		w.RegisterWorkflowWithOptions(workflows.UncoordinatedTask, workflow.RegisterOptions{Name: UncoordinatedTaskWorkflowName})
		w.RegisterWorkflowWithOptions(workflows.Mailbox, workflow.RegisterOptions{Name: "Mailbox"})
		w.RegisterActivity(&activities.Activities{
			Executors: executor.Builtins(nil), Client: t.Client, Logger: slog.New(slog.DiscardHandler), TaskQueue: q,
			Stores: &activities.Stores{DefaultMailbox: memory.NewMailbox(), DefaultAudit: memory.NewAudit()},
		})
		if err := startWorker(w, q); err != nil {
			return nil, err
		}
		ph = uncoordinatedPhase(t, o, specs, timeout)
		for _, p := range o.Pools {
			queues[p.Name] = q
		}
	case BaselineMinimal, BaselineSlots:
		ph = minimalPhase(t, timeout)
		started := map[string]bool{}
		for _, p := range o.Pools {
			q, opts := fmt.Sprintf("parklot-bench-%s-minimal", o.RunID), worker.Options{}
			if kind == BaselineSlots {
				q, opts = fmt.Sprintf("parklot-bench-%s-slots-%s", o.RunID, p.Name), worker.Options{MaxConcurrentActivityExecutionSize: int(p.MaxUnits)}
			}
			if !started[q] {
				if err := minimalWorker(q, opts); err != nil {
					return nil, err
				}
				started[q] = true
			}
			queues[p.Name] = q
		}
	default:
		return nil, fmt.Errorf("unknown baseline %q", kind)
	}

	outs := make([]baselineOutcome, len(specs))
	runs := make([]client.WorkflowRun, len(specs))
	prog := newProgress(o.Progress, phaseLabel(kind, o), len(specs))
	res := runPhase(ctx, o, prog, len(specs),
		func(ctx context.Context, i int) error {
			s := specs[i]
			start := time.Now()
			run, err := ph.start(ctx, fmt.Sprintf("bench-%s-%s-%06d", o.RunID, kind, s.Index), queues[s.Pool], s)
			outs[i].latency, outs[i].err, runs[i] = time.Since(start), err, run
			return err
		},
		func(ctx context.Context, i int) bool {
			if runs[i] == nil {
				return false
			}
			var err error
			outs[i].result, err = ph.result(ctx, runs[i])
			var nf *serviceerror.NotFound
			if err != nil && !errors.As(err, &nf) {
				outs[i].lost = true
				return false
			}
			return err == nil
		})
	if ph.cleanup != nil {
		ph.cleanup(ctx)
	}
	br := baselineReport(outs, res)
	ids := make([]string, len(runs))
	for i, run := range runs {
		if run != nil {
			ids[i] = run.GetID()
		}
	}
	br.History = sampleHistories(ctx, t.Client, ids, min(o.HistorySample, 20))
	return br, nil
}

// minimalPhase starts MinimalWorkflow runs.
func minimalPhase(t Target, timeout time.Duration) baselinePhase {
	return baselinePhase{
		start: func(ctx context.Context, id, queue string, s Spec) (client.WorkflowRun, error) {
			return t.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, MinimalWorkflowName,
				MinimalInput{Timeout: timeout, Execute: workflows.ExecuteInput{
					TaskID: id, Pool: s.Pool, Tenant: s.Tenant, Kind: "sleep", Units: s.Units, Payload: s.Payload(),
				}})
		},
		result: func(ctx context.Context, run client.WorkflowRun) (MinimalResult, error) {
			var r MinimalResult
			return r, run.Get(ctx, &r)
		},
	}
}

// uncoordinatedPhase submits workflows.UncoordinatedTask runs through
// api.Client, as Parklot's tasks are: an Update-with-Start that answers once
// the task has started, with the task's search attributes in the start
// request. The tasks deliver to mailboxes of a session of their own, one per
// tenant of the specs, whose workflows the cleanup terminates, as the
// phase's worker stops with it.
func uncoordinatedPhase(t Target, o Options, specs []Spec, timeout time.Duration) baselinePhase {
	const user = "bench"
	session := o.RunID + "-bare"
	return baselinePhase{
		start: func(ctx context.Context, id, queue string, s Spec) (client.WorkflowRun, error) {
			in := workflows.TaskInput{
				TaskID: id, Pool: s.Pool, Tenant: s.Tenant, User: user, Session: session,
				Priority: s.Priority, Units: s.Units, Kind: "sleep", Payload: s.Payload(),
				Timeout: timeout,
			}
			c := api.Client{Temporal: t.Client, TaskQueue: queue, TaskWorkflow: UncoordinatedTaskWorkflowName}
			if _, _, err := c.Create(ctx, in); err != nil {
				return nil, err
			}
			return t.Client.GetWorkflow(ctx, workflows.TaskWorkflowID(id), ""), nil
		},
		result: func(ctx context.Context, run client.WorkflowRun) (MinimalResult, error) {
			var st workflows.TaskStatus
			if err := run.Get(ctx, &st); err != nil {
				return MinimalResult{}, err
			}
			r := MinimalResult{StartedAt: st.StartedAt, CompletedAt: st.CompletedAt}
			if st.Status != workflows.StatusCompleted {
				r.Error = cmp.Or(st.Error, st.Message, st.Status)
			}
			if st.Delivery == nil || st.Delivery.State != workflows.DeliveryDelivered {
				r.Error = cmp.Or(r.Error, "outcome not delivered to its mailbox")
			}
			return r, nil
		},
		cleanup: func(ctx context.Context) {
			done := map[string]bool{}
			for _, s := range specs {
				if !done[s.Tenant] {
					done[s.Tenant] = true
					wid := workflows.MailboxWorkflowID(mailbox.Key{Tenant: s.Tenant, User: user, Session: session})
					_ = t.Client.TerminateWorkflow(ctx, wid, "", "bench: the bare baseline's phase is over")
				}
			}
		},
	}
}

// TaskTimeout bounds one run of the sleep executor: far above the longest
// hold, so that only a stuck task ever reaches it.
func TaskTimeout(o Options) time.Duration {
	return max(time.Minute, 10*o.Hold.Max)
}
