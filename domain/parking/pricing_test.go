package parking

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// at is a wall-clock time in Berlin.
func at(t testing.TB, month time.Month, day, hour, minute int) time.Time {
	return time.Date(2026, month, day, hour, minute, 0, 0, berlin(t))
}

// lines renders a breakdown compactly: "rule from-to xmultiplier amount",
// times on the lot's wall clock.
func lines(q Quote) []string {
	var out []string
	for _, s := range q.Breakdown {
		l := fmt.Sprintf("%s %s-%s x%d %d", s.Rule, s.From.Format("02 15:04"), s.To.Format("02 15:04"), s.Multiplier, s.Amount)
		if s.Peak != "" {
			l += " " + s.Peak
		}
		out = append(out, l)
	}
	return out
}

func mustQuote(t *testing.T, r PricingRules, entry, exit time.Time, occupancy int, lost bool) Quote {
	t.Helper()
	q, err := r.Quote(entry, exit, occupancy, lost)
	if err != nil {
		t.Fatalf("Quote: %v", err)
	}
	checkQuote(t, r, q)
	return q
}

// checkQuote asserts the invariants every quote keeps.
func checkQuote(t testing.TB, r PricingRules, q Quote) {
	t.Helper()
	var sum int64
	windows := map[int]int64{}
	for i, s := range q.Breakdown {
		sum += s.Amount
		if s.To.Before(s.From) {
			t.Errorf("segment %d ends before it starts: %+v", i, s)
		}
		if i > 0 && s.Rule != RuleDailyCap && s.Rule != RuleLostTicket && s.From.Before(q.Breakdown[i-1].From) {
			t.Errorf("segment %d is out of order: %+v", i, s)
		}
		if (s.Amount < 0) != (s.Rule == RuleDailyCap) {
			t.Errorf("segment %d has amount %d under rule %s", i, s.Amount, s.Rule)
		}
		if s.Rule != RuleLostTicket {
			windows[s.Window] += s.Amount
		}
	}
	if sum != q.Amount {
		t.Errorf("segments sum to %d, the quote says %d", sum, q.Amount)
	}
	if q.Amount < 0 {
		t.Errorf("negative amount %d", q.Amount)
	}
	for w, v := range windows {
		if r.DailyCap > 0 && v > r.DailyCap {
			t.Errorf("window %d charges %d over the cap %d", w, v, r.DailyCap)
		}
	}
}

type quoteCase struct {
	name       string
	rules      PricingRules
	entry, at  time.Time
	occupancy  int
	lost       bool
	wantAmount int64
	wantLines  []string // nil: not checked
}

func (c quoteCase) run(t *testing.T) {
	t.Helper()
	q := mustQuote(t, c.rules, c.entry, c.at, c.occupancy, c.lost)
	if q.Amount != c.wantAmount {
		t.Errorf("amount = %d, want %d\n%s", q.Amount, c.wantAmount, strings.Join(lines(q), "\n"))
	}
	if c.wantLines != nil && !slices.Equal(lines(q), c.wantLines) {
		t.Errorf("breakdown =\n%s\nwant\n%s", strings.Join(lines(q), "\n"), strings.Join(c.wantLines, "\n"))
	}
	if q.Currency != c.rules.Currency {
		t.Errorf("currency = %q", q.Currency)
	}
}

// tiered is the tariff of most tests: 3.00 for the first hour, 8.00 up to
// three hours, then 2.00 per started hour; ten minutes' grace; 50.00 for a
// lost ticket.
func tiered(t testing.TB) PricingRules {
	return PricingRules{Currency: "EUR", TimeZone: berlin(t),
		Tiers:      []Tier{{UpTo: time.Hour, Fee: 300}, {UpTo: 3 * time.Hour, Fee: 800}},
		HourlyRate: 200, Grace: 10 * time.Minute, LostTicketFee: 5000}
}

