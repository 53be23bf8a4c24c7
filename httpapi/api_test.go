package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"go.temporal.io/sdk/client"

	"github.com/parklot/parklot/domain/audit"
	"github.com/parklot/parklot/domain/mailbox"
	"github.com/parklot/parklot/httpapi"
	"github.com/parklot/parklot/workflows"
)

// TestHTTPAPIAgainstARealServer runs every part of the HTTP surface against
// one in-process Temporal server with a Parklot node: the subtests share it
// because a server costs seconds to start.
func TestHTTPAPIAgainstARealServer(t *testing.T) {
	w := startWorld(t)
	t.Run("contract: every documented endpoint and status matches docs/openapi.yaml", func(t *testing.T) { testContract(t, w) })
	t.Run("every error path answers its status, code and field", func(t *testing.T) { testErrorPaths(t, w) })
	t.Run("the trust boundary", func(t *testing.T) { testTrustBoundary(t, w) })
	t.Run("a mailbox stream resumes after Last-Event-ID without gaps or repeats", func(t *testing.T) { testMailboxStreamResume(t, w) })
	t.Run("the dashboard in headless Chromium", func(t *testing.T) { testDashboardInChromium(t, w) })
}

var registerDecoders sync.Once

// loadDocument loads docs/openapi.yaml, checks it is valid OpenAPI and
// that the copy the worker serves is the same file.
func loadDocument(t *testing.T) *openapi3.T {
	t.Helper()
	raw, err := os.ReadFile("../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(raw, httpapi.OpenAPIDocument()) {
		t.Fatal("httpapi/openapi.yaml (served at /openapi.yaml) differs from docs/openapi.yaml: edit one and copy it over the other")
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatalf("load docs/openapi.yaml: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("docs/openapi.yaml is not valid OpenAPI: %v", err)
	}
	registerDecoders.Do(func() {
		for _, ct := range []string{"text/event-stream", "text/html", "text/css", "text/javascript"} {
			openapi3filter.RegisterBodyDecoder(ct, openapi3filter.PlainBodyDecoder)
		}
	})
	return doc
}

// contractCall is one request of the contract test and the status it must
// get.
type contractCall struct {
	srv  *httptest.Server
	req  request
	want int
	// badRequest marks requests that break the document on purpose (an
	// out-of-range limit, a body too large): the answer is still checked.
	badRequest bool
}

func testContract(t *testing.T, w *world) {
	doc := loadDocument(t)
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}

	// The code serves exactly the documented operations.
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	served := map[string]bool{}
	for _, rt := range w.openAPI.Routes() {
		served[rt.Method+" "+rt.Path] = true
	}
	for op := range served {
		if !documented[op] {
			t.Errorf("%s is served but not in docs/openapi.yaml", op)
		}
	}
	for op := range documented {
		if !served[op] {
			t.Errorf("%s is in docs/openapi.yaml but not served", op)
		}
	}

	sick := serve(t, httpapi.New(httpapi.Options{API: w.opts.API, Logger: w.opts.Logger,
		Checks: map[string]httpapi.Check{"mailbox": func(context.Context) error { return fmt.Errorf("store unreachable") }}}))
	covered := map[string]bool{}
	check := func(c contractCall) response {
		t.Helper()
		req := c.req.build(t, c.srv.URL)
		route, params, err := router.FindRoute(req)
		if err != nil {
			t.Fatalf("%s %s: not in the document: %v", c.req.method, c.req.path, err)
		}
		in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
		if !c.badRequest {
			if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
				t.Fatalf("%s %s: the request breaks the document: %v", c.req.method, c.req.path, err)
			}
			req = c.req.build(t, c.srv.URL) // validation read the body
		}
		resp := send(t, req, c.req.stream)
		if resp.status != c.want {
			t.Fatalf("%s %s: status %d, want %d: %s", c.req.method, c.req.path, resp.status, c.want, resp.body)
		}
		out := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: in, Status: resp.status, Header: resp.header,
			Options: &openapi3filter.Options{IncludeResponseStatus: true},
		}
		err = openapi3filter.ValidateResponse(context.Background(), out.SetBodyBytes(resp.body))
		if err != nil {
			t.Fatalf("%s %s: the %d answer breaks the document: %v\nbody: %s", c.req.method, c.req.path, resp.status, err, resp.body)
		}
		covered[fmt.Sprintf("%s %s %d", c.req.method, route.Path, resp.status)] = true
		return resp
	}
	open, strict := w.open, w.strict
	post := func(srv *httptest.Server, poolName, body string, want int, headers ...string) response {
		return check(contractCall{srv: srv, want: want, req: request{method: "POST", path: "/pools/" + poolName + "/tasks", body: body, headers: headers}})
	}
	get := func(srv *httptest.Server, path string, want int, headers ...string) response {
		return check(contractCall{srv: srv, want: want, req: request{method: "GET", path: path, headers: headers}})
	}

	// Tasks: a new one runs, the same id again is the existing task, the
	// next one queues, the one after finds the queue full.
	post(open, "p", `{"taskId":"c-run","tenant":"acme","units":2,"kind":"sleep","payload":{"duration":"1m"}}`, http.StatusAccepted)
	post(open, "p", `{"taskId":"c-run","tenant":"acme","units":2,"kind":"sleep","payload":{"duration":"1m"}}`, http.StatusOK)
	post(open, "p", `{"taskId":"c-queued","tenant":"acme","units":1,"kind":"sleep","priority":"high","timeout":"90s"}`, http.StatusAccepted)
	post(open, "p", `{"taskId":"c-full","tenant":"acme","units":1,"kind":"sleep"}`, http.StatusConflict)
	post(open, "nope", `{"taskId":"c-nope","tenant":"acme","units":1,"kind":"sleep"}`, http.StatusNotFound)
	post(open, "p", `{"taskId":"c-past","tenant":"acme","units":1,"kind":"sleep","deadline":"2001-01-01T00:00:00Z"}`, http.StatusBadRequest)
	post(strict, "p", `{"taskId":"c-other","tenant":"acme","units":1,"kind":"sleep"}`, http.StatusForbidden, "X-Parklot-Tenant", "globex")
	check(contractCall{srv: open, want: http.StatusRequestEntityTooLarge, badRequest: true, req: request{method: "POST", path: "/pools/p/tasks",
		body: `{"taskId":"c-big","tenant":"acme","units":1,"kind":"sleep","payload":"` + strings.Repeat("x", 1<<20) + `"}`}})
	check(contractCall{srv: open, want: http.StatusUnsupportedMediaType, badRequest: true, req: request{method: "POST", path: "/pools/p/tasks",
		body: `taskId=x`, headers: []string{"Content-Type", "application/x-www-form-urlencoded"}}})

	get(open, "/pools/p/tasks/c-run", http.StatusOK)
	get(open, "/pools/p/tasks/c-full", http.StatusOK)
	get(open, "/pools/p/tasks/c-missing", http.StatusNotFound)
	get(strict, "/pools/p/tasks/c-run", http.StatusForbidden)
	del := func(srv *httptest.Server, id string, want int, headers ...string) {
		check(contractCall{srv: srv, want: want, req: request{method: "DELETE", path: "/pools/p/tasks/" + id, headers: headers}})
	}
	del(open, "c-queued", http.StatusAccepted)
	del(open, "c-full", http.StatusConflict)
	del(open, "c-missing", http.StatusNotFound)
	del(strict, "c-run", http.StatusForbidden)

	get(open, "/pools", http.StatusOK)
	get(open, "/pools/p", http.StatusOK)
	get(open, "/pools/nope", http.StatusNotFound)

	// Mailbox: the refused and the dropped task leave their outcome there.
	eventually(t, 30*time.Second, "the outcomes of c-full and c-queued reach mailbox acme", func() bool {
		var l httpapi.MessageList
		do(t, open, request{method: "GET", path: "/mailbox/acme"}).decode(t, &l)
		return len(l.Messages) >= 2
	})
	get(open, "/mailbox/acme?limit=10", http.StatusOK)
	check(contractCall{srv: open, want: http.StatusBadRequest, badRequest: true, req: request{method: "GET", path: "/mailbox/acme?limit=5000"}})
	get(strict, "/mailbox/acme", http.StatusForbidden, "X-Parklot-Tenant", "globex")
	check(contractCall{srv: open, want: http.StatusOK, req: request{method: "GET", path: "/mailbox/acme/events", stream: true}})
	get(open, "/mailbox/acme/events?since=yesterday", http.StatusBadRequest)
	get(strict, "/mailbox/acme/events", http.StatusForbidden, "X-Parklot-Tenant", "globex")

	// Audit.
	eventually(t, 30*time.Second, "the audit trail of c-run holds its start", func() bool {
		var l httpapi.EventList
		do(t, open, request{method: "GET", path: "/audit?subject=task:c-run&type=started"}).decode(t, &l)
		return len(l.Events) == 1
	})
	get(open, "/audit?subject=task:c-run&type=submitted&type=started,queued&limit=10&since=2020-01-01T00:00:00Z", http.StatusOK)
	get(open, "/audit?subject=car:42", http.StatusBadRequest)
	get(strict, "/audit?subject=tenant:acme", http.StatusForbidden, "X-Parklot-Tenant", "globex")

	// Parking: a car parks, the same plate again is refused, a bad plate is
	// invalid; the ticket is read, the car leaves and pays.
	var parked httpapi.Parked
	check(contractCall{srv: open, want: http.StatusCreated, req: request{method: "POST", path: "/lots/garage/park",
		body: `{"plate":"b-ab 123","type":"car","wantsEv":false}`}}).decode(t, &parked)
	check(contractCall{srv: open, want: http.StatusConflict, req: request{method: "POST", path: "/lots/garage/park", body: `{"plate":"BAB123"}`}})
	check(contractCall{srv: open, want: http.StatusBadRequest, req: request{method: "POST", path: "/lots/garage/park", body: `{"plate":"B-AB 123!"}`}})
	check(contractCall{srv: open, want: http.StatusNotFound, req: request{method: "POST", path: "/lots/nowhere/park", body: `{"plate":"X1"}`}})
	check(contractCall{srv: open, want: http.StatusRequestEntityTooLarge, badRequest: true, req: request{method: "POST", path: "/lots/garage/park",
		body: `{"plate":"` + strings.Repeat("x", 1<<20) + `"}`}})
	check(contractCall{srv: open, want: http.StatusUnsupportedMediaType, badRequest: true, req: request{method: "POST", path: "/lots/garage/park",
		body: `plate=X1`, headers: []string{"Content-Type", "text/plain"}}})
	get(open, "/lots/garage", http.StatusOK)
	get(open, "/lots/nowhere", http.StatusNotFound)
	get(open, "/tickets/"+parked.TicketID, http.StatusOK)
	get(open, "/tickets/garage-999999", http.StatusNotFound)
	check(contractCall{srv: open, want: http.StatusOK, req: request{method: "POST", path: "/tickets/" + parked.TicketID + "/exit"}})
	check(contractCall{srv: open, want: http.StatusOK, req: request{method: "POST", path: "/tickets/" + parked.TicketID + "/exit", body: `{}`}})
	check(contractCall{srv: open, want: http.StatusNotFound, req: request{method: "POST", path: "/tickets/garage-999999/exit", body: `{"lost":false}`}})
	check(contractCall{srv: open, want: http.StatusBadRequest, req: request{method: "POST", path: "/tickets/no-number/exit"}})
	get(open, "/tickets/"+parked.TicketID, http.StatusOK)

	// Operations and the dashboard.
	get(open, "/health", http.StatusOK)
	get(sick, "/health", http.StatusServiceUnavailable)
	get(open, "/metrics", http.StatusOK)
	get(open, "/openapi.yaml", http.StatusOK)
	get(open, "/", http.StatusOK)
	get(open, "/dashboard/assets/app.js", http.StatusOK)
	get(open, "/dashboard/assets/style.css", http.StatusOK)
	get(open, "/dashboard/assets/nope.js", http.StatusNotFound)
	snap := get(open, "/dashboard/snapshot", http.StatusOK)
	var s httpapi.Snapshot
	snap.decode(t, &s)
	if len(s.Pools) != 6 || len(s.Lots) != 1 || len(s.Events) == 0 || s.WorkflowURLPrefix == "" {
		t.Fatalf("snapshot has %d pools, %d lots, %d events, link prefix %q; want 6, 1, some, set", len(s.Pools), len(s.Lots), len(s.Events), s.WorkflowURLPrefix)
	}
	check(contractCall{srv: open, want: http.StatusOK, req: request{method: "GET", path: "/dashboard/events", stream: true}})

	// Every documented status was seen.
	var missing []string
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for code := range op.Responses.Map() {
				if code == "default" {
					continue
				}
				if key := method + " " + path + " " + code; !covered[key] {
					missing = append(missing, key)
				}
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("documented but never produced by the contract test: %v", missing)
	}
}

