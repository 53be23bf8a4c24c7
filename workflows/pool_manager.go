package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/parklot/parklot/domain/audit"
	"github.com/parklot/parklot/domain/pool"
)

// DefaultMaxSignalsPerRun keeps a manager's run far below Temporal's limit of
// 10,000 signals per run and its history well under the event-count warning.
const DefaultMaxSignalsPerRun = 2000

// PoolManagerInput starts (or continues) a pool manager. State and Outbox are
// set only when a run continues as new.
type PoolManagerInput struct {
	Pool               string        `json:"pool"`
	Config             pool.Config   `json:"config"`
	LeaseCheckInterval time.Duration `json:"leaseCheckInterval"`
	// MaxSignalsPerRun bounds a run; 0 means DefaultMaxSignalsPerRun.
	MaxSignalsPerRun int `json:"maxSignalsPerRun,omitempty"`
	// State is the domain pool carried across continue-as-new.
	State *pool.Pool `json:"state,omitempty"`
	// Outbox holds decisions taken in the last moments of the previous run
	// that the new run sends first, so none is lost across the boundary.
	Outbox []Outbound `json:"outbox,omitempty"`
	Runs   int        `json:"runs,omitempty"`
	// PendingAudit are events the previous run could not confirm stored.
	PendingAudit []audit.Event `json:"pendingAudit,omitempty"`
	// Histograms carried across runs.
	Wait           Histogram `json:"wait"`
	ReleaseToGrant Histogram `json:"releaseToGrant"`
	// ConfiguredState is the state the configuration last asked for. An
	// operator's set-state lasts until the configured state changes, so a
	// worker restarting with an unchanged file does not undo a drain.
	ConfiguredState pool.State `json:"configuredState,omitempty"`
}

// Outbound is a decision addressed to one task.
type Outbound struct {
	TaskID   string   `json:"taskId"`
	Decision Decision `json:"decision"`
}

// poolManager is the state of one run; the domain pool holds everything that
// matters across runs.
type poolManager struct {
	in       PoolManagerInput
	pool     *pool.Pool
	outbox   []Outbound
	signals  int
	inflight int // outgoing signals not yet acknowledged
	// failedTargets collects tasks a decision could not reach: their
	// workflow is gone, so whatever they hold or wait for is reclaimed.
	failedTargets []string
	wake          workflow.Channel
	// ctx is the run's root context, for recording audit events from
	// the decision helpers.
	ctx workflow.Context

	timer      workflow.Future
	timerAt    time.Time
	cancelTime workflow.CancelFunc

	check      workflow.Future
	checkedIDs []string

	// audit is nil for runs recorded before pools were audited (replay).
	audit *auditLog
	// localSignals sends decisions from a local activity; runs recorded
	// before replay their signal commands.
	localSignals bool
	// resendOnDuplicate is read at the first repeated acquire of a run, so
	// that a manager already running when its worker is upgraded answers
	// them too; runs recorded before ignore them.
	resendOnDuplicate *bool
}

// versionLocalDecisions marks the change that sends a manager's decisions
// from one local activity per workflow task instead of one signal command
// each (two history events and an extra workflow task per decision).
const versionLocalDecisions = "local-decisions"

// versionOutboxAtContinueAsNew marks the change that hands the decisions of
// the workflow task that continues as new to the next run instead of
// sending them from it. That workflow task fails whenever a signal arrives
// while it runs (UnhandledCommand), and its retry sent every decision a
// second time; a duplicate grant landing while its task completes fails the
// task's last workflow task too, delaying it by a queue wait.
const versionOutboxAtContinueAsNew = "outbox-at-continue-as-new"

// versionResendOnDuplicate marks the change that answers a repeated acquire
// of a running or queued task with its current state instead of ignoring
// it. A task that got its first decision handed over in memory
// (TaskLifecycleHandover) has it durably only once its workflow task
// completes; if that workflow task fails, the acquire it sends again must
// be answered.
const versionResendOnDuplicate = "resend-on-duplicate"

// versionPoolAudit marks the change that added audit events to managers.
const versionPoolAudit = "pool-audit"

