package mailbox

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"
)

// Status is the outcome a message reports.
type Status string

// The outcomes a task can end with (issue 4, DESIGN.md §1).
const (
	StatusCompleted Status = "completed"
	StatusFailed    Status = "failed"
	StatusExpired   Status = "expired"
	StatusRejected  Status = "rejected"
	StatusDropped   Status = "dropped"
)

// Statuses lists every valid status, in a stable order for help texts.
func Statuses() []Status {
	return []Status{StatusCompleted, StatusFailed, StatusExpired, StatusRejected, StatusDropped}
}

// Valid reports whether s is one of the known statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusCompleted, StatusFailed, StatusExpired, StatusRejected, StatusDropped:
		return true
	}
	return false
}

const (
	// MaxTaskIDBytes bounds task ids, which also appear in workflow ids.
	MaxTaskIDBytes = 255
	// MaxReasonBytes bounds the human-readable reason.
	MaxReasonBytes = 16 << 10
	// MaxPayloadBytes keeps a message well under Temporal's 2 MB payload
	// limit, since the same message travels through the mailbox workflow.
	MaxPayloadBytes = 1 << 20
)

// Message is one task outcome in one mailbox.
type Message struct {
	MessageID string `json:"messageId"`
	// Key travels with the message (omitted when zero) so that a message
	// passed through a Temporal payload still knows its mailbox.
	Key       Key             `json:"key,omitzero"`
	TaskID    string          `json:"taskId"`
	Pool      string          `json:"pool"`
	Status    Status          `json:"status"`
	Reason    string          `json:"reason"`
	Payload   json.RawMessage `json:"payload,omitempty"`
	CreatedAt time.Time       `json:"createdAt"`
}

// Prepare returns the canonical form of m that stores persist, or an error
// wrapping ErrInvalid. It fills what a caller may leave out: CreatedAt
// defaults to now and MessageID to NewMessageID(CreatedAt).
//
// Canonical means: CreatedAt in UTC truncated to microseconds (the finest
// precision every backend keeps, so a message reads back identical from
// memory, SQLite and PostgreSQL), MessageID in lower-case hyphenated form
// (so that ids sort the same as strings and as PostgreSQL uuids), Payload
// compacted and nil when empty.
func (m Message) Prepare(now time.Time) (Message, error) {
	if err := m.Key.Validate(); err != nil {
		return Message{}, err
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = now
	}
	m.CreatedAt = CanonicalTime(m.CreatedAt)
	if m.MessageID == "" {
		m.MessageID = NewMessageID(m.CreatedAt)
	}
	id, err := canonicalID(m.MessageID)
	if err != nil {
		return Message{}, invalidf("messageId %q is not a UUID: leave it empty to let the store assign one", m.MessageID)
	}
	m.MessageID = id
	if err := checkText("taskId", m.TaskID, MaxTaskIDBytes, true); err != nil {
		return Message{}, err
	}
	if err := checkText("pool", m.Pool, MaxTaskIDBytes, false); err != nil {
		return Message{}, err
	}
	if !m.Status.Valid() {
		return Message{}, invalidf("status %q: want one of %s", m.Status, joinStatuses())
	}
	if err := checkText("reason", m.Reason, MaxReasonBytes, false); err != nil {
		return Message{}, err
	}
	payload, err := canonicalPayload(m.Payload)
	if err != nil {
		return Message{}, err
	}
	m.Payload = payload
	return m, nil
}

// checkText enforces what PostgreSQL text accepts (valid UTF-8, no NUL), so
// that a message accepted by one backend is accepted by all of them.
func checkText(field, s string, maxBytes int, required bool) error {
	switch {
	case required && s == "":
		return invalidf("%s is required", field)
	case len(s) > maxBytes:
		return invalidf("%s is %d bytes long: the maximum is %d", field, len(s), maxBytes)
	case !utf8.ValidString(s):
		return invalidf("%s is not valid UTF-8", field)
	case strings.IndexByte(s, 0) >= 0:
		return invalidf("%s contains a NUL byte", field)
	}
	return nil
}

func canonicalPayload(p json.RawMessage) (json.RawMessage, error) {
	if len(p) == 0 {
		return nil, nil
	}
	if len(p) > MaxPayloadBytes {
		return nil, invalidf("payload is %d bytes: the maximum is %d; store large results elsewhere and put a reference in the payload", len(p), MaxPayloadBytes)
	}
	if !utf8.Valid(p) || !json.Valid(p) {
		return nil, invalidf("payload is not valid UTF-8 JSON")
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, p); err != nil {
		return nil, invalidf("payload: %v", err)
	}
	return json.RawMessage(buf.Bytes()), nil
}

func joinStatuses() string {
	names := make([]string, 0, 5)
	for _, s := range Statuses() {
		names = append(names, string(s))
	}
	return strings.Join(names, ", ")
}

// CanonicalTime is t in UTC truncated to microseconds, the precision all
// backends store.
func CanonicalTime(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}

// Compare orders messages oldest first: by CreatedAt, then by MessageID so
// that messages created in the same microsecond still have one total order
// that every backend and the cursor agree on.
func Compare(a, b Message) int {
	if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
		return c
	}
	return strings.Compare(a.MessageID, b.MessageID)
}
