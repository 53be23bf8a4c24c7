package workflows

import (
	"errors"

	"fmt"
	enumspb "go.temporal.io/api/enums/v1"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/parklot/parklot/domain/pool"
)

// Search attribute keys set on task workflows.
var (
	saPool    = temporal.NewSearchAttributeKeyKeyword(SearchAttrPool)
	saTenant  = temporal.NewSearchAttributeKeyKeyword(SearchAttrTenant)
	saStatus  = temporal.NewSearchAttributeKeyKeyword(SearchAttrStatus)
	saMailbox = temporal.NewSearchAttributeKeyKeyword(SearchAttrMailbox)
)

// heartbeatTimeout lets a task notice within this long that the worker
// running it died; the activity heartbeats well inside it.
const heartbeatTimeout = 10 * time.Second

// maxRunAttempts bounds how often a run interrupted by a lost worker starts
// again.
const maxRunAttempts = 3

type task struct {
	in              TaskInput
	status          TaskStatus
	cancelRequested bool
}

// Task is one unit of work: acquire units from its pool, run, release, and
// keep its outcome queryable. Submission is an Update-with-Start on the
// `submit` update, which answers once the pool has decided.
func Task(ctx workflow.Context, in TaskInput) (TaskStatus, error) {
	t := &task{in: in, status: TaskStatus{
		TaskID: in.TaskID, Pool: in.Pool, Tenant: in.Tenant, User: in.User, Session: in.Session,
		Kind: in.Kind, Priority: in.Priority, Units: in.Units,
		Status: StatusSubmitted, SubmittedAt: workflow.Now(ctx),
	}}
	if err := workflow.SetQueryHandler(ctx, QueryTaskStatus, func() (TaskStatus, error) { return t.status, nil }); err != nil {
		return t.status, err
	}
	if err := workflow.SetUpdateHandler(ctx, UpdateSubmit, func(ctx workflow.Context) (TaskStatus, error) {
		// A duplicate submission lands here too and gets the current status.
		err := workflow.Await(ctx, func() bool { return t.status.Status != StatusSubmitted })
		return t.status, err
	}); err != nil {
		return t.status, err
	}
	decisions := workflow.GetSignalChannel(ctx, SignalDecision)
	cancels := workflow.GetSignalChannel(ctx, SignalCancelTask)
	t.upsertSearchAttributes(ctx)

	acquire := AcquireRequest{SubmittedAt: t.status.SubmittedAt, Request: pool.Request{
		TaskID: in.TaskID, Tenant: in.Tenant, Priority: in.Priority, Units: in.Units,
		Deadline: in.Deadline, Timeout: in.Timeout,
	}}
	if perr := t.validate(acquire.Request); perr != nil {
		t.status.Field = perr.Field
		t.finish(ctx, StatusRejected, perr.Reason, perr.Message)
		return t.done(ctx)
	}
	if err := workflow.SignalExternalWorkflow(ctx, PoolWorkflowID(in.Pool), "", SignalAcquire, acquire).Get(ctx, nil); err != nil {
		t.finish(ctx, StatusRejected, pool.ReasonUnknownPool,
			fmt.Sprintf("no pool %q is running: check the pool name against `parklot pools` or the workers' config", in.Pool))
		return t.done(ctx)
	}

	grant, ok := t.awaitGrant(ctx, decisions, cancels)
	if !ok {
		return t.done(ctx)
	}
	t.run(ctx, grant, cancels)
	t.release(ctx)
	return t.done(ctx)
}

// validate refuses what no pool could accept before any signal is sent.
func (t *task) validate(req pool.Request) *pool.Error {
	switch {
	case t.in.Pool == "":
		return &pool.Error{Reason: pool.ReasonInvalidRequest, Field: "pool", Message: "pool is required: name one of the configured pools"}
	case t.in.Kind == "":
		return &pool.Error{Reason: pool.ReasonInvalidRequest, Field: "kind", Message: "kind is required: name an executor such as sleep, exec or http"}
	}
	return req.Validate()
}

// awaitGrant waits for the pool's decisions until the task may run (true) or
// has reached a terminal state without ever holding units (false).
func (t *task) awaitGrant(ctx workflow.Context, decisions, cancels workflow.ReceiveChannel) (Decision, bool) {
	for {
		var d Decision
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(decisions, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, &d) })
		sel.AddReceive(cancels, func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(ctx, nil)
			if t.cancelRequested {
				return
			}
			t.cancelRequested = true
			// The manager answers dropped, or a grant it made first; either
			// way the decision arrives on the decisions channel.
			_ = workflow.SignalExternalWorkflow(ctx, PoolWorkflowID(t.in.Pool), "", SignalCancel, CancelRequest{TaskID: t.in.TaskID}).Get(ctx, nil)
		})
		sel.Select(ctx)
		switch d.Kind {
		case "":
			continue
		case DecisionQueued:
			t.status.Position = d.Position
			t.setStatus(ctx, StatusQueued)
		case DecisionAdmitted, DecisionGranted:
			t.status.Position = 0
			return d, true
		case DecisionExpired:
			t.finish(ctx, StatusExpired, d.Reason, d.Message)
			return d, false
		case DecisionDropped:
			t.finish(ctx, StatusDropped, d.Reason, d.Message)
			return d, false
		default:
			t.status.Field = d.Field
			t.finish(ctx, StatusRejected, d.Reason, d.Message)
			return d, false
		}
	}
}

