package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/parklot/parklot/domain/audit"
	"github.com/parklot/parklot/domain/parking"
)

// ErrTypeTicketNotStarted is the error type of a park whose ticket workflow
// could not be started; the vehicle's spots were given back.
const ErrTypeTicketNotStarted = "ticket_not_started"

// lotRun is the state of one run of a lot; the inventory (parking.Lot)
// holds everything that matters across runs.
type lotRun struct {
	in  LotInput
	inv *parking.Lot
	// ctx is the run's root context, for audit events recorded by handlers.
	ctx      workflow.Context
	updates  int
	inflight int // close signals to tickets not yet acknowledged
	wake     workflow.Channel
	audit    *auditLog

	configure, maxStay workflow.ReceiveChannel
}

// Lot is the single writer of one lot's inventory (DESIGN.md §4): parks,
// exits and voids arrive as updates, and only this workflow changes which
// vehicle holds which spot, so two gates can never double-book one.
//
// The SDK runs update handlers as coroutines that interleave wherever one
// of them blocks. Every handler therefore does all of its inventory changes
// synchronously, before its first blocking call (starting or signalling a
// ticket), so no handler ever sees the lot half-changed by another and no
// mutex is needed.
//
// Each ticket is a child workflow with ParentClosePolicy ABANDON: its start
// is a command in the lot's own history (exactly once, no activity), and it
// outlives the lot's continue-as-new. Its id is "<lot>-<n>" from the lot's
// counter, so a replay names the same ticket. A lot whose workflow was
// terminated and started afresh counts from 1 again: Temporal refuses the
// ticket ids already used (REJECT_DUPLICATE), so such a park fails with
// ticket_not_started and gives its spots back rather than mixing two stays
// under one id, and each failure burns its number until the count is past
// the old tickets.
func Lot(ctx workflow.Context, in LotInput) error {
	if in.MaxUpdatesPerRun <= 0 {
		in.MaxUpdatesPerRun = DefaultLotUpdatesPerRun
	}
	l := &lotRun{in: in, inv: in.State, ctx: ctx, wake: workflow.NewBufferedChannel(ctx, 1)}
	if l.inv == nil {
		inv, err := parking.NewLot(in.Spec)
		if err != nil {
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf("lot %q: %v", in.Lot, err), string(parking.CodeOf(err)), nil)
		}
		l.inv = inv
	}
	// The inventory carries the spec from here on.
	l.in.State, l.in.Spec, l.in.PendingAudit = nil, parking.LotSpec{}, nil
	// Before any handler is registered: the SDK may run updates buffered
	// for a new run as soon as their handler exists, and they audit.
	l.audit = newAuditLog(ctx, in.Lot, lotSubject(in.Lot))
	l.audit.pending = append(l.audit.pending, in.PendingAudit...)

	if err := workflow.SetQueryHandler(ctx, QueryOccupancy, func() (LotStatus, error) { return l.status(), nil }); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdatePark, l.park,
		workflow.UpdateHandlerOptions{Validator: validatePark}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateExit, l.exit,
		workflow.UpdateHandlerOptions{Validator: validateExit}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateVoid, l.void,
		workflow.UpdateHandlerOptions{Validator: validateVoid}); err != nil {
		return err
	}
	l.configure = workflow.GetSignalChannel(ctx, SignalConfigureLot)
	l.maxStay = workflow.GetSignalChannel(ctx, SignalMaxStay)

	l.audit.flush(ctx)

	for {
		s := workflow.NewSelector(ctx)
		// The handlers only wake the loop; drain reads the signals.
		s.AddReceive(l.configure, func(workflow.ReceiveChannel, bool) {})
		s.AddReceive(l.maxStay, func(workflow.ReceiveChannel, bool) {})
		s.AddReceive(l.wake, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
		s.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {})
		s.Select(ctx)
		if ctx.Err() != nil {
			return temporal.NewCanceledError("lot cancelled")
		}
		l.drain(ctx)
		l.applyPendingConfig(ctx)
		l.audit.flush(ctx)
		if l.updates >= l.in.MaxUpdatesPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return l.continueAsNew(ctx)
		}
	}
}

// validatePark refuses a vehicle no lot could take before the update is
// accepted, so invalid input never reaches the history.
func validatePark(_ workflow.Context, req ParkRequest) error {
	_, err := req.Vehicle.Normalize()
	return invalidInput(err)
}

