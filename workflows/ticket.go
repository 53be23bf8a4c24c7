package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/parklot/parklot/domain/audit"
	"github.com/parklot/parklot/domain/parking"
)

// maxTicketWakesPerRun bounds a ticket's run: a stay with an hourly rate
// wakes every hour, a long one for months.
const maxTicketWakesPerRun = 500

// ticketRun is the state of one run of a ticket.
type ticketRun struct {
	in TicketInput
	t  parking.Ticket
	// quote is what an exit right now would cost (the final quote once
	// closed); pricedAt is the instant it was worked out for, just past
	// the last boundary, and asOf the workflow time it was worked out at.
	quote    parking.Quote
	pricedAt time.Time
	asOf     time.Time
	// next is the next instant the amount changes; zero when it never does
	// before the ticket closes or auto-closes.
	next     time.Time
	askedLot bool
	wakes    int
	audit    *auditLog
}

// Ticket is one stay from entry to its final status (DESIGN.md §4). It
// sleeps until the next pricing boundary (PricingRules.NextBoundary),
// re-prices, and keeps the running amount queryable (`quote`). Its lot
// decides how it ends and signals it (`close-ticket`): closed or lost on
// exit, void, or auto_closed after the lot's maximum stay, of which the
// ticket reminds the lot when the time comes.
func Ticket(ctx workflow.Context, in TicketInput) (TicketView, error) {
	r := &ticketRun{in: in, t: in.Ticket, askedLot: in.AskedLot}
	if err := workflow.SetQueryHandler(ctx, QueryQuote, func() (TicketView, error) { return r.view(), nil }); err != nil {
		return r.view(), err
	}
	closes := workflow.GetSignalChannel(ctx, SignalCloseTicket)
	subjects := append([]audit.Subject{ticketSubject(in.Ticket.ID), lotSubject(in.Ticket.Lot), vehicleSubject(in.Ticket.Vehicle.Plate)},
		spotSubjects(in.Ticket.SpotIDs, audit.MaxSubjects-3)...)
	r.audit = newAuditLog(ctx, in.Ticket.Lot, subjects...)
	r.audit.pending = append(r.audit.pending, in.PendingAudit...)

	if in.Runs == 0 {
		// An exit an instant after entry already owes the first unit.
		r.price(ctx, in.Ticket.EntryTime.Add(time.Nanosecond))
		data := map[string]any{
			"vehicle": r.t.Vehicle, "spots": r.t.SpotIDs, "entryTime": r.t.EntryTime, "occupancyAtEntry": r.t.OccupancyAtEntry,
			"surge": r.quote.Surge, "amountSoFar": r.quote.Amount, "currency": r.in.Rules.Currency,
		}
		if at, ok := r.t.AutoCloseAt(in.MaxStay); ok {
			data["autoCloseAt"] = at
		}
		r.record(ctx, audit.TypeTicketOpened, data)
	} else {
		r.price(ctx, in.PricedAt)
	}
	r.audit.flush(ctx)

	for r.t.Status == parking.TicketOpen {
		if ctx.Err() != nil {
			return r.view(), temporal.NewCanceledError("ticket cancelled")
		}
		if r.wakes >= maxTicketWakesPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			var c TicketClose
			if !closes.ReceiveAsync(&c) {
				return r.view(), r.continueAsNew(ctx)
			}
			r.close(ctx, c)
			break
		}
		wake, timed := r.wakeAt()
		s := workflow.NewSelector(ctx)
		s.AddReceive(closes, func(ch workflow.ReceiveChannel, _ bool) {
			var c TicketClose
			ch.Receive(ctx, &c)
			r.close(ctx, c)
		})
		s.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {})
		fired := false
		cancelTimer := func() {}
		if timed {
			var tctx workflow.Context
			tctx, cancelTimer = workflow.WithCancel(ctx)
			d := max(wake.Sub(workflow.Now(ctx)), time.Millisecond)
			s.AddFuture(workflow.NewTimer(tctx, d), func(f workflow.Future) { fired = f.Get(ctx, nil) == nil })
		}
		s.Select(ctx)
		cancelTimer()
		if fired {
			r.wakes++
			r.onTimer(ctx, wake)
		}
		r.audit.flush(ctx)
	}
	if err := r.audit.wait(ctx); err != nil {
		return r.view(), err
	}
	return r.view(), nil
}

// wakeAt is when the amount changes next, or the maximum stay ends.
func (r *ticketRun) wakeAt() (time.Time, bool) {
	if !r.next.IsZero() {
		return r.next, true
	}
	if deadline, ok := r.t.AutoCloseAt(r.in.MaxStay); ok && !r.askedLot {
		return deadline, true
	}
	return time.Time{}, false
}

// onTimer re-prices at a boundary, or asks the lot to auto-close the
// ticket once the maximum stay has passed.
func (r *ticketRun) onTimer(ctx workflow.Context, boundary time.Time) {
	now := workflow.Now(ctx)
	if deadline, ok := r.t.AutoCloseAt(r.in.MaxStay); ok && !now.Before(deadline) {
		r.repriceAudited(ctx, deadline)
		if !r.askedLot {
			r.askedLot = true
			r.askLot(ctx, now)
		}
		return
	}
	// An exit at the boundary itself still pays the old amount; any later
	// one the new, which is what the ticket shows from now on.
	at := now
	if !at.After(boundary) {
		at = boundary.Add(time.Nanosecond)
	}
	r.repriceAudited(ctx, at)
}

