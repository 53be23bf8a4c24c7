package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/parklot/parklot/workflows"
)

// DefaultHandoverWaiters bounds how many tasks wait in SendAcquire at once
// in one worker process. Each waiter keeps its task's workflow task open,
// and so holds one of the worker's workflow task slots (1,000 by default);
// past the bound a task sends its acquire without waiting, as a lean task
// does, so the managers' own workflow tasks always find a slot.
const DefaultHandoverWaiters = 128

// managerWindow is how long after a pool manager last sent decisions from
// this process its tasks here wait for a handover. A manager's local
// activities run where its workflow task runs, which stays on one worker
// while that worker keeps it cached; when it moves, tasks here stop waiting
// within this window.
const managerWindow = 10 * time.Second

// Handover passes a pool manager's decision to a task waiting in
// SendAcquire in the same worker process, in memory instead of as a
// signal. A task waits only if its manager sent decisions from this process
// within managerWindow; otherwise its decision is certain to come as a
// signal, and waiting would only hold its workflow task open. It is safe for
// concurrent use; the zero value is not usable, use NewHandover. A nil
// *Handover hands nothing over.
//
// The decision is durable once the task's workflow task completes: its
// local activity result is recorded there. If that workflow task fails
// instead, the task sends its acquire again and the manager answers the
// duplicate with the task's current state (workflows, version
// "resend-on-duplicate"), so nothing is lost.
type Handover struct {
	mu      sync.Mutex
	waiters map[string]chan workflows.Decision
	max     int
	// managers holds when each pool manager last sent decisions from
	// this process, by workflow id.
	managers map[string]time.Time
	now      func() time.Time
}

// NewHandover returns a Handover for at most maxWaiters waiting tasks; 0
// means DefaultHandoverWaiters.
func NewHandover(maxWaiters int) *Handover {
	if maxWaiters <= 0 {
		maxWaiters = DefaultHandoverWaiters
	}
	return &Handover{waiters: map[string]chan workflows.Decision{}, max: maxWaiters,
		managers: map[string]time.Time{}, now: time.Now}
}

// sawManager notes that a pool manager sends its decisions from this
// process.
func (h *Handover) sawManager(poolWorkflowID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.managers[poolWorkflowID] = h.now()
}

// wait registers a waiter for the task workflow; ok is false when the pool's
// manager was not seen here lately, the handover is full or the workflow
// already has a waiter.
func (h *Handover) wait(workflowID, poolWorkflowID string) (ch chan workflows.Decision, ok bool) {
	if h == nil {
		return nil, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	seen, here := h.managers[poolWorkflowID]
	if !here || h.now().Sub(seen) > managerWindow {
		delete(h.managers, poolWorkflowID)
		return nil, false
	}
	if _, taken := h.waiters[workflowID]; taken || len(h.waiters) >= h.max {
		return nil, false
	}
	ch = make(chan workflows.Decision, 1)
	h.waiters[workflowID] = ch
	return ch, true
}

// stop removes the waiter registered by wait, if it is still there.
func (h *Handover) stop(workflowID string, ch chan workflows.Decision) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.waiters[workflowID] == ch {
		delete(h.waiters, workflowID)
	}
}

// offer hands d to the task workflow's waiter and reports whether one took
// it. A waiter takes one decision; the next goes as a signal.
func (h *Handover) offer(workflowID string, d workflows.Decision) bool {
	if h == nil {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	ch, ok := h.waiters[workflowID]
	if !ok {
		return false
	}
	delete(h.waiters, workflowID)
	ch <- d
	return true
}

// Waiting reports how many tasks wait for a decision now.
func (h *Handover) Waiting() int {
	if h == nil {
		return 0
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.waiters)
}

// asDecision reads a SignalWorkflows argument as a decision. Local
// activities get their arguments as the workflow passed them; a converted
// value is read back through JSON.
func asDecision(arg any) (workflows.Decision, error) {
	switch d := arg.(type) {
	case workflows.Decision:
		return d, nil
	case *workflows.Decision:
		if d != nil {
			return *d, nil
		}
	}
	var d workflows.Decision
	b, err := json.Marshal(arg)
	if err != nil {
		return d, err
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return d, err
	}
	if d.Kind == "" {
		return d, fmt.Errorf("not a decision: %s", b)
	}
	return d, nil
}

// SendAcquire sends a task's acquire to its pool manager and, when
// in.Wait is positive, the manager sends its decisions from this process
// and a waiter slot is free, waits up to in.Wait for the manager's first
// decision to be handed over in memory. It runs as a
// local activity in the task's first workflow task; a decision that does
// not come in time, or comes from another process, arrives as a signal.
// A missing manager is reported, not retried; other failures are retried
// briefly and then reported as Failed.
func (a *Activities) SendAcquire(ctx context.Context, in workflows.SendAcquireInput) (workflows.SendAcquireResult, error) {
	taskWorkflowID := activity.GetInfo(ctx).WorkflowExecution.ID
	var ch chan workflows.Decision
	if in.Wait > 0 {
		// Registered before the signal is sent, so a decision that
		// leaves at once is not missed.
		if c, ok := a.Handover.wait(taskWorkflowID, in.PoolWorkflowID); ok {
			ch = c
			defer a.Handover.stop(taskWorkflowID, c)
		}
	}
	notFound, err := a.signal(ctx, workflows.OutSignal{WorkflowID: in.PoolWorkflowID, Name: workflows.SignalAcquire, Arg: in.Acquire})
	switch {
	case notFound:
		return workflows.SendAcquireResult{NotFound: true}, nil
	case err != nil && ctx.Err() != nil:
		return workflows.SendAcquireResult{}, ctx.Err()
	case err != nil:
		return workflows.SendAcquireResult{Failed: true}, nil
	case ch == nil:
		return workflows.SendAcquireResult{}, nil
	}
	t := time.NewTimer(in.Wait)
	defer t.Stop()
	select {
	case d := <-ch:
		return workflows.SendAcquireResult{Decision: &d}, nil
	case <-t.C:
	case <-ctx.Done():
	}
	// The waiter is removed by the deferred stop; a decision offered
	// between the timeout and that removal is still in the channel.
	a.Handover.stop(taskWorkflowID, ch)
	select {
	case d := <-ch:
		return workflows.SendAcquireResult{Decision: &d}, nil
	default:
		return workflows.SendAcquireResult{}, nil
	}
}
