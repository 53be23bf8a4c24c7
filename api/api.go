package api

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/parklot/parklot/domain/pool"
	"github.com/parklot/parklot/workflows"
)

// ErrNotFound is returned when no task or pool has the given id.
var ErrNotFound = errors.New("not found")

// Client speaks Parklot's protocol over a Temporal client.
type Client struct {
	Temporal  client.Client
	TaskQueue string
	// TaskWorkflow is the workflow type tasks start as; nil means
	// workflows.Task. The bench's `bare` baseline submits
	// workflows.UncoordinatedTask through it, which only its own worker runs.
	TaskWorkflow any
}

// New returns a client for the given task queue ("" means the default).
func New(c client.Client, taskQueue string) *Client {
	if taskQueue == "" {
		taskQueue = workflows.DefaultTaskQueue
	}
	return &Client{Temporal: c, TaskQueue: taskQueue}
}

// Submit starts a task and returns the pool's decision: running, queued with
// its position, rejected with a reason, or expired. Submitting an id again
// never creates a second task: it returns the first task's current status.
func (c *Client) Submit(ctx context.Context, in workflows.TaskInput) (workflows.TaskStatus, error) {
	st, started, err := c.start(ctx, in, enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING)
	if err == nil && !started {
		// The id belongs to a task that has already finished.
		return c.Status(ctx, in.TaskID)
	}
	return st, err
}

// Create is Submit that also tells whether this call created the task. The
// Temporal server decides it atomically: the task workflow starts with the
// conflict policy FAIL, so of any number of concurrent submissions of one
// id exactly one creates it; the others read the existing task (and wait
// for its decision when it has none yet, as its creator does).
func (c *Client) Create(ctx context.Context, in workflows.TaskInput) (workflows.TaskStatus, bool, error) {
	st, created, err := c.start(ctx, in, enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL)
	if err != nil || created {
		return st, created, err
	}
	st, err = c.Status(ctx, in.TaskID)
	if err == nil && st.Status == workflows.StatusSubmitted {
		st, err = c.Submit(ctx, in)
	}
	return st, false, err
}

func (c *Client) taskWorkflow() any {
	if c.TaskWorkflow != nil {
		return c.TaskWorkflow
	}
	return workflows.Task
}

// start is the Update-with-Start of a task; started is false when the id
// was already taken (a closed task, or a running one under policy FAIL).
func (c *Client) start(ctx context.Context, in workflows.TaskInput, conflict enumspb.WorkflowIdConflictPolicy) (workflows.TaskStatus, bool, error) {
	if in.TaskID == "" {
		return workflows.TaskStatus{}, false, &pool.Error{Reason: pool.ReasonInvalidRequest, Field: "taskId", Message: "task id is required: pass --id"}
	}
	in.Lifecycle = workflows.CurrentTaskLifecycle
	op := c.Temporal.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID:                       workflows.TaskWorkflowID(in.TaskID),
		TaskQueue:                c.TaskQueue,
		WorkflowIDConflictPolicy: conflict,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes:    workflows.TaskSearchAttributes(in),
	}, c.taskWorkflow(), in)
	h, err := c.Temporal.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: op,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateName:   workflows.UpdateSubmit,
			WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	var taken *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &taken) {
		return workflows.TaskStatus{}, false, nil
	}
	if err != nil {
		return workflows.TaskStatus{}, false, fmt.Errorf("submit task %q: %w", in.TaskID, err)
	}
	var st workflows.TaskStatus
	if err := h.Get(ctx, &st); err != nil {
		return workflows.TaskStatus{}, true, fmt.Errorf("submit task %q: %w", in.TaskID, err)
	}
	return st, true, nil
}

