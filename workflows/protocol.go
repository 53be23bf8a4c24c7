package workflows

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/parklot/parklot/domain/audit"
	"github.com/parklot/parklot/domain/mailbox"

	"github.com/parklot/parklot/domain/pool"
)

// DefaultTaskQueue serves every Parklot workflow and activity unless the
// configuration names another.
const DefaultTaskQueue = "parklot"

// Signal, query and update names. Workers and clients share these constants;
// changing a value breaks running workflows.
const (
	SignalAcquire     = "acquire"
	SignalRelease     = "release"
	SignalCancel      = "cancel"
	SignalReportUsage = "report-usage"
	SignalReconfigure = "reconfigure"
	// SignalSetState is an operator's drain, disable or enable.
	SignalSetState = "set-state"
	// SignalDecision carries every answer of a pool manager to a task.
	SignalDecision = "pool-decision"
	// SignalCancelTask asks a task workflow to cancel itself.
	SignalCancelTask = "cancel"

	QueryPoolState  = "state"
	QueryTaskStatus = "status"
	// QueryPosition answers a queued task's current 1-based position.
	QueryPosition = "position"

	UpdateSubmit = "submit"

	// ActivityExecute runs a task's executor (activities.Activities.Execute).
	ActivityExecute = "Execute"
	// ActivityDeliverOutcome stores an outcome and hands it to its mailbox.
	ActivityDeliverOutcome = "DeliverOutcome"
	// ActivityNotifyWebhook posts a delivered message to the pool's webhook.
	ActivityNotifyWebhook = "NotifyWebhook"
	// ActivityAppendAudit writes a batch of audit events.
	ActivityAppendAudit = "AppendAudit"
	// ActivityClosedWorkflows answers which of the given workflow ids no
	// longer run (activities.Activities.ClosedWorkflows).
	ActivityClosedWorkflows = "ClosedWorkflows"
	// ActivitySignalWorkflows sends a batch of signals with the worker's
	// client (activities.Activities.SignalWorkflows). Workflows run it as a
	// local activity: a signal sent this way costs the sender one marker
	// event instead of two events and a workflow task of its own.
	ActivitySignalWorkflows = "SignalWorkflows"
	// ActivitySendAcquire sends a task's acquire and waits briefly for the
	// pool's first decision to be handed over in memory
	// (activities.Activities.SendAcquire); a task runs it as a local
	// activity.
	ActivitySendAcquire = "SendAcquire"
)

// SendAcquireInput is the input of SendAcquire.
type SendAcquireInput struct {
	// PoolWorkflowID is the manager that gets the acquire signal.
	PoolWorkflowID string         `json:"poolWorkflowId"`
	Acquire        AcquireRequest `json:"acquire"`
	// Wait bounds how long the activity waits for the decision after the
	// signal was delivered; 0 means it does not wait.
	Wait time.Duration `json:"wait,omitempty"`
}

// SendAcquireResult says whether the acquire was delivered and carries the
// pool's first decision when it was handed over while the activity waited.
// A nil Decision means it comes as a pool-decision signal instead.
type SendAcquireResult struct {
	// NotFound means no manager runs for the pool.
	NotFound bool `json:"notFound,omitempty"`
	// Failed means the signal could not be sent after a few quick
	// retries; the caller sends it another way.
	Failed   bool      `json:"failed,omitempty"`
	Decision *Decision `json:"decision,omitempty"`
}

// OutSignal is one signal of a SignalWorkflows batch.
type OutSignal struct {
	WorkflowID string `json:"workflowId"`
	Name       string `json:"name"`
	Arg        any    `json:"arg,omitempty"`
}

// SignalBatch is the input of SignalWorkflows. Signals to the same workflow
// are sent one after another in order; different workflows in parallel.
type SignalBatch struct {
	Signals []OutSignal `json:"signals"`
}

// SignalBatchResult reports, by index into the batch, the signals whose
// target does not exist (NotFound) and those that failed for another reason
// after a few quick retries (Failed, which the caller sends again another
// way). Every other signal was delivered.
type SignalBatchResult struct {
	// Sent counts the signals delivered.
	Sent int `json:"sent"`
	// HandedOver counts the decisions among Sent that went in memory to a
	// task waiting in SendAcquire in the same worker process, with no
	// signal.
	HandedOver int   `json:"handedOver,omitempty"`
	NotFound   []int `json:"notFound,omitempty"`
	Failed     []int `json:"failed,omitempty"`
}

// Search attributes Parklot sets on task workflows so that the Temporal UI
// and `parklot tasks` can filter by them. Registered by `parklot-worker dev`;
// on a cluster the operator registers them once (docs/OPERATIONS.md).
const (
	SearchAttrPool    = "ParklotPool"
	SearchAttrTenant  = "ParklotTenant"
	SearchAttrStatus  = "ParklotStatus"
	SearchAttrMailbox = "ParklotMailbox"
)

