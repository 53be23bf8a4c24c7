package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/parklot/parklot/workflows"
)

// Report is the outcome of a run; `-o json` prints it as is.
type Report struct {
	RunID    string   `json:"runId"`
	Target   Where    `json:"target"`
	Machine  Machine  `json:"machine"`
	Load     Load     `json:"load"`
	Workload Workload `json:"workload"`

	// Throughput is tasks that ran per second, from the first task's
	// submission to the last one's completion, by the tasks' own clocks.
	Throughput float64 `json:"throughput"`
	// ThroughputOverTime splits the same window in tenths: a falling
	// series means the run slowed down as it went.
	ThroughputOverTime []float64 `json:"throughputOverTime"`
	Comparison
	// SubmitToDecisionMs is the client's view of Submit: call to answer.
	SubmitToDecisionMs Latency `json:"submitToDecisionMs"`
	// ReleaseToStartMs covers the tasks that were queued (see
	// ReleaseToStart for the definition).
	ReleaseToStartMs Latency  `json:"releaseToStartMs"`
	StartedWithin1s  *float64 `json:"startedWithin1s"`
	// HeldMs is how long each task held its units by its own clock
	// (StartedAt to its release, see heldUntil): the configured hold plus
	// the lifecycle's overhead. With zero hold, units / (held + release-to-start) bounds the
	// throughput.
	HeldMs Latency `json:"heldMs"`
	// MaxActiveUnits is the highest overlap of units over the tasks' own
	// [StartedAt, release) intervals, in the pool where it is highest
	// relative to MaxUnits.
	MaxActiveUnits     int64 `json:"maxActiveUnits"`
	MaxUnits           int64 `json:"maxUnits"`
	CapacityViolations int   `json:"capacityViolations"`
	// ViolationExamples name, per pool with a violation, the tasks held at
	// the first instant above capacity, with their intervals.
	ViolationExamples []string `json:"violationExamples,omitempty"`
	// Lost tasks never reached a terminal status within the timeout.
	Lost int `json:"lost"`
	// Duplicates are starts the managers counted (admitted + granted)
	// beyond the tasks that saw themselves start.
	Duplicates int `json:"duplicates"`
	// Inconsistent statuses: timestamps out of order, a task that ran
	// without a start, started and rejected, or more tasks started than
	// the managers admitted.
	Inconsistent         int                  `json:"inconsistent"`
	InconsistentExamples []string             `json:"inconsistentExamples,omitempty"`
	ContinueAsNew        int                  `json:"continueAsNew"`
	WorkflowTaskFailures WorkflowTaskFailures `json:"workflowTaskFailures"`
	// Rejected counts rejected, expired and dropped tasks by reason.
	Rejected map[string]int `json:"rejected"`
	// Decisions counts the answers of Submit by status ("error" when the
	// call failed); Statuses the final statuses.
	Decisions    map[string]int `json:"decisions"`
	Statuses     map[string]int `json:"statuses"`
	SubmitErrors []string       `json:"submitErrors,omitempty"`
	Parklot      Phase          `json:"parklot"`
	Targets      Targets        `json:"targets"`

	Pools       []PoolReport               `json:"pools"`
	Baselines   map[string]*BaselineReport `json:"baselines"`
	TaskHistory TaskHistory                `json:"taskHistory"`
	// ParklotFirst is set when this round ran Parklot before the
	// baselines (the even rounds of several).
	ParklotFirst bool `json:"parklotFirst,omitempty"`
	// Rounds is set when the run had several rounds: every round's
	// figures, and the spread of throughput and ratios over them.
	Rounds *Rounds `json:"rounds,omitempty"`
}

// Comparison is the baselines' throughput and Parklot's as a share of each;
// a field is nil when its baseline did not run.
type Comparison struct {
	// BareThroughput is Parklot's task workflow with no capacity
	// coordination; SlotsThroughput Temporal's activity slots;
	// MinimalThroughput a one-activity workflow.
	BareThroughput    *float64 `json:"bareThroughput"`
	SlotsThroughput   *float64 `json:"slotsThroughput"`
	MinimalThroughput *float64 `json:"minimalThroughput"`
	ParklotToBare     *float64 `json:"parklotToBare"`
	ParklotToSlots    *float64 `json:"parklotToSlots"`
	ParklotToMinimal  *float64 `json:"parklotToMinimal"`
}