func TestQuoteTiersAndGrace(t *testing.T) {
	r := tiered(t)
	noGrace := tiered(t)
	noGrace.Grace = 0
	hourly := PricingRules{Currency: "EUR", HourlyRate: 150}
	sunday := at(t, 3, 1, 12, 0)
	cases := []quoteCase{
		{name: "a stay shorter than the grace period is free", rules: r, entry: sunday, at: sunday.Add(5 * time.Minute),
			wantLines: []string{"grace 01 12:00-01 12:05 x1000 0"}},
		{name: "a stay of exactly the grace period is free", rules: r, entry: sunday, at: sunday.Add(10 * time.Minute)},
		{name: "a stay one second past grace pays the first tier from entry", rules: r, entry: sunday,
			at: sunday.Add(10*time.Minute + time.Second), wantAmount: 300,
			wantLines: []string{"tier_1 01 12:00-01 13:00 x1000 300"}},
		{name: "a stay of exactly one hour stays in the first tier", rules: r, entry: sunday,
			at: sunday.Add(time.Hour), wantAmount: 300},
		{name: "a stay one second past the first tier edge pays the second tier", rules: r, entry: sunday,
			at: sunday.Add(time.Hour + time.Second), wantAmount: 800,
			wantLines: []string{"tier_1 01 12:00-01 13:00 x1000 300", "tier_2 01 13:00-01 15:00 x1000 500"}},
		{name: "a stay of exactly the last tier costs the last tier's fee", rules: r, entry: sunday,
			at: sunday.Add(3 * time.Hour), wantAmount: 800},
		{name: "the first started hour past the last tier costs the hourly rate", rules: r, entry: sunday,
			at: sunday.Add(3*time.Hour + time.Second), wantAmount: 1000},
		{name: "a full hour past the last tier is one started hour", rules: r, entry: sunday,
			at: sunday.Add(4 * time.Hour), wantAmount: 1000},
		{name: "every further started hour costs the hourly rate", rules: r, entry: sunday,
			at: sunday.Add(4*time.Hour + time.Second), wantAmount: 1200,
			wantLines: []string{"tier_1 01 12:00-01 13:00 x1000 300", "tier_2 01 13:00-01 15:00 x1000 500",
				"hourly 01 15:00-01 16:00 x1000 200", "hourly 01 16:00-01 17:00 x1000 200"}},
		{name: "an exit before entry is priced as no stay", rules: r, entry: sunday, at: sunday.Add(-time.Hour),
			wantLines: []string{"grace 01 12:00-01 12:00 x1000 0"}},
		{name: "without grace a stay of zero lists nothing", rules: noGrace, entry: sunday, at: sunday,
			wantLines: []string{}},
		{name: "without grace the first nanosecond pays the first tier", rules: noGrace, entry: sunday,
			at: sunday.Add(time.Nanosecond), wantAmount: 300},
		{name: "with no tiers every started hour from entry costs the hourly rate", rules: hourly, entry: sunday,
			at: sunday.Add(61 * time.Minute), wantAmount: 300},
		{name: "tiers run on across midnight", rules: r, entry: at(t, 3, 1, 23, 30), at: at(t, 3, 2, 1, 0),
			wantAmount: 800},
	}
	for _, c := range cases {
		t.Run(c.name, c.run)
	}
}

func TestQuoteLostTicketAndSurge(t *testing.T) {
	r := tiered(t)
	surge := tiered(t)
	surge.Surge = Surge{ThresholdPerMille: 900, Multiplier: 1200}
	sunday := at(t, 3, 1, 12, 0)
	cases := []quoteCase{
		{name: "a lost ticket pays the stay plus the lost-ticket fee", rules: r, entry: sunday,
			at: sunday.Add(2 * time.Hour), lost: true, wantAmount: 5800,
			wantLines: []string{"tier_1 01 12:00-01 13:00 x1000 300", "tier_2 01 13:00-01 15:00 x1000 500",
				"lost_ticket 01 14:00-01 14:00 x1000 5000"}},
		{name: "a lost ticket within grace pays the fee alone", rules: r, entry: sunday,
			at: sunday.Add(5 * time.Minute), lost: true, wantAmount: 5000},
		{name: "occupancy at the surge threshold applies the surge to every unit", rules: surge, entry: sunday,
			at: sunday.Add(2 * time.Hour), occupancy: 900, wantAmount: 960,
			wantLines: []string{"tier_1 01 12:00-01 13:00 x1200 360", "tier_2 01 13:00-01 15:00 x1200 600"}},
		{name: "occupancy just below the surge threshold pays the plain price", rules: surge, entry: sunday,
			at: sunday.Add(2 * time.Hour), occupancy: 899, wantAmount: 800},
		{name: "the surge does not multiply the lost-ticket fee", rules: surge, entry: sunday,
			at: sunday.Add(30 * time.Minute), occupancy: 1000, lost: true, wantAmount: 5360},
	}
	for _, c := range cases {
		t.Run(c.name, c.run)
	}
	q := mustQuote(t, surge, sunday, sunday.Add(time.Hour), 950, false)
	if !q.Surge || !q.Breakdown[0].Surge {
		t.Errorf("a surged quote does not say so: %+v", q)
	}
}

