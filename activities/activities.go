package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/parklot/parklot/executor"
	"github.com/parklot/parklot/notifier"
	"github.com/parklot/parklot/workflows"
)

// heartbeatEvery keeps a task alive well inside the workflow's heartbeat
// timeout even when its executor reports no progress.
const heartbeatEvery = 2 * time.Second

// Activities holds what the activities need. Register it once per worker.
type Activities struct {
	Executors *executor.Registry
	Client    client.Client
	Logger    *slog.Logger
	Stores    *Stores
	// TaskQueue is where mailbox workflows are started.
	TaskQueue string
	// Webhooks are the pools' webhook notifiers, by pool.
	Webhooks map[string]*notifier.Webhook
	// DeliveryGiveUp bounds how long an outcome's delivery is retried;
	// 0 means DefaultDeliveryGiveUp.
	DeliveryGiveUp time.Duration
	// Handover passes decisions to tasks of this process that wait for
	// them in SendAcquire; nil sends every decision as a signal.
	Handover *Handover
}

// Execute runs the task's executor. It is not idempotent in general (the
// executor may not be), which is why the task workflow runs it once.
func (a *Activities) Execute(ctx context.Context, in workflows.ExecuteInput) (workflows.ExecuteResult, error) {
	ex, err := a.Executors.Lookup(in.Kind)
	if err != nil {
		return workflows.ExecuteResult{}, temporal.NewNonRetryableApplicationError(err.Error(), "unknown_executor", nil)
	}
	r := &reporter{ctx: ctx, a: a, in: in}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go r.heartbeatUntilDone(runCtx)

	out, err := ex.Execute(runCtx, executor.Task{
		ID: in.TaskID, Pool: in.Pool, Tenant: in.Tenant, Kind: in.Kind, Units: in.Units, Payload: in.Payload,
	}, r)
	if err != nil {
		if runCtx.Err() != nil {
			return workflows.ExecuteResult{}, runCtx.Err()
		}
		return workflows.ExecuteResult{}, failure(err, out)
	}
	if in.ReleaseOnCompletion {
		stop() // no heartbeat of ours once the result is recorded
		return a.completeAndRelease(ctx, in, workflows.ExecuteResult{Output: out})
	}
	return workflows.ExecuteResult{Output: out}, nil
}

// releaseTimeout bounds recording a result and sending the release after
// it, which no longer depend on the activity's own context.
const releaseTimeout = 10 * time.Second

// completeAndRelease records a successful result itself and then signals
// the task's release, so the units are free again without waiting for the
// task's next workflow task. The order is what makes it safe: once the
// result is recorded the run cannot be retried, so no second run can hold
// the units released here. If recording fails and the activity is still
// pending (not recorded, or already retried), nothing is released: the
// result goes back the ordinary way, without ReleasedAt, and the task
// releases. If it was recorded but the release cannot be sent, the units
// stay held until the task's workflow closes and the manager's next lease
// check reclaims them.
func (a *Activities) completeAndRelease(ctx context.Context, in workflows.ExecuteInput, res workflows.ExecuteResult) (workflows.ExecuteResult, error) {
	info := activity.GetInfo(ctx)
	early := res
	early.ReleasedAt = time.Now()
	// A heartbeat the SDK still sends after the result is recorded finds
	// the activity gone and cancels ctx; the release must not fail on it.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	if err := a.Client.CompleteActivity(sctx, info.TaskToken, early, nil); err != nil && !a.resultRecorded(sctx, info) {
		if a.Logger != nil {
			a.Logger.Warn("recording the result before the release failed; the task releases instead", "task", in.TaskID, "error", err)
		}
		return res, nil
	}
	rel := workflows.ReleaseRequest{TaskID: in.TaskID, Outcome: workflows.StatusCompleted, ReleasedAt: early.ReleasedAt}
	if notFound, err := a.signal(sctx, workflows.OutSignal{WorkflowID: workflows.PoolWorkflowID(in.Pool), Name: workflows.SignalRelease, Arg: rel}); (notFound || err != nil) && a.Logger != nil {
		a.Logger.Warn("release not delivered; the manager reclaims the units when the task's workflow has closed", "task", in.TaskID, "pool", in.Pool, "notFound", notFound, "error", err)
	}
	// Returned as usual rather than as activity.ErrResultPending: the SDK
	// then drops the heartbeat it may still hold back instead of sending it
	// for an activity that has completed (a warning per task), and its own
	// attempt to record the result is refused by the server as a duplicate.
	return early, nil
}