func validateExit(_ workflow.Context, req ExitRequest) error {
	switch {
	case req.TicketID == "" && req.Lost && parking.NormalizePlate(req.Plate) == "":
		return invalidInput(&parking.Error{Code: parking.CodeInvalidTicket, Field: "plate",
			Message: "a lost ticket is found by the plate: give the plate"})
	case req.TicketID == "" && !req.Lost:
		return invalidInput(&parking.Error{Code: parking.CodeInvalidTicket, Field: "ticketId",
			Message: "give the ticket id, or the plate with lost when the ticket is lost"})
	}
	return nil
}

func validateVoid(_ workflow.Context, req VoidRequest) error {
	if req.TicketID == "" {
		return invalidInput(&parking.Error{Code: parking.CodeInvalidTicket, Field: "ticketId", Message: "give the ticket id to void"})
	}
	return nil
}

// invalidInput turns a domain error into the non-retryable application
// error clients see, with the *parking.Error as details (api decodes it).
func invalidInput(err error) error {
	if err == nil {
		return nil
	}
	var pe *parking.Error
	if !errors.As(err, &pe) {
		return temporal.NewNonRetryableApplicationError(err.Error(), "invalid", nil)
	}
	return temporal.NewNonRetryableApplicationError(pe.Error(), string(pe.Code), nil, *pe)
}

// messageOf is a domain error's message without its code, which the
// result carries separately.
func messageOf(err error) string {
	var pe *parking.Error
	if errors.As(err, &pe) && pe.Message != "" {
		return pe.Message
	}
	return err.Error()
}

// park places a vehicle and opens its ticket. Refusals are answers.
func (l *lotRun) park(ctx workflow.Context, req ParkRequest) (ParkResult, error) {
	l.updates++
	defer l.wake.SendAsync(struct{}{})
	updateID := workflow.GetCurrentUpdateInfo(ctx).ID
	for _, r := range l.in.RecentParks {
		if r.UpdateID == updateID {
			return r.Result, nil
		}
	}
	res, err := l.parkFrom(ctx, req, 0)
	if err == nil {
		l.in.RecentParks = append(l.in.RecentParks, RecentPark{UpdateID: updateID, Result: res})
		if n := len(l.in.RecentParks); n > recentParksKept {
			l.in.RecentParks = slices.Delete(l.in.RecentParks, 0, n-recentParksKept)
		}
	}
	return res, err
}

// versionTicketSkipAhead marks the change that moves a lot's ticket numbers
// past those of an earlier lot workflow instead of refusing the park.
const versionTicketSkipAhead = "ticket-skip-ahead"

// maxTicketSkips bounds how often one park moves the numbering on; more
// than one means tickets are being opened under the lot's names by
// something else.
const maxTicketSkips = 3

// lastTicketInUse asks which ticket numbers after inUse are taken.
func (l *lotRun) lastTicketInUse(ctx workflow.Context, inUse int) (int, bool) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 5},
	})
	var last int
	err := workflow.ExecuteActivity(actx, ActivityLastTicketInUse, LastTicketInput{Lot: l.in.Lot, InUse: inUse}).Get(ctx, &last)
	return last, err == nil && last >= inUse
}