func TestQuotePeakWindows(t *testing.T) {
	weekdays := []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
	morning := PeakWindow{Name: "morning", Days: weekdays, Start: 7 * time.Hour, End: 10 * time.Hour, Multiplier: 1500}
	r := PricingRules{Currency: "EUR", TimeZone: berlin(t), HourlyRate: 100, Peaks: []PeakWindow{morning}}
	overlap := r
	overlap.Peaks = []PeakWindow{morning, {Name: "rush", Start: 8 * time.Hour, End: 9 * time.Hour, Multiplier: 2000}}
	withSurge := r
	withSurge.Surge = Surge{ThresholdPerMille: 500, Multiplier: 1200}
	tiny := r
	tiny.HourlyRate = 1
	tier := PricingRules{Currency: "EUR", TimeZone: berlin(t), Tiers: []Tier{{time.Hour, 300}}, Peaks: []PeakWindow{morning}}
	night := PricingRules{Currency: "EUR", TimeZone: berlin(t), HourlyRate: 100, Peaks: []PeakWindow{
		{Name: "night", Days: []time.Weekday{time.Friday}, Start: 22 * time.Hour, End: 2 * time.Hour, Multiplier: 2000}}}

	cases := []quoteCase{
		{name: "an hour half inside a peak window pays the peak multiplier on that half", rules: r,
			entry: at(t, 3, 2, 6, 30), at: at(t, 3, 2, 7, 15), wantAmount: 125,
			wantLines: []string{"hourly 02 06:30-02 07:00 x1000 50", "hourly 02 07:00-02 07:30 x1500 75 morning"}},
		{name: "an exit exactly at the end of a started hour adds nothing", rules: r,
			entry: at(t, 3, 2, 6, 30), at: at(t, 3, 2, 7, 30), wantAmount: 125},
		{name: "the next hour is due as soon as the stay passes its start", rules: r,
			entry: at(t, 3, 2, 6, 30), at: at(t, 3, 2, 7, 31), wantAmount: 275},
		{name: "an hour that leaves the window pays the peak share of its first half", rules: r,
			entry: at(t, 3, 2, 9, 30), at: at(t, 3, 2, 10, 15), wantAmount: 125,
			wantLines: []string{"hourly 02 09:30-02 10:00 x1500 75 morning", "hourly 02 10:00-02 10:30 x1000 50"}},
		{name: "a window applies only on its days", rules: r,
			entry: at(t, 3, 1, 6, 30), at: at(t, 3, 1, 7, 15), wantAmount: 100},
		{name: "where windows overlap the highest multiplier wins", rules: overlap,
			entry: at(t, 3, 2, 7, 30), at: at(t, 3, 2, 8, 45), wantAmount: 350,
			wantLines: []string{"hourly 02 07:30-02 08:00 x1500 75 morning", "hourly 02 08:00-02 08:30 x2000 100 rush",
				"hourly 02 08:30-02 09:00 x2000 100 rush", "hourly 02 09:00-02 09:30 x1500 75 morning"}},
		{name: "the surge multiplies the peak multiplier", rules: withSurge, occupancy: 600,
			entry: at(t, 3, 2, 7, 0), at: at(t, 3, 2, 7, 30), wantAmount: 180,
			wantLines: []string{"hourly 02 07:00-02 08:00 x1800 180 morning"}},
		{name: "a tier fee is spread over the tier and its peak share multiplied", rules: tier,
			entry: at(t, 3, 2, 6, 30), at: at(t, 3, 2, 6, 40), wantAmount: 375,
			wantLines: []string{"tier_1 02 06:30-02 07:00 x1000 150", "tier_1 02 07:00-02 07:30 x1500 225 morning"}},
		{name: "each segment rounds half up on its own", rules: tiny,
			entry: at(t, 3, 2, 6, 30), at: at(t, 3, 2, 6, 45), wantAmount: 2,
			wantLines: []string{"hourly 02 06:30-02 07:00 x1000 1", "hourly 02 07:00-02 07:30 x1500 1 morning"}},
		{name: "a segment share below one half rounds down", rules: tiny,
			entry: at(t, 3, 2, 6, 50), at: at(t, 3, 2, 6, 55), wantAmount: 1,
			wantLines: []string{"hourly 02 06:50-02 07:00 x1000 0", "hourly 02 07:00-02 07:50 x1500 1 morning"}},
		{name: "an overnight window runs past midnight into the next day", rules: night,
			entry: at(t, 3, 6, 23, 0), at: at(t, 3, 7, 1, 30), wantAmount: 600},
		{name: "an overnight window belongs to the day it starts on", rules: night,
			entry: at(t, 3, 7, 23, 0), at: at(t, 3, 8, 1, 30), wantAmount: 300},
		{name: "the night before an overnight window's day is off-peak", rules: night,
			entry: at(t, 3, 5, 23, 30), at: at(t, 3, 6, 0, 45), wantAmount: 200},
		{name: "a stay entering an overnight window pays peak from its start", rules: night,
			entry: at(t, 3, 6, 21, 30), at: at(t, 3, 6, 22, 15), wantAmount: 150,
			wantLines: []string{"hourly 06 21:30-06 22:00 x1000 50", "hourly 06 22:00-06 22:30 x2000 100 night"}},
	}
	for _, c := range cases {
		t.Run(c.name, c.run)
	}
}