// Status reports a task, also after its workflow has closed. A closed task
// is read from its workflow's result, so no worker is involved; a running
// one is queried. For a queued task the position is the pool's current one.
func (c *Client) Status(ctx context.Context, taskID string) (workflows.TaskStatus, error) {
	var st workflows.TaskStatus
	wid := workflows.TaskWorkflowID(taskID)
	desc, err := c.Temporal.DescribeWorkflowExecution(ctx, wid, "")
	if err != nil {
		return st, notFound(err, "task", taskID)
	}
	info := desc.GetWorkflowExecutionInfo()
	switch info.GetStatus() {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		if err := c.Temporal.GetWorkflow(ctx, wid, "").Get(ctx, &st); err != nil {
			return st, fmt.Errorf("read the outcome of task %q: %w", taskID, err)
		}
		return st, nil
	default:
		// Terminated, timed out, failed or cancelled from outside Parklot:
		// the task's own status is its last queryable state, and what
		// happened to the workflow is the reason.
		st, _ = c.query(ctx, taskID)
		st.TaskID = taskID
		if !workflows.IsTerminal(st.Status) {
			st.Status = workflows.StatusFailed
		}
		st.Reason = pool.Reason(strings.ToLower(strings.TrimPrefix(info.GetStatus().String(), "WORKFLOW_EXECUTION_STATUS_")))
		st.Message = "the task's workflow was " + string(st.Reason) + " outside Parklot"
		if info.GetCloseTime() != nil {
			st.CompletedAt = info.GetCloseTime().AsTime()
		}
		return st, nil
	}
	st, err = c.query(ctx, taskID)
	if err != nil {
		return st, err
	}
	if st.Status == workflows.StatusQueued {
		if pos, err := c.position(ctx, st.Pool, taskID); err == nil && pos > 0 {
			st.Position = pos
		}
	}
	return st, nil
}

func (c *Client) query(ctx context.Context, taskID string) (workflows.TaskStatus, error) {
	var st workflows.TaskStatus
	v, err := c.Temporal.QueryWorkflow(ctx, workflows.TaskWorkflowID(taskID), "", workflows.QueryTaskStatus)
	if err != nil {
		return st, notFound(err, "task", taskID)
	}
	if err := v.Get(&st); err != nil {
		return st, fmt.Errorf("decode status of task %q: %w", taskID, err)
	}
	return st, nil
}

func (c *Client) position(ctx context.Context, poolName, taskID string) (int, error) {
	v, err := c.Temporal.QueryWorkflow(ctx, workflows.PoolWorkflowID(poolName), "", workflows.QueryPosition, taskID)
	if err != nil {
		return 0, err
	}
	var pos int
	return pos, v.Get(&pos)
}

// Cancel asks a task to stop: a queued task is dropped, a running one fails
// with reason cancelled. Cancelling a finished task is an error that says so.
func (c *Client) Cancel(ctx context.Context, taskID string) (workflows.TaskStatus, error) {
	st, err := c.Status(ctx, taskID)
	if err != nil {
		return st, err
	}
	if workflows.IsTerminal(st.Status) {
		return st, fmt.Errorf("task %q already finished with status %s: nothing to cancel", taskID, st.Status)
	}
	if err := c.Temporal.SignalWorkflow(ctx, workflows.TaskWorkflowID(taskID), "", workflows.SignalCancelTask, nil); err != nil {
		return st, notFound(err, "task", taskID)
	}
	return st, nil
}

// Wait follows a task until it reaches a terminal status, calling progress
// whenever the status or position changes.
func (c *Client) Wait(ctx context.Context, taskID string, every time.Duration, progress func(workflows.TaskStatus)) (workflows.TaskStatus, error) {
	var last workflows.TaskStatus
	for {
		st, err := c.Status(ctx, taskID)
		if errors.Is(err, ErrNotFound) || (err != nil && ctx.Err() != nil) {
			return st, err
		}
		if err != nil {
			// A query can time out for a few seconds after the workers
			// restarted (Temporal still routes it to the old worker's
			// sticky queue); keep following.
			select {
			case <-ctx.Done():
				return st, ctx.Err()
			case <-time.After(every):
			}
			continue
		}
		if progress != nil && (st.Status != last.Status || st.Position != last.Position || st.Status == workflows.StatusRunning) {
			progress(st)
		}
		last = st
		if workflows.IsTerminal(st.Status) {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(every):
		}
	}
}

// TaskFilter narrows ListTasks; empty fields match everything.
type TaskFilter struct {
	Pool, Tenant, Status string
	Limit                int
}

