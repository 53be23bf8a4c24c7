package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/parklot/parklot/api"
	"github.com/parklot/parklot/workflows"
)

// PoolSpec is a pool the workload is spread over.
type PoolSpec struct {
	Name     string `json:"name"`
	MaxUnits int64  `json:"maxUnits"`
}

// Options describe one run.
type Options struct {
	Tasks      int
	Pools      []PoolSpec
	TaskUnits  UnitRange
	Hold       HoldRange
	Arrival    Arrival
	Priorities Priorities
	Tenants    int
	// Baselines to run beside Parklot: BaselineBare, BaselineSlots,
	// BaselineMinimal.
	Baselines []string
	// Concurrency bounds the submissions in flight.
	Concurrency int
	// Timeout is how long, after the last submission, tasks may take to
	// reach a terminal status before they count as lost.
	Timeout time.Duration
	Seed    int64
	// RunID prefixes every id of the run; empty draws one.
	RunID string
	// HistorySample is how many task histories are read for the
	// per-task workflow task figures.
	HistorySample int
	// Progress receives a progress bar; nil shows none.
	Progress io.Writer
	// Warmup is how many bare tasks run, unreported, before the first
	// measured phase, so that no phase pays for the server's cold start.
	Warmup int
	// QueueDepth is the pools' max_queue_depth when the bench configured
	// them, for the report; 0 when the cluster's config decides.
	QueueDepth int
	// Rounds runs every phase this many times in turn (0 means 1); the
	// report gives the median round and the spread.
	Rounds int
	// round names the round in progress bars ("2/5"); empty with one.
	round string
	// parklotFirst runs Parklot before the baselines (even rounds).
	parklotFirst bool
}

// Target is the Temporal service and Parklot deployment under test.
type Target struct {
	Client client.Client
	// TaskQueue is Parklot's; the baselines use their own.
	TaskQueue string
	Namespace string
	Address   string
	// InProcess is true when the bench started the server and node itself.
	InProcess bool
}

// DefaultConcurrency is how many submissions are in flight at once.
const DefaultConcurrency = 64

// DefaultTimeout is how long tasks may take, after the last submission, to
// reach a terminal status before they count as lost.
const DefaultTimeout = 15 * time.Minute

// LocalPools names n in-process pools of units each: "bench" alone, else
// "bench-1" to "bench-n".
func LocalPools(n int, units int64) []PoolSpec {
	if n == 1 {
		return []PoolSpec{{Name: "bench", MaxUnits: units}}
	}
	out := make([]PoolSpec, n)
	for i := range out {
		out[i] = PoolSpec{Name: fmt.Sprintf("bench-%d", i+1), MaxUnits: units}
	}
	return out
}

// Validate checks what the flags cannot.
func (o *Options) Validate() error {
	switch {
	case o.Tasks < 1:
		return fmt.Errorf("--tasks %d: submit at least 1 task", o.Tasks)
	case len(o.Pools) == 0:
		return errors.New("no pool to load: pass --pools or --pool")
	case o.TaskUnits.Min < 1:
		return errors.New("--task-units must be at least 1")
	case o.Concurrency < 1:
		return fmt.Errorf("--concurrency %d: allow at least 1 submission in flight", o.Concurrency)
	case o.Timeout <= 0:
		return fmt.Errorf("--timeout %s: give the tasks some time, e.g. 10m", o.Timeout)
	case o.Rounds < 0:
		return fmt.Errorf("--rounds %d: run at least 1 round", o.Rounds)
	}
	for _, p := range o.Pools {
		if p.MaxUnits < o.TaskUnits.Max {
			return fmt.Errorf("pool %s has %d units but tasks may ask for %d: such tasks would be rejected; lower --task-units or raise --units", p.Name, p.MaxUnits, o.TaskUnits.Max)
		}
	}
	return nil
}

// Run drives the workload through the baselines first, then through
// Parklot, on the same server, and reports. Parklot runs last so that the
// server's warm-up counts for the baselines and the history the baselines
// leave behind counts against Parklot: in a single round any bias is
// against the scheduler. With several rounds, each with its own task ids,
// the even rounds run Parklot first, so the growing history weighs on both
// sides alike and the median round is not biased either way (see Rounds).
func Run(ctx context.Context, t Target, o Options) (*Report, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.RunID == "" {
		o.RunID = NewRunID()
	}
	if o.Rounds <= 1 {
		return runRound(ctx, t, o)
	}
	reports := make([]*Report, o.Rounds)
	for i := range reports {
		r, err := runRound(ctx, t, roundOptions(o, i))
		if err != nil {
			return nil, fmt.Errorf("round %d of %d: %w", i+1, o.Rounds, err)
		}
		reports[i] = r
	}
	return combineRounds(reports), nil
}