// resultRecorded tells, after CompleteActivity returned an error, whether
// the result was recorded anyway: the activity is no longer pending in its
// workflow. Still pending means not recorded, or timed out and retried; an
// error reading the workflow counts as not recorded, so nothing is
// released that a retry might need.
func (a *Activities) resultRecorded(ctx context.Context, info activity.Info) bool {
	desc, err := a.Client.DescribeWorkflowExecution(ctx, info.WorkflowExecution.ID, info.WorkflowExecution.RunID)
	if err != nil {
		return false
	}
	for _, p := range desc.GetPendingActivities() {
		if p.GetActivityId() == info.ActivityID {
			return false
		}
	}
	return true
}

// failure keeps the executor's code as the error type and whatever output it
// produced (a failed command's stdout and stderr) as the error's details.
func failure(err error, out json.RawMessage) error {
	code := "executor_failed"
	var xe *executor.Error
	if errors.As(err, &xe) && xe.Code != "" {
		code = string(xe.Code)
	}
	var details []interface{}
	if len(out) > 0 {
		details = append(details, workflows.ExecuteResult{Output: out})
	}
	// Every executor failure is final: the task workflow only restarts a
	// run whose worker was lost.
	return temporal.NewApplicationErrorWithOptions(err.Error(), code, temporal.ApplicationErrorOptions{
		NonRetryable: true,
		Details:      details,
	})
}

// reporter turns executor progress into heartbeats and usage into a signal
// to the pool manager.
type reporter struct {
	ctx context.Context
	a   *Activities
	in  workflows.ExecuteInput
}

func (r *reporter) Progress(details any) { activity.RecordHeartbeat(r.ctx, details) }

func (r *reporter) ReportUsage(units int64) {
	err := r.a.Client.SignalWorkflow(r.ctx, workflows.PoolWorkflowID(r.in.Pool), "", workflows.SignalReportUsage,
		workflows.UsageReport{TaskID: r.in.TaskID, Units: units})
	if err != nil && r.a.Logger != nil {
		r.a.Logger.Warn("usage report not delivered", "task", r.in.TaskID, "pool", r.in.Pool, "units", units, "err", err)
	}
}

func (r *reporter) heartbeatUntilDone(ctx context.Context) {
	t := time.NewTicker(heartbeatEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			activity.RecordHeartbeat(r.ctx)
		}
	}
}

// ClosedWorkflows returns the ids among workflowIDs whose workflow is no
// longer running (closed or unknown). Read-only, so safe to retry.
func (a *Activities) ClosedWorkflows(ctx context.Context, workflowIDs []string) ([]string, error) {
	var closed []string
	for _, id := range workflowIDs {
		info, found, err := a.describe(ctx, id)
		switch {
		case err != nil:
			return nil, fmt.Errorf("describe %s: %w", id, err)
		case !found || info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
			closed = append(closed, id)
		}
	}
	return closed, nil
}

// describe reads a workflow's execution info; found is false, with no
// error, when the server does not know the id.
func (a *Activities) describe(ctx context.Context, workflowID string) (info *workflowpb.WorkflowExecutionInfo, found bool, err error) {
	resp, err := a.Client.DescribeWorkflowExecution(ctx, workflowID, "")
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		return nil, false, nil
	case err != nil:
		return nil, false, err
	}
	return resp.GetWorkflowExecutionInfo(), true, nil
}

// signalParallelism bounds the signals one SignalWorkflows call has in
// flight.
const signalParallelism = 16

// signalAttempts is how often a signal failing for a reason other than a
// missing target is tried before it is reported as failed.
const signalAttempts = 3

