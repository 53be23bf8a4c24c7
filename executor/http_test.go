package executor

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func newHTTP(pol HTTPPolicy) *httpExecutor {
	return newHTTPExecutor(map[string]Policy{"jobs": {HTTP: pol}}, 10*time.Millisecond)
}

// captured is what the test server saw of the last request.
type captured struct {
	mu     sync.Mutex
	method string
	header http.Header
	body   string
	n      int
}

func (c *captured) get() (string, http.Header, string, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.method, c.header, c.body, c.n
}

// server answers every request with status, headers and body, recording it.
func server(t *testing.T, status int, header map[string]string, body string) (*httptest.Server, *captured) {
	t.Helper()
	c := &captured{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.method, c.header, c.body = r.Method, r.Header.Clone(), string(data)
		c.n++
		c.mu.Unlock()
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, c
}

// slowServer answers only when the request is abandoned or after 30s.
func slowServer(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The server notices a closed connection only once the body is read.
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestHTTPWithoutAURLNamesTheSetting(t *testing.T) {
	for _, pool := range []string{"jobs", "unconfigured"} {
		tk := task(KindHTTP, `{}`)
		tk.Pool = pool
		_, err, _ := run(context.Background(), t, newHTTP(HTTPPolicy{}), tk)
		wantError(t, err, CodeNotConfigured, true,
			`http has no URL for pool "`+pool+`": set pools.`+pool+`.executors.http.url`)
	}
}

func TestHTTPRefusesAURLThatIsNotHTTP(t *testing.T) {
	for _, u := range []string{"ftp://example.com/x", "example.com/run", "/run", "http://", "://bad"} {
		t.Run(u, func(t *testing.T) {
			_, err, _ := run(context.Background(), t, newHTTP(HTTPPolicy{URL: u}), task(KindHTTP, `{}`))
			wantError(t, err, CodeNotConfigured, true, "pools.jobs.executors.http.url is not an absolute http(s) URL")
		})
	}
}

func TestHTTPPostsThePayloadWithHeaders(t *testing.T) {
	srv, c := server(t, http.StatusOK, nil, `{"ok":true}`)
	pol := HTTPPolicy{URL: srv.URL + "/run", Headers: map[string]string{
		"Authorization":    "Bearer s3cret",
		"x-custom":         "yes",
		"Content-Type":     "text/plain",
		"X-Parklot-Tenant": "spoofed",
	}}
	out, err, _ := run(context.Background(), t, newHTTP(pol), task(KindHTTP, ` {"prompt":"hi","n":2} `))
	if err != nil {
		t.Fatal(err)
	}
	method, h, body, _ := c.get()
	if method != http.MethodPost {
		t.Errorf("method = %s, want POST", method)
	}
	if body != `{"prompt":"hi","n":2}` {
		t.Errorf("body = %q, want the payload", body)
	}
	for name, want := range map[string]string{
		"Content-Type":      "application/json",
		"Authorization":     "Bearer s3cret",
		"X-Custom":          "yes",
		"X-Parklot-Task-Id": "task-1",
		"X-Parklot-Tenant":  "acme",
		"X-Parklot-Pool":    "jobs",
	} {
		if got := h.Values(name); !slices.Equal(got, []string{want}) {
			t.Errorf("header %s = %q, want [%q]", name, got, want)
		}
	}
	if string(out) != `{"status":200,"body":{"ok":true}}` {
		t.Errorf("result = %s", out)
	}
}

func TestHTTPSendsAnEmptyPayloadAsAnEmptyObject(t *testing.T) {
	srv, c := server(t, http.StatusNoContent, nil, "")
	out, err, _ := run(context.Background(), t, newHTTP(HTTPPolicy{URL: srv.URL}), task(KindHTTP, ""))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, body, _ := c.get(); body != "{}" {
		t.Errorf("body = %q, want {}", body)
	}
	if string(out) != `{"status":204,"body":""}` {
		t.Errorf("result = %s", out)
	}
}

func TestHTTPRefusesAPayloadThatIsNotJSON(t *testing.T) {
	srv, c := server(t, http.StatusOK, nil, "")
	_, err, _ := run(context.Background(), t, newHTTP(HTTPPolicy{URL: srv.URL}), task(KindHTTP, `{"prompt":`))
	wantError(t, err, CodeInvalidPayload, true, "http payload is not valid JSON")
	if _, _, _, n := c.get(); n != 0 {
		t.Errorf("%d requests sent for an invalid payload", n)
	}
}

func TestHTTPStatusMapping(t *testing.T) {
	tests := []struct {
		status    int
		ok        bool
		permanent bool
		extra     string
	}{
		{200, true, false, ""},
		{201, true, false, ""},
		{202, true, false, ""},
		{301, false, true, `redirects are not followed: set pools.jobs.executors.http.url to the final URL, Location: "/elsewhere"`},
		{400, false, true, ""},
		{401, false, true, "check the credentials in pools.jobs.executors.http.headers"},
		{403, false, true, "check the credentials"},
		{404, false, true, ""},
		{408, false, false, ""},
		{409, false, true, ""},
		{422, false, true, ""},
		{429, false, false, ""},
		{500, false, false, ""},
		{502, false, false, ""},
		{503, false, false, ""},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			srv, _ := server(t, tt.status, map[string]string{"Location": "/elsewhere"}, "reason from the endpoint\n")
			out, err, _ := run(context.Background(), t, newHTTP(HTTPPolicy{URL: srv.URL}), task(KindHTTP, `{}`))
			res := decode[HTTPResult](t, out)
			if res.Status != tt.status || string(res.Body) != `"reason from the endpoint\n"` {
				t.Errorf("result = %s", out)
			}
			if tt.ok {
				if err != nil {
					t.Errorf("err = %v, want success", err)
				}
				return
			}
			wantError(t, err, CodeHTTPStatus, tt.permanent,
				`http POST `+srv.URL+` for pool "jobs" answered `, http.StatusText(tt.status), "reason from the endpoint", tt.extra)
		})
	}
}