func TestQuoteAcrossDaylightSavingChanges(t *testing.T) {
	loc := berlin(t)
	night := PricingRules{Currency: "EUR", TimeZone: loc, HourlyRate: 100,
		Peaks: []PeakWindow{{Name: "night", Start: time.Hour, End: 4 * time.Hour, Multiplier: 2000}}}
	gap := night
	gap.Peaks = []PeakWindow{{Name: "late", Start: 150 * time.Minute, End: 4 * time.Hour, Multiplier: 2000}}
	r := tiered(t)
	r.Grace = 0
	utc := func(month time.Month, day, hour, minute int) time.Time {
		return time.Date(2026, month, day, hour, minute, 0, 0, time.UTC)
	}

	tests := []struct {
		name         string
		rules        PricingRules
		entry, exit  time.Time
		wantAmount   int64
		wantDuration time.Duration
		wantPeak     time.Duration
	}{
		{"a night stay when clocks go forward lasts 5 h and has 2 h of a 01:00-04:00 window", night,
			at(t, 3, 28, 23, 0), at(t, 3, 29, 5, 0), 700, 5 * time.Hour, 2 * time.Hour},
		{"a night stay when clocks go back lasts 7 h and has 4 h of a 01:00-04:00 window", night,
			at(t, 10, 24, 23, 0), at(t, 10, 25, 5, 0), 1100, 7 * time.Hour, 4 * time.Hour},
		{"tiers count real time: 01:30 to 03:30 on the spring night is one hour", r,
			at(t, 3, 29, 1, 30), at(t, 3, 29, 3, 30), 300, time.Hour, 0},
		{"tiers count real time: 02:30 summer time to 02:30 winter time is one hour", r,
			utc(10, 25, 0, 30), utc(10, 25, 1, 30), 300, time.Hour, 0},
		{"a window starting in the spring gap starts when the clock resumes", gap,
			at(t, 3, 29, 3, 0), at(t, 3, 29, 4, 0), 150, time.Hour, 30 * time.Minute},
		{"a window starting in the autumn overlap starts at its second occurrence", gap,
			utc(10, 25, 0, 30), utc(10, 25, 1, 45), 300, 75 * time.Minute, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := mustQuote(t, tt.rules, tt.entry, tt.exit, 0, false)
			var peak time.Duration
			for _, s := range q.Breakdown {
				if s.Peak != "" {
					peak += s.To.Sub(s.From)
				}
			}
			if q.Amount != tt.wantAmount || q.Duration != tt.wantDuration || peak != tt.wantPeak {
				t.Errorf("amount %d, duration %v, peak time %v; want %d, %v, %v\n%s", q.Amount, q.Duration, peak,
					tt.wantAmount, tt.wantDuration, tt.wantPeak, strings.Join(lines(q), "\n"))
			}
		})
	}
}

