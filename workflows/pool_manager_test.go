package workflows

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/parklot/parklot/domain/pool"
)

// managerHarness runs a PoolManager in the test environment and records
// every decision it sends to tasks.
type managerHarness struct {
	env       *testsuite.TestWorkflowEnvironment
	mu        sync.Mutex
	decisions map[string][]Decision
}

func newManagerHarness(t *testing.T, cfg pool.Config) *managerHarness {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	h := &managerHarness{env: s.NewTestWorkflowEnvironment(), decisions: map[string][]Decision{}}
	// Decisions leave through the SignalWorkflows local activity; the
	// signal command is the fallback, so both are recorded.
	h.env.RegisterActivityWithOptions(func(_ context.Context, in SignalBatch) (SignalBatchResult, error) {
		for _, s := range in.Signals {
			h.record(s.WorkflowID, s.Arg.(Decision))
		}
		return SignalBatchResult{}, nil
	}, activity.RegisterOptions{Name: ActivitySignalWorkflows})
	h.env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, "", SignalDecision, mock.Anything).Return(
		func(_ string, workflowID, _ string, _ string, arg interface{}) error {
			h.record(workflowID, arg.(Decision))
			return nil
		})
	return h
}

func (h *managerHarness) record(workflowID string, d Decision) {
	id, _ := TaskIDFromWorkflowID(workflowID)
	h.mu.Lock()
	h.decisions[id] = append(h.decisions[id], d)
	h.mu.Unlock()
}

func (h *managerHarness) at(d time.Duration, fn func()) { h.env.RegisterDelayedCallback(fn, d) }

func (h *managerHarness) acquire(id, tenant string, units int64) func() {
	return func() {
		h.env.SignalWorkflow(SignalAcquire, AcquireRequest{Request: pool.Request{TaskID: id, Tenant: tenant, Units: units}})
	}
}

func (h *managerHarness) kinds(id string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, d := range h.decisions[id] {
		out = append(out, d.Kind)
	}
	return out
}

func TestManagerAdmitsWhatFitsQueuesTheRestAndGrantsOnRelease(t *testing.T) {
	h := newManagerHarness(t, pool.Config{})
	var state PoolState
	h.at(time.Second, h.acquire("a", "acme", 3))
	h.at(2*time.Second, h.acquire("b", "acme", 2))
	h.at(3*time.Second, func() {
		v, err := h.env.QueryWorkflow(QueryPoolState)
		if err != nil {
			t.Fatalf("query: %v", err)
		}
		_ = v.Get(&state)
	})
	h.at(4*time.Second, func() { h.env.SignalWorkflow(SignalRelease, ReleaseRequest{TaskID: "a"}) })
	h.at(time.Hour, func() { h.env.CancelWorkflow() })
	h.env.ExecuteWorkflow(PoolManager, PoolManagerInput{Pool: "p", Config: pool.Config{MaxUnits: 4, MaxQueueDepth: 5, DefaultTimeout: time.Minute}, LeaseCheckInterval: 10 * time.Minute})

	if got := h.kinds("a"); len(got) != 1 || got[0] != DecisionAdmitted {
		t.Fatalf("a got %v, want [admitted]", got)
	}
	if got := h.kinds("b"); len(got) != 2 || got[0] != DecisionQueued || got[1] != DecisionGranted {
		t.Fatalf("b got %v, want [queued granted]", got)
	}
	if state.ActiveUnits != 3 || len(state.Queue) != 1 {
		t.Fatalf("state after two acquisitions: %d active, %d queued", state.ActiveUnits, len(state.Queue))
	}
}

// TestTheWorkflowTaskThatContinuesAsNewSendsNoDecision: that workflow task
// fails whenever a signal arrives while it runs, and a retry would send its
// decisions again. They go to the next run's outbox instead.
func TestTheWorkflowTaskThatContinuesAsNewSendsNoDecision(t *testing.T) {
	h := newManagerHarness(t, pool.Config{})
	h.at(time.Second, h.acquire("a", "acme", 1))
	// The second signal reaches MaxSignalsPerRun: the run continues as new.
	h.at(2*time.Second, h.acquire("b", "acme", 1))
	h.env.ExecuteWorkflow(PoolManager, PoolManagerInput{Pool: "p", Config: pool.Config{MaxUnits: 4, MaxQueueDepth: 5, DefaultTimeout: time.Minute},
		LeaseCheckInterval: 10 * time.Minute, MaxSignalsPerRun: 2})

	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("run ended with %v, want continue-as-new", err)
	}
	if got := h.kinds("a"); len(got) != 1 || got[0] != DecisionAdmitted {
		t.Errorf("a was sent %v, want [admitted] before the last workflow task", got)
	}
	if got := h.kinds("b"); len(got) != 0 {
		t.Errorf("b was sent %v from the workflow task that continued as new, want nothing", got)
	}
	var next PoolManagerInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if len(next.Outbox) != 1 || next.Outbox[0].TaskID != "b" || next.Outbox[0].Decision.Kind != DecisionAdmitted {
		t.Errorf("next run's outbox %+v, want b admitted", next.Outbox)
	}
}

// TestARepeatedAcquireIsAnsweredWithTheTaskCurrentState: a task whose first
// workflow task failed after its decision was handed over in memory asks
// again, and must get an answer.
func TestARepeatedAcquireIsAnsweredWithTheTaskCurrentState(t *testing.T) {
	h := newManagerHarness(t, pool.Config{})
	h.at(time.Second, h.acquire("a", "acme", 3))
	h.at(2*time.Second, h.acquire("b", "acme", 2))
	h.at(3*time.Second, h.acquire("a", "acme", 3))
	h.at(4*time.Second, h.acquire("b", "acme", 2))
	h.at(time.Hour, func() { h.env.CancelWorkflow() })
	h.env.ExecuteWorkflow(PoolManager, PoolManagerInput{Pool: "p", Config: pool.Config{MaxUnits: 4, MaxQueueDepth: 5, DefaultTimeout: time.Minute}, LeaseCheckInterval: 10 * time.Minute})

	h.mu.Lock()
	defer h.mu.Unlock()
	a, b := h.decisions["a"], h.decisions["b"]
	if len(a) != 2 || a[0].Kind != DecisionAdmitted || a[1] != a[0] {
		t.Errorf("a got %+v; want admitted twice, the same grant", a)
	}
	if len(b) != 2 || b[0].Kind != DecisionQueued || b[1].Kind != DecisionQueued || b[1].Position != 1 {
		t.Errorf("b got %+v; want queued twice, at position 1", b)
	}
}
