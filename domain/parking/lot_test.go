package parking

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"
)

// parkCase is one allocation scenario: a lot, operator changes, a vehicle,
// and the spots (or the error code) expected.
type parkCase struct {
	name     string
	spec     LotSpec
	setup    func(t *testing.T, l *Lot)
	vehicle  Vehicle
	want     []string
	wantCode Code
}

func (c parkCase) run(t *testing.T) {
	t.Helper()
	l := mustLot(t, c.spec)
	if c.setup != nil {
		c.setup(t, l)
	}
	a, err := l.Park(c.vehicle, t0, "T-new")
	if code := CodeOf(err); code != c.wantCode {
		t.Fatalf("Park() error = %v, want code %q", err, c.wantCode)
	}
	if !slices.Equal(a.SpotIDs, c.want) {
		t.Errorf("Park() spots = %v, want %v", a.SpotIDs, c.want)
	}
}

// withFlags sets accessible and EV positions on the first row of the first
// level.
func withFlags(s LotSpec, accessible, ev []int) LotSpec {
	s.Levels[0].Rows[0].Accessible, s.Levels[0].Rows[0].EV = accessible, ev
	return s
}

func overflow(s LotSpec) LotSpec { s.AllowOverflow = true; return s }

func contiguous(s LotSpec, n int) LotSpec { s.Contiguous = n; return s }

// set puts spots into a state before the vehicle arrives.
func set(state SpotState, ids ...string) func(*testing.T, *Lot) {
	return func(t *testing.T, l *Lot) {
		for _, id := range ids {
			if err := l.SetSpotState(id, state); err != nil {
				t.Fatal(err)
			}
		}
	}
}

const (
	C = KindCompact
	R = KindRegular
	O = KindOversized
)

func TestCompatibility(t *testing.T) {
	cases := []parkCase{
		{name: "a small vehicle takes a compact spot",
			spec: spec([]RowSpec{kindsRow(C)}), vehicle: motorcycle("M1"), want: []string{"L0-A-00"}},
		{name: "a medium vehicle never takes a compact spot",
			spec: spec([]RowSpec{kindsRow(C, C)}), vehicle: car("C1"), wantCode: CodeNoCompatibleSpot},
		{name: "a medium vehicle takes a regular spot",
			spec: spec([]RowSpec{kindsRow(C, R)}), vehicle: car("C1"), want: []string{"L0-A-01"}},
		{name: "a medium vehicle takes an oversized spot",
			spec: spec([]RowSpec{kindsRow(C, O)}), vehicle: car("C1"), want: []string{"L0-A-01"}},
		{name: "a small vehicle takes an oversized spot when nothing smaller is free",
			spec: spec([]RowSpec{kindsRow(O)}), vehicle: motorcycle("M1"), want: []string{"L0-A-00"}},
		{name: "a large vehicle never takes a single regular spot",
			spec: spec([]RowSpec{kindsRow(R)}), vehicle: truck("T1"), wantCode: CodeNoCompatibleSpot},
		{name: "a large vehicle takes an oversized spot before a run of regular spots",
			spec: spec([]RowSpec{kindsRow(R, R, O)}), vehicle: truck("T1"), want: []string{"L0-A-02"}},
		{name: "a large vehicle takes two adjacent regular spots when no oversized spot is free",
			spec: spec([]RowSpec{kindsRow(R, R, O)}), setup: set(SpotReserved, "L0-A-02"),
			vehicle: truck("T1"), want: []string{"L0-A-00", "L0-A-01"}},
		{name: "a large vehicle takes a run when the lot has no oversized spot at all",
			spec: spec([]RowSpec{kindsRow(C, R, R)}), vehicle: truck("T1"), want: []string{"L0-A-01", "L0-A-02"}},
		{name: "a large vehicle never spans two rows",
			spec: spec([]RowSpec{kindsRow(C, R), kindsRow(R, C)}), vehicle: truck("T1"), wantCode: CodeNoCompatibleSpot},
		{name: "a large vehicle never spans two levels",
			spec: spec([]RowSpec{kindsRow(R)}, []RowSpec{kindsRow(R)}), vehicle: truck("T1"), wantCode: CodeNoCompatibleSpot},
		{name: "a large vehicle skips a run broken by a taken spot",
			spec: spec([]RowSpec{kindsRow(R, R, R, R)}), setup: set(SpotReserved, "L0-A-01"),
			vehicle: truck("T1"), want: []string{"L0-A-02", "L0-A-03"}},
		{name: "a run is made of regular spots only",
			spec: spec([]RowSpec{kindsRow(R, C, R, O, R, R)}), setup: set(SpotOutOfService, "L0-A-03"),
			vehicle: truck("T1"), want: []string{"L0-A-04", "L0-A-05"}},
		{name: "the run length comes from the spec",
			spec:    contiguous(spec([]RowSpec{kindsRow(R, R, C, R, R, R)}), 3),
			vehicle: truck("T1"), want: []string{"L0-A-03", "L0-A-04", "L0-A-05"}},
		{name: "a run too short for the spec's length is refused",
			spec: contiguous(spec([]RowSpec{kindsRow(R, R, C, R, R)}), 3), vehicle: truck("T1"), wantCode: CodeNoCompatibleSpot},
		{name: "with runs of one spot a large vehicle takes oversized spots only",
			spec: contiguous(spec([]RowSpec{kindsRow(R, R, R, R)}), 1), vehicle: truck("T1"), wantCode: CodeNoCompatibleSpot},
		{name: "with runs of one spot a large vehicle still gets a free oversized spot",
			spec: contiguous(spec([]RowSpec{kindsRow(R, R, O)}), 1), vehicle: truck("T1"), want: []string{"L0-A-02"}},
		{name: "reserved and out-of-service spots are never given out",
			spec: spec([]RowSpec{kindsRow(R, R, R)}), setup: func(t *testing.T, l *Lot) {
				set(SpotReserved, "L0-A-00")(t, l)
				set(SpotOutOfService, "L0-A-01")(t, l)
			}, vehicle: car("C1"), want: []string{"L0-A-02"}},
	}
	for _, c := range cases {
		t.Run(c.name, c.run)
	}
}

