package workflows

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"

	"github.com/parklot/parklot/domain/pool"
)

// TestAnAcquireTheManagerDidNotTakeGoesAsASignal runs a task whose
// UpdateAcquire the manager refused without applying it (too many updates
// in flight, or a manager too old to know it): the task sends the acquire
// signal instead, and runs when the signalled decision arrives.
func TestAnAcquireTheManagerDidNotTakeGoesAsASignal(t *testing.T) {
	for _, answer := range []AcquireAnswer{{Busy: true, Reason: "in-flight limit"}, {}} {
		var s testsuite.WorkflowTestSuite
		env := s.NewTestWorkflowEnvironment()
		var mu sync.Mutex
		var calls []AcquireCall
		var signals []string
		env.RegisterActivityWithOptions(func(_ context.Context, c AcquireCall) (AcquireAnswer, error) {
			mu.Lock()
			calls = append(calls, c)
			mu.Unlock()
			if !answer.Busy {
				// An error: whether the manager applied it is unknown.
				return AcquireAnswer{}, context.DeadlineExceeded
			}
			return answer, nil
		}, activity.RegisterOptions{Name: ActivityAcquireUnits})
		env.RegisterActivityWithOptions(func(_ context.Context, b SignalBatch) (SignalBatchResult, error) {
			mu.Lock()
			defer mu.Unlock()
			for _, s := range b.Signals {
				signals = append(signals, s.WorkflowID+" "+s.Name)
			}
			return SignalBatchResult{Sent: len(b.Signals)}, nil
		}, activity.RegisterOptions{Name: ActivitySignalWorkflows})
		env.RegisterActivityWithOptions(func(context.Context, AuditInput) error { return nil }, activity.RegisterOptions{Name: ActivityAppendAudit})
		env.RegisterActivityWithOptions(func(context.Context, ExecuteInput) (ExecuteResult, error) { return ExecuteResult{}, nil },
			activity.RegisterOptions{Name: ActivityExecute})
		env.RegisterActivityWithOptions(func(context.Context, DeliverInput) (DeliverResult, error) { return DeliverResult{MessageID: "m1"}, nil },
			activity.RegisterOptions{Name: ActivityDeliverOutcome})
		env.RegisterDelayedCallback(func() {
			env.SignalWorkflow(SignalDecision, Decision{Kind: DecisionAdmitted, Timeout: time.Minute})
		}, time.Second)
		env.ExecuteWorkflow(Task, TaskInput{
			TaskID: "t1", Pool: "p", Tenant: "acme", User: "u", Session: "s", Priority: pool.PriorityNormal, Units: 1, Kind: "sleep",
			Timeout: time.Minute, Lifecycle: TaskLifecycleSyncAcquire,
		})
		var st TaskStatus
		if err := env.GetWorkflowResult(&st); err != nil {
			t.Fatal(err)
		}
		if st.Status != StatusCompleted {
			t.Errorf("%+v: status %s (%s), want completed", answer, st.Status, st.Message)
		}
		if len(calls) != 1 || calls[0].PoolWorkflowID != "pool/p" || calls[0].UpdateID == "" || calls[0].Request.Request.TaskID != "t1" {
			t.Errorf("%+v: AcquireUnits calls %+v, want one for pool/p with an update id", answer, calls)
		}
		if len(signals) != 2 || signals[0] != "pool/p "+SignalAcquire || signals[1] != "pool/p "+SignalRelease {
			t.Errorf("%+v: signals %v, want the acquire then the release to pool/p", answer, signals)
		}
	}
}