// PoolWorkflowID is the identity of a pool's manager.
func PoolWorkflowID(poolName string) string { return "pool/" + poolName }

// TaskWorkflowID is the identity of a task.
func TaskWorkflowID(taskID string) string { return "task/" + taskID }

// TaskIDFromWorkflowID reverses TaskWorkflowID; ok is false for other ids.
func TaskIDFromWorkflowID(id string) (string, bool) {
	return strings.CutPrefix(id, "task/")
}

// Task statuses as clients see them. The terminal ones never change again.
const (
	StatusSubmitted = "submitted"
	StatusQueued    = "queued"
	StatusRunning   = "running"
	StatusCompleted = "completed"
	StatusFailed    = "failed"
	StatusExpired   = "expired"
	StatusRejected  = "rejected"
	StatusDropped   = "dropped"
)

// ReasonWorkerLost is why a task fails when the worker running it stopped
// heartbeating on every attempt.
const ReasonWorkerLost pool.Reason = "worker_lost"

// IsTerminal reports whether a status is final.
func IsTerminal(status string) bool {
	switch status {
	case StatusCompleted, StatusFailed, StatusExpired, StatusRejected, StatusDropped:
		return true
	}
	return false
}

// TaskInput starts a task workflow: what a client submits.
type TaskInput struct {
	TaskID   string          `json:"taskId"`
	Pool     string          `json:"pool"`
	Tenant   string          `json:"tenant"`
	User     string          `json:"userId,omitempty"`
	Session  string          `json:"sessionId,omitempty"`
	Priority pool.Priority   `json:"priority"`
	Units    int64           `json:"units"`
	Kind     string          `json:"kind"`
	Payload  json.RawMessage `json:"payload,omitempty"`
	// Deadline is absolute; zero means none.
	Deadline time.Time `json:"deadline,omitzero"`
	// Timeout bounds the run; zero means the pool's default_timeout.
	Timeout time.Duration `json:"timeout,omitempty"`
	// Lifecycle selects the commands the run issues, fixed when the task is
	// started (api.Client sets CurrentTaskLifecycle). Zero is the lifecycle
	// of tasks started before the field existed, which still replay.
	Lifecycle int `json:"lifecycle,omitempty"`
}

// Task lifecycles; see docs/ARCHITECTURE.md, "The task lifecycle".
const (
	// TaskLifecycleCommands signals the pool and writes audit and mailbox
	// through commands and ordinary activities.
	TaskLifecycleCommands = 0
	// TaskLifecycleLean signals the pool, writes audit events and makes the
	// first delivery attempt from local activities, and expects its search
	// attributes in the start request.
	TaskLifecycleLean = 1
	// TaskLifecycleHandover is lean, and sends the acquire from
	// SendAcquire, which waits briefly for the first decision: when the
	// manager's decision leaves from the same worker process it is handed
	// over in memory and acted on in the task's first workflow task, with
	// no decision signal and no workflow task of its own.
	TaskLifecycleHandover = 2
	// CurrentTaskLifecycle is what new tasks run.
	CurrentTaskLifecycle = TaskLifecycleHandover
)

// MailboxKey is where the task's outcome is delivered.
func (in TaskInput) MailboxKey() string {
	return in.Tenant + "/" + in.User + "/" + in.Session
}

// TaskStatus is a task's state as the `status` query and the workflow result
// report it; it stays readable after the workflow has closed.
type TaskStatus struct {
	TaskID      string        `json:"taskId"`
	Pool        string        `json:"pool"`
	Tenant      string        `json:"tenant"`
	User        string        `json:"userId,omitempty"`
	Session     string        `json:"sessionId,omitempty"`
	Kind        string        `json:"kind"`
	Status      string        `json:"status"`
	Reason      pool.Reason   `json:"reason,omitempty"`
	Message     string        `json:"message,omitempty"`
	Priority    pool.Priority `json:"priority"`
	Units       int64         `json:"units"`
	Position    int           `json:"position,omitempty"`
	SubmittedAt time.Time     `json:"submittedAt,omitzero"`
	StartedAt   time.Time     `json:"startedAt,omitzero"`
	CompletedAt time.Time     `json:"completedAt,omitzero"`
	// ReleasedAt is when the task gave its units back: its completion, or
	// earlier when the Execute activity released them as it finished.
	ReleasedAt time.Time       `json:"releasedAt,omitzero"`
	Result     json.RawMessage `json:"result,omitempty"`
	Error      string          `json:"error,omitempty"`
	Field      string          `json:"field,omitempty"`
	// Delivery is nil for tasks that predate mailbox delivery.
	Delivery *Delivery `json:"delivery,omitempty"`
}

// AcquireRequest asks a pool manager for units on behalf of a task.
type AcquireRequest struct {
	Request     pool.Request `json:"request"`
	SubmittedAt time.Time    `json:"submittedAt"`
}

