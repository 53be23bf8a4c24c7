package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parklot/parklot/domain/mailbox"
	"github.com/parklot/parklot/domain/pool"
	"github.com/parklot/parklot/workflows"
)

// SubmitRequest is the body of POST /pools/{pool}/tasks: the fields of
// `parklot submit`.
type SubmitRequest struct {
	TaskID string `json:"taskId"`
	// Tenant may be left out when the gateway sends the tenant header.
	Tenant    string `json:"tenant,omitempty"`
	UserID    string `json:"userId,omitempty"`
	SessionID string `json:"sessionId,omitempty"`
	// Priority is low, normal (the default), high or critical.
	Priority string          `json:"priority,omitempty"`
	Units    int64           `json:"units"`
	Kind     string          `json:"kind"`
	Payload  json.RawMessage `json:"payload,omitempty"`
	// Deadline is the latest start, RFC3339.
	Deadline string `json:"deadline,omitempty"`
	// Timeout bounds the run, a Go duration such as 90s or 5m; empty means
	// the pool's default_timeout.
	Timeout string `json:"timeout,omitempty"`
}

// SubmitAccepted is the 202 answer: the task is new and started or queued.
type SubmitAccepted struct {
	TaskID   string `json:"taskId"`
	Status   string `json:"status"`
	Position int    `json:"position,omitempty"`
}

// Task is a task's status as GET answers it, with a link into the Temporal
// UI when one is configured.
type Task struct {
	workflows.TaskStatus
	TemporalURL string `json:"temporalUrl,omitempty"`
}

// CancelAccepted is the 202 answer of DELETE: the cancel was sent to a task
// that had not finished.
type CancelAccepted struct {
	TaskID         string `json:"taskId"`
	PreviousStatus string `json:"previousStatus"`
}

// maxTimeout bounds a task's own timeout: past it, a lost task would hold
// units for longer than anyone plans for.
const maxTimeout = 7 * 24 * time.Hour

// input validates the request against what no pool could accept, naming
// the field, so that a typo never burns a task id.
func (req SubmitRequest) input(poolName string, s scope, now time.Time) (workflows.TaskInput, error) {
	in := workflows.TaskInput{Pool: poolName, Units: req.Units, Kind: req.Kind, Payload: req.Payload}
	var err error
	if in.TaskID, err = checkTaskID(req.TaskID); err != nil {
		return in, err
	}
	if in.Tenant, err = s.tenant("tenant", req.Tenant); err != nil {
		return in, err
	}
	if in.User, err = s.user("userId", req.UserID); err != nil {
		return in, err
	}
	if in.Session, err = s.session("sessionId", req.SessionID); err != nil {
		return in, err
	}
	key := mailbox.Key{Tenant: in.Tenant}
	if in.Tenant == "" {
		return in, invalid("tenant", "tenant is required: name the tenant the task runs for (or let the gateway send the %s header)", s.h.o.Trust.TenantHeader)
	}
	for _, f := range []struct {
		field string
		value string
		set   *string
	}{{"tenant", in.Tenant, &key.Tenant}, {"userId", in.User, &key.User}, {"sessionId", in.Session, &key.Session}} {
		*f.set = f.value
		if err := key.Validate(); err != nil {
			return in, invalid(f.field, "%s", strings.TrimPrefix(err.Error(), mailbox.ErrInvalid.Error()+": "))
		}
	}
	if in.Priority, err = pool.ParsePriority(req.Priority); err != nil {
		return in, err
	}
	if in.Units < 1 {
		return in, invalid("units", "units must be at least 1, got %d: ask for the units the task holds while it runs", in.Units)
	}
	if strings.TrimSpace(in.Kind) == "" {
		return in, invalid("kind", "kind is required: name an executor such as sleep, exec or http")
	}
	if len(in.Kind) > 128 {
		return in, invalid("kind", "kind is %d bytes long: the maximum is 128", len(in.Kind))
	}
	if len(req.Payload) > 0 && string(req.Payload) == "null" {
		in.Payload = nil
	}
	if req.Deadline != "" {
		if in.Deadline, err = time.Parse(time.RFC3339Nano, req.Deadline); err != nil {
			return in, invalid("deadline", "deadline %q: want an RFC3339 time such as 2026-01-02T15:04:05Z", req.Deadline)
		}
		if !in.Deadline.After(now) {
			return in, &pool.Error{Reason: pool.ReasonDeadlinePassed, Field: "deadline",
				Message: fmt.Sprintf("deadline %s has already passed: give a later one, or none", req.Deadline)}
		}
	}
	if req.Timeout != "" {
		if in.Timeout, err = time.ParseDuration(req.Timeout); err != nil {
			return in, invalid("timeout", "timeout %q: want a duration such as 90s or 5m", req.Timeout)
		}
		if in.Timeout <= 0 || in.Timeout > maxTimeout {
			return in, invalid("timeout", "timeout %s is out of range: use more than 0 and at most %s, or leave it out for the pool's default_timeout", in.Timeout, maxTimeout)
		}
	}
	return in, nil
}

