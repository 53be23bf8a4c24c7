package executor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Headers the http executor sends and reads.
const (
	HeaderTaskID = "X-Parklot-Task-Id"
	HeaderTenant = "X-Parklot-Tenant"
	HeaderPool   = "X-Parklot-Pool"
	// HeaderUsage in a response carries the units the request actually used;
	// it is passed to Reporter.ReportUsage.
	HeaderUsage = "X-Parklot-Usage"
)

// HTTPResult is what http returns, also with the error of a non-2xx status.
type HTTPResult struct {
	Status int `json:"status"`
	// Body is the response body as JSON when it is valid JSON, otherwise as
	// a JSON string.
	Body json.RawMessage `json:"body"`
}

// bodyExcerptBytes bounds the response excerpt quoted in a failure message.
const bodyExcerptBytes = 256

// httpExecutor POSTs the task payload to the pool's URL.
type httpExecutor struct {
	policies map[string]Policy
	client   *http.Client
	tick     time.Duration
}

func newHTTPExecutor(policies map[string]Policy, tick time.Duration) *httpExecutor {
	return &httpExecutor{
		policies: policies,
		tick:     tick,
		client: &http.Client{
			// A redirect would turn the POST into a GET or resend the payload
			// elsewhere; the operator should configure the final URL instead.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

type httpOutcome struct {
	status int
	header http.Header
	body   []byte
	err    error
	tooBig bool
}

func (e *httpExecutor) Execute(ctx context.Context, t Task, r Reporter) (json.RawMessage, error) {
	r = orNop(r)
	pol := e.policies[t.Pool].HTTP
	target, err := endpoint(t.Pool, pol.URL)
	if err != nil {
		return nil, err
	}
	shown := redact(target)
	body := bytes.TrimSpace(t.Payload)
	if len(body) == 0 {
		body = []byte("{}")
	} else if !json.Valid(body) {
		return nil, payloadErrorf(KindHTTP, "is not valid JSON: the http executor sends the payload as the request body, so it must be JSON")
	}
	timeout := pol.Timeout
	if timeout <= 0 {
		timeout = DefaultHTTPTimeout
	}
	limit := pol.MaxResponseBytes
	if limit <= 0 {
		limit = DefaultMaxResponseBytes
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, target.String(), bytes.NewReader(body))
	if err != nil {
		return nil, permanentf(CodeNotConfigured, KindHTTP, fmt.Sprintf(
			"pools.%s.executors.http.url %q cannot be used: %v", t.Pool, shown, err))
	}
	for k, v := range pol.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderTaskID, t.ID)
	req.Header.Set(HeaderTenant, t.Tenant)
	req.Header.Set(HeaderPool, t.Pool)

	done := make(chan httpOutcome, 1)
	go func() { done <- e.roundTrip(req, limit) }()
	got := waitReporting(r, time.Now(), e.tick, done)

	what := fmt.Sprintf("http POST %s for pool %q", shown, t.Pool)
	if got.err != nil {
		switch {
		case ctx.Err() != nil:
			return nil, fmt.Errorf("%s stopped: %w", what, ctx.Err())
		case errors.Is(rctx.Err(), context.DeadlineExceeded):
			return nil, &Error{Code: CodeTimeout, Kind: KindHTTP, Err: context.DeadlineExceeded, Message: fmt.Sprintf(
				"%s timed out after %s: raise pools.%s.executors.http.timeout or make the endpoint answer sooner", what, timeout, t.Pool)}
		default:
			return nil, &Error{Code: CodeRequestFailed, Kind: KindHTTP, Err: got.err,
				Message: fmt.Sprintf("%s failed: %v", what, got.err)}
		}
	}

	// Usage counts even when the endpoint then reports a failure: the work
	// it paid for was done.
	if v := got.header.Get(HeaderUsage); v != "" {
		units, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || units < 0 {
			return nil, permanentf(CodeInvalidUsage, KindHTTP, fmt.Sprintf(
				"%s answered %s: %q, which is not a non-negative integer: fix the endpoint to send the units used, like %s: 12",
				what, HeaderUsage, v, HeaderUsage))
		}
		r.ReportUsage(units)
	}
	if got.tooBig {
		return nil, permanentf(CodeResponseTooLarge, KindHTTP, fmt.Sprintf(
			"%s answered %d with a body larger than %d bytes: raise pools.%s.executors.http.max_response_bytes or make the endpoint answer less",
			what, got.status, limit, t.Pool))
	}

	out, err := json.Marshal(HTTPResult{Status: got.status, Body: responseBody(got.body)})
	if err != nil {
		return nil, err
	}
	if got.status >= 200 && got.status < 300 {
		return out, nil
	}
	return out, statusError(what, t.Pool, got)
}

// roundTrip sends req and reads at most limit+1 bytes of the answer, so that
// an oversized body is detected without being held.
func (e *httpExecutor) roundTrip(req *http.Request, limit int) httpOutcome {
	resp, err := e.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message repeats the URL, which may carry secrets
		}
		return httpOutcome{err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	if err != nil {
		return httpOutcome{err: fmt.Errorf("reading the %d response: %w", resp.StatusCode, err)}
	}
	return httpOutcome{status: resp.StatusCode, header: resp.Header, body: data, tooBig: len(data) > limit}
}

// endpoint parses the pool's URL, failing permanently with the config key to
// fix when it is missing or unusable.
func endpoint(pool, raw string) (*url.URL, error) {
	if raw == "" {
		return nil, permanentf(CodeNotConfigured, KindHTTP, fmt.Sprintf(
			"http has no URL for pool %q: set pools.%s.executors.http.url", pool, pool))
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, permanentf(CodeNotConfigured, KindHTTP, fmt.Sprintf(
			"pools.%s.executors.http.url is not an absolute http(s) URL: set it to one like %q", pool, "https://gateway.internal/run"))
	}
	return u, nil
}

// redact shows a URL without credentials or query, which often carry secrets.
func redact(u *url.URL) string {
	c := *u
	c.User, c.RawQuery, c.ForceQuery, c.Fragment = nil, "", false, ""
	return c.String()
}

func responseBody(data []byte) json.RawMessage {
	if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && json.Valid(trimmed) {
		return trimmed
	}
	s, _ := json.Marshal(strings.ToValidUTF8(string(data), "\uFFFD"))
	return s
}

// statusError describes a non-2xx answer. 4xx (and a redirect) means the
// request itself is wrong, so it is permanent, except 408 and 429, which ask
// for a later retry; 5xx is left to the retry policy.
func statusError(what, pool string, got httpOutcome) error {
	msg := fmt.Sprintf("%s answered %d %s", what, got.status, http.StatusText(got.status))
	if excerpt := bodyExcerpt(got.body); excerpt != "" {
		msg += ": " + excerpt
	}
	permanent := got.status < 500 && got.status != http.StatusRequestTimeout && got.status != http.StatusTooManyRequests
	switch {
	case got.status >= 300 && got.status < 400:
		msg += fmt.Sprintf(" (redirects are not followed: set pools.%s.executors.http.url to the final URL", pool)
		if loc := got.header.Get("Location"); loc != "" {
			msg += fmt.Sprintf(", Location: %q", loc)
		}
		msg += ")"
	case got.status == http.StatusUnauthorized || got.status == http.StatusForbidden:
		msg += fmt.Sprintf(" (check the credentials in pools.%s.executors.http.headers)", pool)
	}
	return &Error{Code: CodeHTTPStatus, Kind: KindHTTP, Message: msg, Permanent: permanent}
}

func bodyExcerpt(body []byte) string {
	cut := body
	if len(cut) > bodyExcerptBytes {
		cut = cut[:bodyExcerptBytes]
		// Drop a rune split by the cut rather than show a replacement char.
		for i := 0; i < utf8.UTFMax-1 && !utf8.Valid(cut); i++ {
			cut = cut[:len(cut)-1]
		}
	}
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(cut), "\uFFFD")), " ")
	if len(cut) < len(body) && s != "" {
		s += "…"
	}
	return s
}
