package workflows

import (
	"encoding/json"
	"errors"

	"fmt"
	enumspb "go.temporal.io/api/enums/v1"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/parklot/parklot/domain/audit"
	"github.com/parklot/parklot/domain/mailbox"
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
	// audit is nil for runs started before tasks were audited (replay).
	audit *auditLog
	// lean runs send their signals to the pool, write their audit events
	// and make their first delivery attempt from local activities.
	lean bool
	// handover runs send the acquire from SendAcquire, which may bring the
	// first decision back with it.
	handover bool
	// releasing is the lean release in flight, awaited before the run ends.
	releasing workflow.Future
	// releaseEarly asks the Execute activity to release the units itself
	// as soon as its result is recorded (coordinated handover runs).
	releaseEarly bool
	// released is set when the Execute activity did so.
	released bool
}

// localSignalOptions bound a task's local activities that reach another
// workflow or a store (SignalWorkflows, the first DeliverOutcome): one
// attempt, whose few sensible retries are inside the activity; a failure
// falls back to a signal command or an ordinary activity.
var localSignalOptions = workflow.LocalActivityOptions{
	StartToCloseTimeout: 10 * time.Second,
	RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
}

// handoverWait bounds how long a task's first workflow task waits in
// SendAcquire for its pool's decision. The manager usually decides within
// tens of milliseconds; past this the decision comes as a signal.
const handoverWait = 2 * time.Second

// versionMailboxAudit marks the change that added audit events and mailbox
// delivery to tasks: runs recorded before it replay without them.
const versionMailboxAudit = "mailbox-audit"

// maxDeliveryBackoff caps the wait between delivery attempts while a store
// is down; each attempt is a few history events.
const maxDeliveryBackoff = 5 * time.Minute

// Task is one unit of work: acquire units from its pool, run, release, and
// keep its outcome queryable. Submission is an Update-with-Start on the
// `submit` update, which answers once the pool has decided.
func Task(ctx workflow.Context, in TaskInput) (TaskStatus, error) {
	return runTask(ctx, in, true)
}

// UncoordinatedTask is Task with no capacity coordination: it never signals
// a pool manager and runs as soon as it starts, with the same search
// attributes, audit trail and mailbox delivery. It is the bench's `bare`
// baseline, the ceiling of this lifecycle on a given server; Parklot's
// workers never register it, so it cannot bypass a pool.
func UncoordinatedTask(ctx workflow.Context, in TaskInput) (TaskStatus, error) {
	return runTask(ctx, in, false)
}

func runTask(ctx workflow.Context, in TaskInput, coordinated bool) (TaskStatus, error) {
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
	// The lifecycle is chosen by the input, not by workflow.GetVersion: a
	// version marker also upserts a search attribute, one more visibility
	// write per task (docs/ARCHITECTURE.md, "The task lifecycle").
	t.lean = in.Lifecycle >= TaskLifecycleLean
	t.handover = in.Lifecycle >= TaskLifecycleHandover
	if !t.lean || !hasTaskSearchAttributes(ctx) {
		t.upsertSearchAttributes(ctx)
	}
	if t.lean || workflow.GetVersion(ctx, versionMailboxAudit, workflow.DefaultVersion, 1) == 1 {
		subjects := []audit.Subject{audit.Task(in.TaskID), audit.Pool(in.Pool)}
		if in.Tenant != "" {
			subjects = append(subjects, audit.Tenant(in.Tenant), audit.Mailbox(in.MailboxKey()))
		}
		t.audit = newAuditLog(ctx, in.Pool, subjects...)
		t.audit.local = t.lean
		t.record(ctx, audit.TypeSubmitted, map[string]any{"units": in.Units, "priority": in.Priority, "kind": in.Kind})
	}

	acquire := AcquireRequest{SubmittedAt: t.status.SubmittedAt, Request: pool.Request{
		TaskID: in.TaskID, Tenant: in.Tenant, Priority: in.Priority, Units: in.Units,
		Deadline: in.Deadline, Timeout: in.Timeout,
	}}
	if perr := t.validate(acquire.Request, coordinated); perr != nil {
		t.status.Field = perr.Field
		t.finish(ctx, StatusRejected, perr.Reason, perr.Message)
		return t.done(ctx)
	}
	if !coordinated {
		t.run(ctx, Decision{Kind: DecisionAdmitted}, cancels)
		return t.done(ctx)
	}
	t.releaseEarly = t.handover
	if t.lean {
		// The submitted event is written while the acquire signal is sent.
		t.audit.flush(ctx)
	}
	first, err := t.sendAcquire(ctx, acquire)
	if err != nil {
		t.finish(ctx, StatusRejected, pool.ReasonUnknownPool,
			fmt.Sprintf("no pool %q is running: check the pool name against `parklot pools` or the workers' config", in.Pool))
		return t.done(ctx)
	}

	grant, ok := t.awaitGrant(ctx, first, decisions, cancels)
	if !ok {
		return t.done(ctx)
	}
	t.run(ctx, grant, cancels)
	t.release(ctx)
	return t.done(ctx)
}