func testErrorPaths(t *testing.T, w *world) {
	long := strings.Repeat("x", 300)
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	tests := []struct {
		name      string
		req       request
		status    int
		code      string
		field     string
		noProblem bool
	}{
		{"malformed JSON", request{method: "POST", path: "/pools/p/tasks", body: `{"taskId":`}, 400, "invalid_request", "", false},
		{"not an object", request{method: "POST", path: "/pools/p/tasks", body: `[1]`}, 400, "invalid_request", "", false},
		{"two values", request{method: "POST", path: "/pools/p/tasks", body: `{"taskId":"e"} {}`}, 400, "invalid_request", "", false},
		{"empty body", request{method: "POST", path: "/pools/p/tasks", body: ` `}, 400, "invalid_request", "", false},
		{"unknown field", request{method: "POST", path: "/pools/p/tasks", body: `{"taskId":"e","tenant":"a","units":1,"kind":"sleep","pool":"x"}`}, 400, "invalid_request", "pool", false},
		{"wrong type", request{method: "POST", path: "/pools/p/tasks", body: `{"taskId":"e","tenant":"a","units":"two","kind":"sleep"}`}, 400, "invalid_request", "units", false},
		{"fractional units", request{method: "POST", path: "/pools/p/tasks", body: `{"taskId":"e","tenant":"a","units":1.5,"kind":"sleep"}`}, 400, "invalid_request", "units", false},
		{"no task id", request{method: "POST", path: "/pools/p/tasks", body: `{"tenant":"a","units":1,"kind":"sleep"}`}, 400, "invalid_request", "taskId", false},
		{"task id too long", request{method: "POST", path: "/pools/p/tasks", body: `{"taskId":"` + long + `","tenant":"a","units":1,"kind":"sleep"}`}, 400, "invalid_request", "taskId", false},
		{"task id with a control character", request{method: "POST", path: "/pools/p/tasks", body: `{"taskId":"a\u0007","tenant":"a","units":1,"kind":"sleep"}`}, 400, "invalid_request", "taskId", false},
		{"no tenant", request{method: "POST", path: "/pools/p/tasks", body: `{"taskId":"e","units":1,"kind":"sleep"}`}, 400, "invalid_request", "tenant", false},
		{"tenant with a slash", request{method: "POST", path: "/pools/p/tasks", body: `{"taskId":"e","tenant":"a/b","units":1,"kind":"sleep"}`}, 400, "invalid_request", "tenant", false},
		{"session too long", request{method: "POST", path: "/pools/p/tasks", body: `{"taskId":"e","tenant":"a","sessionId":"` + long + `","units":1,"kind":"sleep"}`}, 400, "invalid_request", "sessionId", false},
		{"unknown priority", request{method: "POST", path: "/pools/p/tasks", body: `{"taskId":"e","tenant":"a","units":1,"kind":"sleep","priority":"urgent"}`}, 400, "invalid_request", "priority", false},
		{"zero units", request{method: "POST", path: "/pools/p/tasks", body: `{"taskId":"e","tenant":"a","units":0,"kind":"sleep"}`}, 400, "invalid_request", "units", false},
		{"no kind", request{method: "POST", path: "/pools/p/tasks", body: `{"taskId":"e","tenant":"a","units":1}`}, 400, "invalid_request", "kind", false},
		{"deadline not RFC3339", request{method: "POST", path: "/pools/p/tasks", body: `{"taskId":"e","tenant":"a","units":1,"kind":"sleep","deadline":"tomorrow"}`}, 400, "invalid_request", "deadline", false},
		{"deadline passed", request{method: "POST", path: "/pools/p/tasks", body: `{"taskId":"e","tenant":"a","units":1,"kind":"sleep","deadline":"2020-01-01T00:00:00Z"}`}, 400, "deadline_passed", "deadline", false},
		{"timeout not a duration", request{method: "POST", path: "/pools/p/tasks", body: `{"taskId":"e","tenant":"a","units":1,"kind":"sleep","timeout":"soon"}`}, 400, "invalid_request", "timeout", false},
		{"timeout negative", request{method: "POST", path: "/pools/p/tasks", body: `{"taskId":"e","tenant":"a","units":1,"kind":"sleep","timeout":"-1s"}`}, 400, "invalid_request", "timeout", false},
		{"timeout too long", request{method: "POST", path: "/pools/p/tasks", body: `{"taskId":"e","tenant":"a","units":1,"kind":"sleep","timeout":"9000h"}`}, 400, "invalid_request", "timeout", false},
		{"body too large", request{method: "POST", path: "/pools/p/tasks", body: `{"taskId":"e","payload":"` + strings.Repeat("x", 1<<20) + `"}`}, 413, "body_too_large", "", false},
		{"not JSON", request{method: "POST", path: "/pools/p/tasks", body: `x`, headers: []string{"Content-Type", "text/plain"}}, 415, "unsupported_media_type", "", false},
		{"unknown pool", request{method: "POST", path: "/pools/nope/tasks", body: `{"taskId":"e-nope","tenant":"a","units":1,"kind":"sleep"}`}, 404, "unknown_pool", "", false},
		{"capacity zero", request{method: "POST", path: "/pools/zero/tasks", body: `{"taskId":"e-zero","tenant":"a","units":1,"kind":"sleep"}`}, 409, "capacity_zero", "units", false},
		{"exceeds capacity", request{method: "POST", path: "/pools/small/tasks", body: `{"taskId":"e-big","tenant":"a","units":2,"kind":"sleep"}`}, 409, "exceeds_capacity", "units", false},
		{"pool disabled", request{method: "POST", path: "/pools/off/tasks", body: `{"taskId":"e-off","tenant":"a","units":1,"kind":"sleep"}`}, 409, "pool_disabled", "", false},
		{"pool draining", request{method: "POST", path: "/pools/drain/tasks", body: `{"taskId":"e-drain","tenant":"a","units":1,"kind":"sleep"}`}, 409, "pool_draining", "", false},
		{"id of a task in another pool", request{method: "POST", path: "/pools/small/tasks", body: `{"taskId":"e-zero","tenant":"a","units":1,"kind":"sleep","deadline":"` + future + `"}`}, 409, "duplicate", "taskId", false},
		{"id of another tenant's task", request{method: "POST", path: "/pools/zero/tasks", body: `{"taskId":"e-zero","tenant":"b","units":1,"kind":"sleep"}`}, 409, "duplicate", "taskId", false},
		{"unknown task", request{method: "GET", path: "/pools/p/tasks/e-missing"}, 404, "not_found", "", false},
		{"task of another pool", request{method: "GET", path: "/pools/p/tasks/e-zero"}, 404, "not_found", "", false},
		{"cancel a finished task", request{method: "DELETE", path: "/pools/zero/tasks/e-zero"}, 409, "task_finished", "", false},
		{"cancel an unknown task", request{method: "DELETE", path: "/pools/p/tasks/e-missing"}, 404, "not_found", "", false},
		{"unknown pool state", request{method: "GET", path: "/pools/nope"}, 404, "unknown_pool", "", false},
		{"mailbox since", request{method: "GET", path: "/mailbox/acme?since=yesterday"}, 400, "invalid_request", "since", false},
		{"mailbox since an unknown message", request{method: "GET", path: "/mailbox/acme?since=" + mailbox.NewMessageID(time.Now())}, 400, "invalid_request", "since", false},
		{"mailbox limit not a number", request{method: "GET", path: "/mailbox/acme?limit=ten"}, 400, "invalid_request", "limit", false},
		{"mailbox limit negative", request{method: "GET", path: "/mailbox/acme?limit=-1"}, 400, "invalid_request", "limit", false},
		{"mailbox limit too high", request{method: "GET", path: "/mailbox/acme?limit=1001"}, 400, "invalid_request", "limit", false},
		{"mailbox user with a slash", request{method: "GET", path: "/mailbox/acme?user=a/b"}, 400, "invalid_request", "user", false},
		{"stream Last-Event-ID", request{method: "GET", path: "/mailbox/acme/events", headers: []string{"Last-Event-ID", "nonsense"}}, 400, "invalid_request", "Last-Event-ID", false},
		{"stream Last-Event-ID unknown", request{method: "GET", path: "/mailbox/acme/events", headers: []string{"Last-Event-ID", mailbox.NewMessageID(time.Now())}}, 400, "invalid_request", "Last-Event-ID", false},
		{"audit without subject", request{method: "GET", path: "/audit"}, 400, "invalid_request", "subject", false},
		{"audit subject kind", request{method: "GET", path: "/audit?subject=car:1"}, 400, "invalid_request", "subject", false},
		{"audit type", request{method: "GET", path: "/audit?subject=task:x&type=started,exploded"}, 400, "invalid_request", "type", false},
		{"audit since", request{method: "GET", path: "/audit?subject=task:x&since=monday"}, 400, "invalid_request", "since", false},
		{"audit empty window", request{method: "GET", path: "/audit?subject=task:x&since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z"}, 400, "invalid_request", "until", false},
		{"audit limit", request{method: "GET", path: "/audit?subject=task:x&limit=100000"}, 400, "invalid_request", "limit", false},
		{"vehicle plate", request{method: "POST", path: "/lots/garage/park", body: `{"plate":"--"}`}, 400, "invalid_vehicle", "plate", false},
		{"vehicle type", request{method: "POST", path: "/lots/garage/park", body: `{"plate":"E1","type":"tank"}`}, 400, "invalid_vehicle", "type", false},
		{"vehicle size", request{method: "POST", path: "/lots/garage/park", body: `{"plate":"E1","size":"huge"}`}, 400, "invalid_vehicle", "size", false},
		{"vehicle unknown field", request{method: "POST", path: "/lots/garage/park", body: `{"plate":"E1","color":"red"}`}, 400, "invalid_request", "color", false},
		{"park at an unknown lot", request{method: "POST", path: "/lots/nowhere/park", body: `{"plate":"E1"}`}, 404, "not_found", "", false},
		{"ticket id without a number", request{method: "POST", path: "/tickets/garage/exit"}, 400, "invalid_ticket", "id", false},
		{"exit an unknown ticket", request{method: "POST", path: "/tickets/garage-000777/exit"}, 404, "unknown_ticket", "", false},
		{"exit at an unknown lot", request{method: "POST", path: "/tickets/nowhere-000001/exit"}, 404, "not_found", "", false},
		{"exit body", request{method: "POST", path: "/tickets/garage-000001/exit", body: `{"lost":"yes"}`}, 400, "invalid_request", "lost", false},
		{"unknown ticket", request{method: "GET", path: "/tickets/garage-000777"}, 404, "not_found", "", false},
		{"unknown lot", request{method: "GET", path: "/lots/nowhere"}, 404, "not_found", "", false},
		{"unknown path", request{method: "GET", path: "/nowhere"}, 404, "not_found", "", false},
		{"wrong method", request{method: "PUT", path: "/pools/p"}, 405, "method_not_allowed", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(t, w.open, tt.req)
			if resp.status != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.status, tt.status, resp.body)
			}
			if ct := resp.header.Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type %q", ct)
			}
			p := resp.problem(t)
			if p.Code != tt.code || p.Field != tt.field || p.Message == "" {
				t.Fatalf("error %+v, want code %s field %q and a message", p, tt.code, tt.field)
			}
		})
	}

	t.Run("a refused id stays free", func(t *testing.T) {
		// Invalid input is refused before a task exists: the same id
		// with valid input is a new task.
		do(t, w.open, request{method: "POST", path: "/pools/p/tasks", body: `{"taskId":"e-free","tenant":"a","units":0,"kind":"sleep"}`})
		do(t, w.open, request{method: "POST", path: "/pools/nope/tasks", body: `{"taskId":"e-free","tenant":"a","units":1,"kind":"sleep"}`})
		if resp := do(t, w.open, request{method: "POST", path: "/pools/small/tasks", body: `{"taskId":"e-free","tenant":"a","units":1,"kind":"sleep","payload":{"duration":"10ms"}}`}); resp.status != http.StatusAccepted {
			t.Fatalf("status %d: %s", resp.status, resp.body)
		}
	})

	t.Run("the request timeout answers 503 timeout", func(t *testing.T) {
		o := w.opts
		o.RequestTimeout = time.Nanosecond
		srv := serve(t, httpapi.New(o))
		resp := do(t, srv, request{method: "GET", path: "/pools"})
		if resp.status != http.StatusServiceUnavailable || resp.problem(t).Code != "timeout" || resp.header.Get("Content-Type") != "application/json" {
			t.Fatalf("%d %s %s", resp.status, resp.header.Get("Content-Type"), resp.body)
		}
	})

	t.Run("streams are bounded and end on shutdown", func(t *testing.T) {
		o := w.opts
		o.MaxStreams = 1
		h := httpapi.New(o)
		srv := serve(t, h)
		first := openSSE(t, srv.URL+"/dashboard/events", "")
		if _, ok := first.next(t, 20*time.Second); !ok {
			t.Fatal("no first snapshot")
		}
		resp := do(t, srv, request{method: "GET", path: "/mailbox/acme/events"})
		if resp.status != http.StatusServiceUnavailable || resp.problem(t).Code != "too_many_streams" {
			t.Fatalf("a second stream: %d %s", resp.status, resp.body)
		}
		h.CloseStreams()
		select {
		case <-first.done:
		case <-time.After(5 * time.Second):
			t.Fatal("CloseStreams did not end the open stream")
		}
		if resp := do(t, srv, request{method: "GET", path: "/dashboard/events"}); resp.status != http.StatusServiceUnavailable {
			t.Fatalf("a stream after shutdown: %d %s", resp.status, resp.body)
		}
	})

	t.Run("a plate parks once", func(t *testing.T) {
		var p httpapi.Parked
		do(t, w.open, request{method: "POST", path: "/lots/garage/park", body: `{"plate":"E3"}`}).decode(t, &p)
		resp := do(t, w.open, request{method: "POST", path: "/lots/garage/park", body: `{"plate":"e 3"}`})
		if resp.status != http.StatusConflict || resp.problem(t).Code != "duplicate_plate" {
			t.Fatalf("the same plate again: %d %s", resp.status, resp.body)
		}
		if resp := do(t, w.open, request{method: "POST", path: "/tickets/" + p.TicketID + "/exit", body: `{"lost":true}`}); resp.status != http.StatusOK {
			t.Fatalf("exit: %d %s", resp.status, resp.body)
		}
	})

	t.Run("a lot sums today's exits", func(t *testing.T) {
		var p httpapi.Parked
		if resp := do(t, w.open, request{method: "POST", path: "/lots/garage/park", body: `{"plate":"REV 1"}`}); resp.status != http.StatusCreated {
			t.Fatalf("park: %d %s", resp.status, resp.body)
		} else {
			resp.decode(t, &p)
		}
		var before httpapi.LotView
		w.openAPI.ForgetRevenue()
		do(t, w.open, request{method: "GET", path: "/lots/garage"}).decode(t, &before)
		var out httpapi.Exited
		do(t, w.open, request{method: "POST", path: "/tickets/" + p.TicketID + "/exit"}).decode(t, &out)
		if out.Amount != 300 || out.Currency != "EUR" || out.Status != "closed" {
			t.Fatalf("exit: %+v, want 300 EUR closed", out)
		}
		eventually(t, 30*time.Second, "the exit is in today's revenue", func() bool {
			var after httpapi.LotView
			w.openAPI.ForgetRevenue()
			do(t, w.open, request{method: "GET", path: "/lots/garage"}).decode(t, &after)
			return after.RevenueToday != nil && before.RevenueToday != nil &&
				after.RevenueToday.Amount == before.RevenueToday.Amount+300 && after.RevenueToday.Exits == before.RevenueToday.Exits+1
		})
	})

	t.Run("a task links into the Temporal UI", func(t *testing.T) {
		var task httpapi.Task
		do(t, w.open, request{method: "GET", path: "/pools/zero/tasks/e-zero"}).decode(t, &task)
		want := "http://127.0.0.1:8233/namespaces/" + url.PathEscape(w.env.Config.Temporal.Namespace) + "/workflows/task%2Fe-zero"
		if task.TemporalURL != want || task.Status != workflows.StatusRejected || task.Reason != "capacity_zero" {
			t.Fatalf("task %+v, want link %s", task, want)
		}
	})
}