func TestQuoteDailyCap(t *testing.T) {
	r := PricingRules{Currency: "EUR", TimeZone: berlin(t), HourlyRate: 200, DailyCap: 2500}
	steep := PricingRules{Currency: "EUR", Tiers: []Tier{{time.Hour, 3000}}, DailyCap: 2500}
	split := PricingRules{Currency: "EUR", TimeZone: berlin(t), Tiers: []Tier{{30 * time.Minute, 100}}, HourlyRate: 100, DailyCap: 1000}
	monday := at(t, 3, 2, 8, 0)
	cases := []quoteCase{
		{name: "a day's charges stop at the cap", rules: r, entry: monday, at: monday.Add(24 * time.Hour), wantAmount: 2500},
		{name: "the cap resets 24 h after entry", rules: r, entry: monday,
			at: monday.Add(24*time.Hour + time.Second), wantAmount: 2700},
		{name: "each of several days is capped on its own", rules: r, entry: monday,
			at: monday.Add(74 * time.Hour), wantAmount: 3*2500 + 400},
		{name: "a first tier dearer than the cap is capped", rules: steep, entry: monday,
			at: monday.Add(time.Minute), wantAmount: 2500,
			wantLines: []string{"tier_1 02 07:00-02 08:00 x1000 3000", "daily_cap 02 07:00-03 07:00 x1000 -500"}},
		{name: "an hour across the cap window edge is split between the windows", rules: split, entry: monday,
			at: monday.Add(24*time.Hour + 15*time.Minute), wantAmount: 1050},
	}
	for _, c := range cases {
		t.Run(c.name, c.run)
	}

	q := mustQuote(t, r, monday, monday.Add(74*time.Hour), 0, false)
	var caps []string
	for _, s := range q.Breakdown {
		if s.Rule == RuleDailyCap {
			caps = append(caps, fmt.Sprintf("%d:%s+%v:%d", s.Window, s.From.Format("02 15:04"), s.To.Sub(s.From), s.Amount))
		}
	}
	want := []string{"0:02 08:00+24h0m0s:-2300", "1:03 08:00+24h0m0s:-2300", "2:04 08:00+24h0m0s:-2300"}
	if !slices.Equal(caps, want) {
		t.Errorf("cap adjustments = %v, want %v", caps, want)
	}
	q = mustQuote(t, split, monday, monday.Add(24*time.Hour+15*time.Minute), 0, false)
	last := q.Breakdown[len(q.Breakdown)-1]
	if last.Window != 1 || !last.From.Equal(monday.Add(24*time.Hour)) || last.Amount != 50 {
		t.Errorf("the split hour's second half = %+v, want 50 in window 1 from the window edge", last)
	}
}

func TestQuoteRefusals(t *testing.T) {
	r := tiered(t)
	if _, err := r.Quote(t0, t0.Add(MaxQuotedStay+time.Second), 0, false); CodeOf(err) != CodeInvalidStay {
		t.Errorf("a stay past MaxQuotedStay: %v, want invalid_stay", err)
	}
	r.HourlyRate = -1
	if _, err := r.Quote(t0, t0.Add(time.Hour), 0, false); CodeOf(err) != CodeInvalidPricing {
		t.Errorf("invalid rules: %v, want invalid_pricing", err)
	}
}

