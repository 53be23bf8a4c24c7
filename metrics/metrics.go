package metrics

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/parklot/parklot/domain/pool"
	"github.com/parklot/parklot/workflows"
)

// PoolReader reads a pool manager's state; *api.Client implements it.
type PoolReader interface {
	Pool(ctx context.Context, name string) (workflows.PoolState, error)
}

// scrapeTimeout bounds how long one scrape waits for the managers.
const scrapeTimeout = 5 * time.Second

var (
	labels       = []string{"pool"}
	descUp       = prometheus.NewDesc("parklot_pool_up", "1 when the pool manager answered this scrape.", labels, nil)
	descMax      = prometheus.NewDesc("parklot_pool_max_units", "Configured capacity of the pool.", labels, nil)
	descActive   = prometheus.NewDesc("parklot_pool_active_units", "Units held by running tasks (max of declared and reported usage).", labels, nil)
	descQueue    = prometheus.NewDesc("parklot_pool_queue_length", "Tasks waiting in the pool's queue.", labels, nil)
	descHolders  = prometheus.NewDesc("parklot_pool_running_tasks", "Tasks holding units.", labels, nil)
	descAdmitted = prometheus.NewDesc("parklot_pool_admissions_total", "Tasks that started, at once (how=immediate) or from the queue (how=queued).", []string{"pool", "how"}, nil)
	descRejected = prometheus.NewDesc("parklot_pool_rejections_total", "Submissions refused, by reason.", []string{"pool", "reason"}, nil)
	descOutcomes = prometheus.NewDesc("parklot_pool_events_total", "Other pool events: queued, expired, dropped, released, reclaimed, usage_exceeded.", []string{"pool", "event"}, nil)
	descWait     = prometheus.NewDesc("parklot_pool_wait_seconds", "Time granted tasks spent queued.", labels, nil)
	descR2G      = prometheus.NewDesc("parklot_pool_release_to_grant_seconds", "Time from a release to the grant of a task the freed units admitted.", labels, nil)
)

// PoolCollector exports every configured pool's state.
type PoolCollector struct {
	reader PoolReader
	pools  []string
	logger *slog.Logger
}

// NewPoolCollector collects the named pools through reader.
func NewPoolCollector(reader PoolReader, pools []string, logger *slog.Logger) *PoolCollector {
	sorted := append([]string(nil), pools...)
	sort.Strings(sorted)
	return &PoolCollector{reader: reader, pools: sorted, logger: logger}
}

// NewRegistry returns a registry with the Go runtime, process and pool
// collectors, ready for promhttp.
func NewRegistry(pools *PoolCollector) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if pools != nil {
		reg.MustRegister(pools)
	}
	return reg
}

// Describe implements prometheus.Collector.
func (c *PoolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descUp, descMax, descActive, descQueue, descHolders, descAdmitted, descRejected, descOutcomes, descWait, descR2G} {
		ch <- d
	}
}

// Collect queries every pool at once and emits what answered.
func (c *PoolCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	states := make([]*workflows.PoolState, len(c.pools))
	var wg sync.WaitGroup
	for i, name := range c.pools {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := c.reader.Pool(ctx, name)
			if err != nil {
				if c.logger != nil {
					c.logger.Debug("pool state not read for metrics", "pool", name, "err", err)
				}
				return
			}
			states[i] = &st
		}()
	}
	wg.Wait()
	for i, name := range c.pools {
		st := states[i]
		if st == nil {
			ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 0, name)
			continue
		}
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 1, name)
		emitPool(ch, name, st)
	}
}

func emitPool(ch chan<- prometheus.Metric, name string, st *workflows.PoolState) {
	gauge := func(d *prometheus.Desc, v float64, lv ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append([]string{name}, lv...)...)
	}
	counter := func(d *prometheus.Desc, v int64, lv ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), append([]string{name}, lv...)...)
	}
	gauge(descMax, float64(st.Config.MaxUnits))
	gauge(descActive, float64(st.ActiveUnits))
	gauge(descQueue, float64(len(st.Queue)))
	gauge(descHolders, float64(len(st.Holders)))
	k := st.Counters
	counter(descAdmitted, k.Admitted, "immediate")
	counter(descAdmitted, k.Granted, "queued")
	reasons := make([]string, 0, len(k.Rejected))
	for r := range k.Rejected {
		reasons = append(reasons, string(r))
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		counter(descRejected, k.Rejected[pool.Reason(r)], r)
	}
	for _, e := range []struct {
		event string
		v     int64
	}{{"queued", k.Queued}, {"expired", k.Expired}, {"dropped", k.Dropped}, {"released", k.Released}, {"reclaimed", k.Reclaimed}, {"usage_exceeded", k.UsageExceeded}} {
		counter(descOutcomes, e.v, e.event)
	}
	for _, h := range []struct {
		d *prometheus.Desc
		h workflows.Histogram
	}{{descWait, st.Wait}, {descR2G, st.ReleaseToGrant}} {
		ch <- prometheus.MustNewConstHistogram(h.d, h.h.Count, h.h.Sum, h.h.Cumulative(), name)
	}
}
