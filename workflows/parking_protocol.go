package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/parklot/parklot/domain/audit"
	"github.com/parklot/parklot/domain/parking"
)

// Parking protocol names (DESIGN.md §4). Workers and clients share these
// constants; changing a value breaks running workflows.
const (
	// UpdatePark parks a vehicle in a lot: ParkRequest -> ParkResult.
	UpdatePark = "park"
	// UpdateExit lets a vehicle out and prices its stay: ExitRequest -> ExitResult.
	UpdateExit = "exit"
	// UpdateVoid is an operator's cancellation of a ticket without a charge:
	// VoidRequest -> ExitResult.
	UpdateVoid = "void"
	// QueryOccupancy answers a lot's LotStatus.
	QueryOccupancy = "occupancy"
	// SignalConfigureLot hands a running lot its configured LotConfigure.
	SignalConfigureLot = "configure-lot"
	// SignalMaxStay tells a lot that a ticket reached the maximum stay
	// (MaxStayReached); the lot decides whether to auto-close it.
	SignalMaxStay = "max-stay-reached"

	// QueryQuote answers a ticket's TicketView with its running amount.
	QueryQuote = "quote"
	// SignalCloseTicket carries the lot's final word on a ticket (TicketClose).
	SignalCloseTicket = "close-ticket"
)

// registerParking adds the lot and ticket workflows; Register calls it.
func registerParking(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(Lot, workflow.RegisterOptions{Name: "Lot"})
	r.RegisterWorkflowWithOptions(Ticket, workflow.RegisterOptions{Name: "Ticket"})
}

// DefaultLotUpdatesPerRun bounds a lot's run; every park, exit or void adds
// about a dozen history events (the update, the ticket's start, the audit
// batch), which keeps a run well under Temporal's history limits.
const DefaultLotUpdatesPerRun = 500

// LotWorkflowID is the identity of a lot's workflow.
func LotWorkflowID(lot string) string { return "lot/" + lot }

// TicketWorkflowID is the identity of a ticket's workflow.
func TicketWorkflowID(ticketID string) string { return "ticket/" + ticketID }

// TicketID is the id of a lot's seq-th ticket, "<lot>-<seq>" with the
// number zero-padded to six digits so ids of one lot sort by issue order.
func TicketID(lot string, seq int) string { return fmt.Sprintf("%s-%06d", lot, seq) }

// TicketPriorityKey is the task priority of ticket workflows: the server's
// default with its default five levels, the one tasks run at.
const TicketPriorityKey = 3

// ActivityLastTicketInUse answers the highest ticket number of a lot whose
// ticket workflow still exists, given one that does
// (activities.Activities.LastTicketInUse).
const ActivityLastTicketInUse = "LastTicketInUse"

// LastTicketInput is the input of LastTicketInUse: InUse is a ticket number
// known to exist.
type LastTicketInput struct {
	Lot   string `json:"lot"`
	InUse int    `json:"inUse"`
}

// LotOfTicket returns the lot that issued a ticket id: everything before
// the last dash. Lot names may hold dashes; the number never does.
func LotOfTicket(ticketID string) (string, bool) {
	i := strings.LastIndexByte(ticketID, '-')
	if i <= 0 || i == len(ticketID)-1 {
		return "", false
	}
	for _, r := range ticketID[i+1:] {
		if r < '0' || r > '9' {
			return "", false
		}
	}
	return ticketID[:i], true
}

// LotInput starts (or continues) a lot. State, LastTicket, PendingConfig and
// PendingAudit are set only when a run continues as new.
type LotInput struct {
	Lot string `json:"lot"`
	// Spec builds the inventory of a lot's first run.
	Spec parking.LotSpec `json:"spec"`
	// LevelNames are the configured level names, for display only.
	LevelNames []string `json:"levelNames,omitempty"`
	// MaxUpdatesPerRun bounds a run; 0 means DefaultLotUpdatesPerRun.
	MaxUpdatesPerRun int `json:"maxUpdatesPerRun,omitempty"`
	// State is the inventory carried across continue-as-new.
	State *parking.Lot `json:"state,omitempty"`
	// LastTicket is the number of the last ticket issued.
	LastTicket int `json:"lastTicket,omitempty"`
	// PendingConfig is a configuration that arrived while vehicles were
	// parked; it applies once the lot is empty.
	PendingConfig *LotConfigure `json:"pendingConfig,omitempty"`
	Runs          int           `json:"runs,omitempty"`
	// PendingAudit are events the previous run could not confirm stored.
	PendingAudit []audit.Event `json:"pendingAudit,omitempty"`
	// RecentParks are the answers to the last parks, by update id. The
	// server de-duplicates an update id within a run only; a client retrying
	// a park that the previous run applied gets its first answer, not
	// duplicate_plate.
	RecentParks []RecentPark `json:"recentParks,omitempty"`
}