// ReleaseRequest returns a task's units. Idempotent by task id.
type ReleaseRequest struct {
	TaskID  string `json:"taskId"`
	Outcome string `json:"outcome"`
	// ReleasedAt is the task's time of release, for the release-to-grant
	// latency of the tasks the freed units admit.
	ReleasedAt time.Time `json:"releasedAt,omitzero"`
}

// CancelRequest asks the manager to drop a queued task.
type CancelRequest struct {
	TaskID string `json:"taskId"`
}

// UsageReport carries the units a running task really uses.
type UsageReport struct {
	TaskID string `json:"taskId"`
	Units  int64  `json:"units"`
}

// Reconfigure replaces a pool's configuration live.
type Reconfigure struct {
	Config             pool.Config   `json:"config"`
	LeaseCheckInterval time.Duration `json:"leaseCheckInterval"`
}

// SetState is an operator's override of a pool's state.
type SetState struct {
	State pool.State `json:"state"`
}

// Decision kinds a manager sends to a task.
const (
	DecisionAdmitted = "admitted" // admitted at once on acquire
	DecisionQueued   = "queued"
	DecisionRejected = "rejected"
	DecisionExpired  = "expired"
	DecisionGranted  = "granted" // admitted later, from the queue
	DecisionDropped  = "dropped" // cancelled while queued
)

// Decision is a manager's answer to a task.
type Decision struct {
	Kind      string        `json:"kind"`
	Position  int           `json:"position,omitempty"`
	Reason    pool.Reason   `json:"reason,omitempty"`
	Message   string        `json:"message,omitempty"`
	Field     string        `json:"field,omitempty"`
	Timeout   time.Duration `json:"timeout,omitempty"`
	GrantedAt time.Time     `json:"grantedAt,omitzero"`
}

// PoolState is the answer of a manager's `state` query.
type PoolState struct {
	Pool               string        `json:"pool"`
	LeaseCheckInterval time.Duration `json:"leaseCheckInterval"`
	Runs               int           `json:"runs"`
	SignalsThisRun     int           `json:"signalsThisRun"`
	// Wait is how long granted tasks waited in the queue.
	Wait Histogram `json:"wait"`
	// ReleaseToGrant is how long after a release the tasks it admitted were
	// granted, measured from the releasing task's clock.
	ReleaseToGrant Histogram `json:"releaseToGrant"`
	pool.Snapshot
}

// ExecuteInput is what the Execute activity runs.
type ExecuteInput struct {
	TaskID  string          `json:"taskId"`
	Pool    string          `json:"pool"`
	Tenant  string          `json:"tenant"`
	Kind    string          `json:"kind"`
	Units   int64           `json:"units"`
	Payload json.RawMessage `json:"payload,omitempty"`
	// ReleaseOnCompletion asks the activity to return the task's units
	// itself once its successful result is recorded, without waiting for
	// the task's next workflow task (see ExecuteResult.ReleasedAt).
	ReleaseOnCompletion bool `json:"releaseOnCompletion,omitempty"`
}

// ExecuteResult is the executor's output.
type ExecuteResult struct {
	Output json.RawMessage `json:"output,omitempty"`
	// ReleasedAt is set when the activity releases the task's units itself:
	// it records its result first and signals the release right after, so
	// a run that could still be retried never gives its units back. The
	// task then sends no release of its own.
	ReleasedAt time.Time `json:"releasedAt,omitzero"`
}

// DeliverInput is one attempt to deliver a task's outcome.
type DeliverInput struct {
	Message mailbox.Message `json:"message"`
	// FirstAttempt and LastError let the activity decide to give up.
	FirstAttempt time.Time `json:"firstAttempt,omitzero"`
	LastError    string    `json:"lastError,omitempty"`
}

// DeliverResult names the stored message and says whether the pool has a
// webhook to notify.
type DeliverResult struct {
	MessageID string          `json:"messageId"`
	Notify    bool            `json:"notify,omitempty"`
	Message   mailbox.Message `json:"message"`
}

// ErrTypeDeliveryGiveUp is the error type of a delivery that will not be
// retried.
const ErrTypeDeliveryGiveUp = "delivery_give_up"

// AuditInput is a batch of audit events for one pool's audit store.
type AuditInput struct {
	Pool   string        `json:"pool"`
	Events []audit.Event `json:"events"`
}

// Delivery states shown in a task's status.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "delivery_failed"
	DeliveryNone      = "none"
)

// Delivery is where a task's outcome stands on its way to the mailbox.
type Delivery struct {
	State     string    `json:"state"`
	MessageID string    `json:"messageId,omitempty"`
	Attempts  int       `json:"attempts,omitempty"`
	LastError string    `json:"lastError,omitempty"`
	At        time.Time `json:"at,omitzero"`
	// Webhook is "sent", or "failed: <error>", for pools with a webhook.
	Webhook string `json:"webhook,omitempty"`
}
