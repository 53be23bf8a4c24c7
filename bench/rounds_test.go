package bench

import (
	"fmt"
	"strings"
	"testing"
)

func roundReport(id string, throughput float64, bare *float64, failed bool) *Report {
	r := &Report{RunID: id, Throughput: throughput, Baselines: map[string]*BaselineReport{}}
	if bare != nil {
		r.Baselines[BaselineBare] = &BaselineReport{Throughput: *bare}
	}
	if failed {
		r.Lost = 1
	}
	r.finish()
	return r
}

func TestCombineRoundsReportsTheMedianRoundAndTheSpread(t *testing.T) {
	bare := ptr(10.0)
	for _, tt := range []struct {
		name         string
		throughputs  []float64
		bare         *float64
		wantReported int
		wantRatio    *Range
		wantTput     Range
	}{
		{"odd count, by Parklot/bare", []float64{6, 8, 7}, bare, 3, &Range{0.6, 0.7, 0.8}, Range{6, 7, 8}},
		{"even count takes the lower middle", []float64{6, 9, 7, 8}, bare, 3, &Range{0.6, 0.7, 0.9}, Range{6, 7, 9}},
		{"without bare, by throughput", []float64{20, 10, 30}, nil, 1, nil, Range{10, 20, 30}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var reports []*Report
			for i, tp := range tt.throughputs {
				reports = append(reports, roundReport("r"+string(rune('1'+i)), tp, tt.bare, false))
			}
			r := combineRounds(reports)
			rs := r.Rounds
			if rs == nil || rs.Reported != tt.wantReported || r != reports[tt.wantReported-1] {
				t.Fatalf("reported round %+v, want round %d in full", rs, tt.wantReported)
			}
			if rs.Throughput != tt.wantTput {
				t.Errorf("throughput spread %+v, want %+v", rs.Throughput, tt.wantTput)
			}
			if (rs.ParklotToBare == nil) != (tt.wantRatio == nil) || (rs.ParklotToBare != nil && *rs.ParklotToBare != *tt.wantRatio) {
				t.Errorf("Parklot/bare spread %v, want %v", rs.ParklotToBare, tt.wantRatio)
			}
			if len(rs.Rounds) != len(tt.throughputs) || rs.Rounds[0].RunID != "r1" || rs.Rounds[0].Throughput != tt.throughputs[0] {
				t.Errorf("rounds %+v: want every round in order", rs.Rounds)
			}
			if r.Failed() || rs.Failed != 0 {
				t.Errorf("Failed() with no failed round")
			}
			if text := rs.text(); !strings.Contains(text, "the figures above are round") || strings.Count(text, "  round ") != len(tt.throughputs) {
				t.Errorf("text:\n%s", text)
			}
		})
	}
}

func TestCombineRoundsFailsWhenAnyRoundFailed(t *testing.T) {
	bare := ptr(10.0)
	reports := []*Report{roundReport("r1", 5, bare, true), roundReport("r2", 7, bare, false), roundReport("r3", 8, bare, false)}
	r := combineRounds(reports)
	if r != reports[1] || r.Lost != 0 {
		t.Fatalf("reported %s, want the median round r2", r.RunID)
	}
	if !r.Failed() || r.Rounds.Failed != 1 || !r.Rounds.Rounds[0].Failed {
		t.Errorf("a round that lost a task must fail the run: Failed() %v, rounds %+v", r.Failed(), r.Rounds)
	}
	var text strings.Builder
	if err := r.WriteText(&text); err != nil || !strings.Contains(text.String(), "FAIL: 1 of 3 rounds") {
		t.Errorf("text report does not name the failed round (%v):\n%s", err, text.String())
	}
}

func TestProgressBarsNameTheRoundOnlyWhenThereAreSeveral(t *testing.T) {
	if got := phaseLabel("parklot", Options{}); got != "parklot" {
		t.Errorf("one round: label %q, want parklot", got)
	}
	if got := phaseLabel("bare", Options{round: "2/5"}); got != "bare 2/5" {
		t.Errorf("round 2 of 5: label %q, want \"bare 2/5\"", got)
	}
}

// The history each phase leaves behind slows the next one, so rounds take
// turns: the baselines first in odd rounds, Parklot first in even ones.
func TestRoundsAlternateWhichSideRunsFirst(t *testing.T) {
	o := Options{RunID: "run", Rounds: 4, Warmup: 200, Baselines: []string{BaselineBare, BaselineSlots}}
	want := [][]string{
		{BaselineBare, BaselineSlots, phaseParklot},
		{phaseParklot, BaselineBare, BaselineSlots},
		{BaselineBare, BaselineSlots, phaseParklot},
		{phaseParklot, BaselineBare, BaselineSlots},
	}
	for i, w := range want {
		ro := roundOptions(o, i)
		if got := roundPhases(ro); strings.Join(got, ",") != strings.Join(w, ",") {
			t.Errorf("round %d runs %v, want %v", i+1, got, w)
		}
		if wantWarmup := map[bool]int{true: 200, false: 0}[i == 0]; ro.Warmup != wantWarmup || ro.RunID != fmt.Sprintf("run-r%d", i+1) {
			t.Errorf("round %d: warm-up %d, run id %s", i+1, ro.Warmup, ro.RunID)
		}
	}
	if got := roundPhases(o); strings.Join(got, ",") != "bare,slots,parklot" {
		t.Errorf("a single round runs %v, want the baselines first", got)
	}
	if len(o.Baselines) != 2 {
		t.Errorf("roundPhases changed the options' baselines: %v", o.Baselines)
	}
}