// record adds an audit event when this run audits.
func (t *task) record(ctx workflow.Context, typ audit.Type, data any) {
	t.recordAt(ctx, workflow.Now(ctx), typ, data)
}

// recordAt is record for an event that happened at a known time other than
// the workflow task's.
func (t *task) recordAt(ctx workflow.Context, at time.Time, typ audit.Type, data any) {
	if t.audit != nil {
		t.audit.recordAt(ctx, at, typ, data)
	}
}

// deliver hands the outcome to the task's mailbox, retrying while the store
// is unreachable and recording each attempt's error in the status, until it
// succeeds or the worker gives up (delivery_failed). Units were released
// before, so a store outage never holds up scheduling.
func (t *task) deliver(ctx workflow.Context) {
	key := mailbox.Key{Tenant: t.in.Tenant, User: t.in.User, Session: t.in.Session}
	if err := key.Validate(); err != nil {
		t.status.Delivery = &Delivery{State: DeliveryNone, LastError: err.Error()}
		return
	}
	msg := mailbox.Message{
		Key: key, TaskID: t.in.TaskID, Pool: t.in.Pool, Status: mailbox.Status(t.status.Status),
		Reason: string(t.status.Reason), Payload: t.outcomePayload(), CreatedAt: t.status.CompletedAt,
	}
	d := &Delivery{State: DeliveryPending}
	t.status.Delivery = d
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		// One attempt per activity: the loop below retries, so the status
		// can show every attempt's error while the store is down.
		RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	in := DeliverInput{Message: msg}
	backoff := time.Second
	for {
		var res DeliverResult
		var fut workflow.Future
		if t.lean && d.Attempts == 0 {
			// The first attempt runs in the workflow task; the retries,
			// which wait out an outage, are ordinary activities.
			fut = workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, localSignalOptions), ActivityDeliverOutcome, in)
		} else {
			fut = workflow.ExecuteActivity(actx, ActivityDeliverOutcome, in)
		}
		err := fut.Get(ctx, &res)
		d.Attempts++
		d.At = workflow.Now(ctx)
		if err == nil {
			d.State, d.MessageID, d.LastError = DeliveryDelivered, res.MessageID, ""
			t.record(ctx, audit.TypeDelivered, map[string]any{"messageId": res.MessageID, "attempts": d.Attempts})
			if res.Notify {
				t.notify(ctx, res.Message)
			}
			return
		}
		d.LastError = rootMessage(err)
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.Type() == ErrTypeDeliveryGiveUp {
			d.State = DeliveryFailed
			t.record(ctx, audit.TypeDeliveryFailed, map[string]any{"error": d.LastError, "attempts": d.Attempts})
			return
		}
		if in.FirstAttempt.IsZero() {
			in.FirstAttempt = d.At
		}
		in.LastError = d.LastError
		if err := workflow.Sleep(ctx, backoff); err != nil {
			return
		}
		backoff = min(2*backoff, maxDeliveryBackoff)
	}
}

// notify pushes the delivered message to the pool's webhook, retrying with
// backoff for up to an hour; the mailbox already holds it either way.
func (t *task) notify(ctx workflow.Context, msg mailbox.Message) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		ScheduleToCloseTimeout: time.Hour,
		StartToCloseTimeout:    time.Minute,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
	})
	if err := workflow.ExecuteActivity(actx, ActivityNotifyWebhook, msg).Get(ctx, nil); err != nil {
		t.status.Delivery.Webhook = "failed: " + rootMessage(err)
		return
	}
	t.status.Delivery.Webhook = "sent"
}

// outcomePayload is what the mailbox message carries: the result of a
// completed task, the error of a failed one, the message otherwise.
func (t *task) outcomePayload() json.RawMessage {
	switch {
	case t.status.Status == StatusCompleted:
		return t.status.Result
	case t.status.Error != "":
		b, _ := json.Marshal(map[string]string{"error": t.status.Error})
		return b
	case t.status.Message != "":
		b, _ := json.Marshal(map[string]string{"message": t.status.Message})
		return b
	}
	return nil
}

