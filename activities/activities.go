package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
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
}

// Execute runs the task's executor. It is not idempotent in general (the
// executor may not be), which is why the task workflow runs it once.
func (a *Activities) Execute(ctx context.Context, in workflows.ExecuteInput) (workflows.ExecuteResult, error) {
	ex, err := a.Executors.Lookup(in.Kind)
	if err != nil {
		return workflows.ExecuteResult{}, temporal.NewNonRetryableApplicationError(err.Error(), "unknown_executor", nil)
	}
	r := &reporter{ctx: ctx, a: a, in: in}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	go r.heartbeatUntilDone(ctx)

	out, err := ex.Execute(ctx, executor.Task{
		ID: in.TaskID, Pool: in.Pool, Tenant: in.Tenant, Kind: in.Kind, Units: in.Units, Payload: in.Payload,
	}, r)
	if err != nil {
		if ctx.Err() != nil {
			return workflows.ExecuteResult{}, ctx.Err()
		}
		return workflows.ExecuteResult{}, failure(err, out)
	}
	return workflows.ExecuteResult{Output: out}, nil
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
		resp, err := a.Client.DescribeWorkflowExecution(ctx, id, "")
		var notFound *serviceerror.NotFound
		switch {
		case errors.As(err, &notFound):
			closed = append(closed, id)
		case err != nil:
			return nil, fmt.Errorf("describe %s: %w", id, err)
		case resp.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
			closed = append(closed, id)
		}
	}
	return closed, nil
}
