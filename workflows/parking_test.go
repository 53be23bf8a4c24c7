package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/parklot/parklot/domain/audit"
	"github.com/parklot/parklot/domain/parking"
)

// entry is a Monday morning; the test tariff has no peaks, so only the
// tiers and the hourly rate move the amount.
var entry = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

func testRules() parking.PricingRules {
	return parking.PricingRules{
		Currency: "EUR", TimeZone: time.UTC,
		Grace:         10 * time.Minute,
		Tiers:         []parking.Tier{{UpTo: 30 * time.Minute, Fee: 150}, {UpTo: time.Hour, Fee: 300}, {UpTo: 3 * time.Hour, Fee: 800}},
		HourlyRate:    250,
		LostTicketFee: 5000,
	}
}

// testLot has two regular spots in row A and one compact spot in row B.
func testLot(maxStay time.Duration) parking.LotSpec {
	return parking.LotSpec{
		Name: "corner", Currency: "EUR", TimeZone: time.UTC, MaxStay: maxStay, Pricing: testRules(),
		Levels: []parking.LevelSpec{{Rows: []parking.RowSpec{
			{Name: "A", Kind: parking.KindRegular, Count: 2},
			{Name: "B", Kind: parking.KindCompact, Count: 1},
		}}},
	}
}

// parkingHarness runs a lot (with its tickets as children) or a ticket in
// the test environment and keeps every audit event written.
type parkingHarness struct {
	t      *testing.T
	env    *testsuite.TestWorkflowEnvironment
	mu     sync.Mutex
	events []audit.Event
}

func newParkingHarness(t *testing.T, workflowID string) *parkingHarness {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	h := &parkingHarness{t: t, env: s.NewTestWorkflowEnvironment()}
	h.env.SetStartTime(entry)
	h.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflowID})
	h.env.SetDetachedChildWait(false)
	h.env.RegisterWorkflowWithOptions(Ticket, workflow.RegisterOptions{Name: "Ticket"})
	h.env.RegisterActivityWithOptions(func(_ context.Context, in AuditInput) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.events = append(h.events, in.Events...)
		return nil
	}, activity.RegisterOptions{Name: ActivityAppendAudit})
	return h
}

func (h *parkingHarness) at(d time.Duration, fn func()) { h.env.RegisterDelayedCallback(fn, d) }

// send delivers an update at the given test time; its result lands in out,
// a rejection or failure in errOut (the test fails on one when errOut is
// nil). Updates run asynchronously, so each step gets its own time.
func send[T any](h *parkingHarness, at time.Duration, name string, arg any, out *T, errOut *error) {
	h.at(at, func() {
		h.env.UpdateWorkflow(name, "", &testsuite.TestUpdateCallback{
			OnReject: func(err error) {
				if errOut == nil {
					h.t.Errorf("%s %+v rejected: %v", name, arg, err)
					return
				}
				*errOut = err
			},
			OnComplete: func(v any, err error) {
				switch {
				case err != nil && errOut == nil:
					h.t.Errorf("%s %+v failed: %v", name, arg, err)
				case err != nil:
					*errOut = err
				case out != nil:
					*out = v.(T)
				}
			},
		}, arg)
	})
}

func (h *parkingHarness) park(at time.Duration, v parking.Vehicle, out *ParkResult) {
	send(h, at, UpdatePark, ParkRequest{Vehicle: v}, out, nil)
}

func (h *parkingHarness) exit(at time.Duration, req ExitRequest, out *ExitResult) {
	send(h, at, UpdateExit, req, out, nil)
}

func (h *parkingHarness) query(at time.Duration, out *LotStatus) {
	h.at(at, func() { *out = h.occupancy() })
}

func (h *parkingHarness) occupancy() LotStatus {
	h.t.Helper()
	v, err := h.env.QueryWorkflow(QueryOccupancy)
	if err != nil {
		h.t.Fatalf("occupancy: %v", err)
	}
	var st LotStatus
	if err := v.Get(&st); err != nil {
		h.t.Fatal(err)
	}
	return st
}

func (h *parkingHarness) ticket(id string) TicketView {
	h.t.Helper()
	v, err := h.env.QueryWorkflowByID(TicketWorkflowID(id), QueryQuote)
	if err != nil {
		h.t.Fatalf("quote of %s: %v", id, err)
	}
	var tv TicketView
	if err := v.Get(&tv); err != nil {
		h.t.Fatal(err)
	}
	return tv
}

func (h *parkingHarness) eventsOf(typ audit.Type, subject audit.Subject) []audit.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []audit.Event
	for _, e := range h.events {
		if e.Type == typ && slices.Contains(e.Subjects, subject) {
			out = append(out, e)
		}
	}
	return out
}

