package audit

import (
	"slices"
	"time"
)

// Query limits: a query without a limit returns DefaultLimit events, and no
// query returns more than MaxLimit.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

// Query selects the events of one subject, newest first.
type Query struct {
	Subject Subject
	// Types keeps only events of these types; empty means all types.
	Types []Type
	// Since keeps events with At >= Since; zero means no lower bound.
	Since time.Time
	// Until keeps events with At < Until; zero means no upper bound.
	// Exclusive so that [a,b) and [b,c) windows never overlap.
	Until time.Time
	// Limit is the maximum number of events: 0 means DefaultLimit.
	Limit int
}

// Canonical validates q and returns the form stores run: the default limit
// filled in, types de-duplicated, and Since/Until in UTC rounded *up* to the
// microsecond. Rounding up is exact for integer-microsecond timestamps:
// at >= t and at >= ceil(t) select the same events, as do at < t and
// at < ceil(t).
func (q Query) Canonical() (Query, error) {
	if err := q.Subject.Validate(); err != nil {
		return Query{}, err
	}
	types := make([]Type, 0, len(q.Types))
	for _, t := range q.Types {
		if !t.Valid() {
			return Query{}, invalidf("type %q: want one of %s", t, joinTypes())
		}
		if !slices.Contains(types, t) {
			types = append(types, t)
		}
	}
	q.Types = types
	if len(q.Types) == 0 {
		q.Types = nil
	}
	q.Since = ceilMicro(q.Since)
	q.Until = ceilMicro(q.Until)
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
		return Query{}, invalidf("since %s is not before until %s: the range is empty",
			q.Since.Format(time.RFC3339Nano), q.Until.Format(time.RFC3339Nano))
	}
	limit, err := CheckLimit(q.Limit)
	if err != nil {
		return Query{}, err
	}
	q.Limit = limit
	return q, nil
}

func ceilMicro(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	t = t.UTC()
	if tr := t.Truncate(time.Microsecond); !tr.Equal(t) {
		return tr.Add(time.Microsecond)
	}
	return t
}

// CheckLimit turns a requested limit into the one to use: 0 means
// DefaultLimit; negative values and values above MaxLimit are errors
// wrapping ErrInvalid rather than silently clamped.
func CheckLimit(n int) (int, error) {
	switch {
	case n == 0:
		return DefaultLimit, nil
	case n < 0:
		return 0, invalidf("limit %d is negative: use 1..%d, or 0 for the default %d", n, MaxLimit, DefaultLimit)
	case n > MaxLimit:
		return 0, invalidf("limit %d is above the maximum %d: narrow the window with --since/--until", n, MaxLimit)
	}
	return n, nil
}

// Matches reports whether e passes q's filters (subject, types, time range),
// ignoring the limit. q must be canonical. It is the reference semantics of
// storage.Audit.Query, used by the memory store.
func (q Query) Matches(e Event) bool {
	if !slices.Contains(e.Subjects, q.Subject) {
		return false
	}
	if len(q.Types) > 0 && !slices.Contains(q.Types, e.Type) {
		return false
	}
	if !q.Since.IsZero() && e.At.Before(q.Since) {
		return false
	}
	if !q.Until.IsZero() && !e.At.Before(q.Until) {
		return false
	}
	return true
}