func TestPricingValidation(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*PricingRules)
		field  string
	}{
		{"the currency is an ISO code", func(r *PricingRules) { r.Currency = "Eur" }, "currency"},
		{"tiers grow", func(r *PricingRules) { r.Tiers[1].UpTo = r.Tiers[0].UpTo }, "tiers[1].upTo"},
		{"a tier has a length", func(r *PricingRules) { r.Tiers[0].UpTo = 0 }, "tiers[0].upTo"},
		{"tier fees are cumulative", func(r *PricingRules) { r.Tiers[1].Fee = 100 }, "tiers[1].fee"},
		{"fees are not negative", func(r *PricingRules) { r.Tiers[0].Fee = -1 }, "tiers[0].fee"},
		{"fees have a ceiling", func(r *PricingRules) { r.HourlyRate = MaxFee + 1 }, "hourlyRate"},
		{"the cap is not negative", func(r *PricingRules) { r.DailyCap = -1 }, "dailyCap"},
		{"the lost-ticket fee is not negative", func(r *PricingRules) { r.LostTicketFee = -1 }, "lostTicketFee"},
		{"grace is not negative", func(r *PricingRules) { r.Grace = -time.Second }, "grace"},
		{"grace is at most a day", func(r *PricingRules) { r.Grace = 25 * time.Hour }, "grace"},
		{"a window starts within the day", func(r *PricingRules) { r.Peaks[0].Start = 24 * time.Hour }, "peaks[0].start"},
		{"a window ends within the day", func(r *PricingRules) { r.Peaks[0].End = 25 * time.Hour }, "peaks[0].end"},
		{"a window has a length", func(r *PricingRules) { r.Peaks[0].End = r.Peaks[0].Start }, "peaks[0].end"},
		{"a window has a multiplier", func(r *PricingRules) { r.Peaks[0].Multiplier = 0 }, "peaks[0].multiplier"},
		{"a window's multiplier has a ceiling", func(r *PricingRules) { r.Peaks[0].Multiplier = MaxMultiplier + 1 },
			"peaks[0].multiplier"},
		{"window days are weekdays", func(r *PricingRules) { r.Peaks[0].Days = []time.Weekday{7} }, "peaks[0].days[0]"},
		{"window days are listed once", func(r *PricingRules) { r.Peaks[0].Days = []time.Weekday{1, 1} }, "peaks[0].days[1]"},
		{"a surge has a threshold", func(r *PricingRules) { r.Surge = Surge{Multiplier: 1200} }, "surge.thresholdPerMille"},
		{"a surge threshold is at most 1000", func(r *PricingRules) { r.Surge = Surge{ThresholdPerMille: 1001, Multiplier: 1200} },
			"surge.thresholdPerMille"},
		{"a surge multiplier has a ceiling", func(r *PricingRules) { r.Surge = Surge{ThresholdPerMille: 900, Multiplier: -5} },
			"surge.multiplier"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tiered(t)
			r.Peaks = []PeakWindow{{Start: 7 * time.Hour, End: 10 * time.Hour, Multiplier: 1500}}
			if err := r.Validate(); err != nil {
				t.Fatalf("the base rules are invalid: %v", err)
			}
			tt.mutate(&r)
			err := r.Validate()
			var found bool
			for _, e := range flatten(err) {
				if pe, ok := e.(*Error); ok && pe.Field == tt.field && pe.Code == CodeInvalidPricing {
					found = true
				}
			}
			if !found {
				t.Errorf("Validate() = %v, want an invalid_pricing error on %q", err, tt.field)
			}
		})
	}
}

func TestPricingRulesJSONRoundTrip(t *testing.T) {
	r := tiered(t)
	r.DailyCap, r.Surge = 2500, Surge{ThresholdPerMille: 900, Multiplier: 1200}
	r.Peaks = []PeakWindow{{Name: "m", Days: []time.Weekday{time.Monday}, Start: 7 * time.Hour, End: 10 * time.Hour, Multiplier: 1500}}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back PricingRules
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if b2, _ := json.Marshal(back); string(b2) != string(b) || back.TimeZone.String() != "Europe/Berlin" {
		t.Errorf("round trip:\n%s\n%s", b, b2)
	}
	for _, bad := range []string{`{"timeZone":"Mars/Olympus"}`, `{"timeZone":"Local"}`} {
		if err := json.Unmarshal([]byte(bad), &back); CodeOf(err) != CodeInvalidState {
			t.Errorf("decoding %s: %v, want invalid_state", bad, err)
		}
	}
}