func TestATicketsQuoteMovesAtEachPricingBoundary(t *testing.T) {
	h := newParkingHarness(t, TicketWorkflowID("corner-000001"))
	ticket := parking.Ticket{ID: "corner-000001", Lot: "corner", Vehicle: parking.Vehicle{ID: "BAB123", Plate: "BAB123", Type: "car", Size: "medium"},
		SpotIDs: []string{"L0-A-00"}, EntryTime: entry, Status: parking.TicketOpen}
	type seen struct {
		at     time.Duration
		amount int64
		next   time.Duration
	}
	want := []seen{
		{5 * time.Minute, 0, 10 * time.Minute},              // grace
		{12 * time.Minute, 150, 30 * time.Minute},           // grace over: tier 1 from entry
		{40 * time.Minute, 300, time.Hour},                  // tier 2
		{2 * time.Hour, 800, 3 * time.Hour},                 // tier 3
		{3*time.Hour + 30*time.Minute, 1050, 4 * time.Hour}, // first started hour
		{4*time.Hour + 30*time.Minute, 1300, 5 * time.Hour},
	}
	var got []seen
	for _, w := range want {
		h.at(w.at, func() {
			v, err := h.env.QueryWorkflow(QueryQuote)
			if err != nil {
				t.Fatalf("quote at %v: %v", w.at, err)
			}
			var tv TicketView
			_ = v.Get(&tv)
			got = append(got, seen{w.at, tv.AmountSoFar, tv.NextChange.Sub(entry)})
		})
	}
	closed, q, err := ticket.Close(testRules(), entry.Add(4*time.Hour+45*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	h.at(4*time.Hour+45*time.Minute, func() { h.env.SignalWorkflow(SignalCloseTicket, TicketClose{Ticket: closed, Quote: q}) })
	h.env.ExecuteWorkflow(Ticket, TicketInput{Ticket: ticket, Rules: testRules()})

	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("quotes seen\n got %v\nwant %v", got, want)
	}
	var final TicketView
	if err := h.env.GetWorkflowResult(&final); err != nil {
		t.Fatal(err)
	}
	if final.Status != parking.TicketClosed || final.AmountSoFar != 1300 || !final.ClosedAt.Equal(entry.Add(4*time.Hour+45*time.Minute)) {
		t.Fatalf("final ticket %+v", final)
	}
	var changes []int64
	for _, e := range h.eventsOf(audit.TypePriceChanged, ticketSubject("corner-000001")) {
		changes = append(changes, e.At.Sub(entry).Milliseconds())
	}
	wantChanges := []int64{10 * 60e3, 30 * 60e3, 60 * 60e3, 180 * 60e3, 240 * 60e3}
	if !slices.Equal(changes, wantChanges) {
		t.Fatalf("price_changed at %v ms, want %v", changes, wantChanges)
	}
	if n := len(h.eventsOf(audit.TypeTicketOpened, ticketSubject("corner-000001"))); n != 1 {
		t.Fatalf("%d ticket_opened events", n)
	}
	if n := len(h.eventsOf(audit.TypeTicketClosed, vehicleSubject("BAB123"))); n != 1 {
		t.Fatalf("%d ticket_closed events", n)
	}
}

func TestALotParksExitsVoidsAndRefusesThroughUpdates(t *testing.T) {
	h := newParkingHarness(t, LotWorkflowID("corner"))
	var (
		first, dup, truck, moto, moto2, full ParkResult
		invalidErr                           error
		quote                                TicketView
		exited, again, voided, lost          ExitResult
		busy, empty                          LotStatus
	)
	step := func(i int) time.Duration { return time.Minute + time.Duration(i)*time.Second }
	h.park(step(0), parking.Vehicle{Plate: "b-ab 123"}, &first)
	h.park(step(1), parking.Vehicle{Plate: "BAB123"}, &dup)
	h.park(step(2), parking.Vehicle{Plate: "HGV 1", Type: parking.TypeTruck}, &truck)
	h.park(step(3), parking.Vehicle{Plate: "M 1", Type: parking.TypeMotorcycle}, &moto)
	h.park(step(4), parking.Vehicle{Plate: "M 2", Type: parking.TypeMotorcycle}, &moto2)
	h.park(step(5), parking.Vehicle{Plate: "C 3"}, &full)
	send(h, step(6), UpdatePark, ParkRequest{Vehicle: parking.Vehicle{Plate: "!!"}}, (*ParkResult)(nil), &invalidErr)
	h.query(step(7), &busy)
	h.at(time.Hour+10*time.Minute, func() { quote = h.ticket(first.TicketID) })
	exitAt := 2*time.Hour + time.Minute
	h.exit(exitAt, ExitRequest{TicketID: "corner-000001"}, &exited)
	h.exit(exitAt+time.Second, ExitRequest{TicketID: "corner-000001"}, &again)
	send(h, exitAt+2*time.Second, UpdateVoid, VoidRequest{TicketID: "corner-000002", Note: "issued twice"}, &voided, nil)
	h.exit(exitAt+3*time.Second, ExitRequest{Plate: "m2", Lost: true}, &lost)
	h.query(exitAt+4*time.Second, &empty)
	h.at(3*time.Hour, func() { h.env.CancelWorkflow() })
	h.env.ExecuteWorkflow(Lot, LotInput{Lot: "corner", Spec: testLot(0), LevelNames: []string{"ground"}})

	if first.Refused() || first.TicketID != "corner-000001" || !slices.Equal(first.Spots, []string{"L0-A-00"}) ||
		!first.EntryTime.Equal(entry.Add(time.Minute)) || first.Vehicle.Plate != "BAB123" || first.Pricing == nil || first.Pricing.Currency != "EUR" {
		t.Fatalf("first park %+v", first)
	}
	for _, tc := range []struct {
		name string
		got  ParkResult
		want parking.Code
	}{
		{"a plate already parked", dup, parking.CodeDuplicatePlate},
		{"a truck with no oversized spot and no free run", truck, parking.CodeNoCompatibleSpot},
		{"a car when every spot is taken", full, parking.CodeLotFull},
	} {
		if tc.got.Reason != tc.want || tc.got.Message == "" || tc.got.TicketID != "" {
			t.Errorf("%s: %+v, want refusal %s with a message", tc.name, tc.got, tc.want)
		}
	}
	if moto.TicketID != "corner-000002" || moto2.TicketID != "corner-000003" || !slices.Equal(moto2.Spots, []string{"L0-B-00"}) {
		t.Fatalf("refusals must not use ticket numbers: %+v %+v", moto, moto2)
	}
	var appErr *temporal.ApplicationError
	if !errors.As(invalidErr, &appErr) || appErr.Type() != string(parking.CodeInvalidVehicle) {
		t.Fatalf("an invalid plate: %v, want an invalid_vehicle rejection", invalidErr)
	}
	if busy.Occupied != 3 || busy.Spots != 3 || busy.Vehicles != 3 || busy.Free[parking.KindRegular] != 0 ||
		len(busy.Levels) != 1 || busy.Levels[0].Name != "ground" || busy.Strategy != parking.FirstAvailable {
		t.Fatalf("occupancy when full %+v", busy)
	}
	if quote.Status != parking.TicketOpen || quote.AmountSoFar != 800 || quote.Plate != "BAB123" {
		t.Fatalf("quote after 1h09m %+v, want 800 open", quote)
	}
	if exited.Status != parking.TicketClosed || exited.Amount != 800 || exited.Duration != 2*time.Hour || exited.Currency != "EUR" || len(exited.Breakdown) == 0 {
		t.Fatalf("exit %+v", exited)
	}
	if again.Reason != parking.CodeUnknownTicket {
		t.Fatalf("second exit %+v, want unknown_ticket", again)
	}
	if voided.Status != parking.TicketVoid || voided.Amount != 0 {
		t.Fatalf("void %+v", voided)
	}
	if lost.Status != parking.TicketLost || lost.TicketID != moto2.TicketID || lost.Amount != 800+5000 {
		t.Fatalf("lost ticket by plate %+v, want 800 + 5000", lost)
	}
	if empty.Occupied != 0 || empty.Vehicles != 0 || empty.Free[parking.KindRegular] != 2 || empty.Free[parking.KindCompact] != 1 || empty.LastTicket != 3 {
		t.Fatalf("occupancy when empty %+v", empty)
	}
	if n := len(h.eventsOf(audit.TypeParked, lotSubject("corner"))); n != 3 {
		t.Fatalf("%d parked events, want 3", n)
	}
	if n := len(h.eventsOf(audit.TypeExited, audit.Subject{Kind: audit.KindSpot, ID: "L0-A-00"})); n != 1 {
		t.Fatalf("%d exited events for spot L0-A-00, want 1", n)
	}
	if n := len(h.eventsOf(audit.TypeTicketVoided, ticketSubject(moto.TicketID))); n != 1 {
		t.Fatalf("%d ticket_voided events", n)
	}
	if closed := h.eventsOf(audit.TypeTicketClosed, lotSubject("corner")); len(closed) != 2 {
		t.Fatalf("%d ticket_closed events, want the exit and the lost ticket", len(closed))
	}
}

func TestATicketPastTheMaximumStayIsAutoClosedByItsLot(t *testing.T) {
	h := newParkingHarness(t, LotWorkflowID("corner"))
	var parked ParkResult
	var after LotStatus
	h.park(time.Minute, parking.Vehicle{Plate: "LATE 1"}, &parked)
	h.query(7*time.Hour, &after)
	h.at(8*time.Hour, func() { h.env.CancelWorkflow() })
	h.env.ExecuteWorkflow(Lot, LotInput{Lot: "corner", Spec: testLot(5 * time.Hour)})

	if after.Vehicles != 0 || after.Occupied != 0 {
		t.Fatalf("lot after the maximum stay %+v, want the spot released", after)
	}
	closed := h.eventsOf(audit.TypeTicketClosed, ticketSubject(parked.TicketID))
	if len(closed) != 1 {
		t.Fatalf("%d ticket_closed events", len(closed))
	}
	// Charged up to entry + 5h exactly: three tiers and two started hours.
	var data struct {
		Status parking.TicketStatus
		Amount int64
	}
	if err := json.Unmarshal(closed[0].Data, &data); err != nil || data.Status != parking.TicketAutoClosed || data.Amount != 1300 {
		t.Fatalf("ticket_closed %s, want auto_closed for 1300", closed[0].Data)
	}
	if !closed[0].At.Equal(entry.Add(time.Minute + 5*time.Hour)) {
		t.Fatalf("auto-closed at %v, want at the end of the maximum stay", closed[0].At)
	}
	if n := len(h.eventsOf(audit.TypeExited, vehicleSubject("LATE1"))); n != 1 {
		t.Fatalf("%d exited events", n)
	}
}

func TestContinueAsNewKeepsTheInventoryAndTheTicketCounter(t *testing.T) {
	h := newParkingHarness(t, LotWorkflowID("corner"))
	var a, b ParkResult
	var gone ExitResult
	h.park(time.Minute, parking.Vehicle{Plate: "A 1"}, &a)
	h.park(time.Minute+time.Second, parking.Vehicle{Plate: "B 2"}, &b)
	h.exit(time.Minute+2*time.Second, ExitRequest{TicketID: "corner-000001"}, &gone)
	h.env.ExecuteWorkflow(Lot, LotInput{Lot: "corner", Spec: testLot(0), MaxUpdatesPerRun: 3})

	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("after 3 updates the run ended with %v, want continue-as-new", err)
	}
	var next LotInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.State == nil || next.LastTicket != 2 || next.Runs != 1 {
		t.Fatalf("next run input: state %v, last ticket %d, runs %d", next.State != nil, next.LastTicket, next.Runs)
	}
	if got := next.State.Assignments(); len(got) != 1 || got[0].TicketID != b.TicketID || !slices.Equal(got[0].SpotIDs, b.Spots) {
		t.Fatalf("carried assignments %+v, want only %s", got, b.TicketID)
	}

	next.MaxUpdatesPerRun = 0 // no second continue-as-new in this run
	h2 := newParkingHarness(t, LotWorkflowID("corner"))
	// The old run's tickets do not live in this test environment.
	h2.env.OnSignalExternalWorkflow(mock.Anything, TicketWorkflowID(b.TicketID), "", SignalCloseTicket, mock.Anything).Return(nil)
	var c, dup ParkResult
	var out ExitResult
	var st LotStatus
	h2.park(time.Minute, parking.Vehicle{Plate: "b2"}, &dup)
	h2.park(time.Minute+time.Second, parking.Vehicle{Plate: "C 3"}, &c)
	h2.exit(time.Minute+2*time.Second, ExitRequest{TicketID: "corner-000002"}, &out)
	h2.query(time.Minute+3*time.Second, &st)
	h2.at(time.Hour, func() { h2.env.CancelWorkflow() })
	h2.env.ExecuteWorkflow(Lot, next)

	if dup.Reason != parking.CodeDuplicatePlate {
		t.Fatalf("the carried vehicle parked again: %+v", dup)
	}
	if c.TicketID != "corner-000003" || slices.Equal(c.Spots, b.Spots) {
		t.Fatalf("park after continue-as-new %+v; %s holds %v", c, b.TicketID, b.Spots)
	}
	if out.Status != parking.TicketClosed || !out.EntryTime.Equal(b.EntryTime) {
		t.Fatalf("exit of a ticket from the previous run %+v", out)
	}
	if st.Runs != 1 || st.Vehicles != 1 || st.LastTicket != 3 {
		t.Fatalf("status %+v", st)
	}
}

