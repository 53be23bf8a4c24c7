package parking

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"slices"
	"testing"
	"time"
)

// The property tests drive random lots through random park, exit and
// spot-state sequences and check, after every step, that the lot agrees
// with a brute-force reading of the documented rules and that its own
// bookkeeping is consistent. Half-way through each sequence the lot is
// copied through JSON and both copies must then behave identically.

func TestPropertyRandomSequences(t *testing.T) {
	sequences, steps := 2000, 100
	if testing.Short() {
		sequences, steps = 100, 60
	}
	for _, st := range Strategies() {
		t.Run(string(st), func(t *testing.T) {
			t.Parallel()
			for seed := range sequences {
				rng := rand.New(rand.NewSource(int64(seed)))
				s := randomSpec(rng, st)
				l, err := NewLot(s)
				if err != nil {
					t.Fatalf("seed %d: NewLot: %v", seed, err)
				}
				runSequence(t, fmt.Sprintf("%s seed %d", st, seed), rng, l, steps)
			}
		})
	}
}

func randomSpec(rng *rand.Rand, st Strategy) LotSpec {
	s := LotSpec{Name: "prop", Currency: "EUR", Strategy: st, AllowOverflow: rng.Intn(2) == 0, Contiguous: 1 + rng.Intn(3)}
	pick := []SpotKind{C, R, R, R, O}
	for range 1 + rng.Intn(3) {
		var lv LevelSpec
		for range 1 + rng.Intn(3) {
			r := RowSpec{Kind: R}
			for p := range 1 + rng.Intn(12) {
				r.Kinds = append(r.Kinds, pick[rng.Intn(len(pick))])
				if rng.Intn(7) == 0 {
					r.Accessible = append(r.Accessible, p)
				}
				if rng.Intn(6) == 0 {
					r.EV = append(r.EV, p)
				}
			}
			lv.Rows = append(lv.Rows, r)
		}
		s.Levels = append(s.Levels, lv)
	}
	s.Entrance = Location{Level: rng.Intn(len(s.Levels)), Row: rng.Intn(4), Position: rng.Intn(14)}
	return s
}

func randomVehicle(rng *rand.Rand) Vehicle {
	types := []VehicleType{TypeCar, TypeTruck, TypeVan, TypeMotorcycle}
	sizes := []Size{"", "", SizeSmall, SizeMedium, SizeLarge}
	return Vehicle{
		Plate:           fmt.Sprintf("p-%d", rng.Intn(40)), // a small pool, so duplicates happen
		Type:            types[rng.Intn(len(types))],
		Size:            sizes[rng.Intn(len(sizes))],
		WantsAccessible: rng.Intn(6) == 0,
		WantsEV:         rng.Intn(5) == 0,
	}
}

// runSequence applies random operations to l and, from the middle on, to a
// JSON copy of it, checking both after every step.
func runSequence(t *testing.T, label string, rng *rand.Rand, l *Lot, steps int) {
	t.Helper()
	var twin *Lot
	now := t0
	for step := range steps {
		if step == steps/2 {
			twin = jsonCopy(t, label, l)
		}
		now = now.Add(time.Duration(rng.Intn(600)) * time.Second)
		lots := []*Lot{l}
		if twin != nil {
			lots = append(lots, twin)
		}
		var outcomes []string
		switch op := rng.Intn(10); {
		case op < 5:
			v := randomVehicle(rng)
			ticket := fmt.Sprintf("T%04d", step)
			if rng.Intn(20) == 0 && len(l.tickets) > 0 {
				ticket = l.Assignments()[0].TicketID
			}
			for _, lot := range lots {
				want := oracle(lot, v)
				a, err := lot.Park(v, now, ticket)
				checkPark(t, label, lot, v, ticket, want, a, err)
				outcomes = append(outcomes, fmt.Sprint(a, CodeOf(err)))
			}
		case op < 8:
			ticket := "none"
			if as := l.Assignments(); len(as) > 0 && rng.Intn(8) != 0 {
				ticket = as[rng.Intn(len(as))].TicketID
			}
			for _, lot := range lots {
				a, ok := lot.Exit(ticket)
				outcomes = append(outcomes, fmt.Sprint(a, ok))
			}
		default:
			sp := l.spots[rng.Intn(len(l.spots))]
			state := states[rng.Intn(len(states))]
			for _, lot := range lots {
				outcomes = append(outcomes, string(CodeOf(lot.SetSpotState(sp.ID, state))))
			}
		}
		for _, lot := range lots {
			checkInvariants(t, label, lot)
		}
		if len(outcomes) == 2 && outcomes[0] != outcomes[1] {
			t.Fatalf("%s step %d: the JSON copy diverged: %s vs %s", label, step, outcomes[0], outcomes[1])
		}
		if t.Failed() {
			t.FailNow()
		}
	}
	if twin != nil && mustJSON(t, l) != mustJSON(t, twin) {
		t.Fatalf("%s: the JSON copy ended in a different state", label)
	}
}

