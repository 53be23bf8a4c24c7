package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"

	"github.com/parklot/parklot/api"
)

// healthTimeout bounds one health check so a hung dependency reports as down
// instead of hanging the prober.
const healthTimeout = 3 * time.Second

// Check is one dependency's health: nil when it is reachable.
type Check func(ctx context.Context) error

// Options are what the handlers need.
type Options struct {
	API     *api.Client
	Metrics *prometheus.Registry
	Logger  *slog.Logger
	// Checks are extra named dependencies (stores) that /health reports.
	Checks map[string]Check
}

// New returns the HTTP handler.
func New(o Options) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", o.health)
	if o.Metrics != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(o.Metrics, promhttp.HandlerOpts{Timeout: 10 * time.Second}))
	}
	return mux
}

// CheckResult is one dependency in the /health answer.
type CheckResult struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// Health is the /health answer; status is "ok" (200) or "unavailable" (503).
type Health struct {
	Status string                 `json:"status"`
	Checks map[string]CheckResult `json:"checks"`
}

func (o Options) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	checks := map[string]Check{"temporal": func(ctx context.Context) error {
		_, err := o.API.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	}}
	for name, c := range o.Checks {
		checks[name] = c
	}
	h := Health{Status: "ok", Checks: map[string]CheckResult{}}
	for name, check := range checks {
		if err := check(ctx); err != nil {
			h.Status = "unavailable"
			h.Checks[name] = CheckResult{Error: err.Error()}
			continue
		}
		h.Checks[name] = CheckResult{OK: true}
	}
	code := http.StatusOK
	if h.Status != "ok" {
		code = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(h)
}
