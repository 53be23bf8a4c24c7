package pool

import (
	"errors"
	"fmt"
	"time"
)

// Policy decides the order within one priority level.
type Policy string

// The policies.
const (
	// PolicyStrict is FIFO by arrival.
	PolicyStrict Policy = "strict"
	// PolicyFair takes turns between tenants, each tenant FIFO internally.
	PolicyFair Policy = "fair"
)

// State is whether the pool takes new work.
type State string

// The pool states.
const (
	// StateActive accepts and starts tasks.
	StateActive State = "active"
	// StateDraining rejects new tasks with pool_draining but keeps starting queued ones.
	StateDraining State = "draining"
	// StateDisabled rejects new tasks with pool_disabled and starts nothing; queued tasks stay
	// parked (they can still expire or be cancelled) until the pool is active or draining again.
	StateDisabled State = "disabled"
)

// Config is one pool's settings. JSON names follow the operator's pool file.
type Config struct {
	// MaxUnits is the capacity; 0 rejects every task with capacity_zero.
	MaxUnits int64 `json:"max_units"`
	// MaxQueueDepth caps how many tasks may wait; 0 rejects whatever cannot start at once.
	MaxQueueDepth int `json:"max_queue_depth"`
	// Policy orders each priority level; empty means strict.
	Policy Policy `json:"policy,omitempty"`
	// Backfill lets tasks behind a blocked head start when they cannot delay it.
	Backfill bool `json:"backfill,omitempty"`
	// State is active, draining or disabled; empty means active.
	State State `json:"state,omitempty"`
	// DefaultTimeout applies to requests without their own timeout.
	DefaultTimeout time.Duration `json:"default_timeout"`
	// LeaseGrace is added to a holder's timeout to give its lease deadline.
	LeaseGrace time.Duration `json:"lease_grace,omitempty"`
}

// Validate reports every problem at once, each an *Error with Reason invalid_config and the
// field named as in the pool file.
func (c Config) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, &Error{Reason: ReasonInvalidConfig, Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if c.MaxUnits < 0 {
		add("max_units", "max_units must not be negative, got %d; set it to the pool's capacity", c.MaxUnits)
	}
	if c.MaxQueueDepth < 0 {
		add("max_queue_depth", "max_queue_depth must not be negative, got %d; use 0 to reject whatever cannot start at once", c.MaxQueueDepth)
	}
	switch c.Policy {
	case "", PolicyStrict, PolicyFair:
	default:
		add("policy", "policy %q is unknown; use strict or fair", c.Policy)
	}
	switch c.State {
	case "", StateActive, StateDraining, StateDisabled:
	default:
		add("state", "state %q is unknown; use active, draining or disabled", c.State)
	}
	if c.DefaultTimeout <= 0 {
		add("default_timeout", "default_timeout must be positive, got %s; set one (e.g. 10m) so a lost task cannot hold units forever", c.DefaultTimeout)
	}
	if c.LeaseGrace < 0 {
		add("lease_grace", "lease_grace must not be negative, got %s; use 0 or a short margin such as 30s", c.LeaseGrace)
	}
	return errors.Join(errs...)
}

// normalized fills defaults and reads invalid values conservatively, because New and
// Reconfigure cannot return an error: callers are expected to have run Validate.
func (c Config) normalized() Config {
	if c.MaxUnits < 0 {
		c.MaxUnits = 0
	}
	if c.MaxQueueDepth < 0 {
		c.MaxQueueDepth = 0
	}
	if c.Policy != PolicyFair {
		c.Policy = PolicyStrict
	}
	switch c.State {
	case "":
		c.State = StateActive
	case StateActive, StateDraining, StateDisabled:
	default:
		c.State = StateDisabled
	}
	if c.DefaultTimeout < 0 {
		c.DefaultTimeout = 0
	}
	if c.LeaseGrace < 0 {
		c.LeaseGrace = 0
	}
	return c
}