// roundOptions are the options of round i (0-based) of several: its own
// task ids, its label, no warm-up after the first, Parklot first in the
// even rounds.
func roundOptions(o Options, i int) Options {
	o.RunID = fmt.Sprintf("%s-r%d", o.RunID, i+1)
	o.round = fmt.Sprintf("%d/%d", i+1, o.Rounds)
	o.parklotFirst = i%2 == 1
	if i > 0 {
		o.Warmup = 0
	}
	return o
}

// phaseParklot names Parklot's phase among the baselines'.
const phaseParklot = "parklot"

// roundPhases lists a round's measured phases in the order they run.
func roundPhases(o Options) []string {
	if o.parklotFirst {
		return append([]string{phaseParklot}, o.Baselines...)
	}
	return append(slices.Clone(o.Baselines), phaseParklot)
}

// phaseLabel is a progress bar's label: the phase, and the round when
// there are several.
func phaseLabel(phase string, o Options) string {
	if o.round == "" {
		return phase
	}
	return phase + " " + o.round
}

// runRound is one round: the warm-up, the baselines, then Parklot (or
// Parklot, then the baselines, when o.parklotFirst).
func runRound(ctx context.Context, t Target, o Options) (*Report, error) {
	specs := Plan(o)
	r := newReport(t, o)
	r.Load.Before = loadAverage()
	if o.Warmup > 0 {
		wo := o
		wo.Tasks, wo.Progress, wo.RunID = min(o.Warmup, o.Tasks), nil, o.RunID+"-warmup"
		if _, err := runBaseline(ctx, t, wo, BaselineBare, Plan(wo)); err != nil {
			return nil, fmt.Errorf("warm-up: %w", err)
		}
	}

	r.ParklotFirst = o.parklotFirst
	for _, phase := range roundPhases(o) {
		switch {
		case phase == phaseParklot:
			if err := runParklot(ctx, t, o, specs, r); err != nil {
				return nil, err
			}
		case phase == BaselineSlots && o.TaskUnits.Max != 1:
			r.Baselines[phase] = &BaselineReport{Skipped: "slots compares unit-cost tasks only: run with --task-units 1"}
		default:
			br, err := runBaseline(ctx, t, o, phase, specs)
			if err != nil {
				return nil, fmt.Errorf("baseline %s: %w", phase, err)
			}
			r.Baselines[phase] = br
		}
	}
	r.Load.After = loadAverage()
	r.finish()
	return r, nil
}

// NewRunID is a short id, unique per run, that prefixes every task id so that
// runs against the same server never collide.
func NewRunID() string {
	return time.Now().UTC().Format("0102T150405") + fmt.Sprintf("-%04x", time.Now().UnixNano()&0xffff)
}

// taskOutcome is everything the bench learnt about one Parklot task.
type taskOutcome struct {
	spec      Spec
	id        string
	submitted time.Time
	latency   time.Duration
	decision  workflows.TaskStatus
	submitErr error
	final     workflows.TaskStatus
	// state says how the final status was obtained.
	state outcomeState
}

type outcomeState int

const (
	outcomeFinal      outcomeState = iota // terminal status read
	outcomeLost                           // never terminal before the timeout
	outcomeNotStarted                     // the submission never created it
)

func taskID(runID string, s Spec) string { return fmt.Sprintf("bench-%s-%06d", runID, s.Index) }