func testTrustBoundary(t *testing.T, w *world) {
	submit := func(srv *httptest.Server, body string, headers ...string) response {
		return do(t, srv, request{method: "POST", path: "/pools/small/tasks", body: body, headers: headers})
	}
	taskOf := func(id string) workflows.TaskStatus {
		st, err := w.node.API.Status(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	const task = `"units":1,"kind":"sleep","payload":{"duration":"10ms"}`

	t.Run("open: the headers fill in what the request leaves out", func(t *testing.T) {
		resp := submit(w.open, `{"taskId":"tb-1",`+task+`}`, "X-Parklot-Tenant", "acme", "X-Parklot-User", "ann", "X-Parklot-Session", "s1")
		if resp.status != http.StatusAccepted {
			t.Fatalf("%d %s", resp.status, resp.body)
		}
		if st := taskOf("tb-1"); st.Tenant != "acme" || st.User != "ann" || st.Session != "s1" {
			t.Fatalf("task identity %s/%s/%s, want acme/ann/s1", st.Tenant, st.User, st.Session)
		}
		resp = submit(w.open, `{"taskId":"tb-2","tenant":"globex",`+task+`}`, "X-Parklot-Tenant", "acme")
		if resp.status != http.StatusAccepted || taskOf("tb-2").Tenant != "globex" {
			t.Fatalf("the body's tenant did not win without authority: %d %s", resp.status, resp.body)
		}
	})

	t.Run("authoritative: a differing tenant, user or session is forbidden", func(t *testing.T) {
		for _, c := range []struct {
			body, field string
			headers     []string
		}{
			{`{"taskId":"tb-3","tenant":"globex",` + task + `}`, "tenant", []string{"X-Parklot-Tenant", "acme"}},
			{`{"taskId":"tb-3","tenant":"acme",` + task + `}`, "tenant", nil},
			{`{"taskId":"tb-3","userId":"bob",` + task + `}`, "userId", []string{"X-Parklot-Tenant", "acme", "X-Parklot-User", "ann"}},
			{`{"taskId":"tb-3","sessionId":"s2",` + task + `}`, "sessionId", []string{"X-Parklot-Tenant", "acme", "X-Parklot-Session", "s1"}},
		} {
			resp := submit(w.strict, c.body, c.headers...)
			if resp.status != http.StatusForbidden || resp.problem(t).Code != "forbidden" || resp.problem(t).Field != c.field {
				t.Fatalf("%s with %v: %d %s; want 403 on %s", c.body, c.headers, resp.status, resp.body, c.field)
			}
		}
		if _, err := w.node.API.Status(context.Background(), "tb-3"); err == nil {
			t.Fatal("a forbidden submission created the task")
		}
		resp := submit(w.strict, `{"taskId":"tb-3","tenant":"acme",`+task+`}`, "X-Parklot-Tenant", "acme")
		if resp.status != http.StatusAccepted {
			t.Fatalf("an agreeing tenant: %d %s", resp.status, resp.body)
		}
	})

	t.Run("authoritative: another tenant's task is not found", func(t *testing.T) {
		for _, method := range []string{"GET", "DELETE"} {
			resp := do(t, w.strict, request{method: method, path: "/pools/small/tasks/tb-3", headers: []string{"X-Parklot-Tenant", "globex"}})
			if resp.status != http.StatusNotFound {
				t.Fatalf("%s as globex: %d %s", method, resp.status, resp.body)
			}
		}
		if resp := do(t, w.strict, request{method: "GET", path: "/pools/small/tasks/tb-3", headers: []string{"X-Parklot-Tenant", "acme"}}); resp.status != http.StatusOK {
			t.Fatalf("GET as acme: %d %s", resp.status, resp.body)
		}
	})

	t.Run("authoritative: mailbox path, user and session must match the headers", func(t *testing.T) {
		for _, c := range []struct {
			path    string
			headers []string
			want    int
		}{
			{"/mailbox/acme", []string{"X-Parklot-Tenant", "globex"}, http.StatusForbidden},
			{"/mailbox/acme", nil, http.StatusForbidden},
			{"/mailbox/acme?user=bob", []string{"X-Parklot-Tenant", "acme", "X-Parklot-User", "ann"}, http.StatusForbidden},
			{"/mailbox/acme?session=s2", []string{"X-Parklot-Tenant", "acme", "X-Parklot-Session", "s1"}, http.StatusForbidden},
			{"/mailbox/acme/events?user=bob", []string{"X-Parklot-Tenant", "acme", "X-Parklot-User", "ann"}, http.StatusForbidden},
			{"/mailbox/acme", []string{"X-Parklot-Tenant", "acme", "X-Parklot-User", "ann", "X-Parklot-Session", "s1"}, http.StatusOK},
		} {
			if resp := do(t, w.strict, request{method: "GET", path: c.path, headers: c.headers}); resp.status != c.want {
				t.Fatalf("%s with %v: %d %s, want %d", c.path, c.headers, resp.status, resp.body, c.want)
			}
		}
		// The headers name the mailbox: acme/ann/s1 holds tb-1's outcome.
		eventually(t, 30*time.Second, "tb-1's outcome reaches acme/ann/s1 through the headers", func() bool {
			var l httpapi.MessageList
			do(t, w.strict, request{method: "GET", path: "/mailbox/acme", headers: []string{"X-Parklot-Tenant", "acme", "X-Parklot-User", "ann", "X-Parklot-Session", "s1"}}).decode(t, &l)
			return len(l.Messages) == 1 && l.Messages[0].TaskID == "tb-1"
		})
	})

	t.Run("authoritative: audit shows only the caller's tenant", func(t *testing.T) {
		if resp := do(t, w.strict, request{method: "GET", path: "/audit?subject=tenant:acme", headers: []string{"X-Parklot-Tenant", "globex"}}); resp.status != http.StatusForbidden {
			t.Fatalf("another tenant's trail: %d %s", resp.status, resp.body)
		}
		if resp := do(t, w.strict, request{method: "GET", path: "/audit?subject=pool:small"}); resp.status != http.StatusForbidden {
			t.Fatalf("without the tenant header: %d %s", resp.status, resp.body)
		}
		var all, mine httpapi.EventList
		eventually(t, 30*time.Second, "pool small's trail names acme and globex", func() bool {
			do(t, w.open, request{method: "GET", path: "/audit?subject=pool:small&limit=1000"}).decode(t, &all)
			tenants := map[string]bool{}
			for _, e := range all.Events {
				for _, s := range e.Subjects {
					if s.Kind == audit.KindTenant {
						tenants[s.ID] = true
					}
				}
			}
			return tenants["acme"] && tenants["globex"]
		})
		do(t, w.strict, request{method: "GET", path: "/audit?subject=pool:small&limit=1000", headers: []string{"X-Parklot-Tenant", "globex"}}).decode(t, &mine)
		if len(mine.Events) == 0 || len(mine.Events) >= len(all.Events) {
			t.Fatalf("globex sees %d of %d events", len(mine.Events), len(all.Events))
		}
		for _, e := range mine.Events {
			if !slices.Contains(e.Subjects, audit.Tenant("globex")) {
				t.Fatalf("globex sees %+v", e)
			}
		}
	})
}

// deliver puts msg in its mailbox the way the delivery activity does.
func deliver(t *testing.T, w *world, key mailbox.Key, taskID string, at time.Time) mailbox.Message {
	t.Helper()
	msg, err := mailbox.Message{Key: key, TaskID: taskID, Pool: "p", Status: mailbox.StatusCompleted, CreatedAt: at}.Prepare(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	wid := workflows.MailboxWorkflowID(key)
	_, err = w.env.Client.SignalWithStartWorkflow(context.Background(), wid, workflows.SignalDeliver, msg,
		client.StartWorkflowOptions{ID: wid, TaskQueue: w.node.API.TaskQueue}, workflows.Mailbox, workflows.MailboxInput{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func testMailboxStreamResume(t *testing.T, w *world) {
	key := mailbox.Key{Tenant: "sse", User: "u"}
	events := w.open.URL + "/mailbox/sse/events?user=u"
	base := time.Now().Add(-time.Minute)
	var delivered []mailbox.Message
	for i := range 3 {
		delivered = append(delivered, deliver(t, w, key, fmt.Sprintf("m%d", i), base.Add(time.Duration(i)*time.Second)))
	}
	received := map[string]int{}
	// receive reads n events from c and checks each is the next expected
	// message; it returns the last event id the client holds.
	lastID := ""
	receive := func(c *sseConn, want ...mailbox.Message) {
		t.Helper()
		for _, m := range want {
			ev, ok := c.next(t, 20*time.Second)
			if !ok {
				t.Fatalf("no event; want message %s (task %s)", m.MessageID, m.TaskID)
			}
			var got mailbox.Message
			if err := json.Unmarshal([]byte(ev.data), &got); err != nil || ev.event != "message" {
				t.Fatalf("event %+v: %v", ev, err)
			}
			if got.MessageID != m.MessageID {
				t.Fatalf("got task %s (%s), want task %s (%s)", got.TaskID, got.MessageID, m.TaskID, m.MessageID)
			}
			received[got.MessageID]++
			if ev.hasID {
				if ev.id != got.MessageID {
					t.Fatalf("event id %s of message %s", ev.id, got.MessageID)
				}
				lastID = ev.id
			}
		}
	}
	quiet := func(c *sseConn) {
		t.Helper()
		if ev, ok := c.next(t, time.Second); ok {
			t.Fatalf("unexpected event %+v", ev)
		}
	}

	// First connection: everything so far, then a hang-up mid-way.
	c := openSSE(t, events, "")
	receive(c, delivered[0], delivered[1])
	c.close()
	if lastID != delivered[1].MessageID {
		t.Fatalf("last event id %s, want the second message's", lastID)
	}

	// Two more arrive while nobody listens; the reconnect starts after the
	// last id it had, so the third message is the first it gets.
	delivered = append(delivered, deliver(t, w, key, "m3", base.Add(3*time.Second)), deliver(t, w, key, "m4", base.Add(4*time.Second)))
	c = openSSE(t, events, lastID)
	receive(c, delivered[2], delivered[3], delivered[4])
	quiet(c)

	// Live: a new message comes with its id; one created earlier but
	// delivered late (behind what was sent) comes at once without an id,
	// so the client's position stays where it was.
	now := deliver(t, w, key, "m5", time.Now())
	receive(c, now)
	late := deliver(t, w, key, "m-late", base.Add(2500*time.Millisecond))
	receive(c, late)
	if lastID != now.MessageID {
		t.Fatalf("the late message moved the client's position to %s", lastID)
	}
	c.close()

	// Reconnect once more: nothing is repeated, the next message arrives.
	c = openSSE(t, events, lastID)
	quiet(c)
	final := deliver(t, w, key, "m6", time.Now())
	receive(c, final)
	quiet(c)
	c.close()

	for _, m := range append(delivered, now, late, final) {
		if received[m.MessageID] != 1 {
			t.Fatalf("task %s received %d times", m.TaskID, received[m.MessageID])
		}
	}
	// ?since= does what Last-Event-ID does, for a first connection.
	c = openSSE(t, events+"&since="+url.QueryEscape(now.MessageID), "")
	ev, ok := c.next(t, 20*time.Second)
	c.close()
	if !ok || !strings.Contains(ev.data, final.MessageID) {
		t.Fatalf("since=m5: first event %+v, want m6", ev)
	}
}
