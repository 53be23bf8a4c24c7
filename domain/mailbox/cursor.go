package mailbox

import (
	"slices"
	"sort"
	"time"
)

// Cursor says where a read starts: strictly after a time, strictly after a
// message, or (zero value) at the beginning of the mailbox. At most one
// field is set.
type Cursor struct {
	// After selects messages created strictly after this instant.
	After time.Time
	// MessageID selects messages that follow this message in Compare order.
	MessageID string
}

// ParseCursor parses a --since value: empty (from the beginning), an RFC3339
// time, or a messageId.
func ParseCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return Cursor{After: t}, nil
	}
	if id, err := canonicalID(s); err == nil {
		return Cursor{MessageID: id}, nil
	}
	return Cursor{}, invalidf("since %q: want an RFC3339 time such as 2025-01-02T15:04:05Z or a messageId (UUID) from an earlier read", s)
}

// IsZero reports whether the cursor starts at the beginning of the mailbox.
func (c Cursor) IsZero() bool { return c.After.IsZero() && c.MessageID == "" }

// Canonical validates c and returns the form stores query with: the time in
// UTC truncated to microseconds (for integer-microsecond timestamps,
// "created > t" and "created > trunc(t)" select the same messages) and the
// id in lower-case form.
func (c Cursor) Canonical() (Cursor, error) {
	if !c.After.IsZero() && c.MessageID != "" {
		return Cursor{}, invalidf("cursor sets both a time and a messageId: use one")
	}
	if c.MessageID != "" {
		id, err := canonicalID(c.MessageID)
		if err != nil {
			return Cursor{}, invalidf("cursor messageId %q is not a UUID", c.MessageID)
		}
		return Cursor{MessageID: id}, nil
	}
	if !c.After.IsZero() {
		return Cursor{After: CanonicalTime(c.After)}, nil
	}
	return Cursor{}, nil
}

// String returns the --since form of the cursor.
func (c Cursor) String() string {
	if c.MessageID != "" {
		return c.MessageID
	}
	if !c.After.IsZero() {
		return c.After.UTC().Format(time.RFC3339Nano)
	}
	return ""
}

// Read limits (issue 4): a read without a limit returns DefaultLimit
// messages, and no read returns more than MaxLimit.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

// CheckLimit turns a requested limit into the one to use: 0 means
// DefaultLimit; negative values and values above MaxLimit are errors
// wrapping ErrInvalid rather than silently clamped, so a client asking for
// 5000 learns it must page.
func CheckLimit(n int) (int, error) {
	switch {
	case n == 0:
		return DefaultLimit, nil
	case n < 0:
		return 0, invalidf("limit %d is negative: use 1..%d, or 0 for the default %d", n, MaxLimit, DefaultLimit)
	case n > MaxLimit:
		return 0, invalidf("limit %d is above the maximum %d: page with --since <last messageId>", n, MaxLimit)
	}
	return n, nil
}

// ClampLimit is the forgiving variant of CheckLimit for internal callers:
// 0 or negative gives DefaultLimit, anything above MaxLimit gives MaxLimit.
func ClampLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}

// Page applies a read to msgs, the messages of one mailbox sorted by Compare:
// the messages strictly after the cursor, at most limit of them (limit as
// returned by CheckLimit). The result shares msgs' backing array.
// It is the reference semantics of storage.Mailbox.Read, used by the memory
// store and by anything that keeps a window of messages in memory.
func Page(key Key, msgs []Message, c Cursor, limit int) ([]Message, error) {
	if limit <= 0 || limit > MaxLimit {
		return nil, invalidf("limit %d: use CheckLimit first", limit)
	}
	c, err := c.Canonical()
	if err != nil {
		return nil, err
	}
	start := 0
	switch {
	case c.MessageID != "":
		i := slices.IndexFunc(msgs, func(m Message) bool { return m.MessageID == c.MessageID })
		if i < 0 {
			return nil, CursorNotFoundError(key, c.MessageID)
		}
		start = i + 1
	case !c.After.IsZero():
		start = sort.Search(len(msgs), func(i int) bool { return msgs[i].CreatedAt.After(c.After) })
	}
	return msgs[start:min(start+limit, len(msgs))], nil
}

// CheckRead validates a read's key, cursor and limit at once and returns
// the canonical cursor and the effective limit, as every store needs them.
func CheckRead(key Key, c Cursor, limit int) (Cursor, int, error) {
	if err := key.Validate(); err != nil {
		return Cursor{}, 0, err
	}
	n, err := CheckLimit(limit)
	if err != nil {
		return Cursor{}, 0, err
	}
	c, err = c.Canonical()
	if err != nil {
		return Cursor{}, 0, err
	}
	return c, n, nil
}