// Where the run went.
type Where struct {
	InProcess bool   `json:"inProcess"`
	Address   string `json:"address"`
	Namespace string `json:"namespace"`
	TaskQueue string `json:"taskQueue"`
}

// Machine the bench ran on.
type Machine struct {
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"goVersion"`
	OS        string `json:"os"`
}

// Load is /proc/loadavg before and after: others share the machine.
type Load struct {
	Before string `json:"before"`
	After  string `json:"after"`
}

// Workload echoes the options.
type Workload struct {
	Tasks       int        `json:"tasks"`
	Pools       []PoolSpec `json:"pools"`
	TaskUnits   string     `json:"taskUnits"`
	Hold        string     `json:"hold"`
	Arrival     string     `json:"arrival"`
	Priorities  string     `json:"priorities"`
	Tenants     int        `json:"tenants"`
	Concurrency int        `json:"concurrency"`
	Seed        int64      `json:"seed"`
	QueueDepth  int        `json:"queueDepth,omitempty"`
}

// Phase times the Parklot phase.
type Phase struct {
	// Ran counts tasks that started and completed (successfully or not).
	Ran int `json:"ran"`
	// WindowSeconds is the throughput's denominator.
	WindowSeconds float64 `json:"windowSeconds"`
	// SubmitSeconds is until the last Submit answered; WallSeconds until
	// the last task's final status was read.
	SubmitSeconds float64 `json:"submitSeconds"`
	WallSeconds   float64 `json:"wallSeconds"`
}

// WorkflowTaskFailures counts failed and timed-out workflow tasks.
type WorkflowTaskFailures struct {
	// PoolManagers reads every event of every manager run in the bench.
	PoolManagers int `json:"poolManagers"`
	// TaskSample reads TaskHistory.Sampled task histories.
	TaskSample int    `json:"taskSample"`
	Method     string `json:"method"`
}

// Targets are issue 7's bars, checked against this run.
type Targets struct {
	ReleaseToStartP95Under250ms *bool `json:"releaseToStartP95Under250ms"`
	StartedWithin1sAtLeast95    *bool `json:"startedWithin1sAtLeast95"`
	ThroughputAtLeast07Bare     *bool `json:"throughputAtLeast70PercentOfBare"`
}

// PoolReport is one pool's part of the run.
type PoolReport struct {
	Name               string `json:"name"`
	MaxUnits           int64  `json:"maxUnits"`
	MaxActiveUnits     int64  `json:"maxActiveUnits"`
	CapacityViolations int    `json:"capacityViolations"`
	// Queued counts the tasks whose submission answered queued: the ones
	// release-to-start covers. QueuedAnsweredRunning are the others the
	// manager queued: granted so soon that the task's first answer was
	// already running.
	Queued                int      `json:"queued"`
	QueuedAnsweredRunning int64    `json:"queuedAnsweredRunning"`
	ReleaseToStartMs      Latency  `json:"releaseToStartMs"`
	StartedWithin1s       *float64 `json:"startedWithin1s"`
	// ReleaseToGrantMs is the manager's own histogram over the run: from
	// each release (by the releasing task's clock) to the grants it made.
	// Unlike ReleaseToStartMs it knows which release freed the units, but
	// it stops at the grant and only has bucket bounds.
	ReleaseToGrantMs BucketLatency `json:"releaseToGrantMs"`
	// Counters are the manager's counters' change over the run.
	Counters      CounterDelta   `json:"counters"`
	ContinueAsNew int            `json:"continueAsNew"`
	Manager       ManagerHistory `json:"manager"`
}

// CounterDelta is what a manager counted during the run.
type CounterDelta struct {
	Admitted          int64            `json:"admitted"`
	Queued            int64            `json:"queued"`
	Granted           int64            `json:"granted"`
	Released          int64            `json:"released"`
	Expired           int64            `json:"expired"`
	Dropped           int64            `json:"dropped"`
	Reclaimed         int64            `json:"reclaimed"`
	Rejected          map[string]int64 `json:"rejected,omitempty"`
	DuplicateAcquires int64            `json:"duplicateAcquires"`
}

// BaselineReport is one baseline's phase.
type BaselineReport struct {
	Skipped       string  `json:"skipped,omitempty"`
	Throughput    float64 `json:"throughput"`
	Ran           int     `json:"ran"`
	Failed        int     `json:"failed"`
	Lost          int     `json:"lost"`
	SubmitErrors  int     `json:"submitErrors"`
	WindowSeconds float64 `json:"windowSeconds"`
	WallSeconds   float64 `json:"wallSeconds"`
	// SubmitMs is the client's ExecuteWorkflow call.
	SubmitMs           Latency   `json:"submitMs"`
	ThroughputOverTime []float64 `json:"throughputOverTime"`
	// History is a sample of the baseline's histories, to weigh its
	// lifecycle against Parklot's.
	History TaskHistory `json:"history"`
}

func newReport(t Target, o Options) *Report {
	return &Report{
		RunID:   o.RunID,
		Target:  Where{InProcess: t.InProcess, Address: t.Address, Namespace: t.Namespace, TaskQueue: t.TaskQueue},
		Machine: machine(),
		Workload: Workload{
			Tasks: o.Tasks, Pools: o.Pools, TaskUnits: o.TaskUnits.String(), Hold: o.Hold.String(),
			Arrival: o.Arrival.String(), Priorities: string(o.Priorities), Tenants: o.Tenants,
			Concurrency: o.Concurrency, Seed: o.Seed, QueueDepth: o.QueueDepth,
		},
		Rejected:  map[string]int{},
		Decisions: map[string]int{},
		Statuses:  map[string]int{},
		Baselines: map[string]*BaselineReport{},
		WorkflowTaskFailures: WorkflowTaskFailures{Method: "every event of the pool managers' runs during the bench, " +
			"and a sample of task histories; server metrics are not read"},
	}
}

func (r *Report) addPool(p PoolSpec, before, after workflows.PoolState, h ManagerHistory) {
	b, a := before.Counters, after.Counters
	cd := CounterDelta{
		Admitted: a.Admitted - b.Admitted, Queued: a.Queued - b.Queued, Granted: a.Granted - b.Granted,
		Released: a.Released - b.Released, Expired: a.Expired - b.Expired, Dropped: a.Dropped - b.Dropped, Reclaimed: a.Reclaimed - b.Reclaimed,
		DuplicateAcquires: a.Duplicates - b.Duplicates,
	}
	for reason, n := range a.Rejected {
		if d := n - b.Rejected[reason]; d != 0 {
			if cd.Rejected == nil {
				cd.Rejected = map[string]int64{}
			}
			cd.Rejected[string(reason)] = d
		}
	}
	max := p.MaxUnits
	if after.Config.MaxUnits > 0 {
		max = after.Config.MaxUnits
	}
	r.Pools = append(r.Pools, PoolReport{
		Name: p.Name, MaxUnits: max, Counters: cd, ContinueAsNew: after.Runs - before.Runs, Manager: h,
		ReleaseToGrantMs: bucketLatency(before.ReleaseToGrant, after.ReleaseToGrant),
	})
	r.ContinueAsNew += after.Runs - before.Runs
	r.WorkflowTaskFailures.PoolManagers += h.WorkflowTaskFailures
}

// addTasks computes every per-task figure from the tasks' final statuses.
func (r *Report) addTasks(outs []*taskOutcome) {
	var submitLat, allR2S, held []time.Duration
	var ends []time.Time
	byPool := map[string][]*taskOutcome{}
	var first, last time.Time
	inconsistent := func(id, format string, args ...any) {
		r.Inconsistent++
		if len(r.InconsistentExamples) < 10 {
			r.InconsistentExamples = append(r.InconsistentExamples, id+": "+fmt.Sprintf(format, args...))
		}
	}
	for _, o := range outs {
		if o == nil {
			continue // never submitted: the run was cancelled
		}
		submitLat = append(submitLat, o.latency)
		switch {
		case o.submitErr != nil:
			r.Decisions["error"]++
			if len(r.SubmitErrors) < 5 {
				r.SubmitErrors = append(r.SubmitErrors, o.submitErr.Error())
			}
		default:
			r.Decisions[o.decision.Status]++
		}
		switch o.state {
		case outcomeLost:
			r.Lost++
			r.Statuses["lost"]++
			continue
		case outcomeNotStarted:
			r.Statuses["never started"]++
			continue
		}
		f := o.final
		r.Statuses[f.Status]++
		if f.TaskID != o.id {
			inconsistent(o.id, "final status names task %q", f.TaskID)
		}
		if !workflows.IsTerminal(f.Status) {
			inconsistent(o.id, "workflow closed with status %q", f.Status)
		}
		started := !f.StartedAt.IsZero()
		switch f.Status {
		case workflows.StatusRejected, workflows.StatusExpired, workflows.StatusDropped:
			r.Rejected[string(f.Reason)]++
			if started && f.Status != workflows.StatusExpired {
				inconsistent(o.id, "%s but it started at %s", f.Status, f.StartedAt.Format(time.RFC3339Nano))
			}
		case workflows.StatusCompleted:
			if !started {
				inconsistent(o.id, "completed without a start")
			}
		}
		if o.submitErr == nil && o.decision.Status == workflows.StatusRejected && f.Status != workflows.StatusRejected {
			inconsistent(o.id, "submission answered rejected, final status %s", f.Status)
		}
		if started {
			if f.StartedAt.Before(f.SubmittedAt) || f.CompletedAt.Before(f.StartedAt) {
				inconsistent(o.id, "timestamps out of order: submitted %s, started %s, completed %s",
					f.SubmittedAt.Format(time.RFC3339Nano), f.StartedAt.Format(time.RFC3339Nano), f.CompletedAt.Format(time.RFC3339Nano))
			}
		}
		if !f.SubmittedAt.IsZero() && (first.IsZero() || f.SubmittedAt.Before(first)) {
			first = f.SubmittedAt
		}
		if started && !f.ReleasedAt.IsZero() && f.ReleasedAt.Before(f.StartedAt) {
			inconsistent(o.id, "released at %s, before its start at %s", f.ReleasedAt.Format(time.RFC3339Nano), f.StartedAt.Format(time.RFC3339Nano))
		}
		if started && !f.CompletedAt.IsZero() {
			r.Parklot.Ran++
			held = append(held, heldUntil(f).Sub(f.StartedAt))
			ends = append(ends, f.CompletedAt)
			if f.CompletedAt.After(last) {
				last = f.CompletedAt
			}
		}
		byPool[o.spec.Pool] = append(byPool[o.spec.Pool], o)
	}
	r.SubmitToDecisionMs = Summarize(submitLat)
	r.HeldMs = Summarize(held)
	if w := last.Sub(first); w > 0 {
		r.Parklot.WindowSeconds = round3(w.Seconds())
		r.Throughput = round1(float64(r.Parklot.Ran) / w.Seconds())
		r.ThroughputOverTime = rateOverTime(first, last, ends, 10)
	}

	worst := -1.0
	for i := range r.Pools {
		p := &r.Pools[i]
		tasks := byPool[p.Name]
		var ivs []Interval
		var tl []TimelineTask
		startedHere := int64(0)
		for _, o := range tasks {
			f := o.final
			queued := o.submitErr == nil && o.decision.Status == workflows.StatusQueued
			if queued {
				p.Queued++
			}
			if f.StartedAt.IsZero() {
				continue
			}
			startedHere++
			var end time.Time // zero while the task has not finished
			if !f.CompletedAt.IsZero() {
				end = heldUntil(f)
				ivs = append(ivs, Interval{Start: f.StartedAt, End: end, Units: f.Units, ID: o.id})
			}
			tl = append(tl, TimelineTask{ID: o.id, Queued: queued, SubmittedAt: f.SubmittedAt, StartedAt: f.StartedAt, ReleasedAt: end})
		}
		p.QueuedAnsweredRunning = max(p.Counters.Queued-int64(p.Queued), 0)
		ov := MaxOverlap(ivs, p.MaxUnits)
		p.MaxActiveUnits, p.CapacityViolations = ov.Max, ov.Over
		r.CapacityViolations += ov.Over
		if ov.Over > 0 {
			held := HeldAt(ivs, ov.FirstOver)
			var b strings.Builder
			fmt.Fprintf(&b, "pool %s held by %d tasks at %s:", p.Name, len(held), ov.FirstOver.Format(time.RFC3339Nano))
			for _, iv := range held {
				fmt.Fprintf(&b, " %s %d unit(s) [%s, %s)", iv.ID, iv.Units, iv.Start.Format("15:04:05.000000"), iv.End.Format("15:04:05.000000"))
			}
			r.ViolationExamples = append(r.ViolationExamples, b.String())
		}
		r2s := ReleaseToStart(tl)
		allR2S = append(allR2S, r2s...)
		p.ReleaseToStartMs = Summarize(slices.Clone(r2s))
		if len(r2s) > 0 {
			p.StartedWithin1s = ptr(round3(ShareWithin(r2s, time.Second)))
		}
		if ratio := float64(ov.Max) / float64(max(p.MaxUnits, 1)); ratio > worst {
			worst = ratio
			r.MaxActiveUnits, r.MaxUnits = ov.Max, p.MaxUnits
		}
		counted := p.Counters.Admitted + p.Counters.Granted
		switch {
		case counted > startedHere:
			r.Duplicates += int(counted - startedHere)
		case counted < startedHere:
			inconsistent("pool/"+p.Name, "%d tasks saw themselves start but the manager admitted or granted %d", startedHere, counted)
		}
	}
	r.ReleaseToStartMs = Summarize(slices.Clone(allR2S))
	if len(allR2S) > 0 {
		r.StartedWithin1s = ptr(round3(ShareWithin(allR2S, time.Second)))
	}
}

// finish derives the ratios and the targets.
func (r *Report) finish() {
	ratio := func(name string, throughput, toParklot **float64) {
		if b := r.Baselines[name]; b != nil && b.Skipped == "" {
			*throughput = ptr(b.Throughput)
			if b.Throughput > 0 {
				*toParklot = ptr(round3(r.Throughput / b.Throughput))
			}
		}
	}
	ratio(BaselineBare, &r.BareThroughput, &r.ParklotToBare)
	ratio(BaselineSlots, &r.SlotsThroughput, &r.ParklotToSlots)
	ratio(BaselineMinimal, &r.MinimalThroughput, &r.ParklotToMinimal)
	if r.ReleaseToStartMs.Count > 0 {
		r.Targets.ReleaseToStartP95Under250ms = ptr(r.ReleaseToStartMs.P95 < 250)
	}
	if r.StartedWithin1s != nil {
		r.Targets.StartedWithin1sAtLeast95 = ptr(*r.StartedWithin1s >= 0.95)
	}
	if r.ParklotToBare != nil {
		r.Targets.ThroughputAtLeast07Bare = ptr(*r.ParklotToBare >= 0.7)
	}
	r.WorkflowTaskFailures.TaskSample = r.TaskHistory.WorkflowTaskFailures
}

// Failed reports whether the run saw what must never happen: units held
// beyond capacity, a task lost, started twice or in an impossible state.
func (r *Report) Failed() bool {
	return r.CapacityViolations > 0 || r.Lost > 0 || r.Duplicates > 0 || r.Inconsistent > 0 ||
		(r.Rounds != nil && r.Rounds.Failed > 0)
}

func baselineReport(outs []baselineOutcome, ph phaseResult) *BaselineReport {
	b := &BaselineReport{WallSeconds: round3(ph.wall.Seconds())}
	var lat []time.Duration
	var first, last time.Time
	var ends []time.Time
	for _, o := range outs {
		lat = append(lat, o.latency)
		switch {
		case o.err != nil:
			b.SubmitErrors++
			continue
		case o.lost:
			b.Lost++
			continue
		case o.result.CompletedAt.IsZero():
			b.Lost++
			continue
		case o.result.Error != "":
			b.Failed++
		}
		b.Ran++
		ends = append(ends, o.result.CompletedAt)
		if first.IsZero() || o.result.StartedAt.Before(first) {
			first = o.result.StartedAt
		}
		if o.result.CompletedAt.After(last) {
			last = o.result.CompletedAt
		}
	}
	b.SubmitMs = Summarize(lat)
	if w := last.Sub(first); w > 0 {
		b.WindowSeconds = round3(w.Seconds())
		b.Throughput = round1(float64(b.Ran) / w.Seconds())
		b.ThroughputOverTime = rateOverTime(first, last, ends, 10)
	}
	return b
}

// BucketLatency gives percentiles of a histogram as the upper bounds of
// the buckets they fall in, in milliseconds; -1 means above every bound.
type BucketLatency struct {
	Count uint64  `json:"count"`
	P50LE float64 `json:"p50le"`
	P95LE float64 `json:"p95le"`
	P99LE float64 `json:"p99le"`
}

// bucketLatency reads what was observed between two snapshots of a
// manager's histogram.
func bucketLatency(before, after workflows.Histogram) BucketLatency {
	counts := make([]uint64, len(workflows.LatencyBuckets)+1)
	var n uint64
	for i := range counts {
		var a, b uint64
		if i < len(after.Counts) {
			a = after.Counts[i]
		}
		if i < len(before.Counts) {
			b = before.Counts[i]
		}
		if a > b {
			counts[i] = a - b
			n += a - b
		}
	}
	out := BucketLatency{Count: n}
	if n == 0 {
		return out
	}
	at := func(p float64) float64 {
		rank := uint64(math.Ceil(p / 100 * float64(n)))
		var acc uint64
		for i, c := range counts {
			acc += c
			if acc >= rank {
				if i < len(workflows.LatencyBuckets) {
					return workflows.LatencyBuckets[i] * 1000
				}
				break
			}
		}
		return -1
	}
	out.P50LE, out.P95LE, out.P99LE = at(50), at(95), at(99)
	return out
}

// rateOverTime splits [first, last] into n equal slices and returns the
// completions per second in each.
func rateOverTime(first, last time.Time, ends []time.Time, n int) []float64 {
	span := last.Sub(first)
	if span <= 0 || n <= 0 {
		return nil
	}
	counts := make([]int, n)
	for _, e := range ends {
		i := int(float64(e.Sub(first)) / float64(span) * float64(n))
		counts[min(max(i, 0), n-1)]++
	}
	out := make([]float64, n)
	slice := span.Seconds() / float64(n)
	for i, c := range counts {
		out[i] = round1(float64(c) / slice)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func round1(x float64) float64 { return math.Round(x*10) / 10 }

// WriteJSON prints the report as one indented JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText prints the report for a person.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	where := "cluster " + r.Target.Address
	if r.Target.InProcess {
		where = "in-process server " + r.Target.Address
	}
	p("Parklot bench  run %s · %s (namespace %s) · %d CPUs · %s · load %s → %s\n",
		r.RunID, where, r.Target.Namespace, r.Machine.CPUs, r.Machine.GoVersion, r.Load.Before, r.Load.After)
	wl := r.Workload
	units := "?"
	if len(wl.Pools) > 0 {
		units = fmt.Sprint(wl.Pools[0].MaxUnits)
	}
	p("workload  %d tasks · %d pool(s) × %s units · task units %s · hold %s · arrival %s · priorities %s · %d tenant(s) · %d in flight",
		wl.Tasks, len(wl.Pools), units, wl.TaskUnits, wl.Hold, wl.Arrival, wl.Priorities, wl.Tenants, wl.Concurrency)
	if wl.QueueDepth > 0 {
		p(" · queue depth %d", wl.QueueDepth)
	}
	p("\n\n")
	p("throughput            %.1f tasks/s  (%d ran in %.1f s; all answers read after %.1f s)\n", r.Throughput, r.Parklot.Ran, r.Parklot.WindowSeconds, r.Parklot.WallSeconds)
	p("  by tenth of the run %v\n", r.ThroughputOverTime)
	for _, name := range []string{BaselineBare, BaselineSlots, BaselineMinimal} {
		bl := r.Baselines[name]
		switch {
		case bl == nil:
		case bl.Skipped != "":
			p("  %-19s skipped: %s\n", name, bl.Skipped)
		default:
			ratio := "n/a"
			if bl.Throughput > 0 {
				ratio = fmt.Sprintf("%.2f", r.Throughput/bl.Throughput)
			}
			p("  %-19s %.1f tasks/s  (%d ran in %.1f s; %d lost) → Parklot/%s %s · %.1f events, %.1f workflow tasks per task\n",
				name, bl.Throughput, bl.Ran, bl.WindowSeconds, bl.Lost, name, ratio, bl.History.EventsPerTask, bl.History.WorkflowTasksPerTask)
		}
	}
	p("submit→decision       %s\n", latencyText(r.SubmitToDecisionMs))
	p("release→start         %s  (queued tasks)\n", latencyText(r.ReleaseToStartMs))
	p("started within 1 s    %s\n", shareText(r.StartedWithin1s))
	p("units held            %s  (start → completion, by the task's clock)\n", latencyText(r.HeldMs))
	p("max active units      %d / %d  (%d capacity violations)\n", r.MaxActiveUnits, r.MaxUnits, r.CapacityViolations)
	for _, ex := range r.ViolationExamples {
		p("                      %s\n", ex)
	}
	p("lost                  %d\n", r.Lost)
	p("duplicates            %d  (inconsistent statuses %d)\n", r.Duplicates, r.Inconsistent)
	for _, ex := range r.InconsistentExamples {
		p("                      %s\n", ex)
	}
	p("continue-as-new       %d\n", r.ContinueAsNew)
	p("workflow task fails   %d in the pool managers' histories (every event read); %d in %d sampled task histories\n",
		r.WorkflowTaskFailures.PoolManagers, r.WorkflowTaskFailures.TaskSample, r.TaskHistory.Sampled)
	p("rejected              %s\n", countsText(r.Rejected))
	p("submission answers    %s\n", countsText(r.Decisions))
	p("final statuses        %s\n", countsText(r.Statuses))
	for _, e := range r.SubmitErrors {
		p("  submit error: %s\n", e)
	}
	for _, pr := range r.Pools {
		m := pr.Manager
		p("\npool %s  %d/%d units at most · %d answered queued (+%d queued but answered running) · release→start %s · within 1 s %s\n",
			pr.Name, pr.MaxActiveUnits, pr.MaxUnits, pr.Queued, pr.QueuedAnsweredRunning, latencyText(pr.ReleaseToStartMs), shareText(pr.StartedWithin1s))
		if g := pr.ReleaseToGrantMs; g.Count > 0 {
			p("  release→grant       p50 ≤ %s · p95 ≤ %s · p99 ≤ %s ms (n=%d, the manager's histogram: bucket bounds)\n", le(g.P50LE), le(g.P95LE), le(g.P99LE), g.Count)
		}
		c := pr.Counters
		p("  manager counters    admitted %d · queued %d · granted %d · released %d · expired %d · dropped %d · reclaimed %d · duplicate acquires %d\n",
			c.Admitted, c.Queued, c.Granted, c.Released, c.Expired, c.Dropped, c.Reclaimed, c.DuplicateAcquires)
		p("  manager history     %d runs · %d events · %d workflow tasks (%d woken by no signal) · %d failed\n",
			m.Runs, m.Events, m.WorkflowTasks, m.IdleWorkflowTasks, m.WorkflowTaskFailures)
		p("  signals             received %s · sent %d (%d local activities; %d handed over in memory) · acknowledged %d · failed %d\n",
			countsText(m.SignalsReceived), m.SignalsSent, m.LocalSignalBatches, m.DecisionsHandedOver, m.SignalAcks, m.SignalsFailed)
		for _, f := range m.SignalFailures {
			p("                      failed: %s\n", f)
		}
		p("  per workflow task   signals applied mean %.2f, p50 %d, p95 %d, max %d · decisions sent mean %.2f, max %d\n",
			m.SignalsPerWorkflowTask.Mean, m.SignalsPerWorkflowTask.P50, m.SignalsPerWorkflowTask.P95, m.SignalsPerWorkflowTask.Max,
			m.DecisionsPerTask.Mean, m.DecisionsPerTask.Max)
		p("  workflow task       schedule→start %s\n", latencyText(m.ScheduleToStartMs))
		p("                      start→complete %s\n", latencyText(m.StartToCompleteMs))
		p("  signal turnaround   %s  (arrival in history → decision sent)\n", latencyText(m.TurnaroundMs))
		p("  continue-as-new     pause %s\n", latencyText(m.ContinueAsNewPauseMs))
		p("                      of which the new run's first workflow task waited for a worker %s\n", latencyText(m.ContinueAsNewWaitMs))
		p("                      no decision sent, failed attempts included %s\n", latencyText(m.ContinueAsNewGapMs))
		p("  manager time        %.1f s span · a workflow task in flight %.0f %% · waiting for a worker %.0f %%\n",
			m.SpanSeconds, 100*m.BusyShare, 100*m.QueuedShare)
	}
	th := r.TaskHistory
	if th.Sampled > 0 {
		p("\ntask lifecycle        %.1f events · %.1f workflow tasks · %.1f activities (%s) · %.1f local activities · %.1f signals sent per task (%d sampled histories)\n",
			th.EventsPerTask, th.WorkflowTasksPerTask, th.ActivitiesPerTask, countsText(th.ActivityTypes), th.LocalActivitiesPerTask, th.SignalsSentPerTask, th.Sampled)
		p("  first decision      handed over with the acquire for %.0f %% of tasks\n", 100*th.HandedOverShare)
		p("  while holding units Execute schedule→start %s\n", latencyText(th.ExecuteScheduleToStartMs))
		p("                      Execute start→complete %s\n", latencyText(th.ExecuteRunMs))
		p("                      Execute completed → next workflow task started %s\n", latencyText(th.CompletionToWorkflowTaskMs))
		p("  workflow tasks      schedule→start %s\n", latencyText(th.ScheduleToStartMs))
	}
	if r.Rounds != nil {
		p("\n%s", r.Rounds.text())
	}
	p("\ntargets (issue 7)     release→start p95 < 250 ms: %s · ≥ 95 %% within 1 s: %s · throughput ≥ 0.7 × bare: %s\n",
		verdict(r.Targets.ReleaseToStartP95Under250ms), verdict(r.Targets.StartedWithin1sAtLeast95), verdict(r.Targets.ThroughputAtLeast07Bare))
	switch {
	case r.Rounds != nil && r.Rounds.Failed > 0:
		p("RESULT                FAIL: %d of %d rounds saw a capacity violation or a lost, duplicated or inconsistent task (see the rounds above)\n", r.Rounds.Failed, len(r.Rounds.Rounds))
	case r.Failed():
		p("RESULT                FAIL: capacity violations %d, lost %d, duplicates %d, inconsistent %d\n", r.CapacityViolations, r.Lost, r.Duplicates, r.Inconsistent)
	default:
		p("RESULT                OK: no capacity violation, no lost, duplicated or inconsistent task\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func latencyText(l Latency) string {
	if l.Count == 0 {
		return "n/a"
	}
	return fmt.Sprintf("p50 %s · p95 %s · p99 %s · max %s ms (n=%d)", ms(l.P50), ms(l.P95), ms(l.P99), ms(l.Max), l.Count)
}

func ms(x float64) string {
	if x >= 100 {
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%.1f", x)
}

func le(x float64) string {
	if x < 0 {
		return "∞"
	}
	return fmt.Sprintf("%g", x)
}

func shareText(s *float64) string {
	if s == nil {
		return "n/a (no task was queued)"
	}
	return fmt.Sprintf("%.1f %%", 100**s)
}

func countsText[V int | int64](m map[string]V) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, " · ")
}

func verdict(b *bool) string {
	switch {
	case b == nil:
		return "not measured"
	case *b:
		return "met"
	}
	return "MISSED"
}

// heldUntil is when a finished task gave its units back by its own
// account: ReleasedAt, which the Execute activity may set before the task
// completes, or else its completion.
func heldUntil(f workflows.TaskStatus) time.Time {
	if !f.ReleasedAt.IsZero() {
		return f.ReleasedAt
	}
	return f.CompletedAt
}
