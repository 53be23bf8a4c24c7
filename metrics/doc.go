// Package metrics owns Parklot's Prometheus metrics. Pool figures are read
// from the pool managers at scrape time, so they are the managers' own
// numbers (exact counters and histograms kept in workflow state), never
// samples taken by a worker that may have restarted.
package metrics
