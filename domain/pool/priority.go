package pool

import (
	"fmt"
	"strconv"
	"strings"
)

// Priority orders queued tasks: Low < Normal < High < Critical. The zero value is Normal, so a
// request that leaves Priority unset is treated like one that says "normal".
type Priority int8

// The priorities, lowest first.
const (
	PriorityLow Priority = iota - 1
	PriorityNormal
	PriorityHigh
	PriorityCritical
)

const numPriorities = int(PriorityCritical-PriorityLow) + 1

var priorityNames = [numPriorities]string{"low", "normal", "high", "critical"}

func (p Priority) valid() bool { return p >= PriorityLow && p <= PriorityCritical }

// index maps a valid priority to 0..numPriorities-1, lowest first.
func (p Priority) index() int { return int(p - PriorityLow) }

// String returns the lowercase name, or priority(N) for a value out of range.
func (p Priority) String() string {
	if p.valid() {
		return priorityNames[p.index()]
	}
	return "priority(" + strconv.Itoa(int(p)) + ")"
}

// ParsePriority reads a priority name, ignoring case and surrounding space. The empty string
// means normal.
func ParsePriority(s string) (Priority, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	if name == "" {
		return PriorityNormal, nil
	}
	for i, n := range priorityNames {
		if n == name {
			return PriorityLow + Priority(i), nil
		}
	}
	return PriorityNormal, &Error{
		Reason:  ReasonInvalidRequest,
		Field:   "priority",
		Message: fmt.Sprintf("unknown priority %q; use one of low, normal, high, critical (empty means normal)", s),
	}
}

// MarshalText writes the lowercase name, so JSON and YAML carry "high", never a number.
func (p Priority) MarshalText() ([]byte, error) {
	if !p.valid() {
		return nil, &Error{
			Reason:  ReasonInvalidRequest,
			Field:   "priority",
			Message: fmt.Sprintf("priority %d is out of range; use one of low, normal, high, critical", int(p)),
		}
	}
	return []byte(priorityNames[p.index()]), nil
}

// UnmarshalText reads a name as ParsePriority does.
func (p *Priority) UnmarshalText(text []byte) error {
	v, err := ParsePriority(string(text))
	if err != nil {
		return err
	}
	*p = v
	return nil
}
