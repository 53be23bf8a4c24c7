package audit

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"
)

// Type is what happened.
type Type string

// Event types of the scheduler (issue 4) and of the parking domain.
const (
	TypeSubmitted        Type = "submitted"
	TypeQueued           Type = "queued"
	TypeStarted          Type = "started"
	TypeCompleted        Type = "completed"
	TypeFailed           Type = "failed"
	TypeExpired          Type = "expired"
	TypeRejected         Type = "rejected"
	TypeDropped          Type = "dropped"
	TypeCancelled        Type = "cancelled"
	TypeReclaimed        Type = "reclaimed"
	TypeUsageExceeded    Type = "usage_exceeded"
	TypePoolReconfigured Type = "pool_reconfigured"
	TypeDelivered        Type = "delivered"
	TypeDeliveryFailed   Type = "delivery_failed"

	TypeParked       Type = "parked"
	TypeExited       Type = "exited"
	TypeTicketOpened Type = "ticket_opened"
	TypeTicketClosed Type = "ticket_closed"
	TypeTicketVoided Type = "ticket_voided"
	TypePriceChanged Type = "price_changed"
)

// Types lists every valid event type, in a stable order for help texts.
func Types() []Type {
	return []Type{
		TypeSubmitted, TypeQueued, TypeStarted, TypeCompleted, TypeFailed, TypeExpired,
		TypeRejected, TypeDropped, TypeCancelled, TypeReclaimed, TypeUsageExceeded,
		TypePoolReconfigured, TypeDelivered, TypeDeliveryFailed,
		TypeParked, TypeExited, TypeTicketOpened, TypeTicketClosed, TypeTicketVoided, TypePriceChanged,
	}
}

// Valid reports whether t is a known event type. Unknown types are refused
// rather than stored, so a typo in a producer fails loudly instead of
// writing events nobody will ever query.
func (t Type) Valid() bool {
	for _, known := range Types() {
		if t == known {
			return true
		}
	}
	return false
}

const (
	// MaxSubjects bounds the subjects of one event; each one is an index row.
	MaxSubjects = 16
	// MaxDataBytes bounds the event data: audit rows are many, and large
	// results belong in the mailbox payload, not in every audit row.
	MaxDataBytes = 64 << 10
)

// Event is one audited lifecycle transition.
type Event struct {
	EventID  string          `json:"eventId"`
	Type     Type            `json:"type"`
	At       time.Time       `json:"at"`
	Subjects []Subject       `json:"subjects"`
	Data     json.RawMessage `json:"data,omitempty"`
}

// Prepare returns the canonical form of e that stores persist, or an error
// wrapping ErrInvalid. It fills what a caller may leave out: At defaults to
// now and EventID to NewEventID(At). A producer that may retry must set
// EventID itself: appends are idempotent by event id only.
//
// Canonical means: At in UTC truncated to microseconds (what every backend
// keeps), EventID lower-case hyphenated (string order equals uuid order),
// duplicate subjects removed (first occurrence kept), Data compacted and nil
// when empty.
func (e Event) Prepare(now time.Time) (Event, error) {
	if e.At.IsZero() {
		e.At = now
	}
	e.At = CanonicalTime(e.At)
	if e.EventID == "" {
		e.EventID = NewEventID(e.At)
	}
	id, err := canonicalID(e.EventID)
	if err != nil {
		return Event{}, invalidf("eventId %q is not a UUID: leave it empty to let the store assign one", e.EventID)
	}
	e.EventID = id
	if !e.Type.Valid() {
		return Event{}, invalidf("event %s: type %q: want one of %s", e.EventID, e.Type, joinTypes())
	}
	if len(e.Subjects) == 0 {
		return Event{}, invalidf("event %s (%s) has no subject: it could never be queried; add at least one kind:id", e.EventID, e.Type)
	}
	if len(e.Subjects) > MaxSubjects {
		return Event{}, invalidf("event %s has %d subjects: the maximum is %d", e.EventID, len(e.Subjects), MaxSubjects)
	}
	subjects := make([]Subject, 0, len(e.Subjects))
	for _, s := range e.Subjects {
		if err := s.Validate(); err != nil {
			return Event{}, invalidf("event %s: %v", e.EventID, err)
		}
		if !containsSubject(subjects, s) {
			subjects = append(subjects, s)
		}
	}
	e.Subjects = subjects
	data, err := canonicalData(e.Data)
	if err != nil {
		return Event{}, invalidf("event %s: %v", e.EventID, err)
	}
	e.Data = data
	return e, nil
}

func containsSubject(list []Subject, s Subject) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func canonicalData(d json.RawMessage) (json.RawMessage, error) {
	if len(d) == 0 {
		return nil, nil
	}
	if len(d) > MaxDataBytes {
		return nil, invalidf("data is %d bytes: the maximum is %d", len(d), MaxDataBytes)
	}
	if !utf8.Valid(d) || !json.Valid(d) {
		return nil, invalidf("data is not valid UTF-8 JSON")
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, d); err != nil {
		return nil, invalidf("data: %v", err)
	}
	return json.RawMessage(buf.Bytes()), nil
}

func joinTypes() string {
	names := make([]string, 0, 20)
	for _, t := range Types() {
		names = append(names, string(t))
	}
	return strings.Join(names, ", ")
}

// CanonicalTime is t in UTC truncated to microseconds, the precision all
// backends store.
func CanonicalTime(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}

// NewestFirst orders events for query results: At descending, then EventID
// descending, a total order every backend reproduces from its index.
func NewestFirst(a, b Event) int {
	if c := b.At.Compare(a.At); c != 0 {
		return c
	}
	return strings.Compare(b.EventID, a.EventID)
}
