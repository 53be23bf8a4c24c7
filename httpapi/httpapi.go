package httpapi

import (
	"cmp"
	"context"
	_ "embed"
	"encoding/json"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"

	"github.com/parklot/parklot/activities"
	"github.com/parklot/parklot/api"
)

// Defaults of the Options fields left zero.
const (
	DefaultTenantHeader   = "X-Parklot-Tenant"
	DefaultUserHeader     = "X-Parklot-User"
	DefaultSessionHeader  = "X-Parklot-Session"
	DefaultMaxBodyBytes   = 1 << 20
	DefaultRequestTimeout = 30 * time.Second
	DefaultStreamPoll     = 500 * time.Millisecond
	DefaultStreamMaxAge   = 30 * time.Minute
	DefaultMaxStreams     = 256
	DefaultMailboxSettle  = time.Second
)

// healthTimeout bounds one health check so a hung dependency reports as down
// instead of hanging the prober.
const healthTimeout = 3 * time.Second

// Check is one dependency's health: nil when it is reachable.
type Check func(ctx context.Context) error

// Options are what the handlers need. Zero values take the defaults above.
type Options struct {
	API     *api.Client
	Metrics *prometheus.Registry
	Logger  *slog.Logger
	// Checks are extra named dependencies (stores) that /health reports.
	Checks map[string]Check
	// Stores are the node's stores: /audit and the dashboard's event feed
	// read their audit stores. Nil: /audit answers 503.
	Stores *activities.Stores
	// TemporalUIURL is the base URL of the Temporal Web UI, such as
	// http://127.0.0.1:8233; task views and the dashboard link into it.
	// Empty: no links.
	TemporalUIURL string
	// Namespace is the Temporal namespace the links open; empty means
	// "default".
	Namespace string
	// Lots are the parking lots the dashboard shows (the configured ones);
	// GET /lots/{lot} answers for any running lot.
	Lots []string
	// Trust says which headers carry the caller's identity.
	Trust Trust
	// MaxBodyBytes caps request bodies; default 1 MiB.
	MaxBodyBytes int64
	// RequestTimeout bounds every non-streaming request; default 30s.
	RequestTimeout time.Duration
	// StreamPoll is how often a mailbox stream reads its mailbox; default
	// 500ms.
	StreamPoll time.Duration
	// StreamMaxAge ends a stream after this long, so that no connection is
	// held forever; EventSource clients reconnect and resume. Default 30m.
	StreamMaxAge time.Duration
	// MaxStreams bounds the open event streams; past it a stream request
	// gets 503. Default 256.
	MaxStreams int
	// MailboxSettle holds a mailbox message back from a stream until it is
	// this old, so that outcomes delivered out of order in a burst still go
	// out in mailbox order; default 1s. See mailboxStream.
	MailboxSettle time.Duration
}

// Trust is the trust boundary: authentication happens upstream, and the
// gateway passes who the caller is in these headers.
type Trust struct {
	// Header names; empty fields take the defaults X-Parklot-Tenant,
	// X-Parklot-User and X-Parklot-Session.
	TenantHeader, UserHeader, SessionHeader string
	// HeadersAuthoritative makes the headers the only source of identity:
	// tenant-scoped requests need the tenant header, a tenant, user or
	// session named in the path, query or body must equal its header (403
	// otherwise), and tasks of other tenants are not found. Off, the
	// headers only fill in what a request leaves out.
	HeadersAuthoritative bool
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	o.Trust.TenantHeader = cmp.Or(o.Trust.TenantHeader, DefaultTenantHeader)
	o.Trust.UserHeader = cmp.Or(o.Trust.UserHeader, DefaultUserHeader)
	o.Trust.SessionHeader = cmp.Or(o.Trust.SessionHeader, DefaultSessionHeader)
	o.MaxBodyBytes = cmp.Or(o.MaxBodyBytes, DefaultMaxBodyBytes)
	o.RequestTimeout = cmp.Or(o.RequestTimeout, DefaultRequestTimeout)
	o.StreamPoll = cmp.Or(o.StreamPoll, DefaultStreamPoll)
	o.StreamMaxAge = cmp.Or(o.StreamMaxAge, DefaultStreamMaxAge)
	o.MaxStreams = cmp.Or(o.MaxStreams, DefaultMaxStreams)
	o.MailboxSettle = cmp.Or(o.MailboxSettle, DefaultMailboxSettle)
	o.Namespace = cmp.Or(o.Namespace, "default")
	return o
}

