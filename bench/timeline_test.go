package bench

import (
	"slices"
	"testing"
	"time"
)

// at is a time t0 + ms milliseconds, to write timelines by hand.
func at(ms int) time.Time {
	return time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(ms) * time.Millisecond)
}

func TestMaxOverlap(t *testing.T) {
	tests := []struct {
		name     string
		ivs      []Interval
		limit    int64
		wantMax  int64
		wantOver int
	}{
		{name: "no interval holds nothing", limit: 4},
		{
			name:    "a task starting the instant another ends takes over its units",
			ivs:     []Interval{{at(0), at(10), 1, ""}, {at(10), at(20), 1, ""}, {at(20), at(30), 1, ""}},
			limit:   1,
			wantMax: 1,
		},
		{
			name:    "overlaps are weighted by units",
			ivs:     []Interval{{at(0), at(100), 3, ""}, {at(50), at(150), 2, ""}, {at(120), at(130), 4, ""}},
			limit:   8,
			wantMax: 6, // 2 + 4 at 120..130; 3 + 2 at 50..100
		},
		{
			name:     "every start above the limit counts once",
			ivs:      []Interval{{at(0), at(100), 2, ""}, {at(10), at(100), 2, ""}, {at(20), at(30), 1, ""}, {at(40), at(50), 1, ""}},
			limit:    4,
			wantMax:  5,
			wantOver: 2,
		},
		{
			name:    "an interval ending before it starts is ignored",
			ivs:     []Interval{{at(0), at(10), 1, ""}, {at(10), at(5), 7, ""}},
			limit:   1,
			wantMax: 1,
		},
		{
			name:    "a zero-length interval holds nothing",
			ivs:     []Interval{{at(0), at(10), 1, ""}, {at(5), at(5), 1, ""}},
			limit:   1,
			wantMax: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MaxOverlap(tt.ivs, tt.limit)
			if got.Max != tt.wantMax || got.Over != tt.wantOver {
				t.Errorf("MaxOverlap = %+v, want max %d over %d", got, tt.wantMax, tt.wantOver)
			}
		})
	}
}

func TestReleaseToStart(t *testing.T) {
	// One unit. a runs at once; b and c queue behind it; d queues but is
	// submitted after the release that lets it start was already made.
	tasks := []TimelineTask{
		{ID: "a", SubmittedAt: at(0), StartedAt: at(5), ReleasedAt: at(100)},
		{ID: "b", Queued: true, SubmittedAt: at(1), StartedAt: at(130), ReleasedAt: at(200)},
		{ID: "c", Queued: true, SubmittedAt: at(2), StartedAt: at(450), ReleasedAt: at(500)},
		{ID: "d", Queued: true, SubmittedAt: at(510), StartedAt: at(520), ReleasedAt: at(600)},
		// Rejected: never started, never measured, never a release.
		{ID: "e", Queued: true, SubmittedAt: at(3)},
	}
	got := ReleaseToStart(tasks)
	want := []time.Duration{30 * time.Millisecond, 250 * time.Millisecond, 10 * time.Millisecond}
	if len(got) != len(want) {
		t.Fatalf("ReleaseToStart = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("task %d: %v, want %v (all: %v)", i, got[i], want[i], got)
		}
	}
}

func TestReleaseToStartIgnoresTheTasksOwnCompletionAndAdmittedTasks(t *testing.T) {
	tasks := []TimelineTask{
		// Admitted at once: not measured, but its release counts.
		{ID: "a", SubmittedAt: at(0), StartedAt: at(1), ReleasedAt: at(40)},
		// Starts exactly when it releases (a zero-length run): its own
		// release must not be its anchor.
		{ID: "b", Queued: true, SubmittedAt: at(10), StartedAt: at(60), ReleasedAt: at(60)},
		// Started with no release before it: measured from submission.
		{ID: "c", Queued: true, SubmittedAt: at(0), StartedAt: at(0), ReleasedAt: at(1)},
	}
	got := ReleaseToStart(tasks)
	want := []time.Duration{20 * time.Millisecond, 0}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("ReleaseToStart = %v, want %v", got, want)
	}
}

func TestPercentilesAreNearestRank(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose: Summarize sorts
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	got := Summarize(ds)
	want := Latency{Count: 100, P50: 50, P95: 95, P99: 99, Max: 100}
	if got != want {
		t.Errorf("Summarize(1..100 ms) = %+v, want %+v", got, want)
	}
	if got := Summarize([]time.Duration{1500 * time.Microsecond}); got != (Latency{Count: 1, P50: 1.5, P95: 1.5, P99: 1.5, Max: 1.5}) {
		t.Errorf("Summarize(one value) = %+v", got)
	}
	if got := Summarize(nil); got != (Latency{}) {
		t.Errorf("Summarize(nil) = %+v, want zero", got)
	}
	sorted := []time.Duration{1, 2, 3, 4}
	for p, want := range map[float64]time.Duration{25: 1, 26: 2, 50: 2, 75: 3, 99: 4, 100: 4} {
		if got := Percentile(sorted, p); got != want {
			t.Errorf("Percentile(1..4, %v) = %v, want %v", p, got, want)
		}
	}
}

func TestShareWithin(t *testing.T) {
	ds := []time.Duration{100 * time.Millisecond, time.Second, 1001 * time.Millisecond, 5 * time.Second}
	if got := ShareWithin(ds, time.Second); got != 0.5 {
		t.Errorf("ShareWithin = %v, want 0.5 (1 s itself counts as within)", got)
	}
	if got := ShareWithin(nil, time.Second); got != 0 {
		t.Errorf("ShareWithin(nil) = %v, want 0", got)
	}
}

func TestRateOverTime(t *testing.T) {
	ends := []time.Time{at(0), at(100), at(150), at(999), at(1000)}
	got := rateOverTime(at(0), at(1000), ends, 2)
	if len(got) != 2 || got[0] != 6 || got[1] != 4 { // 3 and 2 completions per half second
		t.Errorf("rateOverTime = %v, want [6 4]", got)
	}
	if got := rateOverTime(at(0), at(0), ends, 2); got != nil {
		t.Errorf("an empty window gave %v", got)
	}
}

func TestViolationEvidenceNamesTheIntervalsHeldAtTheFirstInstantAboveTheLimit(t *testing.T) {
	at := func(ms int) time.Time { return time.Unix(0, 0).Add(time.Duration(ms) * time.Millisecond) }
	ivs := []Interval{
		{at(50), at(60), 1, "late"},      // above the limit again later
		{at(0), at(100), 1, "long"},      // listed first, starts first
		{at(10), at(30), 1, "a"},         // first instant above 2: at 20
		{at(20), at(25), 1, "b"},         // the start that crosses
		{at(5), at(5), 3, "zero-length"}, // holds nothing
	}
	ov := MaxOverlap(ivs, 2)
	if !ov.FirstOver.Equal(at(20)) {
		t.Fatalf("first instant above the limit %v, want %v", ov.FirstOver, at(20))
	}
	var ids []string
	for _, iv := range HeldAt(ivs, ov.FirstOver) {
		ids = append(ids, iv.ID)
	}
	if !slices.Equal(ids, []string{"long", "a", "b"}) {
		t.Fatalf("held %v, want [long a b]", ids)
	}
	if ov := MaxOverlap(ivs, 3); !ov.FirstOver.IsZero() || ov.Over != 0 {
		t.Fatalf("nothing exceeds 3, yet %+v", ov)
	}
}