func TestAccessibleAndEVSpots(t *testing.T) {
	wants := func(v Vehicle, accessible, ev bool) Vehicle {
		v.WantsAccessible, v.WantsEV = accessible, ev
		return v
	}
	cases := []parkCase{
		{name: "an accessible spot is not given to a vehicle that did not ask for one",
			spec: withFlags(spec([]RowSpec{kindsRow(R)}), []int{0}, nil), vehicle: car("C1"), wantCode: CodeNoCompatibleSpot},
		{name: "an EV spot is not given to a vehicle that did not ask for one",
			spec: withFlags(spec([]RowSpec{kindsRow(R)}), nil, []int{0}), vehicle: car("C1"), wantCode: CodeNoCompatibleSpot},
		{name: "with overflow a plain vehicle still takes a plain spot first",
			spec: overflow(withFlags(spec([]RowSpec{kindsRow(R, R)}), []int{0}, nil)), vehicle: car("C1"), want: []string{"L0-A-01"}},
		{name: "with overflow a plain vehicle takes an accessible spot as a last resort",
			spec: overflow(withFlags(spec([]RowSpec{kindsRow(R)}), []int{0}, nil)), vehicle: car("C1"), want: []string{"L0-A-00"}},
		{name: "overflow gives out EV spots before accessible ones",
			spec: overflow(withFlags(spec([]RowSpec{kindsRow(R, R, R)}), []int{0, 2}, []int{1, 2})), vehicle: car("C1"),
			want: []string{"L0-A-01"}},
		{name: "a vehicle asking for an accessible spot gets one even when a plain spot comes first",
			spec: withFlags(spec([]RowSpec{kindsRow(R, R, R)}), []int{2}, nil), vehicle: wants(car("C1"), true, false),
			want: []string{"L0-A-02"}},
		{name: "a vehicle asking for an accessible spot falls back to a plain one when none fits",
			spec: withFlags(spec([]RowSpec{kindsRow(C, R)}), []int{0}, nil), vehicle: wants(car("C1"), true, false),
			want: []string{"L0-A-01"}},
		{name: "a vehicle asking for an accessible spot does not take an EV spot without overflow",
			spec: withFlags(spec([]RowSpec{kindsRow(R)}), nil, []int{0}), vehicle: wants(car("C1"), true, false),
			wantCode: CodeNoCompatibleSpot},
		{name: "a vehicle asking for an EV spot gets one",
			spec: withFlags(spec([]RowSpec{kindsRow(R, R)}), nil, []int{1}), vehicle: wants(car("C1"), false, true),
			want: []string{"L0-A-01"}},
		{name: "a vehicle asking for both prefers a spot with both",
			spec: withFlags(spec([]RowSpec{kindsRow(R, R, R)}), []int{0, 2}, []int{1, 2}), vehicle: wants(car("C1"), true, true),
			want: []string{"L0-A-02"}},
		{name: "a vehicle asking for both prefers accessible to EV when it cannot have both",
			spec: withFlags(spec([]RowSpec{kindsRow(R, R)}), []int{1}, []int{0}), vehicle: wants(car("C1"), true, true),
			want: []string{"L0-A-01"}},
		{name: "a large vehicle asking for EV takes an oversized EV spot before a plain one",
			spec: withFlags(spec([]RowSpec{kindsRow(O, O)}), nil, []int{1}), vehicle: wants(truck("T1"), false, true),
			want: []string{"L0-A-01"}},
		{name: "a large vehicle's run may use the EV spots it asked for",
			spec: withFlags(spec([]RowSpec{kindsRow(R, R)}), nil, []int{0}), vehicle: wants(truck("T1"), false, true),
			want: []string{"L0-A-00", "L0-A-01"}},
		{name: "a large vehicle's run avoids EV spots it did not ask for",
			spec: withFlags(spec([]RowSpec{kindsRow(R, R, R)}), nil, []int{0}), vehicle: truck("T1"),
			want: []string{"L0-A-01", "L0-A-02"}},
		{name: "with overflow a large vehicle prefers a plain run to a flagged oversized spot",
			spec: overflow(withFlags(spec([]RowSpec{kindsRow(O, R, R)}), []int{0}, nil)), vehicle: truck("T1"),
			want: []string{"L0-A-01", "L0-A-02"}},
		{name: "with overflow a large vehicle's last resort is a run over flagged spots",
			spec: overflow(withFlags(spec([]RowSpec{kindsRow(R, R)}), []int{0}, nil)), vehicle: truck("T1"),
			want: []string{"L0-A-00", "L0-A-01"}},
	}
	for _, c := range cases {
		t.Run(c.name, c.run)
	}
}

