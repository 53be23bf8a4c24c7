package workflows

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"

	"github.com/parklot/parklot/domain/pool"
)

// TestAnUncoordinatedTaskRunsAtOnceWithTheSameLifecycle: the bench's `bare`
// baseline never reaches a pool manager but audits, runs and delivers as a
// task does; without a timeout it is refused, as no pool supplies one.
func TestAnUncoordinatedTaskRunsAtOnceWithTheSameLifecycle(t *testing.T) {
	for _, timeout := range []time.Duration{time.Minute, 0} {
		var s testsuite.WorkflowTestSuite
		env := s.NewTestWorkflowEnvironment()
		var mu sync.Mutex
		var audited, executed, delivered int
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
		env.RegisterActivityWithOptions(func(_ context.Context, in ExecuteInput) (ExecuteResult, error) {
			executed++
			if in.ReleaseOnCompletion {
				t.Error("an uncoordinated task asked Execute to release units it never acquired")
			}
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

// handoverEnv runs a task whose SendAcquire local activity answers with
// send; Execute, AppendAudit, DeliverOutcome and the release succeed.
type handoverEnv struct {
	env      *testsuite.TestWorkflowEnvironment
	mu       sync.Mutex
	executed int
	released int
	// acquireCommands counts acquires sent as signal commands.
	acquireCommands int
	// result is what Execute returns; executeIn what it was given.
	result    ExecuteResult
	executeIn ExecuteInput
}

func newHandoverEnv(send func() (SendAcquireResult, error)) *handoverEnv {
	var s testsuite.WorkflowTestSuite
	h := &handoverEnv{env: s.NewTestWorkflowEnvironment()}
	h.env.RegisterActivityWithOptions(func(_ context.Context, in SendAcquireInput) (SendAcquireResult, error) {
		return send()
	}, activity.RegisterOptions{Name: ActivitySendAcquire})
	h.env.RegisterActivityWithOptions(func(_ context.Context, b SignalBatch) (SignalBatchResult, error) {
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, s := range b.Signals {
			if s.Name == SignalRelease {
				h.released++
			}
		}
		return SignalBatchResult{Sent: len(b.Signals)}, nil
	}, activity.RegisterOptions{Name: ActivitySignalWorkflows})
	h.env.RegisterActivityWithOptions(func(context.Context, AuditInput) error { return nil }, activity.RegisterOptions{Name: ActivityAppendAudit})
	h.env.RegisterActivityWithOptions(func(_ context.Context, in ExecuteInput) (ExecuteResult, error) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.executed++
		h.executeIn = in
		return h.result, nil
	}, activity.RegisterOptions{Name: ActivityExecute})
	h.env.RegisterActivityWithOptions(func(context.Context, DeliverInput) (DeliverResult, error) {
		return DeliverResult{MessageID: "m1"}, nil
	}, activity.RegisterOptions{Name: ActivityDeliverOutcome})
	h.env.OnSignalExternalWorkflow(mock.Anything, PoolWorkflowID("p"), "", SignalAcquire, mock.Anything).Return(
		func(string, string, string, string, interface{}) error {
			h.mu.Lock()
			h.acquireCommands++
			h.mu.Unlock()
			return nil
		})
	return h
}

func (h *handoverEnv) run(t *testing.T) TaskStatus {
	t.Helper()
	h.env.ExecuteWorkflow(Task, TaskInput{
		TaskID: "t1", Pool: "p", Tenant: "acme", User: "u", Session: "s", Priority: pool.PriorityNormal, Units: 1, Kind: "sleep",
		Timeout: time.Minute, Lifecycle: TaskLifecycleHandover,
	})
	var st TaskStatus
	if err := h.env.GetWorkflowResult(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// A decision SendAcquire brings back is acted on at once; a queued task
// then waits for its grant as a signal.
func TestATaskActsOnTheDecisionItsAcquireBroughtBack(t *testing.T) {
	var grantedAt time.Time
	h := newHandoverEnv(func() (SendAcquireResult, error) {
		return SendAcquireResult{Decision: &Decision{Kind: DecisionAdmitted, Timeout: time.Minute, GrantedAt: grantedAt}}, nil
	})
	// The manager granted after the task's first workflow task started,
	// whose time is the workflow's clock there.
	grantedAt = h.env.Now().Add(40 * time.Millisecond)
	st := h.run(t)
	if st.Status != StatusCompleted || h.executed != 1 || h.released != 1 || h.acquireCommands != 0 {
		t.Errorf("admitted: %s, executed %d, released %d, acquire commands %d; want completed, 1, 1, 0", st.Status, h.executed, h.released, h.acquireCommands)
	}
	if !st.StartedAt.Equal(grantedAt) {
		t.Errorf("started at %s; want the grant's time %s, not the earlier start of the workflow task", st.StartedAt, grantedAt)
	}

	h = newHandoverEnv(func() (SendAcquireResult, error) {
		return SendAcquireResult{Decision: &Decision{Kind: DecisionQueued, Position: 4}}, nil
	})
	var queued TaskStatus
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow(QueryTaskStatus)
		if err == nil {
			err = v.Get(&queued)
		}
		if err != nil {
			t.Error(err)
		}
		h.env.SignalWorkflow(SignalDecision, Decision{Kind: DecisionGranted, Timeout: time.Minute})
	}, time.Minute)
	if st := h.run(t); st.Status != StatusCompleted || h.executed != 1 {
		t.Errorf("queued, then granted: %s, executed %d; want completed, 1", st.Status, h.executed)
	}
	if queued.Status != StatusQueued || queued.Position != 4 {
		t.Errorf("while queued: %s at %d; want queued at 4", queued.Status, queued.Position)
	}

	h = newHandoverEnv(func() (SendAcquireResult, error) {
		return SendAcquireResult{Decision: &Decision{Kind: DecisionRejected, Reason: pool.ReasonQueueFull, Message: "full"}}, nil
	})
	if st := h.run(t); st.Status != StatusRejected || st.Reason != pool.ReasonQueueFull || h.executed != 0 || h.released != 0 {
		t.Errorf("rejected: %+v, executed %d, released %d; want rejected queue_full, nothing run or released", st, h.executed, h.released)
	}
}

// Without a manager the task is rejected as before; when SendAcquire could
// not deliver, or failed, the acquire goes as a signal command and the
// decision as a signal.
func TestATaskWhoseAcquireWasNotDeliveredFallsBackToASignalCommand(t *testing.T) {
	h := newHandoverEnv(func() (SendAcquireResult, error) { return SendAcquireResult{NotFound: true}, nil })
	if st := h.run(t); st.Status != StatusRejected || st.Reason != pool.ReasonUnknownPool || h.acquireCommands != 0 {
		t.Errorf("no manager: %+v, acquire commands %d; want rejected unknown_pool, none", st, h.acquireCommands)
	}
	for name, send := range map[string]func() (SendAcquireResult, error){
		"failed":         func() (SendAcquireResult, error) { return SendAcquireResult{Failed: true}, nil },
		"activity error": func() (SendAcquireResult, error) { return SendAcquireResult{}, errors.New("worker shutting down") },
	} {
		h := newHandoverEnv(send)
		h.env.RegisterDelayedCallback(func() {
			h.env.SignalWorkflow(SignalDecision, Decision{Kind: DecisionAdmitted, Timeout: time.Minute})
		}, time.Second)
		if st := h.run(t); st.Status != StatusCompleted || h.acquireCommands != 1 || h.executed != 1 {
			t.Errorf("%s: %s, acquire commands %d, executed %d; want completed, 1, 1", name, st.Status, h.acquireCommands, h.executed)
		}
	}
}

// A coordinated task asks Execute to release its units; when Execute did,
// the task sends no release of its own and reports Execute's release time.
func TestATaskWhoseExecuteReleasedSendsNoReleaseOfItsOwn(t *testing.T) {
	admitted := func() (SendAcquireResult, error) {
		return SendAcquireResult{Decision: &Decision{Kind: DecisionAdmitted, Timeout: time.Minute}}, nil
	}
	h := newHandoverEnv(admitted)
	releasedAt := h.env.Now().Add(10 * time.Millisecond)
	h.result = ExecuteResult{Output: []byte(`{"ok":true}`), ReleasedAt: releasedAt}
	st := h.run(t)
	if st.Status != StatusCompleted || !h.executeIn.ReleaseOnCompletion || h.released != 0 || !st.ReleasedAt.Equal(releasedAt) {
		t.Errorf("released by Execute: %s, asked %v, releases sent %d, released at %s; want completed, true, 0, %s",
			st.Status, h.executeIn.ReleaseOnCompletion, h.released, st.ReleasedAt, releasedAt)
	}

	h = newHandoverEnv(admitted)
	st = h.run(t)
	if h.released != 1 || st.ReleasedAt.IsZero() {
		t.Errorf("not released by Execute: releases sent %d, released at %s; want 1 release and its time", h.released, st.ReleasedAt)
	}
}
