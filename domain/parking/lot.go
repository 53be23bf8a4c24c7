package parking

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// Lot is the inventory of one parking lot and the only place its spots
// change state. It is not safe for concurrent use: its owner (the lot
// workflow) is its single writer. The zero value is not usable; build one
// with NewLot or decode one from JSON.
type Lot struct {
	spec  LotSpec
	spots []Spot // in location order: level, row, position
	byID  map[string]int
	rowOf []int32 // spot -> row
	rows  []row   // in location order
	// Precomputed orders for the nearest and fill_level strategies.
	rowsByDistance      []int   // all rows, nearest first
	levelRowsByDistance [][]int // rows of each level, nearest first
	levelFillOrder      []int   // levels, the entrance level first

	free        freeIndex
	kindCounts  [numKinds][len(states)]int
	levelCounts [][len(states)]int

	tickets map[string]*parked // by ticket id
	plates  map[string]string  // normalised plate -> ticket id
}

// parked is an assignment with its spots as indexes, so exit needs no id
// lookups.
type parked struct {
	Assignment
	spots []int
}

// row is a row of spots with the metadata that lets contiguous allocation
// skip rows that cannot take a large vehicle.
type row struct {
	loc   Location // position 0 of the row
	first int      // spots[first : first+n]
	n     int
	base  int // distance from the entrance to the row, position aside
	// runs tracks the free runs of regular spots; nil when the row has no
	// regular spot.
	runs *runTree
}

// maxRun is the longest run of free regular spots of the row whose flags
// all lie in m.
func (r *row) maxRun(m flagMask) int {
	if r.runs == nil {
		return 0
	}
	return r.runs.longest(m)
}

// Assignment is a vehicle parked in the lot under a ticket.
type Assignment struct {
	TicketID string `json:"ticketId"`
	// Vehicle is normalised (see Vehicle.Normalize).
	Vehicle Vehicle `json:"vehicle"`
	// SpotIDs holds one spot, or Contiguous adjacent regular spots of one row
	// in position order for a large vehicle.
	SpotIDs   []string  `json:"spotIds"`
	EntryTime time.Time `json:"entryTime"`
	// OccupancyAtEntry is the lot's Occupancy.RatioPerMille just before the
	// vehicle took its spots; pricing decides the surge on it.
	OccupancyAtEntry int `json:"occupancyAtEntry"`
}

func (a Assignment) clone() Assignment {
	a.SpotIDs = slices.Clone(a.SpotIDs)
	return a
}

// NewLot validates spec and builds a lot with every spot free. Validation
// errors are invalid_lot_spec (or invalid_pricing for the tariff) *Errors
// naming the field; all problems are reported at once (errors.Join).
func NewLot(spec LotSpec) (*Lot, error) {
	n, err := spec.normalize()
	if err != nil {
		return nil, err
	}
	l := &Lot{spec: n, byID: map[string]int{}, tickets: map[string]*parked{}, plates: map[string]string{}}
	width := 2
	for _, lv := range n.Levels {
		for _, r := range lv.Rows {
			width = max(width, len(fmt.Sprint(r.Count-1)))
		}
	}
	for li, lv := range n.Levels {
		for ri, rs := range lv.Rows {
			r := row{loc: Location{Level: li, Row: ri}, first: len(l.spots), n: rs.Count,
				base: Location{Level: li, Row: ri, Position: n.Entrance.Position}.Distance(n.Entrance)}
			for pos := range rs.Count {
				s := Spot{
					ID:         fmt.Sprintf("L%d-%s-%0*d", li, rs.Name, width, pos),
					Kind:       rs.kindAt(pos),
					Accessible: slices.Contains(rs.Accessible, pos),
					EVCharging: slices.Contains(rs.EV, pos),
					Location:   Location{Level: li, Row: ri, Position: pos},
					State:      SpotFree,
				}
				if s.Kind == KindRegular && r.runs == nil {
					r.runs = newRunTree(rs.Count)
				}
				l.byID[s.ID] = len(l.spots)
				l.spots = append(l.spots, s)
				l.rowOf = append(l.rowOf, int32(len(l.rows)))
			}
			l.rows = append(l.rows, r)
		}
	}

	levels := len(n.Levels)
	l.levelFillOrder = make([]int, levels)
	for i := range l.levelFillOrder {
		l.levelFillOrder[i] = i
	}
	slices.SortStableFunc(l.levelFillOrder, func(a, b int) int {
		return cmp.Compare(abs(a-n.Entrance.Level), abs(b-n.Entrance.Level))
	})
	l.rowsByDistance = make([]int, len(l.rows))
	for i := range l.rowsByDistance {
		l.rowsByDistance[i] = i
	}
	slices.SortStableFunc(l.rowsByDistance, func(a, b int) int { return cmp.Compare(l.rows[a].base, l.rows[b].base) })
	l.levelRowsByDistance = make([][]int, levels)
	for _, r := range l.rowsByDistance {
		lv := l.rows[r].loc.Level
		l.levelRowsByDistance[lv] = append(l.levelRowsByDistance[lv], r)
	}

	home := make([]int32, len(l.spots))
	key := make([]int64, len(l.spots))
	for i := range l.spots {
		s := &l.spots[i]
		home[i] = int32(l.heapOf(s.Kind.rank(), s.flags(), s.Location.Level))
		switch n.Strategy {
		case Nearest, FillLevel:
			key[i] = int64(s.Location.Distance(n.Entrance))*int64(len(l.spots)) + int64(i)
		default:
			key[i] = int64(i)
		}
	}
	l.free = newFreeIndex(numKinds*numMasks*levels, home, key)
	l.levelCounts = make([][len(states)]int, levels)
	for i := range l.spots {
		l.free.push(i)
		s := &l.spots[i]
		l.kindCounts[s.Kind.rank()][SpotFree.index()]++
		l.levelCounts[s.Location.Level][SpotFree.index()]++
	}
	for i := range l.spots {
		l.updateRuns(i)
	}
	return l, nil
}

