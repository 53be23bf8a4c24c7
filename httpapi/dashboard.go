package httpapi

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"sync"
	"time"

	"github.com/parklot/parklot/domain/audit"
)

// The dashboard is one page of plain HTML, CSS and JavaScript embedded in
// the binary: no build step, nothing fetched from elsewhere.
//
//go:embed web
var webFiles embed.FS

var webRoot, _ = fs.Sub(webFiles, "web")

// contentSecurityPolicy lets the page load only its own assets and talk
// only to this server; links into the Temporal UI are plain navigation.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Dashboard refresh: a snapshot is built every second while someone
// watches, sent when it changed, and at least every dashboardResend so the
// page can show it is live.
const (
	dashboardEvery     = time.Second
	dashboardResend    = 10 * time.Second
	dashboardFeed      = 30
	dashboardAdmitted  = 8
	dashboardBuildTime = 5 * time.Second
)

// Snapshot is what the dashboard shows; /dashboard/events streams it.
type Snapshot struct {
	At time.Time `json:"at"`
	// WorkflowURLPrefix followed by the URL-escaped workflow id (task/<id>)
	// opens a workflow in the Temporal UI; empty when no UI is configured.
	WorkflowURLPrefix string `json:"workflowUrlPrefix,omitempty"`
	Pools             []Pool `json:"pools"`
	// Lots are the parking lots' occupancy and today's revenue.
	Lots []LotView `json:"lots"`
	// Admissions are each pool's latest started tasks, newest first.
	Admissions map[string][]Admission `json:"admissions"`
	// Events are the newest audit events of every pool, newest first.
	Events []audit.Event `json:"events"`
	// Errors say what could not be read this time; the rest is shown.
	Errors []string `json:"errors,omitempty"`
}

// Admission is a task that started, from the audit trail.
type Admission struct {
	TaskID string    `json:"taskId"`
	Tenant string    `json:"tenant,omitempty"`
	At     time.Time `json:"at"`
}

func (h *Handler) snapshot(ctx context.Context) Snapshot {
	snap := Snapshot{At: time.Now().UTC(), WorkflowURLPrefix: h.workflowURLPrefix(), Pools: []Pool{},
		Lots: []LotView{}, Admissions: map[string][]Admission{}, Events: []audit.Event{}}
	names, err := h.pools.get(ctx)
	if err != nil {
		snap.Errors = append(snap.Errors, "pools: "+toHTTPError(err).Message)
	}
	stores := h.auditStores()
	for _, name := range names {
		p, err := h.readPool(ctx, name)
		if err != nil {
			snap.Errors = append(snap.Errors, "pool "+name+": "+toHTTPError(err).Message)
			continue
		}
		admitted := []Admission{}
		if len(stores) > 0 {
			started, err := mergedQuery(ctx, stores, audit.Query{Subject: audit.Pool(name), Types: []audit.Type{audit.TypeStarted}, Limit: dashboardAdmitted})
			if err != nil {
				snap.Errors = append(snap.Errors, "audit of pool "+name+": "+err.Error())
			}
			for _, e := range started {
				a := Admission{At: e.At}
				for _, s := range e.Subjects {
					switch s.Kind {
					case audit.KindTask:
						a.TaskID = s.ID
					case audit.KindTenant:
						a.Tenant = s.ID
					}
				}
				admitted = append(admitted, a)
			}
			feed, err := mergedQuery(ctx, stores, audit.Query{Subject: audit.Pool(name), Limit: dashboardFeed})
			if err == nil {
				snap.Events = append(snap.Events, feed...)
			}
		}
		snap.Pools = append(snap.Pools, p)
		snap.Admissions[name] = admitted
	}
	for _, name := range h.lotNames() {
		lv, err := h.readLot(ctx, name)
		if err != nil {
			snap.Errors = append(snap.Errors, "lot "+name+": "+toHTTPError(err).Message)
			continue
		}
		snap.Lots = append(snap.Lots, lv)
		if len(stores) > 0 {
			feed, err := mergedQuery(ctx, stores, audit.Query{Subject: audit.Subject{Kind: audit.KindLot, ID: name}, Limit: dashboardFeed})
			if err == nil {
				snap.Events = append(snap.Events, feed...)
			}
		}
	}
	slices.SortFunc(snap.Events, audit.NewestFirst)
	snap.Events = slices.CompactFunc(snap.Events, func(a, b audit.Event) bool { return a.EventID == b.EventID })
	snap.Events = snap.Events[:min(dashboardFeed, len(snap.Events))]
	return snap
}

