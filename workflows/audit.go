package workflows

import (
	"encoding/json"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/parklot/parklot/domain/audit"
)

// auditActivityOptions retry a batch until the store takes it: the events
// live in workflow state meanwhile, and their ids make retries idempotent.
var auditActivityOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
}

// auditLog collects a workflow's audit events and writes them in batches by
// activities that nothing waits for, so auditing never holds up scheduling.
type auditLog struct {
	pool     string
	subjects []audit.Subject
	idPrefix string
	seq      int
	pending  []audit.Event
	batches  []auditBatch
	// local writes batches from local activities: a marker in the current
	// workflow task instead of an activity's three events and a workflow
	// task of its own. A batch a local activity could not write is written
	// again by an ordinary, retrying activity before the run ends.
	local bool
}

type auditBatch struct {
	events []audit.Event
	future workflow.Future
	local  bool
}

// localAuditOptions keep a local audit write short: a store that does not
// answer within them is left to the retrying activity.
var localAuditOptions = workflow.LocalActivityOptions{
	StartToCloseTimeout: 5 * time.Second,
	RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 2},
}

func newAuditLog(ctx workflow.Context, pool string, subjects ...audit.Subject) *auditLog {
	info := workflow.GetInfo(ctx)
	return &auditLog{pool: pool, subjects: subjects, idPrefix: info.WorkflowExecution.ID + "/" + info.WorkflowExecution.RunID}
}

// record adds one event; its id derives from the run and a sequence number,
// so a replay produces the same id.
func (l *auditLog) record(ctx workflow.Context, typ audit.Type, data any, extra ...audit.Subject) {
	l.recordAt(ctx, workflow.Now(ctx), typ, data, extra...)
}

// recordAt is record for an event that happened at a known time other than
// the workflow task's.
func (l *auditLog) recordAt(ctx workflow.Context, at time.Time, typ audit.Type, data any, extra ...audit.Subject) {
	l.seq++
	raw, _ := json.Marshal(data)
	subjects := append(append([]audit.Subject(nil), l.subjects...), extra...)
	l.pending = append(l.pending, audit.Event{
		EventID:  audit.EventIDFor(l.idTime(ctx, at), fmt.Sprintf("%s#%d", l.idPrefix, l.seq)),
		Type:     typ,
		At:       at,
		Subjects: subjects,
		Data:     raw,
	})
}

// idTime is the time part of an event's id. A local activity writes before
// its workflow task completes; if that task fails, its retry records the
// same events at a later workflow time. Their ids then take the run's start
// time instead, so the retry writes the same ids and the store keeps one copy.
func (l *auditLog) idTime(ctx workflow.Context, at time.Time) time.Time {
	if l.local {
		return workflow.GetInfo(ctx).WorkflowStartTime
	}
	return at
}

// flush starts writing what was recorded since the last flush.
func (l *auditLog) flush(ctx workflow.Context) {
	if len(l.pending) == 0 {
		return
	}
	events := l.pending
	l.pending = nil
	in := AuditInput{Pool: l.pool, Events: events}
	var f workflow.Future
	if l.local {
		f = workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, localAuditOptions), ActivityAppendAudit, in)
	} else {
		f = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, auditActivityOptions), ActivityAppendAudit, in)
	}
	// Forget batches already stored, so a long-lived manager's list stays short.
	kept := l.batches[:0]
	for _, b := range l.batches {
		if !b.future.IsReady() || b.future.Get(ctx, nil) != nil {
			kept = append(kept, b)
		}
	}
	l.batches = append(kept, auditBatch{events: events, future: f, local: l.local})
}

// unwritten returns the events not yet known to be stored, for a run that
// continues as new; the next run writes them again (idempotent by id).
func (l *auditLog) unwritten(ctx workflow.Context) []audit.Event {
	out := append([]audit.Event(nil), l.pending...)
	for _, b := range l.batches {
		if !b.future.IsReady() || b.future.Get(ctx, nil) != nil {
			out = append(out, b.events...)
		}
	}
	return out
}

// wait flushes and blocks until every batch is stored.
func (l *auditLog) wait(ctx workflow.Context) error {
	l.flush(ctx)
	for _, b := range l.batches {
		err := b.future.Get(ctx, nil)
		if err != nil && b.local {
			actx := workflow.WithActivityOptions(ctx, auditActivityOptions)
			err = workflow.ExecuteActivity(actx, ActivityAppendAudit, AuditInput{Pool: l.pool, Events: b.events}).Get(ctx, nil)
		}
		if err != nil {
			return err
		}
	}
	l.batches = nil
	return nil
}

// flushIfAny flushes on a nil log too, for runs that do not audit.
func (l *auditLog) flushIfAny(ctx workflow.Context) {
	if l != nil {
		l.flush(ctx)
	}
}