func (l *Lot) heapOf(kind int, flags flagMask, level int) int {
	return (kind*numMasks+int(flags))*len(l.spec.Levels) + level
}

// Name is the lot's name.
func (l *Lot) Name() string { return l.spec.Name }

// Strategy is the lot's allocation strategy.
func (l *Lot) Strategy() Strategy { return l.spec.Strategy }

// Pricing returns a copy of the lot's tariff, time zone and currency set.
func (l *Lot) Pricing() PricingRules { return l.spec.Pricing.clone() }

// MaxStay is the stay after which tickets are auto-closed; 0 means never.
func (l *Lot) MaxStay() time.Duration { return l.spec.MaxStay }

// Spec returns a copy of the lot's specification with every default applied.
func (l *Lot) Spec() LotSpec {
	s := l.spec
	s.Pricing = s.Pricing.clone()
	s.Levels = slices.Clone(s.Levels)
	for i := range s.Levels {
		s.Levels[i].Rows = slices.Clone(s.Levels[i].Rows)
		for j := range s.Levels[i].Rows {
			r := &s.Levels[i].Rows[j]
			r.Kinds, r.Accessible, r.EV = slices.Clone(r.Kinds), slices.Clone(r.Accessible), slices.Clone(r.EV)
		}
	}
	return s
}

// Spot returns the spot with the given id.
func (l *Lot) Spot(id string) (Spot, bool) {
	i, ok := l.byID[id]
	if !ok {
		return Spot{}, false
	}
	return l.spots[i], true
}

// Spots returns every spot in location order.
func (l *Lot) Spots() []Spot { return slices.Clone(l.spots) }

// Assignment returns the vehicle parked under ticketID, or an
// unknown_ticket error.
func (l *Lot) Assignment(ticketID string) (Assignment, error) {
	p, ok := l.tickets[ticketID]
	if !ok {
		return Assignment{}, newError(CodeUnknownTicket, "no vehicle is parked under ticket %q in lot %q", ticketID, l.spec.Name)
	}
	return p.clone(), nil
}

// AssignmentByPlate finds a parked vehicle by its plate (normalised first);
// this resolves a lost ticket to the real entry time. It fails with
// unknown_plate.
func (l *Lot) AssignmentByPlate(plate string) (Assignment, error) {
	p := NormalizePlate(plate)
	t, ok := l.plates[p]
	if !ok {
		return Assignment{}, newError(CodeUnknownPlate, "no vehicle with plate %q is parked in lot %q", p, l.spec.Name)
	}
	return l.tickets[t].clone(), nil
}