func jsonCopy(t *testing.T, label string, l *Lot) *Lot {
	t.Helper()
	b, err := json.Marshal(l)
	if err != nil {
		t.Fatalf("%s: Marshal: %v", label, err)
	}
	var c Lot
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("%s: Unmarshal: %v\n%s", label, err, b)
	}
	return &c
}

// checkPark compares a Park outcome with the oracle's choice.
func checkPark(t *testing.T, label string, l *Lot, v Vehicle, ticket string, want []string, a Assignment, err error) {
	t.Helper()
	n, _ := v.Normalize()
	_, dupTicket := l.tickets[ticket]
	if err == nil {
		dupTicket = false // the ticket is ours now
	}
	switch {
	case dupTicket:
		if CodeOf(err) != CodeDuplicateTicket {
			t.Errorf("%s: Park with a used ticket: %v", label, err)
		}
	case CodeOf(err) == CodeDuplicatePlate:
		if a, ok := l.plates[n.Plate]; !ok || a == ticket {
			t.Errorf("%s: duplicate_plate for plate %s not parked", label, n.Plate)
		}
	case l.plates[n.Plate] != "" && l.plates[n.Plate] != ticket:
		t.Errorf("%s: plate %s parked twice", label, n.Plate)
	case want == nil:
		wantCode := CodeNoCompatibleSpot
		if l.count(SpotFree) == 0 {
			wantCode = CodeLotFull
		}
		if CodeOf(err) != wantCode {
			t.Errorf("%s: Park(%+v) = %v, %v; want %s", label, n, a.SpotIDs, err, wantCode)
		}
	default:
		if err != nil || !slices.Equal(a.SpotIDs, want) {
			t.Errorf("%s: Park(%+v) = %v, %v; the rules choose %v", label, n, a.SpotIDs, err, want)
		}
	}
}

// oracle chooses spots for v by sorting every possible placement on the
// documented preference, in O(n) per placement: the slow, obvious reading of
// the rules that the heaps and run metadata must agree with.
func oracle(l *Lot, v Vehicle) []string {
	v, err := v.Normalize()
	if err != nil || l.plates[v.Plate] != "" {
		return nil
	}
	strictOrder := map[flagMask][]flagMask{ // written out by hand from the documentation
		0: {0}, 1: {1, 0}, 2: {2, 0}, 3: {3, 1, 2, 0},
	}
	looseOrder := map[flagMask][]flagMask{
		0: {2, 1, 3}, 1: {3, 2}, 2: {3, 1}, 3: {},
	}
	w := v.wants()
	spec := l.Spec()
	levelRank := func(level int) int { return abs(level-spec.Entrance.Level)*1000 + level }
	type option struct {
		spots []int
		key   []int
	}
	var options []option
	add := func(phase, flagRank int, idx []int) {
		first := l.spots[idx[0]]
		dist := 1 << 30
		for _, i := range idx {
			dist = min(dist, l.spots[i].Location.Distance(spec.Entrance))
		}
		key := []int{phase, flagRank}
		switch spec.Strategy {
		case FirstAvailable:
			key = append(key, idx[0])
		case Nearest:
			key = append(key, dist, idx[0])
		case BestFit:
			key = append(key, first.Kind.rank(), idx[0])
		case FillLevel:
			key = append(key, levelRank(first.Location.Level), dist, idx[0])
		}
		options = append(options, option{idx, key})
	}
	for i, s := range l.spots {
		if s.State != SpotFree || !s.Kind.Fits(v.Size) {
			continue
		}
		f := s.flags()
		if r := slices.Index(strictOrder[w], f); r >= 0 {
			add(0, r, []int{i})
		} else if spec.AllowOverflow {
			add(2, slices.Index(looseOrder[w], f), []int{i})
		}
	}
	if v.Size == SizeLarge && spec.Contiguous > 1 {
		n := spec.Contiguous
		for i := range l.spots {
			var flags flagMask
			ok := i+n <= len(l.spots)
			for j := i; ok && j < i+n; j++ {
				s := l.spots[j]
				ok = s.Kind == R && s.State == SpotFree && s.Location.Level == l.spots[i].Location.Level &&
					s.Location.Row == l.spots[i].Location.Row
				flags |= s.flags()
			}
			switch {
			case !ok:
			case flags&^w == 0:
				add(1, 0, seq(i, n))
			case spec.AllowOverflow:
				add(3, 0, seq(i, n))
			}
		}
	}
	if len(options) == 0 {
		return nil
	}
	best := slices.MinFunc(options, func(a, b option) int { return slices.Compare(a.key, b.key) })
	var ids []string
	for _, i := range best.spots {
		ids = append(ids, l.spots[i].ID)
	}
	return ids
}

func seq(from, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = from + i
	}
	return out
}