// checkTaskID keeps ids printable and short enough for workflow ids and
// mailbox messages.
func checkTaskID(id string) (string, error) {
	switch {
	case id == "":
		return "", invalid("taskId", "taskId is required: give every task a unique id, which makes retries safe")
	case len(id) > mailbox.MaxTaskIDBytes:
		return "", invalid("taskId", "taskId is %d bytes long: the maximum is %d", len(id), mailbox.MaxTaskIDBytes)
	case !utf8.ValidString(id):
		return "", invalid("taskId", "taskId is not valid UTF-8")
	}
	for _, r := range id {
		if unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) {
			return "", invalid("taskId", "taskId contains the control or invisible character %U", r)
		}
	}
	return id, nil
}

func (h *Handler) submit(w http.ResponseWriter, r *http.Request) {
	var req SubmitRequest
	if err := decodeJSON(w, r, h.o.MaxBodyBytes, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	s := h.scope(r)
	in, err := req.input(r.PathValue("pool"), s, time.Now())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ctx := r.Context()
	if err := h.checkPool(ctx, in.Pool); err != nil {
		h.fail(w, r, err)
		return
	}
	// New (202) or existing (200) is decided by the server; see api.Client.Create.
	st, created, err := h.o.API.Create(ctx, in)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !created {
		// The id is taken. It is the same task only in the same pool and
		// for the same tenant; anything else is a conflict that reveals
		// nothing about the other task.
		if st.Pool != in.Pool || st.Tenant != in.Tenant {
			writeError(w, http.StatusConflict, Problem{Code: CodeDuplicate, Field: "taskId",
				Message: fmt.Sprintf("task id %q is already used by another task: choose another id", in.TaskID)})
			return
		}
		writeJSON(w, http.StatusOK, h.taskView(st))
		return
	}
	switch st.Status {
	case workflows.StatusRejected, workflows.StatusExpired:
		reason := st.Reason
		if reason == "" {
			reason = pool.ReasonInvalidRequest
		}
		writeError(w, reasonStatus(reason), Problem{Code: string(reason), Message: st.Message, Field: st.Field})
		return
	}
	writeJSON(w, http.StatusAccepted, SubmitAccepted{TaskID: st.TaskID, Status: st.Status, Position: st.Position})
}

// checkPool answers 404 for a pool whose manager does not run, before a
// task workflow is created for it: otherwise a typo in the pool name would
// leave a rejected task holding the id.
func (h *Handler) checkPool(ctx context.Context, name string) error {
	if name == "" || len(name) > 255 {
		return errorf(http.StatusNotFound, string(pool.ReasonUnknownPool), "", "no pool %q", name)
	}
	desc, err := h.o.API.Temporal.DescribeWorkflowExecution(ctx, workflows.PoolWorkflowID(name), "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) || (err == nil && desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING) {
		return errorf(http.StatusNotFound, string(pool.ReasonUnknownPool), "",
			"no pool %q is running: GET /pools lists the pools", name)
	}
	return err
}

// findTask reads a task of the path's pool that the caller may see.
func (h *Handler) findTask(r *http.Request) (workflows.TaskStatus, error) {
	poolName, id := r.PathValue("pool"), r.PathValue("id")
	s := h.scope(r)
	if err := s.requireTenant(); err != nil {
		return workflows.TaskStatus{}, err
	}
	st, err := h.o.API.Status(r.Context(), id)
	if err != nil {
		return st, err
	}
	if st.Pool != poolName || !s.sees(st.Tenant) {
		return st, errorf(http.StatusNotFound, CodeNotFound, "", "no task %q in pool %q", id, poolName)
	}
	return st, nil
}

func (h *Handler) getTask(w http.ResponseWriter, r *http.Request) {
	st, err := h.findTask(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, h.taskView(st))
}

func (h *Handler) cancelTask(w http.ResponseWriter, r *http.Request) {
	st, err := h.findTask(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if workflows.IsTerminal(st.Status) {
		writeError(w, http.StatusConflict, Problem{Code: CodeTaskFinished,
			Message: fmt.Sprintf("task %q already finished with status %s: nothing to cancel", st.TaskID, st.Status)})
		return
	}
	prev, err := h.o.API.Cancel(r.Context(), st.TaskID)
	if err != nil {
		if workflows.IsTerminal(prev.Status) {
			writeError(w, http.StatusConflict, Problem{Code: CodeTaskFinished,
				Message: fmt.Sprintf("task %q finished with status %s before the cancel arrived", st.TaskID, prev.Status)})
			return
		}
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, CancelAccepted{TaskID: st.TaskID, PreviousStatus: prev.Status})
}

func (h *Handler) taskView(st workflows.TaskStatus) Task {
	return Task{TaskStatus: st, TemporalURL: h.workflowURL(workflows.TaskWorkflowID(st.TaskID))}
}

// workflowURLPrefix is where the Temporal UI shows a workflow, without the
// escaped workflow id; empty when no UI is configured.
func (h *Handler) workflowURLPrefix() string {
	if h.o.TemporalUIURL == "" {
		return ""
	}
	return strings.TrimRight(h.o.TemporalUIURL, "/") + "/namespaces/" + url.PathEscape(h.o.Namespace) + "/workflows/"
}

func (h *Handler) workflowURL(workflowID string) string {
	p := h.workflowURLPrefix()
	if p == "" {
		return ""
	}
	return p + url.PathEscape(workflowID)
}