// Assignments returns every parked vehicle, ordered by ticket id.
func (l *Lot) Assignments() []Assignment {
	out := make([]Assignment, 0, len(l.tickets))
	for _, p := range l.tickets {
		out = append(out, p.clone())
	}
	slices.SortFunc(out, func(a, b Assignment) int { return cmp.Compare(a.TicketID, b.TicketID) })
	return out
}

// Park puts vehicle v on the spot (or contiguous spots) the lot's strategy
// chooses and records it under ticketID at time now. It fails with
// invalid_vehicle, invalid_ticket (empty id), duplicate_ticket,
// duplicate_plate (the plate is parked already), lot_full (no spot is free)
// or no_compatible_spot (spots are free but none fits). On error the lot is
// unchanged.
func (l *Lot) Park(v Vehicle, now time.Time, ticketID string) (Assignment, error) {
	v, err := v.Normalize()
	if err != nil {
		return Assignment{}, err
	}
	if ticketID == "" {
		return Assignment{}, newError(CodeInvalidTicket, "the ticket id must not be empty")
	}
	if _, ok := l.tickets[ticketID]; ok {
		return Assignment{}, newError(CodeDuplicateTicket, "ticket %q is already in use in lot %q", ticketID, l.spec.Name)
	}
	if t, ok := l.plates[v.Plate]; ok {
		return Assignment{}, newError(CodeDuplicatePlate, "plate %q is already parked in lot %q (ticket %q)", v.Plate, l.spec.Name, t)
	}
	if l.count(SpotFree) == 0 {
		return Assignment{}, newError(CodeLotFull, "lot %q has no free spot", l.spec.Name)
	}
	chosen := l.choose(v)
	if chosen == nil {
		return Assignment{}, newError(CodeNoCompatibleSpot,
			"lot %q has %d free spots but none fits a %s vehicle%s", l.spec.Name, l.count(SpotFree), v.Size, wantsText(v))
	}
	p := &parked{Assignment: Assignment{TicketID: ticketID, Vehicle: v, EntryTime: now.UTC(), OccupancyAtEntry: l.ratio()},
		spots: chosen}
	for _, i := range chosen {
		l.setState(i, SpotOccupied, ticketID)
		p.SpotIDs = append(p.SpotIDs, l.spots[i].ID)
	}
	l.tickets[ticketID] = p
	l.plates[v.Plate] = ticketID
	return p.clone(), nil
}

func wantsText(v Vehicle) string {
	switch {
	case v.WantsAccessible && v.WantsEV:
		return " asking for an accessible EV spot"
	case v.WantsAccessible:
		return " asking for an accessible spot"
	case v.WantsEV:
		return " asking for an EV spot"
	}
	return ""
}

// Exit frees the spots held under ticketID and returns what was released.
// It is idempotent: for a ticket that is not parked (already exited, or
// never parked) it changes nothing and reports false; a caller that must
// tell the two apart checks Assignment first (unknown_ticket).
func (l *Lot) Exit(ticketID string) (Assignment, bool) {
	p, ok := l.tickets[ticketID]
	if !ok {
		return Assignment{}, false
	}
	for _, i := range p.spots {
		l.setState(i, SpotFree, "")
	}
	delete(l.tickets, ticketID)
	delete(l.plates, p.Vehicle.Plate)
	return p.Assignment, true
}

// SetSpotState lets an operator mark a spot free, reserved or
// out_of_service. It fails with unknown_spot, invalid_spot_state (occupied
// is set only by Park) or spot_occupied (a vehicle is on the spot; exit it
// first). Setting the state a spot already has does nothing.
func (l *Lot) SetSpotState(spotID string, state SpotState) error {
	i, ok := l.byID[spotID]
	if !ok {
		return newError(CodeUnknownSpot, "lot %q has no spot %q", l.spec.Name, spotID)
	}
	switch state {
	case SpotFree, SpotReserved, SpotOutOfService:
	case SpotOccupied:
		return newError(CodeInvalidSpotState, "spot %q: occupied is set by parking a vehicle, not by an operator", spotID)
	default:
		return newError(CodeInvalidSpotState, "spot %q: unknown state %q, use free, reserved or out_of_service", spotID, state)
	}
	if s := l.spots[i]; s.State == SpotOccupied {
		return newError(CodeSpotOccupied, "spot %q holds ticket %q; exit it before changing the spot's state", spotID, s.TicketID)
	}
	l.setState(i, state, "")
	return nil
}

