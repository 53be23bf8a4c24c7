package config

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parklot/parklot/domain/parking"
)

func TestTheExampleGarageBecomesTheLotItDescribes(t *testing.T) {
	c, err := Load("examples/garage.yaml")
	if err != nil {
		t.Fatal(err)
	}
	spec, err := c.Lots["central-garage"].Spec("central-garage")
	if err != nil {
		t.Fatalf("Spec: %v", err)
	}
	lot, err := parking.NewLot(spec)
	if err != nil {
		t.Fatalf("NewLot: %v", err)
	}
	o := lot.Occupancy()
	if o.Total != 24+12+10+30+30+6+40+8 || len(o.ByLevel) != 3 {
		t.Fatalf("occupancy %+v, want 160 spots on 3 levels", o.Counts)
	}
	kinds := map[parking.SpotKind]int{}
	for _, k := range o.ByKind {
		kinds[k.Kind] = k.Total
	}
	if kinds[parking.KindCompact] != 32 || kinds[parking.KindOversized] != 10 || kinds[parking.KindRegular] != 118 {
		t.Fatalf("spots by kind %v", kinds)
	}
	ev, _ := lot.Spot("L0-EV-00")
	if !ev.EVCharging || !ev.Accessible || ev.Kind != parking.KindRegular {
		t.Fatalf("L0-EV-00 = %+v, want an accessible EV regular spot", ev)
	}
	if s, _ := lot.Spot("L1-C-00"); s.Kind != parking.KindOversized {
		t.Fatalf("L1-C-00 = %+v, want oversized from kinds", s)
	}
	if spec.Strategy != parking.Nearest || spec.Contiguous != 3 || !spec.AllowOverflow || spec.MaxStay != 168*time.Hour {
		t.Fatalf("spec settings %+v", spec)
	}
	if spec.TimeZone.String() != "Europe/Berlin" || spec.Currency != "EUR" {
		t.Fatalf("zone %v currency %q", spec.TimeZone, spec.Currency)
	}
	p := lot.Pricing()
	want := parking.PeakWindow{Days: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday},
		Start: 7*time.Hour + 30*time.Minute, End: 10 * time.Hour, Multiplier: 1500}
	if got := p.Peaks[0]; got.Start != want.Start || got.End != want.End || got.Multiplier != want.Multiplier || !slices.Equal(got.Days, want.Days) {
		t.Fatalf("first peak %+v, want %+v", got, want)
	}
	if p.Surge != (parking.Surge{ThresholdPerMille: 900, Multiplier: 1250}) || p.Grace != 10*time.Minute ||
		p.DailyCap != 2500 || p.LostTicketFee != 5000 || p.HourlyRate != 250 || len(p.Tiers) != 3 {
		t.Fatalf("pricing %+v", p)
	}
	// A Sunday stay of two hours: no peak, the third tier has started.
	sunday := time.Date(2026, 3, 1, 12, 0, 0, 0, spec.TimeZone)
	q, err := p.Quote(sunday, sunday.Add(2*time.Hour), 0, false)
	if err != nil || q.Amount != 800 || q.Currency != "EUR" {
		t.Fatalf("quote %d %s (%v), want 800 EUR", q.Amount, q.Currency, err)
	}
}

func TestValidationReportsWhatTheParkingEngineRefusesUnderTheFileKeys(t *testing.T) {
	cases := []struct {
		name, lot, path, message string
	}{
		{"a row name with a dash", `
    levels: [{name: L0, rows: [{name: bus-1, count: 2}]}]`, "lots.x.levels[0].rows[0].name", "letters or digits"},
		{"a multiplier above 10x", `
    levels: [{name: L0, rows: [{name: A, count: 2}]}]
    pricing: {peak: [{start: "08:00", end: "09:00", multiplier: 12}]}`, "lots.x.pricing.peak[0].multiplier", "between 1 and 10000"},
		{"a fee beyond the engine's bound", `
    levels: [{name: L0, rows: [{name: A, count: 2}]}]
    pricing: {hourly_rate: 20000000000}`, "lots.x.pricing.hourly_rate", "minor units"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// `parklot config validate` and worker start-up both see it.
			_, err := Parse([]byte("lots:\n  x:\n    timezone: UTC\n    currency: EUR"+tc.lot+"\n"), FormatYAML)
			if err == nil {
				t.Fatal("Parse accepted it")
			}
			p, ok := findProblem(problemsOf(t, err), tc.path)
			if !ok || !strings.Contains(p.Message, tc.message) {
				t.Fatalf("problems %v, want %s: ...%s...", err, tc.path, tc.message)
			}
		})
	}
}

func TestContiguousSpotsOneKeepsLargeVehiclesOnOversizedSpots(t *testing.T) {
	cfg, err := Parse([]byte("lots:\n  x:\n    timezone: UTC\n    currency: EUR\n    contiguous_spots: 1\n"+
		"    levels: [{name: L0, rows: [{name: A, count: 2}]}]\n"), FormatYAML)
	if err != nil {
		t.Fatalf("contiguous_spots: 1 refused: %v", err)
	}
	spec, err := cfg.Lots["x"].Spec("x")
	if err != nil || spec.Contiguous != 1 {
		t.Fatalf("spec contiguous %d (%v), want 1", spec.Contiguous, err)
	}
}

func TestALotBuiltInCodeTakesTheDocumentedDefaults(t *testing.T) {
	l := Lot{Timezone: "UTC", Currency: "USD", Levels: []Level{{Name: "G", Rows: []Row{{Name: "A", Count: 3}}}}}
	spec, err := l.Spec("corner")
	if err != nil {
		t.Fatal(err)
	}
	lot, err := parking.NewLot(spec)
	if err != nil {
		t.Fatal(err)
	}
	if lot.Strategy() != parking.FirstAvailable || lot.Spec().Contiguous != parking.DefaultContiguous || lot.Name() != "corner" {
		t.Fatalf("spec %+v", lot.Spec())
	}
	if s, _ := lot.Spot("L0-A-02"); s.Kind != parking.KindRegular {
		t.Fatalf("a row without a kind is regular, got %+v", s)
	}
}