// parkFrom parks one vehicle; skips counts how often this park has already
// moved the ticket numbering past an earlier lot workflow's tickets.
func (l *lotRun) parkFrom(ctx workflow.Context, req ParkRequest, skips int) (ParkResult, error) {
	now := workflow.Now(ctx)
	seq := l.in.LastTicket + 1
	id := TicketID(l.in.Lot, seq)
	a, err := l.inv.Park(req.Vehicle, now, id)
	switch code := parking.CodeOf(err); code {
	case "":
	case parking.CodeLotFull, parking.CodeNoCompatibleSpot, parking.CodeDuplicatePlate:
		v, _ := req.Vehicle.Normalize()
		return ParkResult{Lot: l.in.Lot, Vehicle: v, Reason: code, Message: messageOf(err)}, nil
	default:
		return ParkResult{}, invalidInput(err)
	}
	l.in.LastTicket++
	rules := l.inv.Pricing()
	ticket := parking.NewTicket(l.in.Lot, a)

	// Everything above is synchronous; from here on other handlers may run.
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            TicketWorkflowID(id),
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		// A child takes its parent's priority unless it names one. The lot
		// runs ahead of tasks in the task queue; its tickets, which wake in
		// crowds at tariff boundaries, must not.
		Priority: temporal.Priority{PriorityKey: TicketPriorityKey},
	})
	child := workflow.ExecuteChildWorkflow(cctx, Ticket, TicketInput{Ticket: ticket, Rules: rules, MaxStay: l.inv.MaxStay()})
	if err := child.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		l.inv.Exit(id)
		var taken *temporal.ChildWorkflowExecutionAlreadyStartedError
		if errors.As(err, &taken) && workflow.GetVersion(ctx, versionTicketSkipAhead, workflow.DefaultVersion, 1) == 1 {
			// The number belongs to a ticket of an earlier lot workflow (one
			// restarted from scratch): continue after the last one in use.
			if skips < maxTicketSkips {
				if last, ok := l.lastTicketInUse(ctx, seq); ok {
					l.in.LastTicket = max(l.in.LastTicket, last)
					return l.parkFrom(ctx, req, skips+1)
				}
			}
		}
		workflow.GetLogger(ctx).Error("ticket workflow not started; spots given back", "ticket", id, "error", err)
		return ParkResult{}, temporal.NewApplicationError(
			fmt.Sprintf("lot %q could not open ticket %s (%v); the vehicle was not parked, try again", l.in.Lot, id, err),
			ErrTypeTicketNotStarted)
	}
	surge := rules.Surge.Multiplier != 0 && a.OccupancyAtEntry >= rules.Surge.ThresholdPerMille
	l.record(audit.TypeParked, map[string]any{
		"vehicle": a.Vehicle, "spots": a.SpotIDs, "entryTime": a.EntryTime, "occupancyAtEntry": a.OccupancyAtEntry, "surge": surge,
	}, append([]audit.Subject{vehicleSubject(a.Vehicle.Plate), ticketSubject(id)}, spotSubjects(a.SpotIDs, audit.MaxSubjects-3)...)...)
	return ParkResult{
		Lot: l.in.Lot, TicketID: id, Vehicle: a.Vehicle, Spots: a.SpotIDs, EntryTime: a.EntryTime,
		OccupancyAtEntry: a.OccupancyAtEntry, Surge: surge, Pricing: &rules,
	}, nil
}

// exit lets a vehicle out and prices its stay from workflow time.
func (l *lotRun) exit(ctx workflow.Context, req ExitRequest) (ExitResult, error) {
	l.updates++
	defer l.wake.SendAsync(struct{}{})
	a, err := l.find(req.TicketID, req.Plate)
	if err != nil {
		return ExitResult{Lot: l.in.Lot, TicketID: req.TicketID, Plate: parking.NormalizePlate(req.Plate),
			Reason: parking.CodeOf(err), Message: messageOf(err)}, nil
	}
	t := parking.NewTicket(l.in.Lot, a)
	now := workflow.Now(ctx)
	var q parking.Quote
	if req.Lost {
		t, q, err = t.CloseLost(l.inv.Pricing(), now)
	} else {
		t, q, err = t.Close(l.inv.Pricing(), now)
	}
	if err != nil {
		return ExitResult{}, invalidInput(err)
	}
	res := l.release(t, q, "")
	// The inventory is settled; the ticket hears of it while others run.
	_ = l.tellTicket(ctx, TicketClose{Ticket: t, Quote: q}).Get(ctx, nil)
	return res, nil
}

// void releases a ticket's spots without a charge.
func (l *lotRun) void(ctx workflow.Context, req VoidRequest) (ExitResult, error) {
	l.updates++
	defer l.wake.SendAsync(struct{}{})
	a, err := l.find(req.TicketID, "")
	if err != nil {
		return ExitResult{Lot: l.in.Lot, TicketID: req.TicketID, Reason: parking.CodeOf(err), Message: messageOf(err)}, nil
	}
	t, err := parking.NewTicket(l.in.Lot, a).Void(workflow.Now(ctx))
	if err != nil {
		return ExitResult{}, invalidInput(err)
	}
	q, _ := t.Quote(l.inv.Pricing(), t.ClosedAt)
	res := l.release(t, q, req.Note)
	_ = l.tellTicket(ctx, TicketClose{Ticket: t, Quote: q, Note: req.Note}).Get(ctx, nil)
	return res, nil
}