// SignalWorkflows sends a batch of signals with the worker's client. It runs
// as a local activity inside the sender's workflow task. A decision for a
// task that waits for it in SendAcquire in this process is handed over
// instead of signalled. A missing target is reported, not retried; other
// failures are retried briefly and then reported, so the caller can fall
// back to a signal command. It fails as a whole only when its context ends.
func (a *Activities) SignalWorkflows(ctx context.Context, in workflows.SignalBatch) (workflows.SignalBatchResult, error) {
	if a.Handover != nil && activity.IsActivity(ctx) {
		if from := activity.GetInfo(ctx).WorkflowExecution.ID; strings.HasPrefix(from, workflows.PoolWorkflowID("")) {
			a.Handover.sawManager(from)
		}
	}
	// Group by target, keeping each target's signals in order.
	var order []string
	byTarget := map[string][]int{}
	for i, s := range in.Signals {
		if _, ok := byTarget[s.WorkflowID]; !ok {
			order = append(order, s.WorkflowID)
		}
		byTarget[s.WorkflowID] = append(byTarget[s.WorkflowID], i)
	}
	var (
		mu  sync.Mutex
		res workflows.SignalBatchResult
		wg  sync.WaitGroup
		sem = make(chan struct{}, signalParallelism)
	)
	for _, target := range order {
		idx := byTarget[target]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			for n, i := range idx {
				if a.handOver(in.Signals[i]) {
					mu.Lock()
					res.HandedOver++
					mu.Unlock()
					continue
				}
				notFound, err := a.signal(ctx, in.Signals[i])
				mu.Lock()
				switch {
				case notFound:
					// The target is gone: its later signals cannot land either.
					for _, j := range idx[n:] {
						res.NotFound = append(res.NotFound, j)
					}
				case err != nil:
					// Later signals must not overtake this one.
					res.Failed = append(res.Failed, idx[n:]...)
				}
				mu.Unlock()
				if notFound || err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return workflows.SignalBatchResult{}, err
	}
	slices.Sort(res.NotFound)
	slices.Sort(res.Failed)
	res.Sent = len(in.Signals) - len(res.NotFound) - len(res.Failed)
	return res, nil
}

// handOver gives a decision to its task's waiter in this process, if there
// is one.
func (a *Activities) handOver(s workflows.OutSignal) bool {
	if a.Handover == nil || s.Name != workflows.SignalDecision {
		return false
	}
	d, err := asDecision(s.Arg)
	if err != nil {
		return false
	}
	return a.Handover.offer(s.WorkflowID, d)
}

// signal sends one signal, retrying briefly while the failure is not a
// missing target.
func (a *Activities) signal(ctx context.Context, s workflows.OutSignal) (notFound bool, err error) {
	backoff := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err = a.Client.SignalWorkflow(ctx, s.WorkflowID, "", s.Name, s.Arg)
		var nf *serviceerror.NotFound
		switch {
		case err == nil:
			return false, nil
		case errors.As(err, &nf):
			return true, nil
		case attempt >= signalAttempts || ctx.Err() != nil:
			if a.Logger != nil {
				a.Logger.Warn("signal failed", "workflow", s.WorkflowID, "signal", s.Name, "error", err)
			}
			return false, err
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff *= 4
	}
}

// LastTicketInUse returns the highest ticket number n ≥ in.InUse of a lot
// whose ticket workflow exists, knowing that in.InUse's does. Ticket numbers
// are given out in order, so the ones still kept by the server form one
// range: it probes in.InUse+1, +2, +4, ... until one is missing, then
// bisects, in about 2·log2(n) lookups.
func (a *Activities) LastTicketInUse(ctx context.Context, in workflows.LastTicketInput) (int, error) {
	exists := func(n int) (bool, error) {
		_, found, err := a.describe(ctx, workflows.TicketWorkflowID(workflows.TicketID(in.Lot, n)))
		return found, err
	}
	last, step := in.InUse, 1
	for {
		ok, err := exists(last + step)
		if err != nil {
			return 0, err
		}
		if !ok {
			break
		}
		last += step
		step *= 2
	}
	// last exists and last+step does not.
	for missing := last + step; missing-last > 1; {
		mid := last + (missing-last)/2
		ok, err := exists(mid)
		if err != nil {
			return 0, err
		}
		if ok {
			last = mid
		} else {
			missing = mid
		}
	}
	return last, nil
}
