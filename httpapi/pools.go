package httpapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/parklot/parklot/api"
	"github.com/parklot/parklot/domain/pool"
	"github.com/parklot/parklot/workflows"
)

// Pool is one pool's configuration and live state.
type Pool struct {
	Pool          string      `json:"pool"`
	State         pool.State  `json:"state"`
	Policy        pool.Policy `json:"policy"`
	MaxUnits      int64       `json:"maxUnits"`
	ActiveUnits   int64       `json:"activeUnits"`
	FreeUnits     int64       `json:"freeUnits"`
	QueueLength   int         `json:"queueLength"`
	MaxQueueDepth int         `json:"maxQueueDepth"`
	// DefaultTimeout is a Go duration such as 1m0s.
	DefaultTimeout string        `json:"defaultTimeout"`
	Counters       pool.Counters `json:"counters"`
	// WaitP95Seconds is the 95th percentile of how long granted tasks
	// waited in the queue, estimated from the manager's histogram; null
	// until a task has waited.
	WaitP95Seconds *float64  `json:"waitP95Seconds"`
	WaitCount      uint64    `json:"waitCount"`
	Holders        []Holder  `json:"holders"`
	Queue          []Waiting `json:"queue"`
}

// Holder is a task holding units.
type Holder struct {
	TaskID     string        `json:"taskId"`
	Tenant     string        `json:"tenant"`
	Priority   pool.Priority `json:"priority"`
	Units      int64         `json:"units"`
	UsedUnits  int64         `json:"usedUnits,omitempty"`
	GrantedAt  time.Time     `json:"grantedAt"`
	LeaseUntil time.Time     `json:"leaseUntil,omitzero"`
}

// Waiting is a queued task.
type Waiting struct {
	TaskID   string        `json:"taskId"`
	Tenant   string        `json:"tenant"`
	Priority pool.Priority `json:"priority"`
	Units    int64         `json:"units"`
	Position int           `json:"position"`
	QueuedAt time.Time     `json:"queuedAt"`
	Deadline time.Time     `json:"deadline,omitzero"`
}

// PoolList is the answer of GET /pools.
type PoolList struct {
	Pools []Pool `json:"pools"`
}

func poolView(st workflows.PoolState) Pool {
	p := Pool{
		Pool: st.Pool, State: st.State, Policy: st.Config.Policy, MaxUnits: st.Config.MaxUnits,
		ActiveUnits: st.ActiveUnits, FreeUnits: st.FreeUnits, QueueLength: len(st.Queue),
		MaxQueueDepth: st.Config.MaxQueueDepth, DefaultTimeout: st.Config.DefaultTimeout.String(),
		Counters: st.Counters, WaitCount: st.Wait.Count,
		Holders: make([]Holder, 0, len(st.Holders)), Queue: make([]Waiting, 0, len(st.Queue)),
	}
	if p.State == "" {
		p.State = pool.StateActive
	}
	if q, ok := Quantile(st.Wait, 0.95); ok {
		p.WaitP95Seconds = &q
	}
	for _, hv := range st.Holders {
		p.Holders = append(p.Holders, Holder{TaskID: hv.TaskID, Tenant: hv.Tenant, Priority: hv.Priority, Units: hv.Units,
			UsedUnits: hv.UsedUnits, GrantedAt: hv.GrantedAt, LeaseUntil: hv.LeaseUntil})
	}
	for _, qv := range st.Queue {
		p.Queue = append(p.Queue, Waiting{TaskID: qv.TaskID, Tenant: qv.Tenant, Priority: qv.Priority, Units: qv.Units,
			Position: qv.Position, QueuedAt: qv.QueuedAt, Deadline: qv.Deadline})
	}
	return p
}

// Quantile estimates the q-quantile (0 < q <= 1) of a latency histogram in
// seconds the way Prometheus' histogram_quantile does: find the bucket
// holding the rank and interpolate linearly inside it. Observations above
// the last bound are reported as that bound, the best lower estimate. ok is
// false for an empty histogram.
func Quantile(h workflows.Histogram, q float64) (seconds float64, ok bool) {
	var total uint64
	for _, c := range h.Counts {
		total += c
	}
	if total == 0 {
		return 0, false
	}
	bounds := workflows.LatencyBuckets
	rank := q * float64(total)
	var below float64
	for i, c := range h.Counts {
		if c == 0 {
			continue
		}
		if below+float64(c) >= rank {
			if i >= len(bounds) {
				return bounds[len(bounds)-1], true
			}
			lower := 0.0
			if i > 0 {
				lower = bounds[i-1]
			}
			return lower + (bounds[i]-lower)*(rank-below)/float64(c), true
		}
		below += float64(c)
	}
	return bounds[len(bounds)-1], true
}

func (h *Handler) readPool(ctx context.Context, name string) (Pool, error) {
	st, err := h.o.API.Pool(ctx, name)
	if errors.Is(err, api.ErrNotFound) {
		return Pool{}, errorf(http.StatusNotFound, string(pool.ReasonUnknownPool), "", "no pool %q is running: GET /pools lists the pools", name)
	}
	if err != nil {
		return Pool{}, err
	}
	return poolView(st), nil
}

func (h *Handler) listPools(w http.ResponseWriter, r *http.Request) {
	names, err := h.pools.get(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := PoolList{Pools: make([]Pool, 0, len(names))}
	for _, name := range names {
		p, err := h.readPool(r.Context(), name)
		var he *httpError
		if errors.As(err, &he) && he.status == http.StatusNotFound {
			continue // gone since the names were read
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		out.Pools = append(out.Pools, p)
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) getPool(w http.ResponseWriter, r *http.Request) {
	p, err := h.readPool(r.Context(), r.PathValue("pool"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}