func (r *ticketRun) repriceAudited(ctx workflow.Context, at time.Time) {
	before := r.quote
	if !r.price(ctx, at) || before.Amount == r.quote.Amount {
		return
	}
	rule := ""
	if n := len(r.quote.Breakdown); n > 0 {
		rule = r.quote.Breakdown[n-1].Rule
	}
	r.record(ctx, audit.TypePriceChanged, map[string]any{
		"from": before.Amount, "to": r.quote.Amount, "currency": r.quote.Currency, "at": r.pricedAt, "rule": rule,
	})
}

// price works out the amount of an exit at `at` (capped at the maximum
// stay, which is all an auto-close charges) and when it changes next. It
// reports false, keeping the last amount, when the stay cannot be priced.
func (r *ticketRun) price(ctx workflow.Context, at time.Time) bool {
	deadline, limited := r.t.AutoCloseAt(r.in.MaxStay)
	if limited && at.After(deadline) {
		at = deadline
	}
	q, err := r.t.Quote(r.in.Rules, at)
	if err != nil {
		workflow.GetLogger(ctx).Error("ticket cannot be priced", "ticket", r.t.ID, "error", err)
		r.next = time.Time{}
		return false
	}
	r.quote, r.pricedAt, r.asOf = q, at, workflow.Now(ctx)
	r.next = time.Time{}
	if nb, ok := r.in.Rules.NextBoundary(r.t.EntryTime, at); ok && (!limited || nb.Before(deadline)) {
		r.next = nb
	}
	return true
}

// askLot reminds the lot that the maximum stay has passed; the lot answers
// with the ticket's final word. When the lot is gone the ticket closes
// itself, so it never waits for an answer that cannot come.
func (r *ticketRun) askLot(ctx workflow.Context, now time.Time) {
	err := workflow.SignalExternalWorkflow(ctx, LotWorkflowID(r.t.Lot), "", SignalMaxStay, MaxStayReached{TicketID: r.t.ID}).Get(ctx, nil)
	if err == nil {
		return
	}
	workflow.GetLogger(ctx).Warn("lot unreachable; auto-closing the ticket itself", "ticket", r.t.ID, "lot", r.t.Lot, "error", err)
	t, q, cerr := r.t.AutoClose(r.in.Rules, now, r.in.MaxStay)
	if cerr != nil {
		return
	}
	r.close(ctx, TicketClose{Ticket: t, Quote: q, Note: "the lot could not be reached"})
}

// close records the lot's final word; repeats and strays are ignored.
func (r *ticketRun) close(ctx workflow.Context, c TicketClose) {
	if r.t.Status != parking.TicketOpen || c.Ticket.ID != r.t.ID || !c.Ticket.Status.Final() {
		workflow.GetLogger(ctx).Warn("close signal ignored", "ticket", r.t.ID, "for", c.Ticket.ID, "status", c.Ticket.Status)
		return
	}
	r.t, r.quote, r.asOf, r.next = c.Ticket, c.Quote, workflow.Now(ctx), time.Time{}
	r.pricedAt = c.Ticket.ClosedAt
	data := map[string]any{"status": r.t.Status, "amount": r.t.Amount, "currency": c.Quote.Currency,
		"duration": c.Quote.Duration.String(), "closedAt": r.t.ClosedAt}
	if c.Note != "" {
		data["note"] = c.Note
	}
	typ := audit.TypeTicketClosed
	if r.t.Status == parking.TicketVoid {
		typ = audit.TypeTicketVoided
	}
	r.record(ctx, typ, data)
}

func (r *ticketRun) record(ctx workflow.Context, typ audit.Type, data any) {
	r.audit.record(ctx, typ, data)
}

func (r *ticketRun) view() TicketView {
	v := TicketView{
		TicketID: r.t.ID, Lot: r.t.Lot, Status: r.t.Status, Plate: r.t.Vehicle.Plate, Vehicle: r.t.Vehicle,
		Spots: r.t.SpotIDs, EntryTime: r.t.EntryTime, OccupancyAtEntry: r.t.OccupancyAtEntry,
		AmountSoFar: r.quote.Amount, Currency: r.in.Rules.Currency, AsOf: r.asOf, NextChange: r.next,
		ClosedAt: r.t.ClosedAt, Breakdown: r.quote.Breakdown,
	}
	if v.Breakdown == nil {
		v.Breakdown = []parking.Segment{}
	}
	if at, ok := r.t.AutoCloseAt(r.in.MaxStay); ok && r.t.Status == parking.TicketOpen {
		v.AutoCloseAt = at
	}
	return v
}

// continueAsNew hands the open ticket and its amount to a new run.
func (r *ticketRun) continueAsNew(ctx workflow.Context) error {
	next := r.in
	next.Ticket = r.t
	next.PricedAt = r.pricedAt
	next.Amount = r.quote.Amount
	next.AskedLot = r.askedLot
	next.PendingAudit = r.audit.unwritten(ctx)
	next.Runs++
	return workflow.NewContinueAsNewError(ctx, Ticket, next)
}