func TestAConfigurationChangeWaitsUntilTheLotIsEmpty(t *testing.T) {
	h := newParkingHarness(t, LotWorkflowID("corner"))
	bigger := testLot(0)
	bigger.Levels[0].Rows[0].Count = 5
	var a ParkResult
	var out ExitResult
	var during, after LotStatus
	h.park(time.Minute, parking.Vehicle{Plate: "A 1"}, &a)
	h.at(2*time.Minute, func() { h.env.SignalWorkflow(SignalConfigureLot, LotConfigure{Spec: bigger}) })
	h.query(3*time.Minute, &during)
	h.exit(4*time.Minute, ExitRequest{TicketID: "corner-000001"}, &out)
	h.query(5*time.Minute, &after)
	h.at(time.Hour, func() { h.env.CancelWorkflow() })
	h.env.ExecuteWorkflow(Lot, LotInput{Lot: "corner", Spec: testLot(0)})

	if during.Spots != 3 || !during.PendingConfig {
		t.Fatalf("while occupied %+v, want the old layout with a pending change", during)
	}
	if after.Spots != 6 || after.PendingConfig {
		t.Fatalf("once empty %+v, want the new layout", after)
	}
}

func TestTicketIDsNameTheirLot(t *testing.T) {
	for _, tc := range []struct {
		id, lot string
		ok      bool
	}{
		{TicketID("central-garage", 42), "central-garage", true},
		{"corner-000001", "corner", true},
		{"corner", "", false},
		{"corner-", "", false},
		{"-000001", "", false},
		{"corner-12a", "", false},
	} {
		lot, ok := LotOfTicket(tc.id)
		if lot != tc.lot || ok != tc.ok {
			t.Errorf("LotOfTicket(%q) = %q, %v; want %q, %v", tc.id, lot, ok, tc.lot, tc.ok)
		}
	}
}