// setState is the one place a spot changes state; it keeps the free index,
// the counters and the row metadata in step.
func (l *Lot) setState(i int, state SpotState, ticketID string) {
	s := &l.spots[i]
	old := s.State
	s.TicketID = ticketID
	if old == state {
		return
	}
	if old == SpotFree {
		l.free.remove(i)
	}
	if state == SpotFree {
		l.free.push(i)
	}
	s.State = state
	k, lv := s.Kind.rank(), s.Location.Level
	l.kindCounts[k][old.index()]--
	l.kindCounts[k][state.index()]++
	l.levelCounts[lv][old.index()]--
	l.levelCounts[lv][state.index()]++
	l.updateRuns(i)
}

// updateRuns records in its row's run tree whether spot i can be part of a
// run, O(log row length).
func (l *Lot) updateRuns(i int) {
	s := &l.spots[i]
	if s.Kind != KindRegular {
		return
	}
	var usable uint8
	if s.State == SpotFree {
		usable = supersets[s.flags()]
	}
	l.rows[l.rowOf[i]].runs.set(s.Location.Position, usable)
}

// choose returns the spots for v in preference order, or nil. Flag sets the
// vehicle asked for come first (best match first), the strategy orders
// spots within a flag set; a large vehicle tries every oversized spot of a
// flag phase before a contiguous run; spots needing overflow come last.
func (l *Lot) choose(v Vehicle) []int {
	wants := v.wants()
	order := flagOrder[wants]
	single := func(sets []flagMask) []int {
		for _, m := range sets {
			if s := l.pickSingle(v.Size, m); s >= 0 {
				return []int{s}
			}
		}
		return nil
	}
	if c := single(order.strict); c != nil {
		return c
	}
	if l.takesRuns(v) {
		if c := l.pickRun(wants); c != nil {
			return c
		}
	}
	if !l.spec.AllowOverflow {
		return nil
	}
	if c := single(order.loose); c != nil {
		return c
	}
	if l.takesRuns(v) {
		return l.pickRun(numMasks - 1) // any flags
	}
	return nil
}

// takesRuns reports whether v may take a run of adjacent regular spots: a
// large vehicle, in a lot whose runs are longer than one spot.
func (l *Lot) takesRuns(v Vehicle) bool {
	return v.Size == SizeLarge && l.spec.Contiguous > 1
}

// pickSingle returns the best free spot with exactly the flags m that fits
// size on its own, or -1.
func (l *Lot) pickSingle(size Size, m flagMask) int {
	best := -1
	better := func(s int) bool { return s >= 0 && (best < 0 || l.free.key[s] < l.free.key[best]) }
	levels := len(l.spec.Levels)
	switch l.spec.Strategy {
	case BestFit:
		for k, kind := range kinds {
			if !kind.Fits(size) {
				continue
			}
			for lv := range levels {
				if s := l.free.min(l.heapOf(k, m, lv)); better(s) {
					best = s
				}
			}
			if best >= 0 {
				return best
			}
		}
	case FillLevel:
		for _, lv := range l.levelFillOrder {
			for k, kind := range kinds {
				if kind.Fits(size) {
					if s := l.free.min(l.heapOf(k, m, lv)); better(s) {
						best = s
					}
				}
			}
			if best >= 0 {
				return best
			}
		}
	default: // FirstAvailable, Nearest: the key says it all
		for k, kind := range kinds {
			if !kind.Fits(size) {
				continue
			}
			for lv := range levels {
				if s := l.free.min(l.heapOf(k, m, lv)); better(s) {
					best = s
				}
			}
		}
	}
	return best
}

// pickRun returns Contiguous adjacent free regular spots of one row whose
// flags all lie in allowed, chosen by the strategy, or nil.
func (l *Lot) pickRun(allowed flagMask) []int {
	first := -1
	switch l.spec.Strategy {
	case Nearest:
		first = l.nearestRun(l.rowsByDistance, allowed)
	case FillLevel:
		for _, lv := range l.levelFillOrder {
			if first = l.nearestRun(l.levelRowsByDistance[lv], allowed); first >= 0 {
				break
			}
		}
	default: // FirstAvailable, BestFit: the lowest location
		for r := range l.rows {
			if l.rows[r].maxRun(allowed) >= l.spec.Contiguous {
				first = l.runsOf(r, allowed, func(int) bool { return false })
				break
			}
		}
	}
	if first < 0 {
		return nil
	}
	run := make([]int, l.spec.Contiguous)
	for i := range run {
		run[i] = first + i
	}
	return run
}