// find looks a parked vehicle up by ticket, or by plate when there is no
// ticket id (a lost ticket).
func (l *lotRun) find(ticketID, plate string) (parking.Assignment, error) {
	if ticketID != "" {
		return l.inv.Assignment(ticketID)
	}
	return l.inv.AssignmentByPlate(plate)
}

// release frees the spots of a ticket that has reached its final status,
// records the exit and returns what the caller is told.
func (l *lotRun) release(t parking.Ticket, q parking.Quote, note string) ExitResult {
	l.inv.Exit(t.ID)
	data := map[string]any{"status": t.Status, "amount": t.Amount, "currency": q.Currency, "duration": q.Duration.String(), "spots": t.SpotIDs}
	if note != "" {
		data["note"] = note
	}
	l.record(audit.TypeExited, data,
		append([]audit.Subject{vehicleSubject(t.Vehicle.Plate), ticketSubject(t.ID)}, spotSubjects(t.SpotIDs, audit.MaxSubjects-3)...)...)
	return ExitResult{
		Lot: l.in.Lot, TicketID: t.ID, Status: t.Status, Plate: t.Vehicle.Plate, Spots: t.SpotIDs,
		EntryTime: t.EntryTime, ExitTime: t.ClosedAt, Amount: t.Amount, Currency: q.Currency,
		Duration: q.Duration, Breakdown: q.Breakdown,
	}
}

// tellTicket sends a ticket the lot's final word. The signal leaves at
// once; the returned future is ready when the ticket has it, and until then
// it counts as in flight, which continue-as-new waits for.
func (l *lotRun) tellTicket(ctx workflow.Context, c TicketClose) workflow.Future {
	l.inflight++
	sent := workflow.SignalExternalWorkflow(ctx, TicketWorkflowID(c.Ticket.ID), "", SignalCloseTicket, c)
	done, settle := workflow.NewFuture(ctx)
	workflow.Go(ctx, func(ctx workflow.Context) {
		err := sent.Get(ctx, nil)
		l.inflight--
		if err != nil {
			// The ticket's workflow is gone; the lot's word stands.
			workflow.GetLogger(ctx).Warn("ticket not told its final status", "ticket", c.Ticket.ID, "status", c.Ticket.Status, "error", err)
		}
		settle.SetError(err)
	})
	return done
}

// drain applies every buffered signal; it reports whether there was any.
func (l *lotRun) drain(ctx workflow.Context) bool {
	progressed := false
	for {
		var cfg LotConfigure
		if l.configure.ReceiveAsync(&cfg) {
			progressed = true
			l.reconfigure(ctx, cfg)
			continue
		}
		var m MaxStayReached
		if l.maxStay.ReceiveAsync(&m) {
			progressed = true
			l.autoClose(ctx, m.TicketID)
			continue
		}
		return progressed
	}
}

// autoClose closes a ticket whose maximum stay has passed, unless it left
// meanwhile (an exit and the notice crossed): the lot decides, not the
// ticket, so a stay is never both exited and auto-closed.
func (l *lotRun) autoClose(ctx workflow.Context, ticketID string) {
	a, err := l.inv.Assignment(ticketID)
	if err != nil {
		return
	}
	t, q, err := parking.NewTicket(l.in.Lot, a).AutoClose(l.inv.Pricing(), workflow.Now(ctx), l.inv.MaxStay())
	if err != nil {
		// The lot's maximum stay is longer than the ticket thought (the
		// configuration changed): the ticket stays open.
		workflow.GetLogger(ctx).Warn("max-stay notice ignored", "ticket", ticketID, "error", err)
		return
	}
	l.release(t, q, "")
	l.tellTicket(ctx, TicketClose{Ticket: t, Quote: q})
}

