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