// nearestRun returns the first spot of the run nearest to the entrance among
// the given rows (sorted nearest first), or -1. A run's distance is that of
// its spot nearest to the entrance; ties go to the lower location.
func (l *Lot) nearestRun(rows []int, allowed flagMask) int {
	best, bestDist := -1, 0
	n, entry := l.spec.Contiguous, l.spec.Entrance.Position
	for _, r := range rows {
		row := &l.rows[r]
		if best >= 0 && row.base > bestDist {
			break // every later row is at least this far
		}
		if row.maxRun(allowed) < n {
			continue
		}
		l.runsOf(r, allowed, func(first int) bool {
			start := first - row.first
			off := 0
			switch {
			case entry < start:
				off = start - entry
			case entry > start+n-1:
				off = entry - (start + n - 1)
			}
			if d := row.base + off; best < 0 || d < bestDist || (d == bestDist && first < best) {
				best, bestDist = first, d
			}
			return true
		})
	}
	return best
}

// runsOf calls more with the first spot of every usable run in row r, in
// position order, while more returns true; it returns the first spot of the
// first run.
func (l *Lot) runsOf(r int, allowed flagMask, more func(first int) bool) int {
	row := &l.rows[r]
	n, length, found := l.spec.Contiguous, 0, -1
	for i := row.first; i < row.first+row.n; i++ {
		s := &l.spots[i]
		if s.Kind != KindRegular || s.State != SpotFree || s.flags()&^allowed != 0 {
			length = 0
			continue
		}
		if length++; length >= n {
			if found < 0 {
				found = i - n + 1
			}
			if !more(i - n + 1) {
				break
			}
		}
	}
	return found
}

func (l *Lot) count(state SpotState) int {
	n := 0
	for k := range kinds {
		n += l.kindCounts[k][state.index()]
	}
	return n
}

// ratio is the occupancy in per-mille: occupied and reserved spots over the
// spots in service, rounded down; a lot with no spot in service is full.
func (l *Lot) ratio() int {
	inService := len(l.spots) - l.count(SpotOutOfService)
	if inService == 0 {
		return PerMille
	}
	return (l.count(SpotOccupied) + l.count(SpotReserved)) * PerMille / inService
}

// Counts are spot counts by state.
type Counts struct {
	Total        int `json:"total"`
	Free         int `json:"free"`
	Occupied     int `json:"occupied"`
	Reserved     int `json:"reserved"`
	OutOfService int `json:"outOfService"`
}

func countsOf(c [len(states)]int) Counts {
	return Counts{
		Total:    c[0] + c[1] + c[2] + c[3],
		Free:     c[SpotFree.index()],
		Occupied: c[SpotOccupied.index()], Reserved: c[SpotReserved.index()],
		OutOfService: c[SpotOutOfService.index()],
	}
}

// KindOccupancy is the occupancy of one spot kind.
type KindOccupancy struct {
	Kind SpotKind `json:"kind"`
	Counts
}

// LevelOccupancy is the occupancy of one level.
type LevelOccupancy struct {
	Level int `json:"level"`
	Counts
}

// Occupancy is a snapshot of the lot's spot counts.
type Occupancy struct {
	Counts
	// RatioPerMille is occupied and reserved spots over the spots in service,
	// in per-mille rounded down (1000 when no spot is in service). Surge
	// pricing compares it with its threshold.
	RatioPerMille int `json:"ratioPerMille"`
	// ByKind lists compact, regular and oversized, in that order.
	ByKind []KindOccupancy `json:"byKind"`
	// ByLevel lists the levels in order.
	ByLevel []LevelOccupancy `json:"byLevel"`
}

// Occupancy returns the current counts, O(levels).
func (l *Lot) Occupancy() Occupancy {
	var all [len(states)]int
	o := Occupancy{RatioPerMille: l.ratio()}
	for k, kind := range kinds {
		o.ByKind = append(o.ByKind, KindOccupancy{Kind: kind, Counts: countsOf(l.kindCounts[k])})
		for s := range states {
			all[s] += l.kindCounts[k][s]
		}
	}
	for lv, c := range l.levelCounts {
		o.ByLevel = append(o.ByLevel, LevelOccupancy{Level: lv, Counts: countsOf(c)})
	}
	o.Counts = countsOf(all)
	return o
}
