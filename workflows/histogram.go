package workflows

import "time"

// LatencyBuckets are the upper bounds, in seconds, of the pool managers'
// latency histograms: fine below a second, where the scheduler's own
// overhead shows, coarse above it, where queueing dominates.
var LatencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800}

// Histogram is a latency histogram (per-bucket counts) that a workflow can keep
// in its state and carry across continue-as-new; metrics turn it into a
// Prometheus histogram without sampling.
type Histogram struct {
	// Counts[i] counts observations <= LatencyBuckets[i] and > the bound
	// before it; the last element counts those above every bound.
	Counts []uint64 `json:"counts"`
	Sum    float64  `json:"sum"`
	Count  uint64   `json:"count"`
}

// Observe records one latency.
func (h *Histogram) Observe(d time.Duration) {
	if len(h.Counts) != len(LatencyBuckets)+1 {
		h.Counts = make([]uint64, len(LatencyBuckets)+1)
	}
	s := d.Seconds()
	i := 0
	for i < len(LatencyBuckets) && s > LatencyBuckets[i] {
		i++
	}
	h.Counts[i]++
	h.Sum += s
	h.Count++
}

// Cumulative returns the counts per upper bound as Prometheus wants them.
func (h Histogram) Cumulative() map[float64]uint64 {
	out := make(map[float64]uint64, len(LatencyBuckets))
	var acc uint64
	for i, b := range LatencyBuckets {
		if i < len(h.Counts) {
			acc += h.Counts[i]
		}
		out[b] = acc
	}
	return out
}