// TaskSummary is one row of ListTasks, from Temporal visibility.
type TaskSummary struct {
	TaskID    string    `json:"taskId"`
	Pool      string    `json:"pool"`
	Tenant    string    `json:"tenant"`
	Status    string    `json:"status"`
	StartedAt time.Time `json:"startedAt"`
	ClosedAt  time.Time `json:"closedAt,omitzero"`
}

// ListTasks lists tasks newest first through Temporal visibility, which is
// eventually consistent: a task submitted a moment ago may be missing.
func (c *Client) ListTasks(ctx context.Context, f TaskFilter) ([]TaskSummary, error) {
	q := []string{"WorkflowType = 'Task'"}
	for _, kv := range [][2]string{{workflows.SearchAttrPool, f.Pool}, {workflows.SearchAttrTenant, f.Tenant}, {workflows.SearchAttrStatus, f.Status}} {
		if kv[1] != "" {
			q = append(q, fmt.Sprintf("%s = '%s'", kv[0], strings.ReplaceAll(kv[1], "'", "\\'")))
		}
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	var out []TaskSummary
	var token []byte
	for len(out) < limit {
		resp, err := c.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: strings.Join(q, " AND "), NextPageToken: token, PageSize: int32(min(limit-len(out), 1000)),
		})
		if err != nil {
			return nil, fmt.Errorf("list tasks: %w", err)
		}
		for _, e := range resp.Executions {
			id, ok := workflows.TaskIDFromWorkflowID(e.GetExecution().GetWorkflowId())
			if !ok {
				continue
			}
			s := TaskSummary{TaskID: id, StartedAt: e.GetStartTime().AsTime()}
			if e.GetCloseTime() != nil {
				s.ClosedAt = e.GetCloseTime().AsTime()
			}
			for name, p := range e.GetSearchAttributes().GetIndexedFields() {
				var v string
				_ = converter.GetDefaultDataConverter().FromPayload(p, &v)
				switch name {
				case workflows.SearchAttrPool:
					s.Pool = v
				case workflows.SearchAttrTenant:
					s.Tenant = v
				case workflows.SearchAttrStatus:
					s.Status = v
				}
			}
			out = append(out, s)
		}
		token = resp.NextPageToken
		if len(token) == 0 {
			break
		}
	}
	return out, nil
}

// Pool reads one pool's live state from its manager.
func (c *Client) Pool(ctx context.Context, name string) (workflows.PoolState, error) {
	var st workflows.PoolState
	v, err := c.Temporal.QueryWorkflow(ctx, workflows.PoolWorkflowID(name), "", workflows.QueryPoolState)
	if err != nil {
		return st, notFound(err, "pool", name)
	}
	return st, v.Get(&st)
}

// PoolNames lists the pools whose manager is running, sorted.
func (c *Client) PoolNames(ctx context.Context) ([]string, error) {
	var names []string
	var token []byte
	for {
		resp, err := c.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: "WorkflowType = 'PoolManager' AND ExecutionStatus = 'Running'", NextPageToken: token,
		})
		if err != nil {
			return nil, fmt.Errorf("list pools: %w", err)
		}
		for _, e := range resp.Executions {
			if name, ok := strings.CutPrefix(e.GetExecution().GetWorkflowId(), "pool/"); ok {
				names = append(names, name)
			}
		}
		token = resp.NextPageToken
		if len(token) == 0 {
			break
		}
	}
	sort.Strings(names)
	return names, nil
}

// SetPoolState drains, disables or re-enables a pool live. It lasts until
// the operator changes it again or the configured state changes.
func (c *Client) SetPoolState(ctx context.Context, name string, state pool.State) error {
	if err := c.Temporal.SignalWorkflow(ctx, workflows.PoolWorkflowID(name), "", workflows.SignalSetState, workflows.SetState{State: state}); err != nil {
		return notFound(err, "pool", name)
	}
	return nil
}

func notFound(err error, what, id string) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return fmt.Errorf("%w: no %s %q (check the id; for pools see `parklot pools`)", ErrNotFound, what, id)
	}
	return fmt.Errorf("%s %q: %w", what, id, err)
}
