package activities

import (
	"context"
	"errors"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	updatepb "go.temporal.io/api/update/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"github.com/parklot/parklot/workflows"
)

// acquireRetryFrom is the first pause between two sends of one acquire
// update; it grows fourfold each time, within the local activity's timeout.
const acquireRetryFrom = 20 * time.Millisecond

// acquireRefusals bounds how often an acquire the manager refused without
// applying it (continuing as new, or a manager too old to know the update)
// is sent again before the task falls back to a signal.
const acquireRefusals = 3

// AcquireUnits sends a task's acquire to its pool manager as the
// UpdateAcquire update and waits for the manager's answer. It runs as a local
// activity in the task's workflow task.
//
// It calls the service directly rather than through client.UpdateWorkflow,
// whose retries would hold a refused update back for seconds: when the
// manager already has as many updates in flight as the server allows
// (history.maxInFlightUpdates, 10 by default), the answer is Busy at once
// and the task sends a signal instead. Any other failure (the update was
// aborted because the manager's workflow task failed or it continued as
// new, the service was unavailable) sends the same update again: the server
// answers a repeat within a run from its first outcome, and a manager that
// applied it in an earlier run answers with the task's current status.
func (a *Activities) AcquireUnits(ctx context.Context, in workflows.AcquireCall) (workflows.AcquireAnswer, error) {
	dc := converter.GetDefaultDataConverter()
	args, err := dc.ToPayloads(in.Request)
	if err != nil {
		return workflows.AcquireAnswer{}, err
	}
	wait := &updatepb.WaitPolicy{LifecycleStage: enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED}
	req := &workflowservice.UpdateWorkflowExecutionRequest{
		Namespace:         in.Namespace,
		WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: in.PoolWorkflowID},
		WaitPolicy:        wait,
		Request: &updatepb.Request{
			Meta:  &updatepb.Meta{UpdateId: in.UpdateID, Identity: in.Requester},
			Input: &updatepb.Input{Name: workflows.UpdateAcquire, Args: args},
		},
	}
	svc := a.Client.WorkflowService()
	pause, refusals := acquireRetryFrom, 0
	for {
		outcome, err := updateOutcome(ctx, svc, req, wait)
		var (
			nf   *serviceerror.NotFound
			busy *serviceerror.ResourceExhausted
		)
		switch {
		case errors.As(err, &nf):
			return workflows.AcquireAnswer{NotFound: true}, nil
		case errors.As(err, &busy):
			return workflows.AcquireAnswer{Busy: true, Reason: busy.Message}, nil
		case err != nil:
			if ctx.Err() != nil {
				return workflows.AcquireAnswer{}, err
			}
		case outcome.GetFailure() != nil:
			if refusals++; refusals >= acquireRefusals {
				return workflows.AcquireAnswer{Busy: true, Reason: outcome.GetFailure().GetMessage()}, nil
			}
		default:
			var d workflows.Decision
			if err := dc.FromPayloads(outcome.GetSuccess(), &d); err != nil {
				return workflows.AcquireAnswer{}, err
			}
			return workflows.AcquireAnswer{Answered: true, Decision: d}, nil
		}
		select {
		case <-ctx.Done():
			return workflows.AcquireAnswer{}, ctx.Err()
		case <-time.After(pause):
		}
		pause = min(4*pause, time.Second)
	}
}

// updateOutcome sends an update and waits for its outcome.
func updateOutcome(ctx context.Context, svc workflowservice.WorkflowServiceClient, req *workflowservice.UpdateWorkflowExecutionRequest, wait *updatepb.WaitPolicy) (*updatepb.Outcome, error) {
	resp, err := svc.UpdateWorkflowExecution(ctx, req)
	if err != nil {
		return nil, err
	}
	outcome := resp.GetOutcome()
	for outcome == nil {
		// The server answered before the update completed.
		p, err := svc.PollWorkflowExecutionUpdate(ctx, &workflowservice.PollWorkflowExecutionUpdateRequest{
			Namespace: req.GetNamespace(), UpdateRef: resp.GetUpdateRef(), WaitPolicy: wait, Identity: req.GetRequest().GetMeta().GetIdentity(),
		})
		if err != nil {
			return nil, err
		}
		outcome = p.GetOutcome()
	}
	return outcome, nil
}