// validate refuses what no pool could accept before any signal is sent. A
// task run without a pool must bring its own timeout: no default_timeout
// applies.
func (t *task) validate(req pool.Request, coordinated bool) *pool.Error {
	switch {
	case t.in.Pool == "":
		return &pool.Error{Reason: pool.ReasonInvalidRequest, Field: "pool", Message: "pool is required: name one of the configured pools"}
	case t.in.Kind == "":
		return &pool.Error{Reason: pool.ReasonInvalidRequest, Field: "kind", Message: "kind is required: name an executor such as sleep, exec or http"}
	}
	if perr := req.Validate(); perr != nil {
		return perr
	}
	if !coordinated && t.in.Timeout <= 0 {
		return &pool.Error{Reason: pool.ReasonInvalidRequest, Field: "timeout", Message: "a task run without a pool has no default_timeout: set its timeout"}
	}
	return nil
}

// awaitGrant waits for the pool's decisions, starting with first when the
// acquire brought one back, until the task may run (true) or has reached a
// terminal state without ever holding units (false).
func (t *task) awaitGrant(ctx workflow.Context, first *Decision, decisions, cancels workflow.ReceiveChannel) (Decision, bool) {
	for {
		var d Decision
		if first != nil {
			d, first = *first, nil
		} else {
			sel := workflow.NewSelector(ctx)
			sel.AddReceive(decisions, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, &d) })
			sel.AddReceive(cancels, func(c workflow.ReceiveChannel, _ bool) {
				c.Receive(ctx, nil)
				if t.cancelRequested {
					return
				}
				t.cancelRequested = true
				t.record(ctx, audit.TypeCancelled, nil)
				// The manager answers dropped, or a grant it made first; either
				// way the decision arrives on the decisions channel.
				_ = workflow.SignalExternalWorkflow(ctx, PoolWorkflowID(t.in.Pool), "", SignalCancel, CancelRequest{TaskID: t.in.TaskID}).Get(ctx, nil)
			})
			sel.Select(ctx)
		}
		if t.settle(ctx, d) {
			return d, d.Kind == DecisionAdmitted || d.Kind == DecisionGranted
		}
	}
}

// settle applies one decision and reports whether it ends the wait: the
// task may run, or it ended without ever holding units.
func (t *task) settle(ctx workflow.Context, d Decision) bool {
	switch d.Kind {
	case "":
		return false
	case DecisionQueued:
		t.status.Position = d.Position
		t.setStatus(ctx, StatusQueued)
		return false
	case DecisionAdmitted, DecisionGranted:
		t.status.Position = 0
	case DecisionExpired:
		t.finish(ctx, StatusExpired, d.Reason, d.Message)
	case DecisionDropped:
		t.finish(ctx, StatusDropped, d.Reason, d.Message)
	default:
		t.status.Field = d.Field
		t.finish(ctx, StatusRejected, d.Reason, d.Message)
	}
	return true
}