func TestATicketContinuesAsNewWithItsAmountAndWithoutReopening(t *testing.T) {
	rules := testRules()
	rules.Grace = 0
	ticket := parking.Ticket{ID: "corner-000007", Lot: "corner", Vehicle: parking.Vehicle{ID: "X1", Plate: "X1", Type: "car", Size: "medium"},
		SpotIDs: []string{"L0-A-01"}, EntryTime: entry, Status: parking.TicketOpen}
	h := newParkingHarness(t, TicketWorkflowID(ticket.ID))
	h.env.SetContinueAsNewSuggested(true)
	h.env.ExecuteWorkflow(Ticket, TicketInput{Ticket: ticket, Rules: rules})
	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("run ended with %v, want continue-as-new", err)
	}
	var next TicketInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.Runs != 1 || next.Amount != 150 || next.Ticket.Status != parking.TicketOpen {
		t.Fatalf("next input %+v", next)
	}
	// Events not yet confirmed stored travel along; their ids make the
	// second write harmless.
	opened := map[string]bool{}
	for _, e := range append(next.PendingAudit, h.eventsOf(audit.TypeTicketOpened, ticketSubject(ticket.ID))...) {
		opened[e.EventID] = true
	}
	if len(opened) != 1 {
		t.Fatalf("%d distinct ticket_opened events, want 1", len(opened))
	}

	h2 := newParkingHarness(t, TicketWorkflowID(ticket.ID))
	var view TicketView
	h2.at(45*time.Minute, func() {
		v, err := h2.env.QueryWorkflow(QueryQuote)
		if err != nil {
			t.Fatal(err)
		}
		_ = v.Get(&view)
	})
	closed, q, _ := next.Ticket.Close(rules, entry.Add(50*time.Minute))
	h2.at(50*time.Minute, func() { h2.env.SignalWorkflow(SignalCloseTicket, TicketClose{Ticket: closed, Quote: q}) })
	h2.env.ExecuteWorkflow(Ticket, next)
	if err := h2.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if view.AmountSoFar != 300 || view.Status != parking.TicketOpen {
		t.Fatalf("quote in the second run %+v, want 300", view)
	}
	for _, e := range h2.eventsOf(audit.TypeTicketOpened, ticketSubject(ticket.ID)) {
		if !opened[e.EventID] {
			t.Fatalf("the second run opened the ticket again: %s", e.EventID)
		}
	}
	if n := len(h2.eventsOf(audit.TypeTicketClosed, ticketSubject(ticket.ID))); n != 1 {
		t.Fatalf("%d ticket_closed events", n)
	}
}