// RecentPark is one remembered park answer.
type RecentPark struct {
	UpdateID string     `json:"updateId"`
	Result   ParkResult `json:"result"`
}

// recentParksKept bounds RecentParks: enough for every park that can be in
// flight across one continue-as-new.
const recentParksKept = 64

// LotConfigure is a lot's configuration as a worker read it at start.
type LotConfigure struct {
	Spec       parking.LotSpec `json:"spec"`
	LevelNames []string        `json:"levelNames,omitempty"`
}

// ParkRequest is a vehicle at a lot's entry gate.
type ParkRequest struct {
	Vehicle parking.Vehicle `json:"vehicle"`
}

// ParkResult is a lot's answer to a park: the ticket, or a refusal. A
// refusal is an answer, not an error: Reason is lot_full,
// no_compatible_spot or duplicate_plate, and the lot is unchanged.
type ParkResult struct {
	Lot      string `json:"lot"`
	TicketID string `json:"ticketId,omitempty"`
	// Vehicle is the vehicle in normal form (plate normalised, size set).
	Vehicle   parking.Vehicle `json:"vehicle"`
	Spots     []string        `json:"spots,omitempty"`
	EntryTime time.Time       `json:"entryTime,omitzero"`
	// OccupancyAtEntry (per-mille) decides the surge; Surge says whether it
	// applies to this ticket. Pricing is the tariff the ticket is priced by.
	OccupancyAtEntry int                   `json:"occupancyAtEntry"`
	Surge            bool                  `json:"surge,omitempty"`
	Pricing          *parking.PricingRules `json:"pricing,omitempty"`
	Reason           parking.Code          `json:"reason,omitempty"`
	Message          string                `json:"message,omitempty"`
}

// Refused reports whether the vehicle was turned away.
func (r ParkResult) Refused() bool { return r.Reason != "" }

// ExitRequest lets a vehicle out. Normally it names the ticket; a driver
// who lost it is found by plate with Lost set, and Lost always adds the
// lost-ticket fee.
type ExitRequest struct {
	TicketID string `json:"ticketId,omitempty"`
	Plate    string `json:"plate,omitempty"`
	Lost     bool   `json:"lost,omitempty"`
}

// VoidRequest is an operator's cancellation of a ticket: the spots are
// released and nothing is charged.
type VoidRequest struct {
	TicketID string `json:"ticketId"`
	// Note says why, for the audit trail.
	Note string `json:"note,omitempty"`
}

// ExitResult is the final word on a stay, or a refusal (Reason
// unknown_ticket or unknown_plate: nothing is parked under it).
type ExitResult struct {
	Lot       string               `json:"lot"`
	TicketID  string               `json:"ticketId,omitempty"`
	Status    parking.TicketStatus `json:"status,omitempty"`
	Plate     string               `json:"plate,omitempty"`
	Spots     []string             `json:"spots,omitempty"`
	EntryTime time.Time            `json:"entryTime,omitzero"`
	ExitTime  time.Time            `json:"exitTime,omitzero"`
	Amount    int64                `json:"amount"`
	Currency  string               `json:"currency,omitempty"`
	Duration  time.Duration        `json:"duration"`
	Breakdown []parking.Segment    `json:"breakdown,omitempty"`
	Reason    parking.Code         `json:"reason,omitempty"`
	Message   string               `json:"message,omitempty"`
}

// Refused reports whether nothing was let out.
func (r ExitResult) Refused() bool { return r.Reason != "" }

// MaxStayReached is a ticket's notice to its lot.
type MaxStayReached struct {
	TicketID string `json:"ticketId"`
}

// TicketClose is the lot's final word on a ticket: the closed (or lost,
// auto-closed, void) ticket and its final quote.
type TicketClose struct {
	Ticket parking.Ticket `json:"ticket"`
	Quote  parking.Quote  `json:"quote"`
	Note   string         `json:"note,omitempty"`
}