func TestHTTPErrorQuotesOnlyAnExcerptOfALongBody(t *testing.T) {
	srv, _ := server(t, 500, nil, "héllo "+strings.Repeat("é", 2000))
	_, err, _ := run(context.Background(), t, newHTTP(HTTPPolicy{URL: srv.URL}), task(KindHTTP, `{}`))
	wantError(t, err, CodeHTTPStatus, false, "héllo é", "…")
	if len(err.Error()) > 400 {
		t.Errorf("message is %d bytes, want an excerpt", len(err.Error()))
	}
	if strings.ContainsRune(err.Error(), '\uFFFD') {
		t.Errorf("excerpt split a character: %q", err)
	}
}

func TestHTTPResultBodyIsJSONWhenTheBodyIsJSON(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"object", `{"answer": 42}`, `{"answer":42}`},
		{"array with spaces", " [1, 2]\n", `[1,2]`},
		{"number", `42`, `42`},
		{"json string", `"quoted"`, `"quoted"`},
		{"text", "hello world", `"hello world"`},
		{"broken json", `{"answer":`, `"{\"answer\":"`},
		{"empty", ``, `""`},
		{"invalid utf-8", "caf\xe9", "\"caf\uFFFD\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := server(t, http.StatusOK, nil, tt.body)
			out, err, _ := run(context.Background(), t, newHTTP(HTTPPolicy{URL: srv.URL}), task(KindHTTP, `{}`))
			if err != nil {
				t.Fatal(err)
			}
			if want := `{"status":200,"body":` + tt.want + `}`; string(out) != want {
				t.Errorf("result = %s, want %s", out, want)
			}
		})
	}
}

func TestHTTPPassesTheUsageHeaderToReportUsage(t *testing.T) {
	for _, status := range []int{200, 500} {
		srv, _ := server(t, status, map[string]string{"X-Parklot-Usage": " 1234 "}, `{}`)
		_, _, rec := run(context.Background(), t, newHTTP(HTTPPolicy{URL: srv.URL}), task(KindHTTP, `{}`))
		if got := rec.usages(); !slices.Equal(got, []int64{1234}) {
			t.Errorf("status %d: usage = %v, want [1234]", status, got)
		}
	}
	srv, _ := server(t, 200, nil, `{}`)
	_, _, rec := run(context.Background(), t, newHTTP(HTTPPolicy{URL: srv.URL}), task(KindHTTP, `{}`))
	if got := rec.usages(); len(got) != 0 {
		t.Errorf("usage without the header = %v, want none", got)
	}
}

func TestHTTPRefusesAUsageHeaderThatIsNotACount(t *testing.T) {
	for _, v := range []string{"abc", "-1", "1.5", "12 tokens"} {
		t.Run(v, func(t *testing.T) {
			srv, _ := server(t, 200, map[string]string{"X-Parklot-Usage": v}, `{}`)
			_, err, rec := run(context.Background(), t, newHTTP(HTTPPolicy{URL: srv.URL}), task(KindHTTP, `{}`))
			wantError(t, err, CodeInvalidUsage, true, `answered X-Parklot-Usage: "`+v+`", which is not a non-negative integer`)
			if len(rec.usages()) != 0 {
				t.Errorf("usage reported: %v", rec.usages())
			}
		})
	}
}

