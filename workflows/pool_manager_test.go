package workflows

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"

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

// updateAcquire sends an UpdateAcquire and stores its answer in *got.
func (h *managerHarness) updateAcquire(t *testing.T, updateID, id string, units int64, got *Decision) func() {
	return func() {
		h.env.UpdateWorkflow(UpdateAcquire, updateID, &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("update %s rejected: %v", updateID, err) },
			OnAccept: func() {},
			OnComplete: func(v interface{}, err error) {
				if err != nil {
					t.Errorf("update %s: %v", updateID, err)
					return
				}
				*got = v.(Decision)
			},
		}, AcquireRequest{Request: pool.Request{TaskID: id, Tenant: "acme", Units: units}})
	}
}

func TestManagerAnswersAcquireUpdatesAndRepeatedAcquiresWithTheCurrentStatus(t *testing.T) {
	h := newManagerHarness(t, pool.Config{})
	var a, b, bAgain, aAgain Decision
	h.at(time.Second, h.updateAcquire(t, "u-a", "a", 3, &a))
	h.at(2*time.Second, h.updateAcquire(t, "u-b", "b", 2, &b))
	// b repeats its acquire as an update (a new run would not know the id)
	// and a as a signal, as a task does when its update failed without
	// saying whether it was applied.
	h.at(3*time.Second, h.updateAcquire(t, "u-b-again", "b", 2, &bAgain))
	h.at(4*time.Second, h.acquire("a", "acme", 3))
	h.at(5*time.Second, func() { h.env.SignalWorkflow(SignalRelease, ReleaseRequest{TaskID: "a"}) })
	h.at(6*time.Second, h.updateAcquire(t, "u-a-again", "a", 3, &aAgain))
	h.at(time.Hour, func() { h.env.CancelWorkflow() })
	h.env.ExecuteWorkflow(PoolManager, PoolManagerInput{Pool: "p", Config: pool.Config{MaxUnits: 4, MaxQueueDepth: 5, DefaultTimeout: time.Minute}, LeaseCheckInterval: 10 * time.Minute})

	if a.Kind != DecisionAdmitted || a.Timeout != time.Minute {
		t.Errorf("a's update answered %+v, want admitted with the pool's default timeout", a)
	}
	if b.Kind != DecisionQueued || b.Position != 1 {
		t.Errorf("b's update answered %+v, want queued at position 1", b)
	}
	if bAgain.Kind != DecisionQueued || bAgain.Position != 1 || bAgain.Reason != "" {
		t.Errorf("b's repeated update answered %+v, want its current status: queued at 1, no reason", bAgain)
	}
	// Answered by update, a and b get no signalled first decision; a's
	// repeated signal is answered with its status; b's grant is signalled.
	if got := h.kinds("a"); len(got) != 1 || got[0] != DecisionAdmitted {
		t.Errorf("a was signalled %v, want [admitted] for its repeated acquire", got)
	}
	if got := h.kinds("b"); len(got) != 1 || got[0] != DecisionGranted {
		t.Errorf("b was signalled %v, want [granted]", got)
	}
	// After its release a is unknown: a new acquire, and with b's 2 units
	// held its 3 do not fit.
	if aAgain.Kind != DecisionQueued || aAgain.Position != 1 {
		t.Errorf("a's acquire after its release answered %+v, want queued at 1", aAgain)
	}
}
