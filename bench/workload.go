package bench

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parklot/parklot/domain/pool"
	"github.com/parklot/parklot/executor"
)

// UnitRange is the units a task asks for: Min..Max inclusive, uniform.
type UnitRange struct{ Min, Max int64 }

// ParseUnits reads "1" or "1-4".
func ParseUnits(s string) (UnitRange, error) {
	lo, hi, err := parseRange(s, func(v string) (int64, error) { return strconv.ParseInt(v, 10, 64) })
	if err != nil || lo < 1 || hi < lo {
		return UnitRange{}, fmt.Errorf("--task-units %q: use a whole number of units like 1, or a range like 1-4 (at least 1, low end first)", s)
	}
	return UnitRange{lo, hi}, nil
}

func (r UnitRange) String() string {
	if r.Min == r.Max {
		return strconv.FormatInt(r.Min, 10)
	}
	return fmt.Sprintf("%d-%d", r.Min, r.Max)
}

// HoldRange is how long a task's sleep executor runs: Min..Max, uniform.
type HoldRange struct{ Min, Max time.Duration }

// ParseHold reads "0", "50ms" or "10ms-200ms".
func ParseHold(s string) (HoldRange, error) {
	lo, hi, err := parseRange(s, func(v string) (time.Duration, error) {
		if v == "0" {
			return 0, nil
		}
		return time.ParseDuration(v)
	})
	if err != nil || lo < 0 || hi < lo {
		return HoldRange{}, fmt.Errorf("--hold %q: use a Go duration like 0, 50ms, or a range like 10ms-200ms (low end first)", s)
	}
	return HoldRange{lo, hi}, nil
}

func (r HoldRange) String() string {
	if r.Min == r.Max {
		return r.Min.String()
	}
	return r.Min.String() + "-" + r.Max.String()
}

func (r HoldRange) mean() time.Duration { return (r.Min + r.Max) / 2 }

func parseRange[T int64 | time.Duration](s string, parse func(string) (T, error)) (T, T, error) {
	s = strings.TrimSpace(s)
	lo, hi, isRange := strings.Cut(s, "-")
	a, err := parse(lo)
	if err != nil {
		return 0, 0, err
	}
	if !isRange {
		return a, a, nil
	}
	b, err := parse(hi)
	return a, b, err
}

// Arrival is how submissions are spread over time: all at once (Rate 0) or
// Rate tasks per second.
type Arrival struct{ Rate float64 }

// ParseArrival reads "burst" or a rate per second such as "200".
func ParseArrival(s string) (Arrival, error) {
	if s == "burst" || s == "" {
		return Arrival{}, nil
	}
	r, err := strconv.ParseFloat(s, 64)
	if err != nil || r <= 0 {
		return Arrival{}, fmt.Errorf("--arrival %q: use burst, or tasks per second like 200", s)
	}
	return Arrival{Rate: r}, nil
}

func (a Arrival) String() string {
	if a.Rate == 0 {
		return "burst"
	}
	return strconv.FormatFloat(a.Rate, 'f', -1, 64) + "/s"
}

// Priorities chooses the tasks' priorities.
type Priorities string

// The priority mixes.
const (
	PrioritiesNormal Priorities = "normal"
	// PrioritiesMixed draws low, normal, high and critical uniformly.
	PrioritiesMixed Priorities = "mixed"
)

// ParsePriorities reads normal or mixed.
func ParsePriorities(s string) (Priorities, error) {
	switch p := Priorities(s); p {
	case PrioritiesNormal, PrioritiesMixed:
		return p, nil
	}
	return "", fmt.Errorf("--priorities %q: use normal or mixed", s)
}

// Baselines name the comparisons run beside Parklot.
const (
	// BaselineBare is Parklot's task workflow with no capacity coordination.
	BaselineBare = "bare"
	// BaselineSlots is Temporal's own way: a task queue per pool whose
	// worker runs at most the pool's units of activities.
	BaselineSlots = "slots"
	// BaselineMinimal is a one-activity workflow: Temporal's ceiling.
	BaselineMinimal = "minimal"
)

// DefaultBaselines are the baselines a run compares against by default.
const DefaultBaselines = "bare,slots,minimal"

// ParseBaselines reads a comma-separated list of bare, slots and minimal,
// or none.
func ParseBaselines(s string) ([]string, error) {
	if s == "none" || s == "" {
		return nil, nil
	}
	var out []string
	for _, b := range strings.Split(s, ",") {
		switch b = strings.TrimSpace(b); b {
		case BaselineBare, BaselineSlots, BaselineMinimal:
			if !slices.Contains(out, b) {
				out = append(out, b)
			}
		default:
			return nil, fmt.Errorf("--baselines %q: %q is not a baseline; list any of bare, slots and minimal separated by commas (e.g. bare,slots), or pass none", s, b)
		}
	}
	return out, nil
}

// Spec is one task of the workload; the same specs drive Parklot and the
// baselines.
type Spec struct {
	Index    int
	Pool     string
	Tenant   string
	Priority pool.Priority
	Units    int64
	Hold     time.Duration
}

// Payload is the sleep executor's payload for the spec.
func (s Spec) Payload() json.RawMessage {
	b, _ := json.Marshal(executor.SleepPayload{Duration: s.Hold.String()})
	return b
}

// Plan draws the workload: tasks are spread over pools and tenants in turn,
// units, hold and priority are drawn from a generator seeded with seed, so
// a run can be repeated exactly.
func Plan(o Options) []Spec {
	rng := rand.New(rand.NewPCG(uint64(o.Seed), 0x9e3779b97f4a7c15))
	prios := []pool.Priority{pool.PriorityLow, pool.PriorityNormal, pool.PriorityHigh, pool.PriorityCritical}
	out := make([]Spec, o.Tasks)
	for i := range out {
		s := Spec{
			Index:    i,
			Pool:     o.Pools[i%len(o.Pools)].Name,
			Tenant:   fmt.Sprintf("tenant-%d", i%max(o.Tenants, 1)+1),
			Priority: pool.PriorityNormal,
			Units:    o.TaskUnits.Min,
			Hold:     o.Hold.Min,
		}
		if o.TaskUnits.Max > o.TaskUnits.Min {
			s.Units += rng.Int64N(o.TaskUnits.Max - o.TaskUnits.Min + 1)
		}
		if o.Hold.Max > o.Hold.Min {
			s.Hold += time.Duration(rng.Int64N(int64(o.Hold.Max - o.Hold.Min + 1)))
		}
		if o.Priorities == PrioritiesMixed {
			s.Priority = prios[rng.IntN(len(prios))]
		}
		out[i] = s
	}
	return out
}
