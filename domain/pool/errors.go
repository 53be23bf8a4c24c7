package pool

// Reason is a stable machine code for why a task did not start, left the queue or lost its
// units. Callers map it once to exit codes, HTTP statuses and audit events, so never rename one.
type Reason string

// The reasons.
const (
	ReasonQueueFull       Reason = "queue_full"
	ReasonCapacityZero    Reason = "capacity_zero"
	ReasonExceedsCapacity Reason = "exceeds_capacity"
	ReasonDeadlinePassed  Reason = "deadline_passed"
	ReasonPoolDisabled    Reason = "pool_disabled"
	ReasonPoolDraining    Reason = "pool_draining"
	ReasonUnknownPool     Reason = "unknown_pool"
	ReasonInvalidRequest  Reason = "invalid_request"
	ReasonInvalidConfig   Reason = "invalid_config"
	ReasonCancelled       Reason = "cancelled"
	ReasonTimeout         Reason = "timeout"
	ReasonReclaimed       Reason = "reclaimed"
	ReasonDuplicate       Reason = "duplicate"
)

// Error is a refusal with its reason code, a message for humans that names the fix, and, for
// invalid input, the field at fault.
type Error struct {
	Reason  Reason `json:"reason"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// Error puts the code first, so logs can be searched by reason.
func (e *Error) Error() string {
	if e.Message == "" {
		return string(e.Reason)
	}
	return string(e.Reason) + ": " + e.Message
}

// Is matches any *Error with the same reason, so errors.Is(err, ErrQueueFull) works whatever
// the message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Reason == e.Reason
}

// Sentinels for errors.Is; each matches every *Error with its reason.
var (
	ErrQueueFull       = &Error{Reason: ReasonQueueFull}
	ErrCapacityZero    = &Error{Reason: ReasonCapacityZero}
	ErrExceedsCapacity = &Error{Reason: ReasonExceedsCapacity}
	ErrDeadlinePassed  = &Error{Reason: ReasonDeadlinePassed}
	ErrPoolDisabled    = &Error{Reason: ReasonPoolDisabled}
	ErrPoolDraining    = &Error{Reason: ReasonPoolDraining}
	ErrUnknownPool     = &Error{Reason: ReasonUnknownPool}
	ErrInvalidRequest  = &Error{Reason: ReasonInvalidRequest}
	ErrInvalidConfig   = &Error{Reason: ReasonInvalidConfig}
)