// run executes the task while it holds its units. A cancel stops the
// activity; a timeout expires the task; both end with the units released.
func (t *task) run(ctx workflow.Context, grant Decision, cancels workflow.ReceiveChannel) {
	t.status.StartedAt = workflow.Now(ctx)
	t.setStatus(ctx, StatusRunning)
	if t.cancelRequested {
		t.finish(ctx, StatusFailed, pool.ReasonCancelled, "cancelled before it started")
		return
	}
	timeout := grant.Timeout
	if timeout <= 0 {
		timeout = t.in.Timeout
	}
	actCtx, cancelAct := workflow.WithCancel(ctx)
	actCtx = workflow.WithActivityOptions(actCtx, workflow.ActivityOptions{
		// The whole run, restarts included, fits in the task's timeout.
		ScheduleToCloseTimeout: timeout,
		StartToCloseTimeout:    timeout,
		HeartbeatTimeout:       heartbeatTimeout,
		WaitForCancellation:    true,
		// Executor failures are final (the activity marks them so): a
		// task's work may not be idempotent. Only losing the worker
		// mid-run, seen as a missed heartbeat, starts it again.
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    10 * time.Second,
			MaximumAttempts:    maxRunAttempts,
		},
	})
	fut := workflow.ExecuteActivity(actCtx, ActivityExecute, ExecuteInput{
		TaskID: t.in.TaskID, Pool: t.in.Pool, Tenant: t.in.Tenant, Kind: t.in.Kind,
		Units: t.in.Units, Payload: t.in.Payload,
	})
	var result ExecuteResult
	var err error
	for done := false; !done; {
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(fut, func(f workflow.Future) {
			err = f.Get(ctx, &result)
			done = true
		})
		sel.AddReceive(cancels, func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(ctx, nil)
			t.cancelRequested = true
			cancelAct()
		})
		sel.Select(ctx)
	}
	var timeoutErr *temporal.TimeoutError
	var canceledErr *temporal.CanceledError
	switch {
	case err == nil:
		t.status.Result = result.Output
		t.finish(ctx, StatusCompleted, "", "")
	case t.cancelRequested && (errors.As(err, &canceledErr) || temporal.IsCanceledError(err)):
		t.finish(ctx, StatusFailed, pool.ReasonCancelled, "cancelled while running")
	case errors.As(err, &timeoutErr) && timeoutErr.TimeoutType() == enumspb.TIMEOUT_TYPE_HEARTBEAT:
		t.status.Error = fmt.Sprintf("the worker running it stopped answering %d times", maxRunAttempts)
		t.finish(ctx, StatusFailed, ReasonWorkerLost, t.status.Error)
	case errors.As(err, &timeoutErr):
		t.finish(ctx, StatusExpired, pool.ReasonTimeout, fmt.Sprintf("ran longer than its timeout of %s", timeout))
	default:
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.HasDetails() {
			var partial ExecuteResult
			if appErr.Details(&partial) == nil {
				t.status.Result = partial.Output
			}
		}
		t.status.Error = rootMessage(err)
		reason := pool.Reason("")
		if t.cancelRequested {
			reason = pool.ReasonCancelled
		}
		t.finish(ctx, StatusFailed, reason, t.status.Error)
	}
}

// release always returns the units, from a context that a cancelled
// workflow cannot cancel.
func (t *task) release(ctx workflow.Context) {
	ctx, _ = workflow.NewDisconnectedContext(ctx)
	_ = workflow.SignalExternalWorkflow(ctx, PoolWorkflowID(t.in.Pool), "", SignalRelease,
		ReleaseRequest{TaskID: t.in.TaskID, Outcome: t.status.Status, ReleasedAt: workflow.Now(ctx)}).Get(ctx, nil)
}

func (t *task) finish(ctx workflow.Context, status string, reason pool.Reason, message string) {
	t.status.Reason = reason
	t.status.Message = message
	t.status.CompletedAt = workflow.Now(ctx)
	t.status.Position = 0
	t.setStatus(ctx, status)
}

func (t *task) setStatus(ctx workflow.Context, status string) {
	if t.status.Status == status {
		return
	}
	t.status.Status = status
	_ = workflow.UpsertTypedSearchAttributes(ctx, saStatus.ValueSet(status))
}

func (t *task) upsertSearchAttributes(ctx workflow.Context) {
	_ = workflow.UpsertTypedSearchAttributes(ctx,
		saPool.ValueSet(t.in.Pool),
		saTenant.ValueSet(t.in.Tenant),
		saStatus.ValueSet(t.status.Status),
		saMailbox.ValueSet(t.in.MailboxKey()),
	)
}

// done waits for in-flight submit updates to answer before the run closes.
func (t *task) done(ctx workflow.Context) (TaskStatus, error) {
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return t.status, err
	}
	return t.status, nil
}

// rootMessage strips Temporal's wrapping so users read the executor's words.
func rootMessage(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Message()
	}
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}
