package activities

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/parklot/parklot/domain/pool"
	"github.com/parklot/parklot/workflows"
)

// The test activity environment runs activities for this workflow id.
const testTaskWorkflowID = "default-test-workflow-id"

// signalClient records the signals sent through it; onSignal, when set, runs
// inside SignalWorkflow (the manager deciding while the acquire lands).
type signalClient struct {
	client.Client
	mu       sync.Mutex
	sent     []workflows.OutSignal
	err      error
	onSignal func(workflows.OutSignal)
}

func (c *signalClient) SignalWorkflow(_ context.Context, workflowID, _ string, name string, arg any) error {
	s := workflows.OutSignal{WorkflowID: workflowID, Name: name, Arg: arg}
	c.mu.Lock()
	c.sent = append(c.sent, s)
	err, on := c.err, c.onSignal
	c.mu.Unlock()
	if err == nil && on != nil {
		on(s)
	}
	return err
}

func (c *signalClient) signals() []workflows.OutSignal {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]workflows.OutSignal(nil), c.sent...)
}

func sendAcquire(t *testing.T, a *Activities, wait time.Duration) workflows.SendAcquireResult {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	done := make(chan struct{})
	var res workflows.SendAcquireResult
	var err error
	go func() {
		defer close(done)
		var v interface{ Get(any) error }
		v, err = env.ExecuteActivity(workflows.ActivitySendAcquire, workflows.SendAcquireInput{
			PoolWorkflowID: workflows.PoolWorkflowID("gpu"),
			Acquire:        workflows.AcquireRequest{Request: pool.Request{TaskID: "t1", Units: 1}},
			Wait:           wait,
		})
		if err == nil {
			err = v.Get(&res)
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("SendAcquire did not return")
	}
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func decisionBatch(ds ...workflows.Decision) workflows.SignalBatch {
	var b workflows.SignalBatch
	for _, d := range ds {
		b.Signals = append(b.Signals, workflows.OutSignal{WorkflowID: testTaskWorkflowID, Name: workflows.SignalDecision, Arg: d})
	}
	return b
}

// The manager's decision, sent while the task waits, is its result; only
// the acquire went out as a signal, and a second decision in the same batch
// still goes as one, after the first.
func TestADecisionForAWaitingTaskIsHandedOverInsteadOfSignalled(t *testing.T) {
	c := &signalClient{}
	a := &Activities{Client: c, Handover: NewHandover(0)}
	a.Handover.sawManager("pool/gpu")
	var batch workflows.SignalBatchResult
	c.onSignal = func(s workflows.OutSignal) {
		if s.Name != workflows.SignalAcquire {
			return
		}
		var err error
		batch, err = a.SignalWorkflows(context.Background(), decisionBatch(
			workflows.Decision{Kind: workflows.DecisionQueued, Position: 3},
			workflows.Decision{Kind: workflows.DecisionGranted, Timeout: time.Minute},
		))
		if err != nil {
			t.Error(err)
		}
	}
	res := sendAcquire(t, a, time.Hour)
	if res.Decision == nil || res.Decision.Kind != workflows.DecisionQueued || res.Decision.Position != 3 {
		t.Fatalf("result %+v; want the queued decision at position 3", res)
	}
	if batch.Sent != 2 || batch.HandedOver != 1 {
		t.Errorf("batch %+v; want 2 sent, 1 of them handed over", batch)
	}
	sent := c.signals()
	if len(sent) != 2 || sent[0].Name != workflows.SignalAcquire || sent[0].WorkflowID != "pool/gpu" ||
		sent[1].Name != workflows.SignalDecision || sent[1].Arg.(workflows.Decision).Kind != workflows.DecisionGranted {
		t.Errorf("signals %+v; want the acquire to pool/gpu, then the grant to the task", sent)
	}
	if n := a.Handover.Waiting(); n != 0 {
		t.Errorf("%d waiters left; want none", n)
	}
}

// With no decision in time the activity returns without one and leaves no
// waiter behind: the decision then goes as a signal.
func TestWithoutADecisionInTimeTheTaskWaitsForTheSignal(t *testing.T) {
	c := &signalClient{}
	a := &Activities{Client: c, Handover: NewHandover(0)}
	a.Handover.sawManager("pool/gpu")
	if res := sendAcquire(t, a, 10*time.Millisecond); res != (workflows.SendAcquireResult{}) {
		t.Fatalf("result %+v; want delivered with no decision", res)
	}
	if got, err := a.SignalWorkflows(context.Background(), decisionBatch(workflows.Decision{Kind: workflows.DecisionAdmitted})); err != nil || got.HandedOver != 0 || got.Sent != 1 {
		t.Errorf("a late decision: %+v, %v; want it signalled", got, err)
	}
}

// Past its bound the handover takes no waiter, so the activity returns at
// once even with a long wait; a nil handover never waits either.
func TestAFullHandoverSendsTheAcquireWithoutWaiting(t *testing.T) {
	h := NewHandover(1)
	h.sawManager("pool/gpu")
	if _, ok := h.wait("task/other", "pool/gpu"); !ok {
		t.Fatal("the first waiter was refused")
	}
	for _, a := range []*Activities{{Client: &signalClient{}, Handover: h}, {Client: &signalClient{}}} {
		if res := sendAcquire(t, a, time.Hour); res != (workflows.SendAcquireResult{}) {
			t.Errorf("result %+v; want delivered with no decision", res)
		}
	}
	if _, ok := h.wait("task/other", "pool/gpu"); ok {
		t.Error("a second waiter for the same workflow was registered")
	}
}

func TestAMissingManagerIsReportedAndAFailingOneFallsBack(t *testing.T) {
	c := &signalClient{err: serviceerror.NewNotFound("no such workflow")}
	a := &Activities{Client: c, Handover: NewHandover(0)}
	a.Handover.sawManager("pool/gpu")
	if res := sendAcquire(t, a, time.Hour); !res.NotFound || res.Decision != nil {
		t.Errorf("missing manager: %+v; want NotFound", res)
	}
	c = &signalClient{err: serviceerror.NewUnavailable("try later")}
	a = &Activities{Client: c, Handover: NewHandover(0)}
	a.Handover.sawManager("pool/gpu")
	if res := sendAcquire(t, a, time.Hour); !res.Failed {
		t.Errorf("unavailable server: %+v; want Failed, for the workflow to send a signal command", res)
	}
	if n := len(c.signals()); n != signalAttempts {
		t.Errorf("%d attempts; want %d", n, signalAttempts)
	}
	if n := a.Handover.Waiting(); n != 0 {
		t.Errorf("%d waiters left; want none", n)
	}
}

// Only decisions are handed over, only to the workflow that waits, and a
// decision that went through the data converter is read back.
func TestOnlyADecisionForTheWaitingWorkflowIsHandedOver(t *testing.T) {
	h := NewHandover(0)
	h.sawManager("pool/p")
	ch, ok := h.wait("task/a", "pool/p")
	if !ok {
		t.Fatal("waiter refused")
	}
	a := &Activities{Handover: h}
	for _, s := range []workflows.OutSignal{
		{WorkflowID: "task/b", Name: workflows.SignalDecision, Arg: workflows.Decision{Kind: workflows.DecisionAdmitted}},
		{WorkflowID: "task/a", Name: workflows.SignalCancelTask, Arg: workflows.Decision{Kind: workflows.DecisionAdmitted}},
		{WorkflowID: "task/a", Name: workflows.SignalDecision, Arg: map[string]any{"position": 2}},
	} {
		if a.handOver(s) {
			t.Errorf("%+v was handed over", s)
		}
	}
	if !a.handOver(workflows.OutSignal{WorkflowID: "task/a", Name: workflows.SignalDecision,
		Arg: map[string]any{"kind": "granted", "timeout": float64(time.Minute)}}) {
		t.Fatal("the decision for task/a was not handed over")
	}
	if d := <-ch; d.Kind != workflows.DecisionGranted || d.Timeout != time.Minute {
		t.Errorf("handed over %+v; want granted with a one-minute timeout", d)
	}
	if a.handOver(workflows.OutSignal{WorkflowID: "task/a", Name: workflows.SignalDecision, Arg: workflows.Decision{Kind: workflows.DecisionAdmitted}}) {
		t.Error("a second decision was handed over to the same waiter")
	}
}

// A task waits only for a manager that sends its decisions from this
// process, and stops waiting for one that has not for managerWindow.
func TestATaskWaitsOnlyForAManagerSeenInThisProcessLately(t *testing.T) {
	h := NewHandover(0)
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	h.now = func() time.Time { return now }
	if _, ok := h.wait("task/a", "pool/gpu"); ok {
		t.Fatal("a task waits for a manager never seen here")
	}
	h.sawManager("pool/gpu")
	now = now.Add(managerWindow)
	ch, ok := h.wait("task/a", "pool/gpu")
	if !ok {
		t.Fatal("a task does not wait for a manager seen here just now")
	}
	h.stop("task/a", ch)
	now = now.Add(time.Millisecond)
	if _, ok := h.wait("task/a", "pool/gpu"); ok {
		t.Fatal("a task waits for a manager last seen here longer ago than the window")
	}
	if _, ok := h.wait("task/a", "pool/cpu"); ok {
		t.Fatal("a task waits for another pool's manager")
	}
}

// SignalWorkflows run by a pool manager marks the manager as here; run by a
// task, it marks nothing.
func TestAManagersDecisionsMarkItAsRunningInThisProcess(t *testing.T) {
	for _, tc := range []struct {
		from string
		here bool
	}{{"pool/gpu", true}, {"task/t1", false}} {
		a := &Activities{Client: &signalClient{}, Handover: NewHandover(0)}
		var s testsuite.WorkflowTestSuite
		env := s.NewTestWorkflowEnvironment()
		env.RegisterActivity(a)
		env.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
			ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 10 * time.Second})
			return workflow.ExecuteLocalActivity(ctx, workflows.ActivitySignalWorkflows, decisionBatch(workflows.Decision{Kind: workflows.DecisionAdmitted})).Get(ctx, nil)
		}, workflow.RegisterOptions{Name: "sender"})
		env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: tc.from})
		env.ExecuteWorkflow("sender")
		if err := env.GetWorkflowError(); err != nil {
			t.Fatal(err)
		}
		if _, ok := a.Handover.wait("task/a", "pool/gpu"); ok != tc.here {
			t.Errorf("after decisions sent by %s, a task of pool/gpu waits: %v; want %v", tc.from, ok, tc.here)
		}
	}
}