// Handler serves the whole HTTP surface. Register CloseStreams with
// http.Server.RegisterOnShutdown so that Shutdown does not wait for event
// streams, which never go idle on their own.
type Handler struct {
	o        Options
	mux      *http.ServeMux
	shutdown chan struct{}
	closed   sync.Once
	streams  atomic.Int64
	dash     *dashboardHub
	pools    poolNames
	prom     http.Handler
	revenue  revenueCache
}

// New returns the HTTP handler.
func New(o Options) *Handler {
	h := &Handler{o: o.withDefaults(), mux: http.NewServeMux(), shutdown: make(chan struct{})}
	h.pools.api = h.o.API
	if h.o.Metrics != nil {
		h.prom = promhttp.HandlerFor(h.o.Metrics, promhttp.HandlerOpts{Timeout: 10 * time.Second})
	}
	h.dash = newDashboardHub(h)
	for _, rt := range h.routes() {
		h.mux.Handle(rt.Method+" "+muxPath(rt.Path), h.wrap(rt))
	}
	return h
}

// route is one endpoint; Path is spelled as in docs/openapi.yaml.
type route struct {
	Method, Path string
	// Stream routes answer Server-Sent Events: no request timeout, and they
	// end on shutdown.
	Stream  bool
	handler http.HandlerFunc
}

func (h *Handler) routes() []route {
	return []route{
		{Method: "GET", Path: "/", handler: h.dashboardPage},
		{Method: "GET", Path: "/dashboard/assets/{file}", handler: h.dashboardAsset},
		{Method: "GET", Path: "/dashboard/snapshot", handler: h.dashboardSnapshot},
		{Method: "GET", Path: "/dashboard/events", Stream: true, handler: h.dashboardEvents},
		{Method: "GET", Path: "/openapi.yaml", handler: h.openAPI},
		{Method: "GET", Path: "/health", handler: h.health},
		{Method: "GET", Path: "/metrics", handler: h.metrics},
		{Method: "GET", Path: "/pools", handler: h.listPools},
		{Method: "GET", Path: "/pools/{pool}", handler: h.getPool},
		{Method: "POST", Path: "/pools/{pool}/tasks", handler: h.submit},
		{Method: "GET", Path: "/pools/{pool}/tasks/{id}", handler: h.getTask},
		{Method: "DELETE", Path: "/pools/{pool}/tasks/{id}", handler: h.cancelTask},
		{Method: "GET", Path: "/mailbox/{tenant}", handler: h.readMailbox},
		{Method: "GET", Path: "/mailbox/{tenant}/events", Stream: true, handler: h.mailboxEvents},
		{Method: "GET", Path: "/audit", handler: h.readAudit},
		{Method: "POST", Path: "/lots/{lot}/park", handler: h.park},
		{Method: "GET", Path: "/lots/{lot}", handler: h.getLot},
		{Method: "POST", Path: "/tickets/{id}/exit", handler: h.exit},
		{Method: "GET", Path: "/tickets/{id}", handler: h.getTicket},
	}
}

// muxPath turns an OpenAPI path into a ServeMux pattern path.
func muxPath(p string) string {
	if p == "/" {
		return "/{$}"
	}
	return p
}

// timeoutBody is what http.TimeoutHandler answers; wrap sets the JSON
// content type beforehand.
var timeoutBody = func() string {
	b, _ := json.Marshal(ErrorBody{Error: Problem{Code: CodeTimeout, Message: "the request took too long; retry later"}})
	return string(b)
}()

func (h *Handler) wrap(rt route) http.Handler {
	var next http.Handler = rt.handler
	if !rt.Stream {
		next = http.TimeoutHandler(next, h.o.RequestTimeout, timeoutBody)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				h.o.Logger.Error("http handler panicked", "method", r.Method, "path", r.URL.Path, "panic", p)
				writeError(w, http.StatusInternalServerError, Problem{Code: CodeInternal, Message: "internal error; the worker's log has the details"})
			}
		}()
		w.Header().Set("X-Content-Type-Options", "nosniff")
		// The handler's own Content-Type replaces this; it stays for the
		// timeout answer.
		w.Header().Set("Content-Type", "application/json")
		next.ServeHTTP(w, r)
	})
}

