package pool

import (
	"fmt"
	"time"
)

// Request asks for units of a pool on behalf of one task.
type Request struct {
	TaskID   string   `json:"taskId"`
	Tenant   string   `json:"tenant"`
	Priority Priority `json:"priority"`
	Units    int64    `json:"units"`
	// Deadline is the latest start; zero means none.
	Deadline time.Time `json:"deadline,omitzero"`
	// Timeout bounds the run; zero means the pool's default_timeout.
	Timeout time.Duration `json:"timeout,omitempty"`
}

// Validate checks the request on its own, without a pool. Field names the field at fault as
// the API spells it: taskId, tenant, units, priority or timeout.
func (r Request) Validate() *Error {
	invalid := func(field, format string, args ...any) *Error {
		return &Error{Reason: ReasonInvalidRequest, Field: field, Message: fmt.Sprintf(format, args...)}
	}
	switch {
	case r.TaskID == "":
		return invalid("taskId", "taskId is empty; give every task a unique id")
	case r.Tenant == "":
		return invalid("tenant", "tenant is empty; name the tenant the task runs for")
	case r.Units < 1:
		return invalid("units", "units must be at least 1, got %d; ask for the units the task needs", r.Units)
	case !r.Priority.valid():
		return invalid("priority", "priority %d is out of range; use one of low, normal, high, critical", int(r.Priority))
	case r.Timeout < 0:
		return invalid("timeout", "timeout must not be negative, got %s; leave it 0 for the pool's default_timeout", r.Timeout)
	}
	return nil
}

// Status is where a task stands as far as the pool knows.
type Status string

// The statuses.
const (
	StatusQueued   Status = "queued"
	StatusRunning  Status = "running"
	StatusRejected Status = "rejected"
	// StatusExpired: the deadline passed before the task could start; it never held units.
	StatusExpired Status = "expired"
	// StatusDropped: removed from the queue by Cancel.
	StatusDropped Status = "dropped"
	// StatusUnknown: neither queued nor holding. The pool forgets tasks once they finish, so
	// this also covers released, expired-and-reported and cancelled tasks.
	StatusUnknown Status = "unknown"
)

// Decision answers an Acquire.
type Decision struct {
	TaskID string `json:"taskId"`
	Status Status `json:"status"`
	// Position is the 1-based place in scheduling order when queued.
	Position int `json:"position,omitempty"`
	// Reason explains a rejection or expiry, or is duplicate when the task was already known
	// and Status is its current state.
	Reason  Reason `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
	// Field names the request field at fault for invalid_request.
	Field string `json:"field,omitempty"`
	// Timeout is the effective run timeout when running.
	Timeout   time.Duration `json:"timeout,omitempty"`
	GrantedAt time.Time     `json:"grantedAt,omitzero"`
	// LeaseUntil is when the holder's lease ends, when running; zero means no lease.
	LeaseUntil time.Time `json:"leaseUntil,omitzero"`
	// Backfill is set when the task started ahead of a blocked head by the backfill rule.
	Backfill bool `json:"backfill,omitempty"`
}

// Err returns the refusal as an *Error, or nil when the task is running or queued.
func (d Decision) Err() error {
	if (d.Status != StatusRejected && d.Status != StatusExpired) || d.Reason == ReasonDuplicate {
		return nil
	}
	return &Error{Reason: d.Reason, Message: d.Message, Field: d.Field}
}

// Grant tells a queued task that it now holds its units.
type Grant struct {
	TaskID     string        `json:"taskId"`
	Tenant     string        `json:"tenant"`
	Priority   Priority      `json:"priority"`
	Units      int64         `json:"units"`
	GrantedAt  time.Time     `json:"grantedAt"`
	Timeout    time.Duration `json:"timeout,omitempty"`
	LeaseUntil time.Time     `json:"leaseUntil,omitzero"`
	// Wait is the time spent queued.
	Wait time.Duration `json:"wait"`
	// Backfill is set when the task started ahead of a blocked head.
	Backfill bool `json:"backfill,omitempty"`
}

// Expired is a queued task whose deadline passed before it could start. It never held units.
type Expired struct {
	TaskID   string    `json:"taskId"`
	Tenant   string    `json:"tenant"`
	Priority Priority  `json:"priority"`
	Units    int64     `json:"units"`
	QueuedAt time.Time `json:"queuedAt"`
	Deadline time.Time `json:"deadline"`
	// Wait is the time spent queued, up to the deadline.
	Wait    time.Duration `json:"wait"`
	Reason  Reason        `json:"reason"`
	Message string        `json:"message"`
}

// ExpireResult is what Expire removed and what could start once it was gone.
type ExpireResult struct {
	Expired []Expired `json:"expired,omitempty"`
	Grants  []Grant   `json:"grants,omitempty"`
}

// CancelResult answers a Cancel.
type CancelResult struct {
	TaskID string `json:"taskId"`
	// Status is dropped (removed from the queue), running (the caller must cancel the run and
	// Release later), expired (its deadline passed; Expire reports it) or unknown.
	Status  Status `json:"status"`
	Reason  Reason `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
	// Grants are tasks that could start once the cancelled one left the queue.
	Grants []Grant `json:"grants,omitempty"`
}

