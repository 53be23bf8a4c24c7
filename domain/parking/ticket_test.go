package parking

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

func TestCheckTransition(t *testing.T) {
	all := []TicketStatus{TicketOpen, TicketClosed, TicketVoid, TicketLost, TicketAutoClosed}
	for _, from := range all {
		for _, to := range all {
			legal := from == TicketOpen && to != TicketOpen
			verb := "cannot"
			if legal {
				verb = "may"
			}
			t.Run(fmt.Sprintf("a ticket %s go from %s to %s", verb, from, to), func(t *testing.T) {
				err := CheckTransition(from, to)
				if legal != (err == nil) {
					t.Fatalf("CheckTransition = %v", err)
				}
				if err != nil && CodeOf(err) != CodeIllegalTransition {
					t.Errorf("code = %q, want illegal_transition", CodeOf(err))
				}
			})
		}
	}
	t.Run("unknown statuses are refused", func(t *testing.T) {
		if CodeOf(CheckTransition("parked", TicketClosed)) != CodeIllegalTransition ||
			CodeOf(CheckTransition(TicketOpen, "paid")) != CodeIllegalTransition {
			t.Error("an unknown status was accepted")
		}
	})
	if err := CheckTransition(TicketClosed, TicketVoid); err.Error() !=
		"illegal_transition: cannot go from closed to void: closed is final" {
		t.Errorf("message = %q", err)
	}
}

func TestTicketLifecycle(t *testing.T) {
	r := tiered(t)
	r.Surge = Surge{ThresholdPerMille: 900, Multiplier: 1500}
	l := mustLot(t, spec([]RowSpec{rowSpec(R, 2)}))
	entry := at(t, 3, 1, 12, 0)
	a, err := l.Park(car("b-ab 1"), entry, "T1")
	if err != nil {
		t.Fatal(err)
	}
	open := NewTicket("test", a)
	if open.Status != TicketOpen || open.ID != "T1" || !open.EntryTime.Equal(entry) || open.Vehicle.Plate != "BAB1" {
		t.Fatalf("NewTicket = %+v", open)
	}
	exit := entry.Add(2 * time.Hour)

	t.Run("an open ticket quotes the running amount", func(t *testing.T) {
		q, err := open.Quote(r, entry.Add(30*time.Minute))
		if err != nil || q.Amount != 300 {
			t.Errorf("Quote = %d, %v; want 300", q.Amount, err)
		}
	})
	t.Run("closing charges the stay and freezes the amount", func(t *testing.T) {
		closed, q, err := open.Close(r, exit)
		if err != nil || closed.Status != TicketClosed || closed.Amount != 800 || q.Amount != 800 ||
			!closed.ClosedAt.Equal(exit) || closed.Currency != "EUR" {
			t.Fatalf("Close = %+v, %d, %v", closed, q.Amount, err)
		}
		if later, _ := closed.Quote(r, exit.Add(10*time.Hour)); later.Amount != 800 {
			t.Errorf("a closed ticket's quote moved to %d", later.Amount)
		}
		if _, _, err := closed.Close(r, exit); CodeOf(err) != CodeIllegalTransition {
			t.Errorf("closing twice: %v, want illegal_transition", err)
		}
		if _, err := closed.Void(exit); CodeOf(err) != CodeIllegalTransition {
			t.Errorf("voiding a closed ticket: %v, want illegal_transition", err)
		}
		if open.Status != TicketOpen {
			t.Error("Close changed the ticket it was called on")
		}
	})
	t.Run("a lost ticket is resolved by plate and charged from the real entry plus the fee", func(t *testing.T) {
		found, err := l.AssignmentByPlate("BAB 1")
		if err != nil {
			t.Fatal(err)
		}
		lost, q, err := NewTicket("test", found).CloseLost(r, exit)
		if err != nil || lost.Status != TicketLost || lost.Amount != 800+5000 || !q.Lost {
			t.Fatalf("CloseLost = %+v, %v", lost, err)
		}
		if again, _ := lost.Quote(r, exit.Add(time.Hour)); again.Amount != lost.Amount {
			t.Errorf("a lost ticket's quote = %d, want %d", again.Amount, lost.Amount)
		}
	})
	t.Run("voiding releases without a charge", func(t *testing.T) {
		void, err := open.Void(exit)
		if err != nil || void.Status != TicketVoid || void.Amount != 0 {
			t.Fatalf("Void = %+v, %v", void, err)
		}
		if q, _ := void.Quote(r, exit); q.Amount != 0 {
			t.Errorf("a void ticket quotes %d", q.Amount)
		}
	})
	t.Run("the surge recorded at entry follows the ticket", func(t *testing.T) {
		busy := open
		busy.OccupancyAtEntry = 950
		_, q, _ := busy.Close(r, exit)
		if q.Amount != 1200 {
			t.Errorf("amount = %d, want 1200", q.Amount)
		}
	})
}

func TestTicketAutoClose(t *testing.T) {
	r := tiered(t)
	entry := at(t, 3, 1, 12, 0)
	open := NewTicket("test", Assignment{TicketID: "T1", Vehicle: car("C1"), SpotIDs: []string{"L0-A-00"}, EntryTime: entry})
	maxStay := 24 * time.Hour

	if when, ok := open.AutoCloseAt(maxStay); !ok || !when.Equal(entry.Add(maxStay)) {
		t.Errorf("AutoCloseAt = %v, %v", when, ok)
	}
	if _, ok := open.AutoCloseAt(0); ok {
		t.Error("a lot without a maximum stay auto-closes")
	}
	tests := []struct {
		name     string
		at       time.Time
		maxStay  time.Duration
		wantCode Code
	}{
		{"a ticket is not auto-closed before the maximum stay", entry.Add(maxStay - time.Second), maxStay, CodeIllegalTransition},
		{"a ticket is not auto-closed when the lot has no maximum stay", entry.Add(1000 * time.Hour), 0, CodeIllegalTransition},
		{"a ticket is auto-closed exactly at the maximum stay", entry.Add(maxStay), maxStay, ""},
		{"a ticket auto-closed late is charged only up to the maximum stay", entry.Add(maxStay + 5*time.Hour), maxStay, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			closed, q, err := open.AutoClose(r, tt.at, tt.maxStay)
			if CodeOf(err) != tt.wantCode {
				t.Fatalf("AutoClose error = %v, want %q", err, tt.wantCode)
			}
			if err != nil {
				return
			}
			// 8.00 for three hours, then 21 started hours at 2.00.
			if closed.Status != TicketAutoClosed || q.Amount != 800+21*200 || !closed.ClosedAt.Equal(entry.Add(maxStay)) {
				t.Errorf("AutoClose = %+v, amount %d", closed, q.Amount)
			}
		})
	}
}

func TestTicketJSONRoundTrip(t *testing.T) {
	r := tiered(t)
	entry := at(t, 3, 1, 12, 0)
	tk, _, err := NewTicket("downtown", Assignment{TicketID: "T1", Vehicle: car("C1"), SpotIDs: []string{"L0-A-00"},
		EntryTime: entry, OccupancyAtEntry: 420}).Close(r, entry.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(tk)
	var back Ticket
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if b2, _ := json.Marshal(back); string(b2) != string(b) {
		t.Errorf("round trip:\n%s\n%s", b, b2)
	}
}
