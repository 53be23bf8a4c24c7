package parking

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestNewLotBuildsTheInventory(t *testing.T) {
	s := spec(
		[]RowSpec{
			{Kind: KindRegular, Count: 3, Accessible: []int{0}, EV: []int{2}},
			kindsRow(KindCompact, "", KindOversized),
		},
		[]RowSpec{{Name: "BUS", Kind: KindRegular, Count: 12}},
	)
	s.Levels[0].Rows[1].Kind = KindRegular
	l := mustLot(t, s)

	var ids []string
	for _, sp := range l.Spots() {
		ids = append(ids, sp.ID)
	}
	want := []string{"L0-A-00", "L0-A-01", "L0-A-02", "L0-B-00", "L0-B-01", "L0-B-02",
		"L1-BUS-00", "L1-BUS-01", "L1-BUS-02", "L1-BUS-03", "L1-BUS-04", "L1-BUS-05",
		"L1-BUS-06", "L1-BUS-07", "L1-BUS-08", "L1-BUS-09", "L1-BUS-10", "L1-BUS-11"}
	if !slices.Equal(ids, want) {
		t.Fatalf("spot ids = %v, want %v", ids, want)
	}
	checks := []struct {
		id                     string
		kind                   SpotKind
		accessible, evCharging bool
		loc                    Location
	}{
		{"L0-A-00", KindRegular, true, false, Location{0, 0, 0}},
		{"L0-A-02", KindRegular, false, true, Location{0, 0, 2}},
		{"L0-B-00", KindCompact, false, false, Location{0, 1, 0}},
		{"L0-B-01", KindRegular, false, false, Location{0, 1, 1}},
		{"L0-B-02", KindOversized, false, false, Location{0, 1, 2}},
		{"L1-BUS-11", KindRegular, false, false, Location{1, 0, 11}},
	}
	for _, c := range checks {
		sp, ok := l.Spot(c.id)
		if !ok || sp.Kind != c.kind || sp.Accessible != c.accessible || sp.EVCharging != c.evCharging ||
			sp.Location != c.loc || sp.State != SpotFree || sp.TicketID != "" {
			t.Errorf("Spot(%q) = %+v, %v; want kind %s accessible %v ev %v at %+v, free", c.id, sp, ok,
				c.kind, c.accessible, c.evCharging, c.loc)
		}
	}
	if _, ok := l.Spot("L9-Z-00"); ok {
		t.Error("Spot(unknown id) reported a spot")
	}
}

func TestNewLotAppliesDefaults(t *testing.T) {
	l := mustLot(t, spec([]RowSpec{rowSpec(KindRegular, 2)}))
	got := l.Spec()
	if got.Strategy != FirstAvailable || got.Contiguous != DefaultContiguous || got.TimeZone != time.UTC ||
		got.Pricing.TimeZone != time.UTC || got.Pricing.Currency != "EUR" || got.Levels[0].Rows[0].Name != "A" {
		t.Errorf("defaults not applied: %+v", got)
	}
	if l.Strategy() != FirstAvailable || l.Name() != "test" || l.MaxStay() != 0 {
		t.Errorf("accessors = %q %q %v", l.Strategy(), l.Name(), l.MaxStay())
	}
}

func TestNewLotDoesNotAliasTheSpec(t *testing.T) {
	s := spec([]RowSpec{{Kind: KindRegular, Count: 2, EV: []int{0}}})
	s.Pricing.Tiers = []Tier{{UpTo: time.Hour, Fee: 100}}
	l := mustLot(t, s)
	s.Levels[0].Rows[0].EV[0] = 1
	s.Pricing.Tiers[0].Fee = 999
	got := l.Spec()
	if got.Levels[0].Rows[0].EV[0] != 0 || l.Pricing().Tiers[0].Fee != 100 {
		t.Error("changing the caller's spec changed the lot")
	}
	got.Levels[0].Rows[0].EV[0] = 1
	if l.Spec().Levels[0].Rows[0].EV[0] != 0 {
		t.Error("changing a returned spec changed the lot")
	}
}

func TestDefaultRowNames(t *testing.T) {
	tests := []struct {
		i    int
		want string
	}{{0, "A"}, {1, "B"}, {25, "Z"}, {26, "AA"}, {27, "AB"}, {51, "AZ"}, {52, "BA"}, {99, "CV"}}
	for _, tt := range tests {
		if got := defaultRowName(tt.i); got != tt.want {
			t.Errorf("defaultRowName(%d) = %q, want %q", tt.i, got, tt.want)
		}
	}
}

func TestPositionsArePaddedToTheLongestRow(t *testing.T) {
	l := mustLot(t, spec([]RowSpec{rowSpec(KindRegular, 101), rowSpec(KindCompact, 1)}))
	for _, id := range []string{"L0-A-000", "L0-A-100", "L0-B-000"} {
		if _, ok := l.Spot(id); !ok {
			t.Errorf("no spot %q", id)
		}
	}
}

