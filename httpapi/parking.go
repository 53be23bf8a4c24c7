package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/parklot/parklot/api"
	"github.com/parklot/parklot/domain/audit"
	"github.com/parklot/parklot/domain/parking"
	"github.com/parklot/parklot/storage"
	"github.com/parklot/parklot/workflows"
)

// The parking endpoints answer with their own views of the lot and ticket
// workflows' results, so that the HTTP contract changes only when this
// package and docs/openapi.yaml change together.

// Vehicle is a vehicle as the API shows it, in normal form.
type Vehicle struct {
	ID              string `json:"id"`
	Plate           string `json:"plate"`
	Type            string `json:"type"`
	Size            string `json:"size"`
	WantsAccessible bool   `json:"wantsAccessible,omitempty"`
	WantsEV         bool   `json:"wantsEv,omitempty"`
}

// Parked is the 201 answer of POST /lots/{lot}/park: the ticket.
type Parked struct {
	Lot       string    `json:"lot"`
	TicketID  string    `json:"ticketId"`
	Vehicle   Vehicle   `json:"vehicle"`
	Spots     []string  `json:"spots"`
	EntryTime time.Time `json:"entryTime"`
	// OccupancyAtEntry is the lot's occupancy in per-mille when the vehicle
	// entered; Surge says whether the surge price applies to the ticket.
	OccupancyAtEntry int    `json:"occupancyAtEntryPerMille"`
	Surge            bool   `json:"surge"`
	TemporalURL      string `json:"temporalUrl,omitempty"`
}

// ExitBody is the optional body of POST /tickets/{id}/exit.
type ExitBody struct {
	// Lost adds the lost-ticket fee.
	Lost bool `json:"lost,omitempty"`
}

// Segment is one line of a price breakdown.
type Segment struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Rule is grace, tier_<n>, hourly, daily_cap or lost_ticket.
	Rule string `json:"rule"`
	// Multiplier is per-mille (1000 is none).
	Multiplier int    `json:"multiplier"`
	Amount     int64  `json:"amount"`
	Peak       string `json:"peak,omitempty"`
	Surge      bool   `json:"surge,omitempty"`
}

// Exited is the 200 answer of POST /tickets/{id}/exit: the final word on
// the stay. Amounts are integer minor units (cents).
type Exited struct {
	Lot       string    `json:"lot"`
	TicketID  string    `json:"ticketId"`
	Status    string    `json:"status"`
	Plate     string    `json:"plate"`
	Spots     []string  `json:"spots"`
	EntryTime time.Time `json:"entryTime"`
	ExitTime  time.Time `json:"exitTime"`
	Amount    int64     `json:"amount"`
	Currency  string    `json:"currency"`
	// Duration is a Go duration such as 2h15m0s.
	Duration  string    `json:"duration"`
	Breakdown []Segment `json:"breakdown"`
}

// TicketView is the answer of GET /tickets/{id}. While the ticket is open,
// AmountSoFar is what an exit now would cost and NextChange when that
// changes next; once it is final, AmountSoFar is the final amount.
type TicketView struct {
	TicketID         string    `json:"ticketId"`
	Lot              string    `json:"lot"`
	Status           string    `json:"status"`
	Vehicle          Vehicle   `json:"vehicle"`
	Spots            []string  `json:"spots"`
	EntryTime        time.Time `json:"entryTime"`
	OccupancyAtEntry int       `json:"occupancyAtEntryPerMille"`
	AmountSoFar      int64     `json:"amountSoFar"`
	Currency         string    `json:"currency"`
	AsOf             time.Time `json:"asOf"`
	NextChange       time.Time `json:"nextChange,omitzero"`
	AutoCloseAt      time.Time `json:"autoCloseAt,omitzero"`
	ClosedAt         time.Time `json:"closedAt,omitzero"`
	Breakdown        []Segment `json:"breakdown"`
	TemporalURL      string    `json:"temporalUrl,omitempty"`
}

// SpotCounts counts spots by state.
type SpotCounts struct {
	Total        int `json:"total"`
	Free         int `json:"free"`
	Occupied     int `json:"occupied"`
	Reserved     int `json:"reserved"`
	OutOfService int `json:"outOfService"`
}