// TestAnAcquireAnsweredByUpdateNeedsNoSignalledDecision: the update's answer
// is the task's first decision.
func TestAnAcquireAnsweredByUpdateNeedsNoSignalledDecision(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var signals []string
	env.RegisterActivityWithOptions(func(context.Context, AcquireCall) (AcquireAnswer, error) {
		return AcquireAnswer{Answered: true, Decision: Decision{Kind: DecisionAdmitted, Timeout: time.Minute}}, nil
	}, activity.RegisterOptions{Name: ActivityAcquireUnits})
	env.RegisterActivityWithOptions(func(_ context.Context, b SignalBatch) (SignalBatchResult, error) {
		for _, s := range b.Signals {
			signals = append(signals, s.Name)
		}
		return SignalBatchResult{Sent: len(b.Signals)}, nil
	}, activity.RegisterOptions{Name: ActivitySignalWorkflows})
	env.RegisterActivityWithOptions(func(context.Context, AuditInput) error { return nil }, activity.RegisterOptions{Name: ActivityAppendAudit})
	env.RegisterActivityWithOptions(func(context.Context, ExecuteInput) (ExecuteResult, error) { return ExecuteResult{}, nil },
		activity.RegisterOptions{Name: ActivityExecute})
	env.RegisterActivityWithOptions(func(context.Context, DeliverInput) (DeliverResult, error) { return DeliverResult{MessageID: "m1"}, nil },
		activity.RegisterOptions{Name: ActivityDeliverOutcome})
	env.ExecuteWorkflow(Task, TaskInput{
		TaskID: "t1", Pool: "p", Tenant: "acme", User: "u", Session: "s", Priority: pool.PriorityNormal, Units: 1, Kind: "sleep",
		Timeout: time.Minute, Lifecycle: TaskLifecycleSyncAcquire,
	})
	var st TaskStatus
	if err := env.GetWorkflowResult(&st); err != nil {
		t.Fatal(err)
	}
	if st.Status != StatusCompleted || st.Delivery == nil || st.Delivery.State != DeliveryDelivered {
		t.Errorf("status %+v, want completed and delivered", st)
	}
	if len(signals) != 1 || signals[0] != SignalRelease {
		t.Errorf("signals %v, want only the release", signals)
	}
}

// TestAnUncoordinatedTaskRunsAtOnceWithTheSameLifecycle: the bench's `bare`
// baseline never reaches a pool manager but audits, runs and delivers as a
// task does; without a timeout it is refused, as no pool supplies one.
func TestAnUncoordinatedTaskRunsAtOnceWithTheSameLifecycle(t *testing.T) {
	for _, timeout := range []time.Duration{time.Minute, 0} {
		var s testsuite.WorkflowTestSuite
		env := s.NewTestWorkflowEnvironment()
		var mu sync.Mutex
		var audited, executed, delivered int
		env.RegisterActivityWithOptions(func(context.Context, AcquireCall) (AcquireAnswer, error) {
			t.Error("an uncoordinated task sent an acquire")
			return AcquireAnswer{}, nil
		}, activity.RegisterOptions{Name: ActivityAcquireUnits})
		env.RegisterActivityWithOptions(func(_ context.Context, b SignalBatch) (SignalBatchResult, error) {
			t.Errorf("an uncoordinated task signalled %+v", b.Signals)
			return SignalBatchResult{}, nil
		}, activity.RegisterOptions{Name: ActivitySignalWorkflows})
		env.RegisterActivityWithOptions(func(_ context.Context, in AuditInput) error {
			mu.Lock()
			audited += len(in.Events)
			mu.Unlock()
			return nil
		}, activity.RegisterOptions{Name: ActivityAppendAudit})
		env.RegisterActivityWithOptions(func(context.Context, ExecuteInput) (ExecuteResult, error) {
			executed++
			return ExecuteResult{}, nil
		}, activity.RegisterOptions{Name: ActivityExecute})
		env.RegisterActivityWithOptions(func(context.Context, DeliverInput) (DeliverResult, error) {
			delivered++
			return DeliverResult{MessageID: "m1"}, nil
		}, activity.RegisterOptions{Name: ActivityDeliverOutcome})
		env.ExecuteWorkflow(UncoordinatedTask, TaskInput{
			TaskID: "t1", Pool: "p", Tenant: "acme", User: "u", Session: "s", Priority: pool.PriorityNormal, Units: 1, Kind: "sleep",
			Timeout: timeout, Lifecycle: CurrentTaskLifecycle,
		})
		var st TaskStatus
		if err := env.GetWorkflowResult(&st); err != nil {
			t.Fatal(err)
		}
		if timeout == 0 {
			if st.Status != StatusRejected || st.Reason != pool.ReasonInvalidRequest || st.Field != "timeout" || executed != 0 {
				t.Errorf("without a timeout: %+v, executed %d; want rejected invalid_request on timeout", st, executed)
			}
			continue
		}
		// submitted, started, completed, delivered
		if st.Status != StatusCompleted || executed != 1 || delivered != 1 || audited != 4 {
			t.Errorf("status %s, executed %d, delivered %d, audit events %d; want completed, 1, 1, 4", st.Status, executed, delivered, audited)
		}
	}
}