// PoolManager is the single writer of one pool's state. See DESIGN.md §3.
func PoolManager(ctx workflow.Context, in PoolManagerInput) error {
	if in.MaxSignalsPerRun <= 0 {
		in.MaxSignalsPerRun = DefaultMaxSignalsPerRun
	}
	if in.LeaseCheckInterval <= 0 {
		in.LeaseCheckInterval = 30 * time.Second
	}
	m := &poolManager{in: in, pool: in.State, wake: workflow.NewBufferedChannel(ctx, 1), ctx: ctx}
	if m.pool == nil {
		m.pool = pool.New(in.Config)
		m.in.ConfiguredState = in.Config.State
	}
	if err := workflow.SetQueryHandler(ctx, QueryPoolState, func() (PoolState, error) {
		return PoolState{
			Pool:               in.Pool,
			LeaseCheckInterval: m.in.LeaseCheckInterval,
			Runs:               in.Runs,
			SignalsThisRun:     m.signals,
			Wait:               m.in.Wait,
			ReleaseToGrant:     m.in.ReleaseToGrant,
			Snapshot:           m.pool.Snapshot(),
		}, nil
	}); err != nil {
		return err
	}
	if err := workflow.SetQueryHandler(ctx, QueryPosition, func(taskID string) (int, error) {
		return m.pool.Position(taskID), nil
	}); err != nil {
		return err
	}
	ch := managerChannels{
		setState:    workflow.GetSignalChannel(ctx, SignalSetState),
		reconfigure: workflow.GetSignalChannel(ctx, SignalReconfigure),
		release:     workflow.GetSignalChannel(ctx, SignalRelease),
		usage:       workflow.GetSignalChannel(ctx, SignalReportUsage),
		cancel:      workflow.GetSignalChannel(ctx, SignalCancel),
		acquire:     workflow.GetSignalChannel(ctx, SignalAcquire),
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumInterval: 10 * time.Second},
	})

	if workflow.GetVersion(ctx, versionPoolAudit, workflow.DefaultVersion, 1) == 1 {
		m.audit = newAuditLog(ctx, in.Pool, audit.Pool(in.Pool))
		m.audit.pending = append(m.audit.pending, in.PendingAudit...)
		m.in.PendingAudit = nil
	}
	m.localSignals = workflow.GetVersion(ctx, versionLocalDecisions, workflow.DefaultVersion, 1) == 1
	m.outbox = append(m.outbox, in.Outbox...)
	m.flush(ctx)

	for {
		m.wait(ctx, ch)
		if ctx.Err() != nil {
			// Cancelled by an operator: stop deciding. Holders keep running;
			// a manager started again reclaims nothing it does not know.
			return temporal.NewCanceledError("pool manager cancelled")
		}
		now := workflow.Now(ctx)
		m.drain(ch, now)
		m.reclaimUnreachable(now)
		m.collectLeaseCheck(ctx, now)
		m.expire(now)
		m.startLeaseCheck(ctx, now)
		closing := m.signals >= m.in.MaxSignalsPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested()
		if !closing || workflow.GetVersion(ctx, versionOutboxAtContinueAsNew, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
			m.flush(ctx)
		}
		m.armTimer(ctx)
		m.audit.flushIfAny(ctx)

		if closing {
			return m.continueAsNew(ctx, ch)
		}
	}
}

type managerChannels struct {
	setState, reconfigure, release, usage, cancel, acquire workflow.ReceiveChannel
}