// LevelOccupancy is one level of a lot.
type LevelOccupancy struct {
	Level int    `json:"level"`
	Name  string `json:"name,omitempty"`
	SpotCounts
}

// RowMap is one row of a lot's occupancy map; states are free, occupied,
// reserved or outOfService, one per spot.
type RowMap struct {
	Level  int      `json:"level"`
	Row    string   `json:"row"`
	States []string `json:"states"`
}

// KindOccupancy is one kind of spot of a lot.
type KindOccupancy struct {
	Kind string `json:"kind"`
	SpotCounts
}

// Revenue is what a lot's exits charged since a time, from its audit trail.
type Revenue struct {
	Since    time.Time `json:"since"`
	Amount   int64     `json:"amount"`
	Currency string    `json:"currency"`
	Exits    int       `json:"exits"`
	// Partial is set when the trail held more exits than were summed.
	Partial bool `json:"partial,omitempty"`
}

// LotView is the answer of GET /lots/{lot}.
type LotView struct {
	Lot               string           `json:"lot"`
	Strategy          string           `json:"strategy"`
	Currency          string           `json:"currency"`
	Spots             SpotCounts       `json:"spots"`
	OccupancyPerMille int              `json:"occupancyPerMille"`
	Vehicles          int              `json:"vehicles"`
	Levels            []LevelOccupancy `json:"levels"`
	ByKind            []KindOccupancy  `json:"byKind"`
	LastTicket        int              `json:"lastTicket"`
	PendingConfig     bool             `json:"pendingConfig,omitempty"`
	// Rows is the occupancy map: each row's spot states in position order.
	Rows []RowMap `json:"rows"`
	// RevenueToday sums the exits since midnight UTC; null without an
	// audit store.
	RevenueToday *Revenue `json:"revenueToday"`
	TemporalURL  string   `json:"temporalUrl,omitempty"`
}

func vehicleView(v parking.Vehicle) Vehicle {
	return Vehicle{ID: v.ID, Plate: v.Plate, Type: string(v.Type), Size: string(v.Size), WantsAccessible: v.WantsAccessible, WantsEV: v.WantsEV}
}