// LevelStatus is one level of a LotStatus.
type LevelStatus struct {
	Level int    `json:"level"`
	Name  string `json:"name,omitempty"`
	parking.Counts
}

// LotStatus is the answer of a lot's occupancy query.
type LotStatus struct {
	Lot      string           `json:"lot"`
	Strategy parking.Strategy `json:"strategy"`
	Currency string           `json:"currency"`
	// Spots counts every spot; Free counts free spots by kind (every kind
	// is listed, with 0 when none is free).
	Spots         int                      `json:"spots"`
	Free          map[parking.SpotKind]int `json:"free"`
	Occupied      int                      `json:"occupied"`
	Reserved      int                      `json:"reserved"`
	OutOfService  int                      `json:"outOfService"`
	RatioPerMille int                      `json:"occupancyPerMille"`
	Vehicles      int                      `json:"vehicles"`
	Levels        []LevelStatus            `json:"levels"`
	ByKind        []parking.KindOccupancy  `json:"byKind"`
	LastTicket    int                      `json:"lastTicket"`
	Runs          int                      `json:"runs"`
	// PendingConfig says a configuration change waits for the lot to empty.
	PendingConfig bool `json:"pendingConfig,omitempty"`
	// Rows is the occupancy map: every row's spots in position order.
	Rows []RowMap `json:"rows,omitempty"`
}

// RowMap is one row of a lot's occupancy map.
type RowMap struct {
	Level int    `json:"level"`
	Row   string `json:"row"`
	// States holds one state per spot, in position order.
	States []parking.SpotState `json:"states"`
}

// TicketInput starts (or continues) a ticket workflow.
type TicketInput struct {
	Ticket parking.Ticket       `json:"ticket"`
	Rules  parking.PricingRules `json:"rules"`
	// MaxStay auto-closes the ticket; 0 means never.
	MaxStay time.Duration `json:"maxStay,omitempty"`
	// Set when a run continues as new.
	Runs         int           `json:"runs,omitempty"`
	PricedAt     time.Time     `json:"pricedAt,omitzero"`
	Amount       int64         `json:"amount,omitempty"`
	AskedLot     bool          `json:"askedLot,omitempty"`
	PendingAudit []audit.Event `json:"pendingAudit,omitempty"`
}

// TicketView is a ticket as the quote query and the workflow's result show
// it. While open, AmountSoFar is what an exit now would cost and NextChange
// when that changes next; once final, AmountSoFar is the final amount.
type TicketView struct {
	TicketID         string               `json:"ticketId"`
	Lot              string               `json:"lot"`
	Status           parking.TicketStatus `json:"status"`
	Plate            string               `json:"plate"`
	Vehicle          parking.Vehicle      `json:"vehicle"`
	Spots            []string             `json:"spots"`
	EntryTime        time.Time            `json:"entryTime"`
	OccupancyAtEntry int                  `json:"occupancyAtEntry"`
	AmountSoFar      int64                `json:"amountSoFar"`
	Currency         string               `json:"currency"`
	// AsOf is the workflow time the amount was last worked out.
	AsOf        time.Time         `json:"asOf"`
	NextChange  time.Time         `json:"nextChange,omitzero"`
	AutoCloseAt time.Time         `json:"autoCloseAt,omitzero"`
	ClosedAt    time.Time         `json:"closedAt,omitzero"`
	Breakdown   []parking.Segment `json:"breakdown"`
}

// Audit subjects of the parking domain.
func lotSubject(name string) audit.Subject { return audit.Subject{Kind: audit.KindLot, ID: name} }
func ticketSubject(id string) audit.Subject {
	return audit.Subject{Kind: audit.KindTicket, ID: id}
}
func vehicleSubject(plate string) audit.Subject {
	return audit.Subject{Kind: audit.KindVehicle, ID: plate}
}

// spotSubjects lists the spots as subjects, at most room of them (a run of
// many contiguous spots must not push an event past audit.MaxSubjects).
func spotSubjects(ids []string, room int) []audit.Subject {
	out := make([]audit.Subject, 0, min(len(ids), room))
	for _, id := range ids[:min(len(ids), room)] {
		out = append(out, audit.Subject{Kind: audit.KindSpot, ID: id})
	}
	return out
}