func TestStrategies(t *testing.T) {
	mixed := spec([]RowSpec{kindsRow(R, R, C, R, R, O)}, []RowSpec{kindsRow(C, R, R, R, R, O)})
	mixed.Entrance = Location{Level: 1, Row: 0, Position: 5}
	long := spec([]RowSpec{rowSpec(R, 30)}, []RowSpec{rowSpec(R, 30)})
	var busy []string
	for p := range 25 {
		busy = append(busy, fmt.Sprintf("L0-A-%02d", p))
	}
	three := spec([]RowSpec{rowSpec(R, 2)}, []RowSpec{rowSpec(R, 2)}, []RowSpec{rowSpec(R, 2)})
	three.Entrance.Level = 1
	twoRows := spec([]RowSpec{rowSpec(R, 6), rowSpec(R, 6)})
	twoRows.Entrance = Location{Row: 1, Position: 5}
	tie := spec([]RowSpec{rowSpec(R, 2)}, []RowSpec{rowSpec(R, 22)})
	tie.Entrance.Level = 1
	var upper []string
	for p := range 20 {
		upper = append(upper, fmt.Sprintf("L1-A-%02d", p))
	}
	middle := spec([]RowSpec{rowSpec(R, 5)})
	middle.Entrance.Position = 2

	tests := []struct {
		name    string
		spec    LotSpec
		setup   func(*testing.T, *Lot)
		vehicle Vehicle
		want    map[Strategy][]string
	}{
		{name: "a small vehicle goes first, nearest, smallest or to the entrance level",
			spec: mixed, vehicle: motorcycle("M1"), want: map[Strategy][]string{
				FirstAvailable: {"L0-A-00"}, Nearest: {"L1-A-05"}, BestFit: {"L0-A-02"}, FillLevel: {"L1-A-05"}}},
		{name: "a medium vehicle ignores compact spots under every strategy",
			spec: mixed, vehicle: car("C1"), want: map[Strategy][]string{
				FirstAvailable: {"L0-A-00"}, Nearest: {"L1-A-05"}, BestFit: {"L0-A-00"}, FillLevel: {"L1-A-05"}}},
		{name: "nearest climbs a level when that is closer, fill level keeps filling the entrance level",
			spec: long, setup: set(SpotReserved, busy...), vehicle: car("C1"), want: map[Strategy][]string{
				FirstAvailable: {"L0-A-25"}, Nearest: {"L1-A-00"}, BestFit: {"L0-A-25"}, FillLevel: {"L0-A-25"}}},
		{name: "fill level starts at the entrance level",
			spec: three, vehicle: car("C1"), want: map[Strategy][]string{
				FirstAvailable: {"L0-A-00"}, Nearest: {"L1-A-00"}, BestFit: {"L0-A-00"}, FillLevel: {"L1-A-00"}}},
		{name: "fill level opens the lower of two levels equally far from the entrance",
			spec: three, setup: set(SpotReserved, "L1-A-00", "L1-A-01"), vehicle: car("C1"), want: map[Strategy][]string{
				FirstAvailable: {"L0-A-00"}, Nearest: {"L0-A-00"}, BestFit: {"L0-A-00"}, FillLevel: {"L0-A-00"}}},
		{name: "equally near spots go to the lower location",
			spec: middle, setup: set(SpotReserved, "L0-A-02"), vehicle: car("C1"), want: map[Strategy][]string{
				FirstAvailable: {"L0-A-00"}, Nearest: {"L0-A-01"}, BestFit: {"L0-A-00"}, FillLevel: {"L0-A-01"}}},
		{name: "a run is chosen by the strategy too",
			spec: twoRows, vehicle: truck("T1"), want: map[Strategy][]string{
				FirstAvailable: {"L0-A-00", "L0-A-01"}, Nearest: {"L0-B-04", "L0-B-05"},
				BestFit: {"L0-A-00", "L0-A-01"}, FillLevel: {"L0-B-04", "L0-B-05"}}},
		{name: "a nearest run may climb a level, a fill level run stays",
			spec: long, setup: set(SpotReserved, busy...), vehicle: truck("T1"), want: map[Strategy][]string{
				FirstAvailable: {"L0-A-25", "L0-A-26"}, Nearest: {"L1-A-00", "L1-A-01"},
				BestFit: {"L0-A-25", "L0-A-26"}, FillLevel: {"L0-A-25", "L0-A-26"}}},
		{name: "a spot as near as one found on a nearer row wins by its lower location",
			spec: tie, setup: set(SpotReserved, upper...), vehicle: car("C1"), want: map[Strategy][]string{
				FirstAvailable: {"L0-A-00"}, Nearest: {"L0-A-00"}, BestFit: {"L0-A-00"}, FillLevel: {"L1-A-20"}}},
		{name: "a run as near as one found on a nearer row wins by its lower location",
			spec: tie, setup: set(SpotReserved, upper...), vehicle: truck("T1"), want: map[Strategy][]string{
				FirstAvailable: {"L0-A-00", "L0-A-01"}, Nearest: {"L0-A-00", "L0-A-01"},
				BestFit: {"L0-A-00", "L0-A-01"}, FillLevel: {"L1-A-20", "L1-A-21"}}},
		{name: "the nearest run covers the entrance position when it can",
			spec: middle, vehicle: truck("T1"), want: map[Strategy][]string{
				FirstAvailable: {"L0-A-00", "L0-A-01"}, Nearest: {"L0-A-01", "L0-A-02"},
				BestFit: {"L0-A-00", "L0-A-01"}, FillLevel: {"L0-A-01", "L0-A-02"}}},
	}
	for _, tt := range tests {
		for _, st := range Strategies() {
			t.Run(tt.name+"/"+string(st), func(t *testing.T) {
				s := tt.spec
				s.Strategy = st
				parkCase{spec: s, setup: tt.setup, vehicle: tt.vehicle, want: tt.want[st]}.run(t)
			})
		}
	}
}