func TestHTTPResponseBodyBound(t *testing.T) {
	tests := []struct {
		name  string
		max   int
		size  int
		large bool
	}{
		{"at the bound", 10, 10, false},
		{"one byte over", 10, 11, true},
		{"default bound is 1 MiB", 0, DefaultMaxResponseBytes, false},
		{"over the default bound", 0, DefaultMaxResponseBytes + 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := server(t, 200, nil, strings.Repeat("x", tt.size))
			out, err, _ := run(context.Background(), t, newHTTP(HTTPPolicy{URL: srv.URL, MaxResponseBytes: tt.max}), task(KindHTTP, `{}`))
			if !tt.large {
				if err != nil {
					t.Fatal(err)
				}
				if got := decode[HTTPResult](t, out); len(got.Body) != tt.size+2 {
					t.Errorf("body length = %d, want %d", len(got.Body), tt.size+2)
				}
				return
			}
			wantError(t, err, CodeResponseTooLarge, true, "answered 200 with a body larger than", "raise pools.jobs.executors.http.max_response_bytes")
		})
	}
}

func TestHTTPTimesOutAfterThePolicyTimeout(t *testing.T) {
	srv := slowServer(t)
	_, err, _ := runWithin(context.Background(), t, 5*time.Second, newHTTP(HTTPPolicy{URL: srv.URL, Timeout: 100 * time.Millisecond}), task(KindHTTP, `{}`))
	wantError(t, err, CodeTimeout, false, "timed out after 100ms: raise pools.jobs.executors.http.timeout")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want it to wrap context.DeadlineExceeded", err)
	}
}

func TestHTTPReturnsPromptlyOnCancel(t *testing.T) {
	srv := slowServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err, rec := runWithin(ctx, t, 5*time.Second, newHTTP(HTTPPolicy{URL: srv.URL}), task(KindHTTP, `{}`))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if IsPermanent(err) {
		t.Error("a cancel must not be marked permanent")
	}
	if rec.progressCount() == 0 {
		t.Error("no progress reported while waiting for the endpoint")
	}
}

func TestHTTPStopsAtTheContextDeadline(t *testing.T) {
	srv := slowServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err, _ := runWithin(ctx, t, 5*time.Second, newHTTP(HTTPPolicy{URL: srv.URL}), task(KindHTTP, `{}`))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	var e *Error
	if errors.As(err, &e) {
		t.Errorf("the caller's deadline was reported as %s, want the context error", e.Code)
	}
}

func TestHTTPUnreachableEndpointIsRetryableAndHidesSecrets(t *testing.T) {
	srv, _ := server(t, 200, nil, "")
	url := srv.URL + "/run?token=s3cret"
	srv.Close()
	_, err, _ := run(context.Background(), t, newHTTP(HTTPPolicy{URL: url}), task(KindHTTP, `{}`))
	wantError(t, err, CodeRequestFailed, false, `http POST `+strings.TrimSuffix(url, "?token=s3cret")+` for pool "jobs" failed`)
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("err = %q shows the URL's query", err)
	}
}

func TestHTTPErrorsDoNotShowCredentialsFromTheURL(t *testing.T) {
	srv, c := server(t, 500, nil, "down")
	u := strings.Replace(srv.URL, "http://", "http://user:pa55@", 1) + "/run?key=s3cret"
	_, err, _ := run(context.Background(), t, newHTTP(HTTPPolicy{URL: u}), task(KindHTTP, `{}`))
	wantError(t, err, CodeHTTPStatus, false, "answered 500")
	for _, secret := range []string{"pa55", "s3cret"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("err = %q shows %q", err, secret)
		}
	}
	if _, h, _, _ := c.get(); h.Get("Authorization") == "" {
		t.Error("credentials in the URL were not sent")
	}
}

func TestHTTPFromBuiltinsUsesThePoolPolicy(t *testing.T) {
	srv, c := server(t, 200, nil, `"done"`)
	r := Builtins(map[string]Policy{"jobs": {HTTP: HTTPPolicy{URL: srv.URL, Headers: map[string]string{"X-Key": "k"}}}})
	e, err := r.Lookup(KindHTTP)
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.Execute(context.Background(), task(KindHTTP, `{"a":1}`), nil)
	if err != nil || string(out) != `{"status":200,"body":"done"}` {
		t.Fatalf("Execute = %s, %v", out, err)
	}
	if _, h, _, _ := c.get(); h.Get("X-Key") != "k" {
		t.Error("policy header not sent")
	}
}