func TestNextBoundary(t *testing.T) {
	r := tiered(t)
	noGrace := tiered(t)
	noGrace.Grace = 0
	freeFirst := PricingRules{Currency: "EUR", Grace: 10 * time.Minute,
		Tiers: []Tier{{UpTo: time.Hour, Fee: 0}, {UpTo: 2 * time.Hour, Fee: 500}}}
	tiersOnly := PricingRules{Currency: "EUR", Tiers: []Tier{{UpTo: time.Hour, Fee: 300}}}
	free := PricingRules{Currency: "EUR", Grace: time.Hour}
	invalid := PricingRules{Currency: "EUR", HourlyRate: -1}
	peaked := tiered(t)
	peaked.Peaks = []PeakWindow{{Start: 12*time.Hour + 30*time.Minute, End: 13 * time.Hour, Multiplier: 2000}}
	entry := at(t, 3, 1, 12, 0)
	tests := []struct {
		name  string
		rules PricingRules
		after time.Time
		want  time.Duration // after entry
		ok    bool
	}{
		{"before entry the first boundary is the end of grace", r, entry.Add(-time.Hour), 10 * time.Minute, true},
		{"during grace the next boundary is its end", r, entry.Add(time.Minute), 10 * time.Minute, true},
		{"at the end of grace the next boundary is the first tier edge", r, entry.Add(10 * time.Minute), time.Hour, true},
		{"at a tier edge the next boundary is the following edge", r, entry.Add(time.Hour), 3 * time.Hour, true},
		{"past the last tier every started hour is a boundary", r, entry.Add(3 * time.Hour), 4 * time.Hour, true},
		{"between hours the next hour is the boundary", r, entry.Add(4*time.Hour + 30*time.Minute), 5 * time.Hour, true},
		{"far into a stay the hours go on", r, entry.Add(100*time.Hour + time.Second), 101 * time.Hour, true},
		{"without grace entry itself is a boundary", noGrace, entry.Add(-time.Second), 0, true},
		{"a free first tier is not a boundary", freeFirst, entry, time.Hour, true},
		{"peak window edges are priced at unit starts, not boundaries", peaked, entry.Add(10 * time.Minute), time.Hour, true},
		{"after the last tier without an hourly rate nothing changes", tiersOnly, entry, 0, false},
		{"free parking has no boundary", free, entry.Add(-time.Hour), 0, false},
		{"invalid rules have no boundary", invalid, entry, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.rules.NextBoundary(entry, tt.after)
			if ok != tt.ok || (ok && !got.Equal(entry.Add(tt.want))) {
				t.Fatalf("NextBoundary = %v, %v; want entry+%v, %v", got, ok, tt.want, tt.ok)
			}
			if !ok || tt.rules.Validate() != nil {
				return
			}
			// The amount holds until the boundary and moves right after it.
			before := mustQuote(t, tt.rules, entry, got, 0, false).Amount
			justAfterStart := mustQuote(t, tt.rules, entry, maxTime(tt.after, entry).Add(time.Nanosecond), 0, false).Amount
			after := mustQuote(t, tt.rules, entry, got.Add(time.Nanosecond), 0, false).Amount
			if tt.after.After(entry) && justAfterStart != before {
				t.Errorf("the amount moved between %v and the boundary: %d -> %d", tt.after, justAfterStart, before)
			}
			if after <= before {
				t.Errorf("the amount did not move after the boundary: %d -> %d", before, after)
			}
		})
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func TestShareRoundsHalfUpExactly(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name        string
		fee         int64
		part, whole time.Duration
		multiplier  int
		want        int64
	}{
		{"a whole unit at 1x is the fee", 300, time.Hour, time.Hour, 1000, 300},
		{"half of one cent rounds up", 1, 30 * time.Minute, time.Hour, 1000, 1},
		{"just under half a cent rounds down", 1, 30*time.Minute - 1, time.Hour, 1000, 0},
		{"a multiplier applies before rounding", 3, 30 * time.Minute, time.Hour, 1500, 2}, // 2.25
		{"large fees on long units stay exact", MaxFee, 200 * day, 201 * day, MaxMultiplier * MaxMultiplier / PerMille,
			995024875622}, // 1e10 * 200/201 * 100 = 995024875621.89
		{"units too long for 64-bit arithmetic take the big path", MaxFee, 300 * day, 400 * day, 1000, 7500000000},
		{"the big path rounds half up too", 1, 200 * day, 400 * day, 1000, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := share(tt.fee, tt.part, tt.whole, tt.multiplier); got != tt.want {
				t.Errorf("share = %d, want %d", got, tt.want)
			}
		})
	}
}
