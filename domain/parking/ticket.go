package parking

import (
	"fmt"
	"slices"
	"time"
)

// TicketStatus is where a ticket is in its lifecycle. Open is the only
// status that can change; every other status is final.
type TicketStatus string

// Ticket statuses.
const (
	// TicketOpen: the vehicle is in the lot.
	TicketOpen TicketStatus = "open"
	// TicketClosed: the vehicle left and paid the quoted amount.
	TicketClosed TicketStatus = "closed"
	// TicketVoid: an operator cancelled the ticket; nothing is charged.
	TicketVoid TicketStatus = "void"
	// TicketLost: the driver lost the ticket; the plate's real entry time is
	// charged plus the lost-ticket fee.
	TicketLost TicketStatus = "lost"
	// TicketAutoClosed: the lot's maximum stay passed without an exit being
	// read; the stay up to the maximum is charged.
	TicketAutoClosed TicketStatus = "auto_closed"
)

// Valid reports whether s is a known status.
func (s TicketStatus) Valid() bool {
	switch s {
	case TicketOpen, TicketClosed, TicketVoid, TicketLost, TicketAutoClosed:
		return true
	}
	return false
}

// Final reports whether s can no longer change.
func (s TicketStatus) Final() bool { return s.Valid() && s != TicketOpen }

// CheckTransition returns nil when a ticket may go from one status to the
// other (open to any final status) and an illegal_transition error that says
// why not otherwise. Staying in the same status is a transition too, and
// refused: the caller decides whether a repeat is harmless.
func CheckTransition(from, to TicketStatus) error {
	switch {
	case !from.Valid():
		return newError(CodeIllegalTransition, "unknown ticket status %q", from)
	case !to.Valid():
		return newError(CodeIllegalTransition, "unknown ticket status %q, use closed, void, lost or auto_closed", to)
	case from.Final():
		return newError(CodeIllegalTransition, "cannot go from %s to %s: %s is final", from, to, from)
	case to == TicketOpen:
		return newError(CodeIllegalTransition, "the ticket is already open")
	}
	return nil
}

// Ticket is one stay in a lot from entry to its final status.
type Ticket struct {
	ID               string       `json:"ticketId"`
	Lot              string       `json:"lot"`
	Vehicle          Vehicle      `json:"vehicle"`
	SpotIDs          []string     `json:"spotIds"`
	EntryTime        time.Time    `json:"entryTime"`
	OccupancyAtEntry int          `json:"occupancyAtEntry"`
	Status           TicketStatus `json:"status"`
	// ClosedAt is the instant the stay was priced up to; zero while open.
	ClosedAt time.Time `json:"closedAt,omitzero"`
	// Amount is the final amount in minor units of Currency; 0 while open.
	Amount   int64  `json:"amount"`
	Currency string `json:"currency,omitempty"`
}

// NewTicket opens the ticket of a vehicle that Lot.Park placed.
func NewTicket(lot string, a Assignment) Ticket {
	return Ticket{
		ID: a.TicketID, Lot: lot, Vehicle: a.Vehicle, SpotIDs: slices.Clone(a.SpotIDs),
		EntryTime: a.EntryTime.UTC(), OccupancyAtEntry: a.OccupancyAtEntry, Status: TicketOpen,
	}
}

// Quote is the running amount of an open ticket at time at, or the final
// amount of a closed, lost or auto-closed one (at is then ignored). A void
// ticket quotes zero.
func (t Ticket) Quote(rules PricingRules, at time.Time) (Quote, error) {
	switch t.Status {
	case TicketOpen:
		return rules.Quote(t.EntryTime, at, t.OccupancyAtEntry, false)
	case TicketVoid:
		return rules.Quote(t.EntryTime, t.EntryTime, 0, false)
	default:
		return rules.Quote(t.EntryTime, t.ClosedAt, t.OccupancyAtEntry, t.Status == TicketLost)
	}
}

// Close records a normal exit at time at and returns the closed ticket and
// its final quote.
func (t Ticket) Close(rules PricingRules, at time.Time) (Ticket, Quote, error) {
	return t.finish(rules, TicketClosed, at, false)
}

// CloseLost records an exit without the ticket: the real entry time (found
// by plate with Lot.AssignmentByPlate) is charged plus the lost-ticket fee.
func (t Ticket) CloseLost(rules PricingRules, at time.Time) (Ticket, Quote, error) {
	return t.finish(rules, TicketLost, at, true)
}

// Void cancels the ticket without a charge.
func (t Ticket) Void(at time.Time) (Ticket, error) {
	if err := t.check(TicketVoid); err != nil {
		return t, err
	}
	t.Status, t.ClosedAt, t.Amount = TicketVoid, at.UTC(), 0
	return t, nil
}

// AutoCloseAt is the instant a ticket of the lot with the given maximum stay
// is auto-closed; false when maxStay is 0 (never).
func (t Ticket) AutoCloseAt(maxStay time.Duration) (time.Time, bool) {
	if maxStay <= 0 {
		return time.Time{}, false
	}
	return t.EntryTime.Add(maxStay), true
}

// AutoClose closes a ticket whose exit was never read once the maximum stay
// has passed (at is when the caller noticed). The stay is charged up to
// EntryTime+maxStay, whenever at is, so the amount does not depend on how
// late the caller woke up. It fails with illegal_transition before then.
func (t Ticket) AutoClose(rules PricingRules, at time.Time, maxStay time.Duration) (Ticket, Quote, error) {
	deadline, ok := t.AutoCloseAt(maxStay)
	if !ok {
		return t, Quote{}, newError(CodeIllegalTransition, "ticket %q: the lot has no maximum stay", t.ID)
	}
	if at.Before(deadline) {
		return t, Quote{}, newError(CodeIllegalTransition, "ticket %q: the maximum stay ends at %s, not before",
			t.ID, deadline.Format(time.RFC3339))
	}
	return t.finish(rules, TicketAutoClosed, deadline, false)
}

func (t Ticket) check(to TicketStatus) error {
	if err := CheckTransition(t.Status, to); err != nil {
		e := err.(*Error)
		return &Error{Code: e.Code, Message: fmt.Sprintf("ticket %q: %s", t.ID, e.Message)}
	}
	return nil
}

func (t Ticket) finish(rules PricingRules, to TicketStatus, at time.Time, lost bool) (Ticket, Quote, error) {
	if err := t.check(to); err != nil {
		return t, Quote{}, err
	}
	q, err := rules.Quote(t.EntryTime, at, t.OccupancyAtEntry, lost)
	if err != nil {
		return t, Quote{}, err
	}
	t.Status, t.ClosedAt, t.Amount, t.Currency = to, q.At.UTC(), q.Amount, q.Currency
	return t, q, nil
}
