package bench

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Rounds describes a run of several rounds: each round runs every phase
// again with its own task ids, on the same server, the baselines first in
// odd rounds and Parklot first in even ones. Figures vary between rounds by more than most changes move them,
// so a ratio is best read as the median of several rounds.
type Rounds struct {
	// Reported is the round (1-based) whose figures the report gives in
	// full: the median round by Parklot / bare, or by Parklot's throughput
	// when bare did not run.
	Reported int            `json:"reported"`
	Rounds   []RoundSummary `json:"rounds"`
	// Throughput and the ratios are spread over the rounds; a ratio is
	// absent when its baseline did not run.
	Throughput       Range  `json:"throughput"`
	ParklotToBare    *Range `json:"parklotToBare,omitempty"`
	ParklotToSlots   *Range `json:"parklotToSlots,omitempty"`
	ParklotToMinimal *Range `json:"parklotToMinimal,omitempty"`
	// Failed counts the rounds that saw a capacity violation or a lost,
	// duplicated or inconsistent task.
	Failed int `json:"failed"`
}

// RoundSummary is what one round measured.
type RoundSummary struct {
	RunID      string  `json:"runId"`
	Load       Load    `json:"load"`
	Throughput float64 `json:"throughput"`
	Comparison
	ReleaseToStartP95Ms float64 `json:"releaseToStartP95Ms"`
	MaxActiveUnits      int64   `json:"maxActiveUnits"`
	// ParklotFirst: this round ran Parklot before the baselines.
	ParklotFirst bool `json:"parklotFirst,omitempty"`
	Failed       bool `json:"failed"`
}

// Range is the lowest, median and highest of one figure over the rounds.
type Range struct {
	Min    float64 `json:"min"`
	Median float64 `json:"median"`
	Max    float64 `json:"max"`
}

// combineRounds reports the median round in full, with every round's
// figures and their spread beside it. The median of an even count is the
// lower of the two middle rounds.
func combineRounds(reports []*Report) *Report {
	key := func(r *Report) float64 {
		if r.ParklotToBare != nil {
			return *r.ParklotToBare
		}
		return r.Throughput
	}
	order := make([]int, len(reports))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(key(reports[a]), key(reports[b])) })
	median := order[(len(order)-1)/2]

	rs := &Rounds{Reported: median + 1, Rounds: make([]RoundSummary, len(reports))}
	for i, r := range reports {
		rs.Rounds[i] = RoundSummary{
			RunID: r.RunID, Load: r.Load, Throughput: r.Throughput, Comparison: r.Comparison,
			ReleaseToStartP95Ms: r.ReleaseToStartMs.P95, MaxActiveUnits: r.MaxActiveUnits, ParklotFirst: r.ParklotFirst, Failed: r.Failed(),
		}
		if r.Failed() {
			rs.Failed++
		}
	}
	rs.Throughput = *rangeOf(reports, func(r *Report) *float64 { return &r.Throughput })
	rs.ParklotToBare = rangeOf(reports, func(r *Report) *float64 { return r.ParklotToBare })
	rs.ParklotToSlots = rangeOf(reports, func(r *Report) *float64 { return r.ParklotToSlots })
	rs.ParklotToMinimal = rangeOf(reports, func(r *Report) *float64 { return r.ParklotToMinimal })
	out := reports[median]
	out.Rounds = rs
	return out
}

// rangeOf spreads a figure over the rounds that have it; nil when none has.
func rangeOf(reports []*Report, get func(*Report) *float64) *Range {
	var xs []float64
	for _, r := range reports {
		if v := get(r); v != nil {
			xs = append(xs, *v)
		}
	}
	if len(xs) == 0 {
		return nil
	}
	slices.Sort(xs)
	return &Range{Min: xs[0], Median: xs[(len(xs)-1)/2], Max: xs[len(xs)-1]}
}

// text is the rounds section of the text report.
func (rs *Rounds) text() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	by := "Parklot/bare"
	if rs.ParklotToBare == nil {
		by = "Parklot's throughput"
	}
	p("rounds                %d; the figures above are round %d, the median by %s\n", len(rs.Rounds), rs.Reported, by)
	for i, r := range rs.Rounds {
		p("  round %-2d            Parklot %.1f tasks/s", i+1, r.Throughput)
		if r.BareThroughput != nil {
			p(" · bare %.1f", *r.BareThroughput)
		}
		if r.ParklotToBare != nil {
			p(" · Parklot/bare %.2f", *r.ParklotToBare)
		}
		p(" · release→start p95 %s ms · load %s → %s", ms(r.ReleaseToStartP95Ms), r.Load.Before, r.Load.After)
		if r.ParklotFirst {
			p(" · Parklot ran first")
		}
		if r.Failed {
			p(" · FAILED (see its run %s)", r.RunID)
		}
		p("\n")
	}
	line := func(name string, rg *Range, format string) {
		if rg != nil {
			p("  %-19s min "+format+" · median "+format+" · max "+format+"\n", name, rg.Min, rg.Median, rg.Max)
		}
	}
	line("throughput", &rs.Throughput, "%.1f")
	line("Parklot/bare", rs.ParklotToBare, "%.2f")
	line("Parklot/slots", rs.ParklotToSlots, "%.2f")
	line("Parklot/minimal", rs.ParklotToMinimal, "%.2f")
	return b.String()
}