func TestParkRefusals(t *testing.T) {
	small := spec([]RowSpec{kindsRow(C, R)})
	cases := []struct {
		name     string
		setup    func(*testing.T, *Lot)
		vehicle  Vehicle
		ticket   string
		wantCode Code
	}{
		{"a lot with every spot taken is full", func(t *testing.T, l *Lot) {
			mustPark(t, l, motorcycle("M1"), "T1")
			mustPark(t, l, car("C1"), "T2")
		}, motorcycle("M2"), "T3", CodeLotFull},
		{"a lot with every spot reserved or out of service is full", func(t *testing.T, l *Lot) {
			set(SpotReserved, "L0-A-00")(t, l)
			set(SpotOutOfService, "L0-A-01")(t, l)
		}, motorcycle("M2"), "T3", CodeLotFull},
		{"a lot with only spots too small has no compatible spot", func(t *testing.T, l *Lot) {
			mustPark(t, l, car("C1"), "T1")
		}, car("C2"), "T3", CodeNoCompatibleSpot},
		{"a plate already parked is refused however it is written", func(t *testing.T, l *Lot) {
			mustPark(t, l, car("b-ab 1"), "T1")
		}, motorcycle("BAB1"), "T2", CodeDuplicatePlate},
		{"a ticket id already in use is refused", func(t *testing.T, l *Lot) {
			mustPark(t, l, car("C1"), "T1")
		}, motorcycle("M1"), "T1", CodeDuplicateTicket},
		{"an empty ticket id is refused", nil, car("C1"), "", CodeInvalidTicket},
		{"an invalid vehicle is refused", nil, Vehicle{Plate: "??"}, "T1", CodeInvalidVehicle},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := mustLot(t, small)
			if c.setup != nil {
				c.setup(t, l)
			}
			before := mustJSON(t, l)
			_, err := l.Park(c.vehicle, t0, c.ticket)
			if code := CodeOf(err); code != c.wantCode {
				t.Fatalf("Park() error = %v, want code %q", err, c.wantCode)
			}
			if after := mustJSON(t, l); after != before {
				t.Errorf("a refused Park changed the lot:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

func TestParkRecordsTheAssignment(t *testing.T) {
	l := mustLot(t, spec([]RowSpec{rowSpec(R, 4)}))
	set(SpotReserved, "L0-A-00")(t, l)
	berlinTime := time.Date(2026, 3, 2, 10, 0, 0, 0, berlin(t))
	mustPark(t, l, Vehicle{ID: "fleet-1", Plate: "b ab 1", WantsEV: true}, "T1")
	a, err := l.Park(car("C2"), berlinTime, "T2")
	if err != nil {
		t.Fatal(err)
	}
	want := Assignment{TicketID: "T2", Vehicle: Vehicle{ID: "C2", Plate: "C2", Type: TypeCar, Size: SizeMedium},
		SpotIDs: []string{"L0-A-02"}, EntryTime: berlinTime.UTC(), OccupancyAtEntry: 500}
	if fmt.Sprint(a) != fmt.Sprint(want) || a.EntryTime.Location() != time.UTC {
		t.Errorf("Park() = %+v, want %+v (entry in UTC, occupancy before parking)", a, want)
	}
	if got, err := l.Assignment("T2"); err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Assignment(T2) = %+v, %v", got, err)
	}
	if _, err := l.Assignment("T9"); CodeOf(err) != CodeUnknownTicket {
		t.Errorf("Assignment(unknown) error = %v, want unknown_ticket", err)
	}
	if got, err := l.AssignmentByPlate("b-ab-1"); err != nil || got.TicketID != "T1" || got.Vehicle.ID != "fleet-1" {
		t.Errorf("AssignmentByPlate = %+v, %v; want ticket T1", got, err)
	}
	if _, err := l.AssignmentByPlate("nope"); CodeOf(err) != CodeUnknownPlate {
		t.Errorf("AssignmentByPlate(unknown) error = %v, want unknown_plate", err)
	}
	if sp, _ := l.Spot("L0-A-02"); sp.State != SpotOccupied || sp.TicketID != "T2" {
		t.Errorf("spot = %+v, want occupied by T2", sp)
	}
	got := l.Assignments()
	if len(got) != 2 || got[0].TicketID != "T1" || got[1].TicketID != "T2" {
		t.Errorf("Assignments() = %+v, want T1 then T2", got)
	}
	got[0].SpotIDs[0] = "changed"
	if a, _ := l.Assignment("T1"); a.SpotIDs[0] == "changed" {
		t.Error("changing a returned assignment changed the lot")
	}
}

func TestExit(t *testing.T) {
	l := mustLot(t, spec([]RowSpec{rowSpec(R, 3)}))
	mustPark(t, l, car("C1"), "T1")
	big := mustPark(t, l, truck("T1"), "T2")

	got, ok := l.Exit("T2")
	if !ok || !slices.Equal(got.SpotIDs, big.SpotIDs) {
		t.Fatalf("Exit(T2) = %+v, %v; want the truck's spots", got, ok)
	}
	for _, id := range big.SpotIDs {
		if sp, _ := l.Spot(id); sp.State != SpotFree || sp.TicketID != "" {
			t.Errorf("after exit spot %s = %+v, want free", id, sp)
		}
	}
	t.Run("exiting twice changes nothing", func(t *testing.T) {
		before := mustJSON(t, l)
		if _, ok := l.Exit("T2"); ok {
			t.Error("second Exit reported a release")
		}
		if mustJSON(t, l) != before {
			t.Error("second Exit changed the lot")
		}
	})
	t.Run("exiting an unknown ticket changes nothing", func(t *testing.T) {
		if _, ok := l.Exit("nope"); ok {
			t.Error("Exit(unknown) reported a release")
		}
	})
	t.Run("the plate may park again after exit", func(t *testing.T) {
		if _, err := l.Park(truck("T1"), t0, "T3"); err != nil {
			t.Errorf("Park after exit: %v", err)
		}
	})
}

func TestSetSpotState(t *testing.T) {
	l := mustLot(t, spec([]RowSpec{rowSpec(R, 3)}))
	mustPark(t, l, car("C1"), "T1")
	tests := []struct {
		name     string
		id       string
		state    SpotState
		wantCode Code
	}{
		{"an unknown spot is refused", "L0-Z-00", SpotReserved, CodeUnknownSpot},
		{"occupied can only be set by parking", "L0-A-01", SpotOccupied, CodeInvalidSpotState},
		{"an unknown state is refused", "L0-A-01", "closed", CodeInvalidSpotState},
		{"an occupied spot cannot change state", "L0-A-00", SpotOutOfService, CodeSpotOccupied},
		{"a free spot can be reserved", "L0-A-01", SpotReserved, ""},
		{"reserving a reserved spot does nothing", "L0-A-01", SpotReserved, ""},
		{"a reserved spot can go out of service", "L0-A-01", SpotOutOfService, ""},
		{"an out-of-service spot can be freed", "L0-A-01", SpotFree, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := l.Spot(tt.id)
			err := l.SetSpotState(tt.id, tt.state)
			if code := CodeOf(err); code != tt.wantCode {
				t.Fatalf("SetSpotState() error = %v, want code %q", err, tt.wantCode)
			}
			after, _ := l.Spot(tt.id)
			if tt.wantCode != "" && after != before {
				t.Errorf("a refused change altered the spot: %+v -> %+v", before, after)
			}
			if tt.wantCode == "" && after.State != tt.state {
				t.Errorf("state = %q, want %q", after.State, tt.state)
			}
		})
	}
}

func TestOccupancy(t *testing.T) {
	l := mustLot(t, spec([]RowSpec{kindsRow(C, R, R, O)}, []RowSpec{kindsRow(R, R, R, R)}))
	mustPark(t, l, motorcycle("M1"), "T1") // L0-A-00
	mustPark(t, l, truck("T1"), "T2")      // L0-A-03
	set(SpotReserved, "L1-A-00")(t, l)
	set(SpotOutOfService, "L1-A-01", "L1-A-02")(t, l)

	got := l.Occupancy()
	want := Occupancy{
		Counts:        Counts{Total: 8, Free: 3, Occupied: 2, Reserved: 1, OutOfService: 2},
		RatioPerMille: 500, // (2 occupied + 1 reserved) / 6 in service
		ByKind: []KindOccupancy{
			{KindCompact, Counts{Total: 1, Occupied: 1}},
			{KindRegular, Counts{Total: 6, Free: 3, Reserved: 1, OutOfService: 2}},
			{KindOversized, Counts{Total: 1, Occupied: 1}},
		},
		ByLevel: []LevelOccupancy{
			{0, Counts{Total: 4, Free: 2, Occupied: 2}},
			{1, Counts{Total: 4, Free: 1, Reserved: 1, OutOfService: 2}},
		},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Occupancy() =\n%+v\nwant\n%+v", got, want)
	}

	t.Run("the ratio rounds down", func(t *testing.T) {
		l := mustLot(t, spec([]RowSpec{rowSpec(R, 3)}))
		mustPark(t, l, car("C1"), "T1")
		if r := l.Occupancy().RatioPerMille; r != 333 {
			t.Errorf("ratio = %d, want 333", r)
		}
	})
	t.Run("a lot with no spot in service counts as full", func(t *testing.T) {
		l := mustLot(t, spec([]RowSpec{rowSpec(R, 1)}))
		set(SpotOutOfService, "L0-A-00")(t, l)
		if r := l.Occupancy().RatioPerMille; r != PerMille {
			t.Errorf("ratio = %d, want %d", r, PerMille)
		}
	})
}

func TestLotJSONRoundTrip(t *testing.T) {
	s := spec([]RowSpec{{Kind: R, Count: 6, EV: []int{1}}}, []RowSpec{kindsRow(C, O)})
	s.Strategy, s.AllowOverflow, s.MaxStay, s.TimeZone = Nearest, true, 72*time.Hour, berlin(t)
	s.Pricing = PricingRules{Tiers: []Tier{{time.Hour, 300}}, HourlyRate: 200,
		Peaks: []PeakWindow{{Days: []time.Weekday{time.Monday}, Start: 7 * time.Hour, End: 10 * time.Hour, Multiplier: 1500}}}
	l := mustLot(t, s)
	mustPark(t, l, truck("T1"), "T1")
	mustPark(t, l, Vehicle{Plate: "E1", WantsEV: true}, "T2")
	set(SpotOutOfService, "L0-A-05")(t, l)

	b := mustJSON(t, l)
	var back Lot
	if err := json.Unmarshal([]byte(b), &back); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	if got := mustJSON(t, &back); got != b {
		t.Fatalf("round trip differs:\n%s\n%s", b, got)
	}
	if back.Pricing().TimeZone.String() != "Europe/Berlin" || back.MaxStay() != 72*time.Hour {
		t.Errorf("decoded pricing zone %v, max stay %v", back.Pricing().TimeZone, back.MaxStay())
	}
	for i := range 4 {
		v := car(fmt.Sprintf("N%d", i))
		a1, err1 := l.Park(v, t0, v.Plate)
		a2, err2 := back.Park(v, t0, v.Plate)
		if fmt.Sprint(a1, err1) != fmt.Sprint(a2, err2) {
			t.Errorf("decoded lot parks %v %v, original %v %v", a2, err2, a1, err1)
		}
	}
}

func TestLotJSONRejectsInconsistentState(t *testing.T) {
	l := mustLot(t, spec([]RowSpec{kindsRow(R, R, R)}))
	mustPark(t, l, truck("T1"), "T1")
	set(SpotReserved, "L0-A-02")(t, l)
	var good map[string]any
	if err := json.Unmarshal([]byte(mustJSON(t, l)), &good); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(m map[string]any)
	}{
		{"an unknown version", func(m map[string]any) { m["version"] = 99 }},
		{"an unknown reserved spot", func(m map[string]any) { spots(m)[0]["id"] = "L7-A-00" }},
		{"a listed spot that is free", func(m map[string]any) { spots(m)[0]["state"] = "free" }},
		{"a listed spot that is occupied", func(m map[string]any) { spots(m)[0]["state"] = "occupied" }},
		{"a spot listed twice", func(m map[string]any) { m["spots"] = append(m["spots"].([]any), spots(m)[0]) }},
		{"a vehicle on a reserved spot", func(m map[string]any) {
			assignments(m)[0]["spotIds"] = []any{"L0-A-00", "L0-A-01", "L0-A-02"}
		}},
		{"a vehicle on an unknown spot", func(m map[string]any) { assignments(m)[0]["spotIds"] = []any{"L9-A-00"} }},
		{"two vehicles on one spot", func(m map[string]any) {
			second := map[string]any{}
			for k, v := range assignments(m)[0] {
				second[k] = v
			}
			second["ticketId"] = "T9"
			second["vehicle"] = map[string]any{"id": "T9", "plate": "T9", "type": "truck", "size": "large"}
			m["assignments"] = append(m["assignments"].([]any), second)
		}},
		{"a ticket listed twice", func(m map[string]any) {
			m["assignments"] = append(m["assignments"].([]any), assignments(m)[0])
		}},
		{"a vehicle not in normal form", func(m map[string]any) {
			assignments(m)[0]["vehicle"].(map[string]any)["plate"] = "t-1"
		}},
		{"a large vehicle on one regular spot", func(m map[string]any) { assignments(m)[0]["spotIds"] = []any{"L0-A-00"} }},
		{"a run in the wrong order", func(m map[string]any) { assignments(m)[0]["spotIds"] = []any{"L0-A-01", "L0-A-00"} }},
		{"a vehicle without a ticket id", func(m map[string]any) { assignments(m)[0]["ticketId"] = "" }},
		{"an invalid spec", func(m map[string]any) { m["spec"].(map[string]any)["name"] = "" }},
	}
	for _, tt := range tests {
		t.Run("decoding refuses "+tt.name, func(t *testing.T) {
			var m map[string]any
			b, _ := json.Marshal(good)
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			tt.mutate(m)
			b, _ = json.Marshal(m)
			var back Lot
			if err := json.Unmarshal(b, &back); err == nil {
				t.Errorf("Unmarshal accepted %s", b)
			}
		})
	}
}

func spots(m map[string]any) []map[string]any {
	var out []map[string]any
	for _, s := range m["spots"].([]any) {
		out = append(out, s.(map[string]any))
	}
	return out
}

func assignments(m map[string]any) []map[string]any {
	var out []map[string]any
	for _, s := range m["assignments"].([]any) {
		out = append(out, s.(map[string]any))
	}
	return out
}

func mustPark(t testing.TB, l *Lot, v Vehicle, ticket string) Assignment {
	t.Helper()
	a, err := l.Park(v, t0, ticket)
	if err != nil {
		t.Fatalf("Park(%+v): %v", v, err)
	}
	return a
}

func mustJSON(t testing.TB, l *Lot) string {
	t.Helper()
	b, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
