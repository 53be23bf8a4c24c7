package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/worker"

	"github.com/parklot/parklot/config"
	"github.com/parklot/parklot/httpapi"
	"github.com/parklot/parklot/internal/testenv"
	"github.com/parklot/parklot/workers/node"
)

// world is a Temporal server with a Parklot node on it (worker, pool
// managers, stores and the node's own HTTP server), plus HTTP handlers
// built over the same node the way the node builds its own: one whose
// trust headers only fill in (open), one whose headers are authoritative
// (strict).
type world struct {
	env     *testenv.Env
	node    *node.Node
	open    *httptest.Server
	strict  *httptest.Server
	openAPI *httpapi.Handler
	opts    httpapi.Options
}

// worldConfig has a pool for every admission outcome the API maps, and a
// parking lot.
const worldConfig = `
defaults:
  mailbox: {backend: memory}
  audit: {backend: memory}
  lease_check_interval: 2s
pools:
  p: {max_units: 2, max_queue_depth: 1, default_timeout: 60s}
  zero: {max_units: 0, max_queue_depth: 0, default_timeout: 60s}
  small: {max_units: 1, max_queue_depth: 5, default_timeout: 60s}
  off: {max_units: 1, max_queue_depth: 5, state: disabled, default_timeout: 60s}
  drain: {max_units: 1, max_queue_depth: 5, state: draining, default_timeout: 60s}
  web: {max_units: 4, max_queue_depth: 10, default_timeout: 60s}
lots:
  garage:
    timezone: UTC
    currency: EUR
    levels:
      - name: G
        rows:
          - {name: A, kind: regular, count: 4}
          - {name: B, kind: compact, count: 2}
      - name: L1
        rows:
          - {name: A, kind: regular, count: 3}
    pricing:
      tiers: [{up_to: 1h, fee: 300}]
      hourly_rate: 200
      daily_cap: 2000
`

func startWorld(t *testing.T) *world {
	t.Helper()
	cfg, err := config.Parse([]byte(worldConfig), config.FormatYAML)
	if err != nil {
		t.Fatalf("test config: %v", err)
	}
	env := testenv.Start(t, cfg, testenv.Options{NoNode: true})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := node.Start(ctx, node.Options{
		Config: cfg, Client: env.Client, Logger: testenv.Logger(), HTTPAddress: "127.0.0.1:0",
		WorkerOptions: worker.Options{DeadlockDetectionTimeout: 10 * time.Second},
	})
	if err != nil {
		t.Fatalf("start node: %v", err)
	}
	t.Cleanup(func() { n.Stop(context.Background()) })
	w := &world{env: env, node: n}
	w.opts = httpapi.Options{
		API: n.API, Stores: n.Stores(), Metrics: prometheus.NewRegistry(), Logger: testenv.Logger(),
		TemporalUIURL: "http://127.0.0.1:8233", Namespace: cfg.Temporal.Namespace,
		StreamPoll: 100 * time.Millisecond, MailboxSettle: 200 * time.Millisecond, Lots: cfg.LotNames(),
	}
	w.openAPI = httpapi.New(w.opts)
	w.open = serve(t, w.openAPI)
	strict := w.opts
	strict.Trust.HeadersAuthoritative = true
	w.strict = serve(t, httpapi.New(strict))
	return w
}

// serve runs h; at the end its streams are closed first, as the node's
// Shutdown does, so that Close does not wait for them.
func serve(t *testing.T, h *httpapi.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		h.CloseStreams()
		srv.Close()
	})
	return srv
}

// response is an HTTP answer read whole (or, for a stream, up to its first
// event).
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) problem(t *testing.T) httpapi.Problem {
	t.Helper()
	var b httpapi.ErrorBody
	if err := json.Unmarshal(r.body, &b); err != nil || b.Error.Code == "" {
		t.Fatalf("status %d: body %q is not an error body (%v)", r.status, r.body, err)
	}
	return b.Error
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("status %d: body %q: %v", r.status, r.body, err)
	}
}

// request is one call; headers alternate name and value.
type request struct {
	method, path, body string
	headers            []string
	stream             bool
}

func (rq request) build(t *testing.T, base string) *http.Request {
	t.Helper()
	var body io.Reader
	if rq.body != "" {
		body = strings.NewReader(rq.body)
	}
	req, err := http.NewRequest(rq.method, base+rq.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if rq.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(rq.headers); i += 2 {
		req.Header.Set(rq.headers[i], rq.headers[i+1])
	}
	return req
}

func do(t *testing.T, srv *httptest.Server, rq request) response {
	t.Helper()
	return send(t, rq.build(t, srv.URL), rq.stream)
}

// send does req; for a stream it reads up to the end of the first event
// that carries data, then hangs up.
func send(t *testing.T, req *http.Request, stream bool) response {
	t.Helper()
	ctx, cancel := context.WithTimeout(req.Context(), 30*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	out := response{status: resp.StatusCode, header: resp.Header}
	if !stream || resp.StatusCode != http.StatusOK {
		out.body, err = io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("%s %s: read: %v", req.Method, req.URL.Path, err)
		}
		return out
	}
	var b strings.Builder
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	sawData := false
	for sc.Scan() {
		line := sc.Text()
		b.WriteString(line + "\n")
		if strings.HasPrefix(line, "data:") {
			sawData = true
		}
		if line == "" && sawData {
			break
		}
	}
	if !sawData {
		t.Fatalf("%s %s: the stream ended without an event: %q (%v)", req.Method, req.URL.Path, b.String(), sc.Err())
	}
	out.body = []byte(b.String())
	return out
}

// eventually retries check until it returns true or d passes.
func eventually(t *testing.T, d time.Duration, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// sseEvent is one Server-Sent Event as a client parses it.
type sseEvent struct {
	id, event, data string
	hasID           bool
}

// sseConn is an open event stream read by a goroutine.
type sseConn struct {
	events chan sseEvent
	cancel context.CancelFunc
	done   chan struct{}
}

// openSSE connects to url (with Last-Event-ID when lastID is set) and
// fails the test unless the answer is a 200 event stream.
func openSSE(t *testing.T, url, lastID string) *sseConn {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("connect %s: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		t.Fatalf("connect %s: %d %s %q", url, resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	c := &sseConn{events: make(chan sseEvent, 100), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.data != "" {
					c.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.id, ev.hasID = strings.TrimPrefix(line, "id: "), true
			case strings.HasPrefix(line, "event: "):
				ev.event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return c
}

func (c *sseConn) next(t *testing.T, timeout time.Duration) (sseEvent, bool) {
	t.Helper()
	select {
	case ev := <-c.events:
		return ev, true
	case <-time.After(timeout):
		return sseEvent{}, false
	}
}

// close hangs up, as a browser tab that is closed or loses the network.
func (c *sseConn) close() {
	c.cancel()
	<-c.done
}