// ServeHTTP answers unknown paths and methods in the error format too.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := h.mux.Handler(r); pattern == "" {
		rec := &headerRecorder{header: http.Header{}}
		mh, _ := h.mux.Handler(r)
		mh.ServeHTTP(rec, r)
		switch rec.status {
		case http.StatusNotFound:
			writeError(w, http.StatusNotFound, Problem{Code: CodeNotFound, Message: "no endpoint " + r.URL.Path + ": see /openapi.yaml"})
			return
		case http.StatusMethodNotAllowed:
			w.Header().Set("Allow", rec.header.Get("Allow"))
			writeError(w, http.StatusMethodNotAllowed, Problem{Code: CodeMethodNotAllowed,
				Message: r.Method + " is not allowed on " + r.URL.Path + "; allowed: " + rec.header.Get("Allow")})
			return
		}
	}
	h.mux.ServeHTTP(w, r)
}

// headerRecorder captures what the mux's own 404/405 handler answers.
type headerRecorder struct {
	header http.Header
	status int
}

func (r *headerRecorder) Header() http.Header { return r.header }
func (r *headerRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return len(b), nil
}
func (r *headerRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

// CloseStreams ends every open event stream and refuses new ones; the
// clients reconnect to another worker or after the restart.
func (h *Handler) CloseStreams() {
	h.closed.Do(func() { close(h.shutdown) })
}

// openStream counts a stream in; done must be called when it ends.
func (h *Handler) openStream() (done func(), err error) {
	select {
	case <-h.shutdown:
		return nil, errorf(http.StatusServiceUnavailable, CodeUnavailable, "", "the worker is shutting down; reconnect in a moment")
	default:
	}
	if n := h.streams.Add(1); n > int64(h.o.MaxStreams) {
		h.streams.Add(-1)
		return nil, errorf(http.StatusServiceUnavailable, CodeTooManyStreams, "", "%d event streams are open, the maximum; retry later", h.o.MaxStreams)
	}
	return func() { h.streams.Add(-1) }, nil
}

//go:embed openapi.yaml
var openAPIDocument []byte

// OpenAPIDocument is the embedded OpenAPI document served at /openapi.yaml.
func OpenAPIDocument() []byte { return openAPIDocument }

func (h *Handler) openAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("Content-Length", strconv.Itoa(len(openAPIDocument)))
	_, _ = w.Write(openAPIDocument)
}

func (h *Handler) metrics(w http.ResponseWriter, r *http.Request) {
	if h.prom == nil {
		writeError(w, http.StatusServiceUnavailable, Problem{Code: CodeUnavailable, Message: "this worker has no metrics registry"})
		return
	}
	h.prom.ServeHTTP(w, r)
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

func (h *Handler) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	checks := map[string]Check{"temporal": func(ctx context.Context) error {
		_, err := h.o.API.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	}}
	for name, c := range h.o.Checks {
		checks[name] = c
	}
	names := make([]string, 0, len(checks))
	for name := range checks {
		names = append(names, name)
	}
	sort.Strings(names)
	res := Health{Status: "ok", Checks: map[string]CheckResult{}}
	for _, name := range names {
		if err := checks[name](ctx); err != nil {
			res.Status = "unavailable"
			res.Checks[name] = CheckResult{Error: err.Error()}
			continue
		}
		res.Checks[name] = CheckResult{OK: true}
	}
	code := http.StatusOK
	if res.Status != "ok" {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, res)
}

// poolNames caches the names of running pools, which come from Temporal
// visibility: the dashboard asks every second.
type poolNames struct {
	api   *api.Client
	mu    sync.Mutex
	names []string
	at    time.Time
}

const poolNamesTTL = 5 * time.Second

func (p *poolNames) get(ctx context.Context) ([]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.names != nil && time.Since(p.at) < poolNamesTTL {
		return p.names, nil
	}
	names, err := p.api.PoolNames(ctx)
	if err != nil {
		return nil, err
	}
	if names == nil {
		names = []string{}
	}
	p.names, p.at = names, time.Now()
	return names, nil
}