func (h *Handler) dashboardSnapshot(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, h.snapshot(r.Context()))
}

func (h *Handler) dashboardPage(w http.ResponseWriter, r *http.Request) {
	h.serveWeb(w, r, "index.html")
}

func (h *Handler) dashboardAsset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	if name == "index.html" || path.Base(name) != name {
		writeError(w, http.StatusNotFound, Problem{Code: CodeNotFound, Message: "no dashboard asset " + name})
		return
	}
	h.serveWeb(w, r, name)
}

func (h *Handler) serveWeb(w http.ResponseWriter, r *http.Request, name string) {
	data, err := fs.ReadFile(webRoot, name)
	if err != nil {
		writeError(w, http.StatusNotFound, Problem{Code: CodeNotFound, Message: "no dashboard asset " + name})
		return
	}
	types := map[string]string{".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
	w.Header().Set("Content-Type", types[path.Ext(name)])
	w.Header().Set("Content-Security-Policy", contentSecurityPolicy)
	w.Header().Set("Referrer-Policy", "no-referrer")
	// The assets change with the binary; a reload after an upgrade must
	// not mix versions.
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
}

func (h *Handler) dashboardEvents(w http.ResponseWriter, r *http.Request) {
	done, err := h.openStream()
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer done()
	updates, unsubscribe := h.dash.subscribe()
	defer unsubscribe()
	sse, err := startSSE(w, 2*time.Second)
	if err != nil {
		return
	}
	defer sse.end()
	keepAlive := time.NewTicker(keepAliveEvery)
	defer keepAlive.Stop()
	maxAge := time.NewTimer(h.o.StreamMaxAge)
	defer maxAge.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-h.shutdown:
			return
		case <-maxAge.C:
			return
		case <-keepAlive.C:
			if sse.comment("keep-alive") != nil {
				return
			}
		case data := <-updates:
			if sse.event("", "snapshot", data) != nil {
				return
			}
		}
	}
}

// dashboardHub builds snapshots once for every watching page: one
// goroutine while at least one page is subscribed, none otherwise.
type dashboardHub struct {
	h       *Handler
	mu      sync.Mutex
	subs    map[chan []byte]struct{}
	running bool
	last    []byte // the last snapshot sent
	lastKey []byte // the same without its time, to see changes
	sentAt  time.Time
}

func newDashboardHub(h *Handler) *dashboardHub {
	return &dashboardHub{h: h, subs: map[chan []byte]struct{}{}}
}

// subscribe returns a channel that always holds the newest snapshot not yet
// taken; the first one comes at once when there is one.
func (d *dashboardHub) subscribe() (<-chan []byte, func()) {
	ch := make(chan []byte, 1)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.subs[ch] = struct{}{}
	if d.last != nil {
		ch <- d.last
	}
	if !d.running {
		d.running = true
		go d.run()
	}
	return ch, func() {
		d.mu.Lock()
		delete(d.subs, ch)
		d.mu.Unlock()
	}
}

func (d *dashboardHub) run() {
	tick := time.NewTicker(dashboardEvery)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), dashboardBuildTime)
		snap := d.h.snapshot(ctx)
		cancel()
		data, _ := json.Marshal(snap)
		snap.At = time.Time{}
		key, _ := json.Marshal(snap)

		d.mu.Lock()
		if len(d.subs) == 0 {
			d.running, d.last, d.lastKey = false, nil, nil
			d.mu.Unlock()
			return
		}
		if !bytes.Equal(key, d.lastKey) || time.Since(d.sentAt) >= dashboardResend {
			d.last, d.lastKey, d.sentAt = data, key, time.Now()
			for ch := range d.subs {
				select {
				case <-ch: // replace what the page has not taken yet
				default:
				}
				ch <- data
			}
		}
		d.mu.Unlock()

		select {
		case <-tick.C:
		case <-d.h.shutdown:
			d.mu.Lock()
			d.running = false
			d.mu.Unlock()
			return
		}
	}
}