// runParklot submits every spec through api.Client.Submit, waits for every
// task's final status and fills the Parklot part of r.
func runParklot(ctx context.Context, t Target, o Options, specs []Spec, r *Report) error {
	c := api.New(t.Client, t.TaskQueue)
	before := map[string]workflows.PoolState{}
	marks := map[string]managerMark{}
	for _, p := range o.Pools {
		st, err := c.Pool(ctx, p.Name)
		if err != nil {
			return fmt.Errorf("read pool %s before the run (is its manager running on task queue %s?): %w", p.Name, t.TaskQueue, err)
		}
		before[p.Name] = st
		if marks[p.Name], err = markManager(ctx, t.Client, p.Name); err != nil {
			return err
		}
	}

	outs := make([]*taskOutcome, len(specs))
	prog := newProgress(o.Progress, phaseLabel(phaseParklot, o), len(specs))
	ph := runPhase(ctx, o, prog, len(specs),
		func(ctx context.Context, i int) error {
			s := specs[i]
			out := &taskOutcome{spec: s, id: taskID(o.RunID, s)}
			outs[i] = out
			out.submitted = time.Now()
			st, err := c.Submit(ctx, workflows.TaskInput{
				TaskID: out.id, Pool: s.Pool, Tenant: s.Tenant, User: "bench", Session: o.RunID,
				Priority: s.Priority, Units: s.Units, Kind: "sleep", Payload: s.Payload(),
			})
			out.latency = time.Since(out.submitted)
			out.decision, out.submitErr = st, err
			return nil
		},
		func(ctx context.Context, i int) bool {
			out := outs[i]
			err := t.Client.GetWorkflow(ctx, workflows.TaskWorkflowID(out.id), "").Get(ctx, &out.final)
			if err == nil {
				return true
			}
			var nf *serviceerror.NotFound
			if errors.As(err, &nf) {
				out.state = outcomeNotStarted
				return true
			}
			if ctx.Err() == nil {
				// Closed outside Parklot (terminated, failed): the api
				// reads what the task knew and why it closed.
				if st, serr := c.Status(ctx, out.id); serr == nil {
					out.final = st
					return true
				}
			}
			// Out of time: one last look, in case it has just closed.
			lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if st, serr := c.Status(lctx, out.id); serr == nil && workflows.IsTerminal(st.Status) {
				out.final = st
				return true
			}
			out.state = outcomeLost
			return false
		})
	r.Parklot.WallSeconds = ph.wall.Seconds()
	r.Parklot.SubmitSeconds = ph.submitWall.Seconds()

	for _, p := range o.Pools {
		st, err := c.Pool(ctx, p.Name)
		if err != nil {
			return fmt.Errorf("read pool %s after the run: %w", p.Name, err)
		}
		hist, err := scanManager(ctx, t.Client, p.Name, marks[p.Name])
		if err != nil {
			return err
		}
		r.addPool(p, before[p.Name], st, hist)
	}
	r.addTasks(outs)
	ids := make([]string, len(outs))
	for i, out := range outs {
		if out != nil && out.state != outcomeNotStarted {
			ids[i] = workflows.TaskWorkflowID(out.id)
		}
	}
	r.TaskHistory = sampleHistories(ctx, t.Client, ids, o.HistorySample)
	return nil
}

// phaseResult times one phase.
type phaseResult struct {
	wall, submitWall time.Duration
}

// runPhase submits n items at the configured arrival with bounded
// concurrency, and awaits each one as soon as it is submitted. await
// returns false for an item it gave up on; it gets a context that ends
// o.Timeout after the last submission.
func runPhase(ctx context.Context, o Options, prog *progress, n int,
	submit func(context.Context, int) error, await func(context.Context, int) bool) phaseResult {
	start := time.Now()
	prog.start()
	defer prog.stop()

	next := make(chan int)
	go func() {
		defer close(next)
		var tick *time.Ticker
		if o.Arrival.Rate > 0 {
			tick = time.NewTicker(time.Duration(float64(time.Second) / o.Arrival.Rate))
			defer tick.Stop()
		}
		for i := range n {
			if tick != nil && i > 0 {
				select {
				case <-tick.C:
				case <-ctx.Done():
					return
				}
			}
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()

	awaitCtx, cancelAwait := context.WithCancel(ctx)
	defer cancelAwait()
	submitted := make(chan int, n)
	var subs sync.WaitGroup
	for range o.Concurrency {
		subs.Add(1)
		go func() {
			defer subs.Done()
			for i := range next {
				_ = submit(ctx, i)
				prog.submitted.Add(1)
				submitted <- i
			}
		}()
	}
	var waiters sync.WaitGroup
	for range max(2*o.Concurrency, 128) {
		waiters.Add(1)
		go func() {
			defer waiters.Done()
			for i := range submitted {
				if await(awaitCtx, i) {
					prog.finished.Add(1)
				}
			}
		}()
	}
	subs.Wait()
	res := phaseResult{submitWall: time.Since(start)}
	close(submitted)
	timer := time.AfterFunc(o.Timeout, cancelAwait)
	defer timer.Stop()
	waiters.Wait()
	res.wall = time.Since(start)
	return res
}

// loadAverage is the first three fields of /proc/loadavg, or "" where there
// is none: other work on the machine shapes every figure.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	return m
}