// Counters count outcomes since the pool was created; they survive JSON round trips.
type Counters struct {
	// Admitted counts tasks that started at once on Acquire.
	Admitted int64 `json:"admitted"`
	// Queued counts tasks that entered the queue.
	Queued int64 `json:"queued"`
	// Granted counts tasks started from the queue.
	Granted int64 `json:"granted"`
	// Backfilled counts starts, at once or from the queue, by the backfill rule.
	Backfilled int64 `json:"backfilled"`
	// Rejected counts refusals by reason; encoding/json writes the keys sorted.
	Rejected map[Reason]int64 `json:"rejected,omitempty"`
	// Expired counts tasks whose deadline passed, on Acquire or in the queue.
	Expired       int64 `json:"expired"`
	Dropped       int64 `json:"dropped"`
	Released      int64 `json:"released"`
	Reclaimed     int64 `json:"reclaimed"`
	UsageExceeded int64 `json:"usageExceeded"`
	Duplicates    int64 `json:"duplicates"`
}

func (c Counters) clone() Counters {
	if c.Rejected != nil {
		m := make(map[Reason]int64, len(c.Rejected))
		for k, v := range c.Rejected {
			m[k] = v
		}
		c.Rejected = m
	}
	return c
}

// HolderView is one task holding units.
type HolderView struct {
	TaskID   string   `json:"taskId"`
	Tenant   string   `json:"tenant"`
	Priority Priority `json:"priority"`
	// Units is what the task declared; UsedUnits what it last reported. The pool accounts
	// max(Units, UsedUnits).
	Units      int64         `json:"units"`
	UsedUnits  int64         `json:"usedUnits,omitempty"`
	UsageAt    time.Time     `json:"usageAt,omitzero"`
	GrantedAt  time.Time     `json:"grantedAt"`
	Timeout    time.Duration `json:"timeout,omitempty"`
	LeaseUntil time.Time     `json:"leaseUntil,omitzero"`
}

// QueuedView is one queued task.
type QueuedView struct {
	TaskID   string        `json:"taskId"`
	Tenant   string        `json:"tenant"`
	Priority Priority      `json:"priority"`
	Units    int64         `json:"units"`
	Position int           `json:"position"`
	QueuedAt time.Time     `json:"queuedAt"`
	Deadline time.Time     `json:"deadline,omitzero"`
	Timeout  time.Duration `json:"timeout,omitempty"`
}

// Snapshot is the whole pool as a value, for the workflow's state query.
type Snapshot struct {
	Config      Config `json:"config"`
	State       State  `json:"state"`
	ActiveUnits int64  `json:"activeUnits"`
	// FreeUnits is max_units minus active units; negative while usage exceeds capacity.
	FreeUnits int64 `json:"freeUnits"`
	// Holders are sorted by grant time, then task id.
	Holders []HolderView `json:"holders"`
	// Queue is in scheduling order.
	Queue []QueuedView `json:"queue"`
	// Overdue are tasks whose deadline passed, waiting for Expire to report them.
	Overdue  []QueuedView `json:"overdue,omitempty"`
	Counters Counters     `json:"counters"`
}