func TestNewLotRejectsInvalidSpecs(t *testing.T) {
	valid := func() LotSpec { return spec([]RowSpec{rowSpec(KindRegular, 4)}) }
	tests := []struct {
		name   string
		mutate func(*LotSpec)
		field  string
	}{
		{"a lot needs a name", func(s *LotSpec) { s.Name = "" }, "name"},
		{"a lot needs a level", func(s *LotSpec) { s.Levels = nil }, "levels"},
		{"a level needs a row", func(s *LotSpec) { s.Levels[0].Rows = nil }, "levels[0].rows"},
		{"a row needs spots", func(s *LotSpec) { s.Levels[0].Rows[0].Count = 0 }, "levels[0].rows[0].count"},
		{"a row cannot be negative", func(s *LotSpec) { s.Levels[0].Rows[0].Count = -1 }, "levels[0].rows[0].count"},
		{"a row cannot exceed the row length limit", func(s *LotSpec) { s.Levels[0].Rows[0].Count = MaxRowLength + 1 },
			"levels[0].rows[0].count"},
		{"a row needs a kind", func(s *LotSpec) { s.Levels[0].Rows[0].Kind = "" }, "levels[0].rows[0].kind"},
		{"a row's kind must be known", func(s *LotSpec) { s.Levels[0].Rows[0].Kind = "jumbo" }, "levels[0].rows[0].kind"},
		{"a per-position kind must be known", func(s *LotSpec) {
			s.Levels[0].Rows[0] = RowSpec{Kind: KindRegular, Kinds: []SpotKind{KindCompact, "jumbo"}}
		}, "levels[0].rows[0].kinds[1]"},
		{"an empty per-position kind needs a row kind", func(s *LotSpec) {
			s.Levels[0].Rows[0] = RowSpec{Kinds: []SpotKind{KindCompact, ""}}
		}, "levels[0].rows[0].kinds[1]"},
		{"count and kinds must agree", func(s *LotSpec) {
			s.Levels[0].Rows[0] = RowSpec{Count: 3, Kinds: []SpotKind{KindCompact, KindCompact}}
		}, "levels[0].rows[0].count"},
		{"an accessible position must be in the row", func(s *LotSpec) { s.Levels[0].Rows[0].Accessible = []int{4} },
			"levels[0].rows[0].accessible[0]"},
		{"an EV position cannot be negative", func(s *LotSpec) { s.Levels[0].Rows[0].EV = []int{-1} },
			"levels[0].rows[0].ev[0]"},
		{"a position cannot be listed twice", func(s *LotSpec) { s.Levels[0].Rows[0].EV = []int{1, 1} },
			"levels[0].rows[0].ev[1]"},
		{"row names are unique within a level", func(s *LotSpec) {
			s.Levels[0].Rows = []RowSpec{{Name: "X", Kind: KindRegular, Count: 1}, {Name: "X", Kind: KindRegular, Count: 1}}
		}, "levels[0].rows[1].name"},
		{"row names hold only letters and digits", func(s *LotSpec) { s.Levels[0].Rows[0].Name = "A-1" },
			"levels[0].rows[0].name"},
		{"the entrance must be on a level", func(s *LotSpec) { s.Entrance.Level = 1 }, "entrance"},
		{"the entrance cannot have a negative position", func(s *LotSpec) { s.Entrance.Position = -1 }, "entrance"},
		{"the strategy must be known", func(s *LotSpec) { s.Strategy = "random" }, "strategy"},
		{"a run is at least one spot", func(s *LotSpec) { s.Contiguous = -1 }, "contiguous"},
		{"a run has a maximum length", func(s *LotSpec) { s.Contiguous = MaxContiguous + 1 }, "contiguous"},
		{"the maximum stay cannot be negative", func(s *LotSpec) { s.MaxStay = -time.Hour }, "maxStay"},
		{"a currency is required", func(s *LotSpec) { s.Currency = "" }, "pricing.currency"},
		{"the currency is an ISO code", func(s *LotSpec) { s.Currency = "euro" }, "pricing.currency"},
		{"the pricing currency cannot contradict the lot's", func(s *LotSpec) { s.Pricing.Currency = "USD" }, "pricing.currency"},
		{"the pricing time zone cannot contradict the lot's", func(s *LotSpec) {
			s.TimeZone = time.UTC
			s.Pricing.TimeZone = time.FixedZone("X", 3600)
		}, "pricing.timeZone"},
		{"the time zone cannot be Local", func(s *LotSpec) { s.TimeZone = time.Local }, "timeZone"},
		{"pricing problems are named under pricing", func(s *LotSpec) { s.Pricing.HourlyRate = -1 }, "pricing.hourlyRate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := valid()
			tt.mutate(&s)
			l, err := NewLot(s)
			if err == nil || l != nil {
				t.Fatalf("NewLot() = %v, nil; want an error about %s", l, tt.field)
			}
			var found bool
			for _, e := range flatten(err) {
				var pe *Error
				if errors.As(e, &pe) && pe.Field == tt.field {
					found = true
					if pe.Code != CodeInvalidLotSpec && pe.Code != CodeInvalidPricing {
						t.Errorf("code = %q, want invalid_lot_spec or invalid_pricing", pe.Code)
					}
				}
			}
			if !found {
				t.Errorf("NewLot() error = %v, want one naming %q", err, tt.field)
			}
		})
	}
}

func TestNewLotReportsEveryProblemAtOnce(t *testing.T) {
	s := spec([]RowSpec{rowSpec("jumbo", 0)})
	s.Name = ""
	_, err := NewLot(s)
	if n := len(flatten(err)); n != 3 {
		t.Errorf("got %d problems, want 3 (name, count, kind): %v", n, err)
	}
	if !errors.Is(err, ErrInvalidLotSpec) {
		t.Errorf("errors.Is(err, ErrInvalidLotSpec) = false for %v", err)
	}
	if !strings.Contains(err.Error(), "levels[0].rows[0].kind") {
		t.Errorf("message %q does not name the kind field", err)
	}
}

// flatten undoes errors.Join.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err == nil {
		return nil
	}
	return []error{err}
}
