// Package httpapi owns Parklot's HTTP surface served by every worker:
// /health (is Temporal reachable) and /metrics (Prometheus). It talks to
// Temporal only through package api.
package httpapi