// wait blocks until there is something to do: a signal, the timer, the lease
// check's result, or an unreachable task.
func (m *poolManager) wait(ctx workflow.Context, ch managerChannels) {
	s := workflow.NewSelector(ctx)
	for _, c := range []workflow.ReceiveChannel{ch.setState, ch.reconfigure, ch.release, ch.usage, ch.cancel, ch.acquire} {
		// The handler only wakes the loop; drain reads the signal.
		s.AddReceive(c, func(workflow.ReceiveChannel, bool) {})
	}
	s.AddReceive(m.wake, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
	if m.timer != nil {
		s.AddFuture(m.timer, func(workflow.Future) { m.timer = nil })
	}
	if m.check != nil {
		s.AddFuture(m.check, func(workflow.Future) {})
	}
	s.Select(ctx)
}

// drain applies every buffered signal before any decision leaves the
// workflow, so a burst costs one workflow task, not one per signal. Releases
// come before acquisitions so freed units go to the queue's head first.
func (m *poolManager) drain(ch managerChannels, now time.Time) {
	for {
		progressed := false
		var rc Reconfigure
		for ch.reconfigure.ReceiveAsync(&rc) {
			progressed = true
			m.signals++
			m.reconfigure(rc, now)
		}
		var ss SetState
		for ch.setState.ReceiveAsync(&ss) {
			progressed = true
			m.signals++
			cfg := m.pool.Config()
			from := cfg.State
			cfg.State = ss.State
			m.grants(m.pool.Reconfigure(cfg, now), now)
			if from != ss.State {
				m.record(audit.TypePoolReconfigured, map[string]any{"state": map[string]any{"from": from, "to": ss.State}, "by": "operator"})
			}
		}
		var rel ReleaseRequest
		for ch.release.ReceiveAsync(&rel) {
			progressed = true
			m.signals++
			_, grants := m.pool.Release(rel.TaskID, now)
			if !rel.ReleasedAt.IsZero() {
				for range grants {
					m.in.ReleaseToGrant.Observe(max(now.Sub(rel.ReleasedAt), 0))
				}
			}
			m.grants(grants, now)
		}
		var u UsageReport
		for ch.usage.ReceiveAsync(&u) {
			progressed = true
			m.signals++
			if m.pool.ReportUsage(u.TaskID, u.Units, now) {
				h, _ := m.pool.Holder(u.TaskID)
				m.record(audit.TypeUsageExceeded, map[string]any{"declared": h.Units, "used": u.Units, "activeUnits": m.pool.ActiveUnits(), "maxUnits": m.pool.Config().MaxUnits},
					audit.Task(u.TaskID), audit.Tenant(h.Tenant))
			}
		}
		var c CancelRequest
		for ch.cancel.ReceiveAsync(&c) {
			progressed = true
			m.signals++
			m.cancel(c.TaskID, now)
		}
		var a AcquireRequest
		for ch.acquire.ReceiveAsync(&a) {
			progressed = true
			m.signals++
			m.acquire(a, now)
		}
		if !progressed {
			return
		}
	}
}

func (m *poolManager) reconfigure(rc Reconfigure, now time.Time) {
	if rc.LeaseCheckInterval > 0 {
		m.in.LeaseCheckInterval = rc.LeaseCheckInterval
	}
	cfg := rc.Config
	if cfg.State == m.in.ConfiguredState {
		// Unchanged in the file: keep what the operator set live.
		cfg.State = m.pool.Config().State
	}
	m.in.ConfiguredState = rc.Config.State
	m.in.Config = rc.Config
	before := m.pool.Config()
	m.grants(m.pool.Reconfigure(cfg, now), now)
	if after := m.pool.Config(); after != before {
		m.record(audit.TypePoolReconfigured, map[string]any{"from": before, "to": after})
	}
}

func (m *poolManager) acquire(a AcquireRequest, now time.Time) {
	d := m.pool.Acquire(a.Request, now)
	if d.Reason == pool.ReasonDuplicate {
		// Signals are at-least-once, and a task whose first workflow task
		// failed asks again: the current state is its answer, which a task
		// that already has it ignores.
		if m.resendOnDuplicate == nil {
			v := workflow.GetVersion(m.ctx, versionResendOnDuplicate, workflow.DefaultVersion, 1) == 1
			m.resendOnDuplicate = &v
		}
		if !*m.resendOnDuplicate {
			return
		}
		switch d.Status {
		case pool.StatusRunning:
			m.send(a.Request.TaskID, Decision{Kind: DecisionAdmitted, Timeout: d.Timeout, GrantedAt: d.GrantedAt})
		case pool.StatusQueued:
			m.send(a.Request.TaskID, Decision{Kind: DecisionQueued, Position: d.Position})
		}
		// An overdue one gets its expiry from this turn's Expire.
		return
	}
	out := Decision{Position: d.Position, Reason: d.Reason, Message: d.Message, Timeout: d.Timeout, GrantedAt: d.GrantedAt}
	switch d.Status {
	case pool.StatusRunning:
		out.Kind = DecisionAdmitted
		m.pool.RenewLease(a.Request.TaskID, now.Add(m.in.LeaseCheckInterval))
	case pool.StatusQueued:
		out.Kind = DecisionQueued
	case pool.StatusExpired:
		out.Kind = DecisionExpired
	case pool.StatusDropped:
		out.Kind = DecisionDropped
	default:
		out.Kind = DecisionRejected
		out.Field = d.Field
	}
	m.send(a.Request.TaskID, out)
}

func (m *poolManager) cancel(taskID string, now time.Time) {
	res := m.pool.Cancel(taskID, now)
	if res.Status == pool.StatusDropped {
		m.send(taskID, Decision{Kind: DecisionDropped, Reason: pool.ReasonCancelled, Message: "cancelled while queued"})
	}
	m.grants(res.Grants, now)
}

func (m *poolManager) grants(gs []pool.Grant, now time.Time) {
	for _, g := range gs {
		m.in.Wait.Observe(g.Wait)
		m.pool.RenewLease(g.TaskID, now.Add(m.in.LeaseCheckInterval))
		m.send(g.TaskID, Decision{Kind: DecisionGranted, Timeout: g.Timeout, GrantedAt: g.GrantedAt})
	}
}

func (m *poolManager) expire(now time.Time) {
	res := m.pool.Expire(now)
	for _, e := range res.Expired {
		m.send(e.TaskID, Decision{Kind: DecisionExpired, Reason: e.Reason, Message: e.Message})
	}
	m.grants(res.Grants, now)
}

func (m *poolManager) send(taskID string, d Decision) {
	m.outbox = append(m.outbox, Outbound{TaskID: taskID, Decision: d})
}

// flush emits every pending decision at once. Decisions go out from one
// local activity that signals the tasks with the worker's client, in
// parallel and in order per task; those it could not send go out as signal
// commands. A task whose workflow is gone is reclaimed on the next turn of
// the loop.
func (m *poolManager) flush(ctx workflow.Context) {
	if !m.localSignals || len(m.outbox) == 0 {
		m.signalByCommand(ctx, m.outbox)
		m.outbox = m.outbox[:0]
		return
	}
	sent := append([]Outbound(nil), m.outbox...)
	m.outbox = m.outbox[:0]
	batch := SignalBatch{Signals: make([]OutSignal, len(sent))}
	for i, o := range sent {
		batch.Signals[i] = OutSignal{WorkflowID: TaskWorkflowID(o.TaskID), Name: SignalDecision, Arg: o.Decision}
	}
	var res SignalBatchResult
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	if err := workflow.ExecuteLocalActivity(lctx, ActivitySignalWorkflows, batch).Get(ctx, &res); err != nil {
		m.signalByCommand(ctx, sent)
		return
	}
	var retry []Outbound
	for _, i := range res.Failed {
		retry = append(retry, sent[i])
	}
	m.signalByCommand(ctx, retry)
	gone := map[string]bool{}
	for _, i := range res.NotFound {
		if id := sent[i].TaskID; !gone[id] {
			gone[id] = true
			m.failedTargets = append(m.failedTargets, id)
		}
	}
	if len(gone) > 0 {
		m.wake.SendAsync(struct{}{})
	}
}

// signalByCommand sends decisions as signal commands; acknowledgements are
// awaited by small coroutines so one slow task never holds the others back.
func (m *poolManager) signalByCommand(ctx workflow.Context, out []Outbound) {
	for _, o := range out {
		o := o
		f := workflow.SignalExternalWorkflow(ctx, TaskWorkflowID(o.TaskID), "", SignalDecision, o.Decision)
		m.inflight++
		workflow.Go(ctx, func(ctx workflow.Context) {
			err := f.Get(ctx, nil)
			m.inflight--
			if err != nil {
				m.failedTargets = append(m.failedTargets, o.TaskID)
				m.wake.SendAsync(struct{}{})
			}
		})
	}
}

// reclaimUnreachable frees what tasks whose workflow is gone were holding or
// waiting for: a decision that cannot be delivered will never be released.
func (m *poolManager) reclaimUnreachable(now time.Time) {
	for _, id := range m.failedTargets {
		if m.reclaim(id, now, "its workflow could not be signalled") {
			continue
		}
		m.grants(m.pool.Cancel(id, now).Grants, now)
	}
	m.failedTargets = m.failedTargets[:0]
}

// reclaim frees a holder whose workflow is gone, and audits it.
func (m *poolManager) reclaim(taskID string, now time.Time, why string) bool {
	h, held := m.pool.Holder(taskID)
	released, grants := m.pool.Reclaim(taskID, now)
	if !released {
		return false
	}
	if held {
		m.record(audit.TypeReclaimed, map[string]any{"units": h.Units, "why": why}, audit.Task(taskID), audit.Tenant(h.Tenant))
	}
	m.grants(grants, now)
	return true
}

// record adds an audit event when this run audits.
func (m *poolManager) record(typ audit.Type, data any, subjects ...audit.Subject) {
	if m.audit != nil {
		m.audit.record(m.ctx, typ, data, subjects...)
	}
}

// startLeaseCheck asks, once per interval at most, whether the workflows of
// holders whose lease is due still run.
func (m *poolManager) startLeaseCheck(ctx workflow.Context, now time.Time) {
	if m.check != nil {
		return
	}
	due := m.pool.DueLeases(now)
	if len(due) == 0 {
		return
	}
	m.checkedIDs = due
	// Renew at once so the timer does not fire for them again while the
	// check runs; closed ones are reclaimed when it answers.
	for _, id := range due {
		m.pool.RenewLease(id, now.Add(m.in.LeaseCheckInterval))
	}
	ids := make([]string, len(due))
	for i, id := range due {
		ids[i] = TaskWorkflowID(id)
	}
	m.check = workflow.ExecuteActivity(ctx, ActivityClosedWorkflows, ids)
}

func (m *poolManager) collectLeaseCheck(ctx workflow.Context, now time.Time) {
	if m.check == nil || !m.check.IsReady() {
		return
	}
	var closed []string
	err := m.check.Get(ctx, &closed)
	m.check = nil
	if err != nil {
		// The check is read-only and the leases were renewed when it
		// started: it simply runs again after an interval.
		return
	}
	gone := make(map[string]bool, len(closed))
	for _, wid := range closed {
		if id, ok := TaskIDFromWorkflowID(wid); ok {
			gone[id] = true
		}
	}
	for _, id := range m.checkedIDs {
		if gone[id] {
			m.reclaim(id, now, "its workflow is closed")
		}
	}
}

// armTimer keeps one timer due no later than the earliest queued deadline or
// lease.
func (m *poolManager) armTimer(ctx workflow.Context) {
	next, ok := m.pool.NextDeadline()
	if lease, lok := m.pool.NextLease(); lok && (!ok || lease.Before(next)) {
		next, ok = lease, true
	}
	if !ok {
		m.stopTimer()
		return
	}
	if m.timer != nil && !m.timerAt.After(next) {
		// A timer due no later than needed is kept: when it fires the loop
		// simply re-arms for what is then the earliest. Moving it on every
		// grant would add two history events per grant.
		return
	}
	m.stopTimer()
	d := next.Sub(workflow.Now(ctx))
	if d < time.Millisecond {
		d = time.Millisecond
	}
	tctx, cancel := workflow.WithCancel(ctx)
	m.timer = workflow.NewTimer(tctx, d)
	m.timerAt = next
	m.cancelTime = cancel
}

func (m *poolManager) stopTimer() {
	if m.timer != nil {
		m.cancelTime()
		m.timer = nil
	}
}

// continueAsNew waits for every outgoing decision to be acknowledged, drains
// what arrived meanwhile into the outbox of the next run, and hands the whole
// state over. Nothing is sent after the drain, so nothing can be lost.
func (m *poolManager) continueAsNew(ctx workflow.Context, ch managerChannels) error {
	m.stopTimer()
	if err := workflow.Await(ctx, func() bool { return m.inflight == 0 }); err != nil {
		return err
	}
	now := workflow.Now(ctx)
	m.reclaimUnreachable(now)
	m.drain(ch, now)
	next := m.in
	if m.audit != nil {
		next.PendingAudit = m.audit.unwritten(ctx)
	}
	next.State = m.pool
	next.Outbox = m.outbox
	next.Runs++
	return workflow.NewContinueAsNewError(ctx, PoolManager, next)
}
