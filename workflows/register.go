package workflows

import (
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Register adds every Parklot workflow to a worker under its function name.
func Register(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(PoolManager, workflow.RegisterOptions{Name: "PoolManager"})
	r.RegisterWorkflowWithOptions(Task, workflow.RegisterOptions{Name: "Task"})
	r.RegisterWorkflowWithOptions(Mailbox, workflow.RegisterOptions{Name: "Mailbox"})
	registerParking(r)
}