// run executes the task while it holds its units. A cancel stops the
// activity; a timeout expires the task; both end with the units released.
func (t *task) run(ctx workflow.Context, grant Decision, cancels workflow.ReceiveChannel) {
	t.status.StartedAt = workflow.Now(ctx)
	if grant.GrantedAt.After(t.status.StartedAt) {
		// A decision handed over in the first workflow task was taken
		// after that workflow task started: the task started no earlier
		// than the grant.
		t.status.StartedAt = grant.GrantedAt
	}
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
		Units: t.in.Units, Payload: t.in.Payload, ReleaseOnCompletion: t.releaseEarly,
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
			if !t.cancelRequested {
				t.record(ctx, audit.TypeCancelled, nil)
			}
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
		if !result.ReleasedAt.IsZero() {
			t.released = true
			t.status.ReleasedAt = result.ReleasedAt
		}
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
// workflow cannot cancel, unless the Execute activity already did. A lean run sends it while it delivers; done waits
// for it.
func (t *task) release(ctx workflow.Context) {
	if t.released {
		// The Execute activity released the units after recording its
		// result.
		return
	}
	ctx, _ = workflow.NewDisconnectedContext(ctx)
	req := ReleaseRequest{TaskID: t.in.TaskID, Outcome: t.status.Status, ReleasedAt: workflow.Now(ctx)}
	t.status.ReleasedAt = req.ReleasedAt
	if !t.lean {
		_ = workflow.SignalExternalWorkflow(ctx, PoolWorkflowID(t.in.Pool), "", SignalRelease, req).Get(ctx, nil)
		return
	}
	f, set := workflow.NewFuture(ctx)
	t.releasing = f
	workflow.Go(ctx, func(ctx workflow.Context) {
		// A pool that is gone holds nothing to release.
		set.Set(nil, t.signalPool(ctx, SignalRelease, req))
	})
}

// signalPool sends one signal to the task's pool manager. A lean run sends
// it from a local activity and falls back to a signal command only when that
// fails for a reason other than a missing manager. The error means the
// manager does not run.
func (t *task) signalPool(ctx workflow.Context, name string, arg any) error {
	wid := PoolWorkflowID(t.in.Pool)
	if t.lean {
		var res SignalBatchResult
		lctx := workflow.WithLocalActivityOptions(ctx, localSignalOptions)
		err := workflow.ExecuteLocalActivity(lctx, ActivitySignalWorkflows,
			SignalBatch{Signals: []OutSignal{{WorkflowID: wid, Name: name, Arg: arg}}}).Get(ctx, &res)
		switch {
		case err == nil && len(res.NotFound) > 0:
			return fmt.Errorf("pool manager %s not found", wid)
		case err == nil && len(res.Failed) == 0:
			return nil
		}
	}
	return workflow.SignalExternalWorkflow(ctx, wid, "", name, arg).Get(ctx, nil)
}

// sendAcquire asks the pool for units. A handover run sends the acquire from
// SendAcquire and gets the first decision back when the manager decided
// within handoverWait from this worker process; otherwise, and for other
// runs, the decisions come as signals. The error means the manager does
// not run.
func (t *task) sendAcquire(ctx workflow.Context, acquire AcquireRequest) (*Decision, error) {
	if !t.handover {
		return nil, t.signalPool(ctx, SignalAcquire, acquire)
	}
	wid := PoolWorkflowID(t.in.Pool)
	var res SendAcquireResult
	lctx := workflow.WithLocalActivityOptions(ctx, localSignalOptions)
	err := workflow.ExecuteLocalActivity(lctx, ActivitySendAcquire,
		SendAcquireInput{PoolWorkflowID: wid, Acquire: acquire, Wait: handoverWait}).Get(ctx, &res)
	switch {
	case err == nil && res.NotFound:
		return nil, fmt.Errorf("pool manager %s not found", wid)
	case err == nil && !res.Failed:
		return res.Decision, nil
	}
	// The acquire may have been sent before the failure; the manager
	// answers a duplicate with the task's current state.
	return nil, workflow.SignalExternalWorkflow(ctx, wid, "", SignalAcquire, acquire).Get(ctx, nil)
}

// hasTaskSearchAttributes reports whether the start request already set the
// task's search attributes, as api.Client does.
func hasTaskSearchAttributes(ctx workflow.Context) bool {
	_, ok := workflow.GetTypedSearchAttributes(ctx).GetKeyword(saPool)
	return ok
}

// TaskSearchAttributes are the search attributes a task starts with, set
// in the start request so the workflow does not have to upsert them.
func TaskSearchAttributes(in TaskInput) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(
		saPool.ValueSet(in.Pool),
		saTenant.ValueSet(in.Tenant),
		saStatus.ValueSet(StatusSubmitted),
		saMailbox.ValueSet(in.MailboxKey()),
	)
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
	typ := audit.Type(status)
	if status == StatusRunning {
		typ = audit.TypeStarted
	}
	data := map[string]any{}
	if t.status.Reason != "" {
		data["reason"] = t.status.Reason
	}
	if t.status.Message != "" {
		data["message"] = t.status.Message
	}
	if t.status.Position > 0 {
		data["position"] = t.status.Position
	}
	if t.status.Error != "" {
		data["error"] = t.status.Error
	}
	at := workflow.Now(ctx)
	if status == StatusRunning && t.status.StartedAt.After(at) {
		at = t.status.StartedAt
	}
	t.recordAt(ctx, at, typ, data)
	if status == StatusQueued || status == StatusRunning {
		t.audit.flushIfAny(ctx)
	}
}

func (t *task) upsertSearchAttributes(ctx workflow.Context) {
	_ = workflow.UpsertTypedSearchAttributes(ctx,
		saPool.ValueSet(t.in.Pool),
		saTenant.ValueSet(t.in.Tenant),
		saStatus.ValueSet(t.status.Status),
		saMailbox.ValueSet(t.in.MailboxKey()),
	)
}

// done delivers the outcome, writes the audit trail and waits for in-flight
// submit updates to answer before the run closes.
func (t *task) done(ctx workflow.Context) (TaskStatus, error) {
	if t.audit != nil {
		t.deliver(ctx)
		if err := t.audit.wait(ctx); err != nil {
			return t.status, err
		}
	}
	if t.releasing != nil {
		_ = t.releasing.Get(ctx, nil)
	}
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