// checkInvariants checks the lot's bookkeeping against its spots.
func checkInvariants(t *testing.T, label string, l *Lot) {
	t.Helper()
	holder := map[int]string{}
	for _, a := range l.tickets { // order does not matter for the checks
		if l.plates[a.Vehicle.Plate] != a.TicketID {
			t.Errorf("%s: plate index: %s -> %q, want %q", label, a.Vehicle.Plate, l.plates[a.Vehicle.Plate], a.TicketID)
		}
		var idx []int
		for _, id := range a.SpotIDs {
			i, ok := l.byID[id]
			if !ok {
				t.Fatalf("%s: ticket %s holds unknown spot %s", label, a.TicketID, id)
			}
			if other, dup := holder[i]; dup {
				t.Errorf("%s: spot %s double-booked by %s and %s", label, id, other, a.TicketID)
			}
			holder[i] = a.TicketID
			if s := l.spots[i]; s.State != SpotOccupied || s.TicketID != a.TicketID {
				t.Errorf("%s: spot %s = %+v, want occupied by %s", label, id, s, a.TicketID)
			}
			idx = append(idx, i)
		}
		if len(idx) == 1 && !l.spots[idx[0]].Kind.Fits(a.Vehicle.Size) {
			t.Errorf("%s: %s vehicle on %s spot", label, a.Vehicle.Size, l.spots[idx[0]].Kind)
		}
		if len(idx) > 1 {
			if a.Vehicle.Size != SizeLarge || len(idx) != l.spec.Contiguous {
				t.Errorf("%s: a %s vehicle holds %d spots", label, a.Vehicle.Size, len(idx))
			}
			first := l.spots[idx[0]].Location
			for k, i := range idx {
				s := l.spots[i]
				if s.Kind != R || s.Location.Level != first.Level || s.Location.Row != first.Row ||
					s.Location.Position != first.Position+k {
					t.Errorf("%s: run %v is not adjacent regular spots of one row", label, a.SpotIDs)
				}
			}
		}
		if !l.spec.AllowOverflow {
			for _, i := range idx {
				if l.spots[i].flags()&^a.Vehicle.wants() != 0 {
					t.Errorf("%s: spot %s has flags %s did not ask for", label, l.spots[i].ID, a.TicketID)
				}
			}
		}
	}
	if len(l.plates) != len(l.tickets) {
		t.Errorf("%s: %d plates for %d tickets", label, len(l.plates), len(l.tickets))
	}

	var kindCounts [numKinds][len(states)]int
	levelCounts := make([][len(states)]int, len(l.spec.Levels))
	for i, s := range l.spots {
		if (s.State == SpotOccupied) != (holder[i] != "") {
			t.Errorf("%s: spot %+v, held by %q", label, s, holder[i])
		}
		if (s.State == SpotFree) != l.free.contains(i) {
			t.Errorf("%s: spot %+v, in free index %v", label, s, l.free.contains(i))
		}
		kindCounts[s.Kind.rank()][s.State.index()]++
		levelCounts[s.Location.Level][s.State.index()]++
	}
	if kindCounts != l.kindCounts || !slices.Equal(levelCounts, l.levelCounts) {
		t.Errorf("%s: counters %v %v, recount %v %v", label, l.kindCounts, l.levelCounts, kindCounts, levelCounts)
	}
	o := l.Occupancy()
	var sum Counts
	for _, k := range o.ByKind {
		sum = Counts{sum.Total + k.Total, sum.Free + k.Free, sum.Occupied + k.Occupied, sum.Reserved + k.Reserved,
			sum.OutOfService + k.OutOfService}
	}
	if sum != o.Counts || o.Total != len(l.spots) || o.Occupied != len(holder) {
		t.Errorf("%s: occupancy %+v does not add up (%d spots, %d held)", label, o, len(l.spots), len(holder))
	}
	inService := o.Total - o.OutOfService
	wantRatio := PerMille
	if inService > 0 {
		wantRatio = (o.Occupied + o.Reserved) * PerMille / inService
	}
	if o.RatioPerMille != wantRatio {
		t.Errorf("%s: ratio %d, want %d", label, o.RatioPerMille, wantRatio)
	}
	for r := range l.rows {
		row := &l.rows[r]
		for m := range flagMask(numMasks) {
			longest, run := 0, 0
			for i := row.first; i < row.first+row.n; i++ {
				if s := l.spots[i]; s.Kind == R && s.State == SpotFree && s.flags()&^m == 0 {
					run++
					longest = max(longest, run)
				} else {
					run = 0
				}
			}
			if got := row.maxRun(m); got != longest {
				t.Errorf("%s: row %d mask %d: run metadata says %d, the spots %d", label, r, m, got, longest)
			}
		}
	}
	for h, heap := range l.free.heaps {
		for i := 1; i < len(heap); i++ {
			if l.free.key[heap[(i-1)/2]] > l.free.key[heap[i]] {
				t.Fatalf("%s: heap %d violates the heap order", label, h)
			}
		}
	}
}