// reconfigure compares a worker's configuration with the running lot.
// Rebuilding an inventory under parked vehicles is out of scope, so a
// changed layout or tariff waits until the lot is empty (prices of open
// tickets never change under them); until then it is logged and shown in
// the status as pendingConfig.
func (l *lotRun) reconfigure(ctx workflow.Context, cfg LotConfigure) {
	logger := workflow.GetLogger(ctx)
	next, err := parking.NewLot(cfg.Spec)
	if err != nil {
		logger.Error("lot configuration refused; keeping the running one", "lot", l.in.Lot, "error", err)
		return
	}
	l.in.LevelNames = cfg.LevelNames
	if sameSpec(next, l.inv) {
		l.in.PendingConfig = nil
		return
	}
	l.in.PendingConfig = &cfg
	if n := len(l.inv.Assignments()); n > 0 {
		logger.Warn("lot configuration changed while vehicles are parked; it applies once the lot is empty",
			"lot", l.in.Lot, "vehicles", n)
	}
}

// applyPendingConfig rebuilds an empty lot from a configuration that
// changed while it was occupied.
func (l *lotRun) applyPendingConfig(ctx workflow.Context) {
	if l.in.PendingConfig == nil || len(l.inv.Assignments()) > 0 {
		return
	}
	next, err := parking.NewLot(l.in.PendingConfig.Spec)
	l.in.PendingConfig = nil
	if err != nil {
		return // reconfigure built it once; it cannot fail now
	}
	l.inv = next
	workflow.GetLogger(ctx).Info("lot rebuilt from its new configuration", "lot", l.in.Lot)
}

// sameSpec compares two lots' normalised specifications.
func sameSpec(a, b *parking.Lot) bool {
	ja, errA := json.Marshal(a.Spec())
	jb, errB := json.Marshal(b.Spec())
	return errA == nil && errB == nil && string(ja) == string(jb)
}

func (l *lotRun) record(typ audit.Type, data any, subjects ...audit.Subject) {
	l.audit.record(l.ctx, typ, data, subjects...)
}

func (l *lotRun) status() LotStatus {
	o := l.inv.Occupancy()
	st := LotStatus{
		Lot: l.in.Lot, Strategy: l.inv.Strategy(), Currency: l.inv.Pricing().Currency,
		Spots: o.Total, Free: map[parking.SpotKind]int{}, Occupied: o.Occupied, Reserved: o.Reserved,
		OutOfService: o.OutOfService, RatioPerMille: o.RatioPerMille, Vehicles: len(l.inv.Assignments()),
		ByKind: o.ByKind, LastTicket: l.in.LastTicket, Runs: l.in.Runs, PendingConfig: l.in.PendingConfig != nil,
	}
	for _, k := range o.ByKind {
		st.Free[k.Kind] = k.Free
	}
	st.Rows = rowMaps(l.inv.Spots())
	for _, lv := range o.ByLevel {
		ls := LevelStatus{Level: lv.Level, Counts: lv.Counts}
		if lv.Level < len(l.in.LevelNames) {
			ls.Name = l.in.LevelNames[lv.Level]
		}
		st.Levels = append(st.Levels, ls)
	}
	return st
}

// continueAsNew waits until no handler runs and no ticket waits for its
// final word, applies what arrived meanwhile, and hands the inventory over.
// Nothing yields after the last check, so nothing is lost at the boundary;
// updates that reach the closing run are retried by the server on the next.
func (l *lotRun) continueAsNew(ctx workflow.Context) error {
	for {
		if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) && l.inflight == 0 }); err != nil {
			return err
		}
		if !l.drain(ctx) {
			break
		}
	}
	l.applyPendingConfig(ctx)
	next := l.in
	next.State = l.inv
	next.PendingAudit = l.audit.unwritten(ctx)
	next.LevelNames = slices.Clone(l.in.LevelNames)
	next.Runs++
	return workflow.NewContinueAsNewError(ctx, Lot, next)
}

// rowMaps groups spots, which come in location order, into rows. A row's
// name is the middle part of its spots' ids ("L0-A-03" is row A).
func rowMaps(spots []parking.Spot) []RowMap {
	var rows []RowMap
	for _, sp := range spots {
		name := sp.ID
		if parts := strings.SplitN(sp.ID, "-", 3); len(parts) == 3 {
			name = parts[1]
		}
		if n := len(rows); n == 0 || rows[n-1].Level != sp.Location.Level || rows[n-1].Row != name {
			rows = append(rows, RowMap{Level: sp.Location.Level, Row: name})
		}
		rows[len(rows)-1].States = append(rows[len(rows)-1].States, sp.State)
	}
	return rows
}
