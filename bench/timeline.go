package bench

import (
	"cmp"
	"math"
	"slices"
	"sort"
	"time"
)

// Interval is the time a task held units, from the workflows' clocks:
// StartedAt (when it saw the grant, or the manager's time of the grant when
// that was later, as for a decision handed over in the first workflow task
// that started before the manager decided) to its release (ReleasedAt: the
// Execute activity's time just before it recorded its result and then
// signalled the release, or else CompletedAt, when the task saw its run end
// just before it signalled the release). The true hold as the manager sees
// it contains this interval, so signal delays never make an overlap. One case
// does: when the task's last workflow task fails after its release was sent
// (a signal arriving while it completes), the retry records CompletedAt
// later than the release. Report.ViolationExamples names the tasks, so
// their histories can tell the two apart.
type Interval struct {
	Start, End time.Time
	Units      int64
	// ID names the task in reports.
	ID string
}

// Overlap is the outcome of MaxOverlap.
type Overlap struct {
	// Max is the highest sum of units held at one instant.
	Max int64
	// Over counts the starts after which the sum exceeded the limit.
	Over int
	// FirstOver is the first of those starts; zero when there is none.
	FirstOver time.Time
}

// MaxOverlap sweeps the intervals, each half-open [Start, End), and returns
// the highest sum of units held at once. At equal instants ends come before
// starts: a task that starts the moment another ends takes over its units.
// Intervals with End before Start are ignored (the caller reports them as
// inconsistent); limit < 0 disables the Over count.
func MaxOverlap(ivs []Interval, limit int64) Overlap {
	type edge struct {
		at    time.Time
		delta int64
	}
	edges := make([]edge, 0, 2*len(ivs))
	for _, iv := range ivs {
		if iv.End.Before(iv.Start) || iv.Units <= 0 {
			continue
		}
		edges = append(edges, edge{iv.Start, iv.Units}, edge{iv.End, -iv.Units})
	}
	slices.SortFunc(edges, func(a, b edge) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return cmp.Compare(a.delta, b.delta) // negative (end) first
	})
	var cur int64
	var out Overlap
	for _, e := range edges {
		cur += e.delta
		if cur > out.Max {
			out.Max = cur
		}
		if e.delta > 0 && limit >= 0 && cur > limit {
			if out.Over == 0 {
				out.FirstOver = e.at
			}
			out.Over++
		}
	}
	return out
}

// HeldAt returns the intervals holding units at instant at, earliest start
// first: with Overlap.FirstOver, the evidence of a violation.
func HeldAt(ivs []Interval, at time.Time) []Interval {
	var held []Interval
	for _, iv := range ivs {
		if iv.Units > 0 && !iv.Start.After(at) && iv.End.After(at) {
			held = append(held, iv)
		}
	}
	slices.SortFunc(held, func(a, b Interval) int { return a.Start.Compare(b.Start) })
	return held
}

// TimelineTask is what the release-to-start computation needs of a task.
type TimelineTask struct {
	ID string
	// Queued is true when submission answered "queued": the task had to
	// wait for capacity.
	Queued      bool
	SubmittedAt time.Time
	StartedAt   time.Time
	// ReleasedAt is when the finished task gave its units back (see
	// heldUntil); zero while it has not finished.
	ReleasedAt time.Time
}

// ReleaseToStart returns, for every queued task of one pool that started,
// how long it waited after capacity was freed: its start minus the latest
// release of another task of the pool no later than that start.
// The anchor is never earlier than the task's own submission: capacity freed
// before the task existed could not have been given to it, so that wait is
// the scheduler's lag, not queueing. A queued task that started with no
// earlier release is measured from its submission.
func ReleaseToStart(tasks []TimelineTask) []time.Duration {
	type release struct {
		at time.Time
		id string
	}
	var rels []release
	for _, t := range tasks {
		if !t.StartedAt.IsZero() && !t.ReleasedAt.IsZero() {
			rels = append(rels, release{t.ReleasedAt, t.ID})
		}
	}
	slices.SortFunc(rels, func(a, b release) int { return a.at.Compare(b.at) })
	var out []time.Duration
	for _, t := range tasks {
		if !t.Queued || t.StartedAt.IsZero() {
			continue
		}
		// First release strictly after the start; the one before it is the
		// latest at or before the start.
		i := sort.Search(len(rels), func(i int) bool { return rels[i].at.After(t.StartedAt) }) - 1
		for i >= 0 && rels[i].id == t.ID {
			i--
		}
		anchor := t.SubmittedAt
		if i >= 0 && rels[i].at.After(anchor) {
			anchor = rels[i].at
		}
		out = append(out, max(t.StartedAt.Sub(anchor), 0))
	}
	return out
}

// Latency summarises a set of durations in milliseconds.
type Latency struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50"`
	P95   float64 `json:"p95"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

// Summarize returns the nearest-rank percentiles of ds; it sorts ds.
func Summarize(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	slices.Sort(ds)
	ms := func(d time.Duration) float64 { return math.Round(float64(d)/float64(time.Millisecond)*10) / 10 }
	return Latency{
		Count: len(ds),
		P50:   ms(Percentile(ds, 50)),
		P95:   ms(Percentile(ds, 95)),
		P99:   ms(Percentile(ds, 99)),
		Max:   ms(ds[len(ds)-1]),
	}
}

// Percentile is the nearest-rank p-th percentile (0 < p <= 100) of sorted ds:
// the smallest value that at least p % of the values do not exceed.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// ShareWithin is the fraction of ds no longer than limit; 0 when ds is empty.
func ShareWithin(ds []time.Duration, limit time.Duration) float64 {
	if len(ds) == 0 {
		return 0
	}
	n := 0
	for _, d := range ds {
		if d <= limit {
			n++
		}
	}
	return float64(n) / float64(len(ds))
}