func segmentViews(in []parking.Segment) []Segment {
	out := make([]Segment, 0, len(in))
	for _, s := range in {
		out = append(out, Segment{From: s.From, To: s.To, Rule: s.Rule, Multiplier: s.Multiplier, Amount: s.Amount, Peak: s.Peak, Surge: s.Surge})
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func counts(c parking.Counts) SpotCounts {
	return SpotCounts{Total: c.Total, Free: c.Free, Occupied: c.Occupied, Reserved: c.Reserved, OutOfService: c.OutOfService}
}

// parkingStatus maps a parking code to an HTTP status, once for the API.
func parkingStatus(c parking.Code) int {
	switch c {
	case parking.CodeInvalidVehicle, parking.CodeInvalidTicket, parking.CodeInvalidStay:
		return http.StatusBadRequest
	case parking.CodeUnknownTicket, parking.CodeUnknownPlate, parking.CodeUnknownSpot:
		return http.StatusNotFound
	case parking.CodeLotFull, parking.CodeNoCompatibleSpot, parking.CodeDuplicatePlate, parking.CodeDuplicateTicket,
		parking.CodeSpotOccupied, parking.CodeIllegalTransition:
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

// parkingError turns what the parking client returned into an answer;
// field, when set, names the request's parameter instead of the domain's
// field (the path's id rather than ticketId).
func parkingError(err error, field string) error {
	var pe *parking.Error
	if errors.As(err, &pe) {
		if field == "" {
			field = pe.Field
		}
		return errorf(parkingStatus(pe.Code), string(pe.Code), field, "%s", pe.Message)
	}
	return err
}

func refusal(code parking.Code, message string) error {
	return errorf(parkingStatus(code), string(code), "", "%s", message)
}

func (h *Handler) park(w http.ResponseWriter, r *http.Request) {
	var v parking.Vehicle
	if err := decodeJSON(w, r, h.o.MaxBodyBytes, &v); err != nil {
		h.fail(w, r, err)
		return
	}
	// Checked here too, so that invalid input answers 400 without a trip
	// to the lot.
	if _, err := v.Normalize(); err != nil {
		h.fail(w, r, parkingError(err, ""))
		return
	}
	lot := r.PathValue("lot")
	res, err := h.o.API.Park(r.Context(), lot, v)
	if err != nil {
		h.fail(w, r, parkingError(err, ""))
		return
	}
	if res.Refused() {
		h.fail(w, r, refusal(res.Reason, res.Message))
		return
	}
	w.Header().Set("Location", "/tickets/"+res.TicketID)
	writeJSON(w, http.StatusCreated, Parked{
		Lot: res.Lot, TicketID: res.TicketID, Vehicle: vehicleView(res.Vehicle), Spots: nonNil(res.Spots),
		EntryTime: res.EntryTime, OccupancyAtEntry: res.OccupancyAtEntry, Surge: res.Surge,
		TemporalURL: h.workflowURL(workflows.TicketWorkflowID(res.TicketID)),
	})
}

func (h *Handler) exit(w http.ResponseWriter, r *http.Request) {
	var body ExitBody
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, h.o.MaxBodyBytes, &body); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	id := r.PathValue("id")
	res, err := h.o.API.Exit(r.Context(), "", workflows.ExitRequest{TicketID: id, Lost: body.Lost})
	if err != nil {
		h.fail(w, r, parkingError(err, "id"))
		return
	}
	if res.Refused() {
		h.fail(w, r, refusal(res.Reason, res.Message))
		return
	}
	writeJSON(w, http.StatusOK, Exited{
		Lot: res.Lot, TicketID: res.TicketID, Status: string(res.Status), Plate: res.Plate, Spots: nonNil(res.Spots),
		EntryTime: res.EntryTime, ExitTime: res.ExitTime, Amount: res.Amount, Currency: res.Currency,
		Duration: res.Duration.String(), Breakdown: segmentViews(res.Breakdown),
	})
}

func (h *Handler) getTicket(w http.ResponseWriter, r *http.Request) {
	tv, err := h.o.API.Ticket(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, TicketView{
		TicketID: tv.TicketID, Lot: tv.Lot, Status: string(tv.Status), Vehicle: vehicleView(tv.Vehicle), Spots: nonNil(tv.Spots),
		EntryTime: tv.EntryTime, OccupancyAtEntry: tv.OccupancyAtEntry, AmountSoFar: tv.AmountSoFar, Currency: tv.Currency,
		AsOf: tv.AsOf, NextChange: tv.NextChange, AutoCloseAt: tv.AutoCloseAt, ClosedAt: tv.ClosedAt,
		Breakdown: segmentViews(tv.Breakdown), TemporalURL: h.workflowURL(workflows.TicketWorkflowID(tv.TicketID)),
	})
}

func (h *Handler) getLot(w http.ResponseWriter, r *http.Request) {
	lv, err := h.readLot(r.Context(), r.PathValue("lot"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, lv)
}

func (h *Handler) readLot(ctx context.Context, name string) (LotView, error) {
	st, err := h.o.API.LotStatus(ctx, name)
	if errors.Is(err, api.ErrNotFound) {
		return LotView{}, errorf(http.StatusNotFound, CodeNotFound, "", "no lot %q is running: the workers' config names the lots", name)
	}
	if err != nil {
		return LotView{}, err
	}
	lv := LotView{
		Lot: st.Lot, Strategy: string(st.Strategy), Currency: st.Currency,
		Spots:             SpotCounts{Total: st.Spots, Occupied: st.Occupied, Reserved: st.Reserved, OutOfService: st.OutOfService},
		OccupancyPerMille: st.RatioPerMille, Vehicles: st.Vehicles, LastTicket: st.LastTicket, PendingConfig: st.PendingConfig,
		Levels: []LevelOccupancy{}, ByKind: []KindOccupancy{}, TemporalURL: h.workflowURL(workflows.LotWorkflowID(name)),
	}
	for _, k := range st.ByKind {
		lv.ByKind = append(lv.ByKind, KindOccupancy{Kind: string(k.Kind), SpotCounts: counts(k.Counts)})
		lv.Spots.Free += k.Free
	}
	for _, l := range st.Levels {
		lv.Levels = append(lv.Levels, LevelOccupancy{Level: l.Level, Name: l.Name, SpotCounts: counts(l.Counts)})
	}
	sort.Slice(lv.Levels, func(i, j int) bool { return lv.Levels[i].Level < lv.Levels[j].Level })
	lv.Rows = make([]RowMap, 0, len(st.Rows))
	for _, r := range st.Rows {
		m := RowMap{Level: r.Level, Row: r.Row, States: make([]string, len(r.States))}
		for i, state := range r.States {
			m.States[i] = spotState(state)
		}
		lv.Rows = append(lv.Rows, m)
	}
	if stores := h.auditStores(); len(stores) > 0 {
		since := time.Now().UTC().Truncate(24 * time.Hour)
		rev, err := h.revenue.get(name, since, func() (Revenue, error) { return revenue(ctx, stores, name, since) })
		if err != nil {
			return LotView{}, err
		}
		rev.Currency = st.Currency
		lv.RevenueToday = &rev
	}
	return lv, nil
}

// revenuePages bounds how many pages of exits one revenue sum reads.
const revenuePages = 10

// revenue sums the amounts of a lot's exits since a time, newest first,
// page by page: a page's oldest event bounds the next page, and events of
// that same microsecond already summed are skipped by id.
func revenue(ctx context.Context, stores []storage.Audit, lot string, since time.Time) (Revenue, error) {
	rev := Revenue{Since: since}
	q := audit.Query{Subject: audit.Subject{Kind: audit.KindLot, ID: lot}, Types: []audit.Type{audit.TypeExited}, Since: since, Limit: audit.MaxLimit}
	seen := map[string]bool{}
	for page := 0; ; page++ {
		if page == revenuePages {
			rev.Partial = true
			return rev, nil
		}
		events, err := mergedQuery(ctx, stores, q)
		if err != nil {
			return rev, fmt.Errorf("revenue of lot %q: %w", lot, err)
		}
		fresh := 0
		for _, e := range events {
			if seen[e.EventID] {
				continue
			}
			seen[e.EventID] = true
			fresh++
			var d struct {
				Amount int64 `json:"amount"`
			}
			if json.Unmarshal(e.Data, &d) == nil {
				rev.Amount += d.Amount
				rev.Exits++
			}
		}
		if len(events) < q.Limit || fresh == 0 {
			return rev, nil
		}
		q.Until = events[len(events)-1].At.Add(time.Microsecond)
	}
}

// revenueTTL is how long a lot's revenue sum is reused: the dashboard asks
// every second, and a busy lot's day is thousands of audit rows.
const revenueTTL = 10 * time.Second

// revenueCache keeps each lot's latest revenue sum for revenueTTL.
type revenueCache struct {
	mu   sync.Mutex
	byID map[string]cachedRevenue
}

type cachedRevenue struct {
	rev Revenue
	at  time.Time
}

func (c *revenueCache) get(lot string, since time.Time, sum func() (Revenue, error)) (Revenue, error) {
	c.mu.Lock()
	hit, ok := c.byID[lot]
	c.mu.Unlock()
	if ok && hit.rev.Since.Equal(since) && time.Since(hit.at) < revenueTTL {
		return hit.rev, nil
	}
	rev, err := sum()
	if err != nil {
		return rev, err
	}
	c.mu.Lock()
	if c.byID == nil {
		c.byID = map[string]cachedRevenue{}
	}
	c.byID[lot] = cachedRevenue{rev: rev, at: time.Now()}
	c.mu.Unlock()
	return rev, nil
}

// lotNames are the lots the dashboard shows, in name order.
func (h *Handler) lotNames() []string {
	names := slices.Clone(h.o.Lots)
	slices.Sort(names)
	return slices.Compact(names)
}

// spotState names a spot state as the API's counts do.
func spotState(s parking.SpotState) string {
	if s == parking.SpotOutOfService {
		return "outOfService"
	}
	return string(s)
}
