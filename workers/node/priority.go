package node

import (
	"context"
	"errors"
	"log/slog"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/parklot/parklot/config"
	"github.com/parklot/parklot/workflows"
)

// CoordinatorPriority is the task priority of pool managers and lots, above
// the default (3 of 5) that tasks run at. They share the task queue with the
// tasks they coordinate; when that queue is backed up, their workflow tasks
// go first. Without it, the first workflow task of a manager's new run after
// continue-as-new waited behind the tasks' for 0.5–0.6 s in the bench, with
// the pool granting nothing meanwhile. Continue-as-new keeps the priority.
// Servers without task priorities ignore it.
var CoordinatorPriority = temporal.Priority{PriorityKey: 1}

// coordinatorIDs are the workflow ids of the config's pool managers and lots.
func coordinatorIDs(cfg *config.Config) []string {
	var ids []string
	for _, name := range cfg.PoolNames() {
		ids = append(ids, workflows.PoolWorkflowID(name))
	}
	for _, name := range cfg.LotNames() {
		ids = append(ids, workflows.LotWorkflowID(name))
	}
	return ids
}

// RaiseCoordinatorPriority gives running pool managers and lots that started
// with no priority (under an older worker) CoordinatorPriority; one an
// operator set is kept. It is best effort: a server that cannot change it,
// or a key without the permission, leaves them at the default, which is how
// they ran before, and is reported once.
func RaiseCoordinatorPriority(ctx context.Context, c client.Client, namespace string, cfg *config.Config, logger *slog.Logger) {
	for _, id := range coordinatorIDs(cfg) {
		desc, err := c.DescribeWorkflowExecution(ctx, id, "")
		if err != nil {
			continue
		}
		if desc.GetWorkflowExecutionInfo().GetPriority().GetPriorityKey() != 0 {
			continue
		}
		_, err = c.WorkflowService().UpdateWorkflowExecutionOptions(ctx, &workflowservice.UpdateWorkflowExecutionOptionsRequest{
			Namespace:         namespace,
			WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: id},
			WorkflowExecutionOptions: &workflowpb.WorkflowExecutionOptions{
				Priority: &commonpb.Priority{PriorityKey: int32(CoordinatorPriority.PriorityKey)},
			},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"priority"}},
		})
		var (
			unimplemented *serviceerror.Unimplemented
			invalid       *serviceerror.InvalidArgument
			denied        *serviceerror.PermissionDenied
		)
		switch {
		case err == nil:
			logger.Info("raised the task priority of a running coordinator workflow", "workflow", id, "priorityKey", CoordinatorPriority.PriorityKey)
		case errors.As(err, &unimplemented), errors.As(err, &invalid), errors.As(err, &denied):
			logger.Warn("cannot raise the task priority of running coordinator workflows; they keep the default until they are started again", "workflow", id, "error", err)
			return
		default:
			logger.Warn("could not raise the task priority of a coordinator workflow; it keeps the default", "workflow", id, "error", err)
		}
	}
}
