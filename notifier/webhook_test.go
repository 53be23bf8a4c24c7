package notifier

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parklot/parklot/domain/mailbox"
)

var testSecret = []byte("s3cret-shared-with-the-gateway")

func testMessage() mailbox.Message {
	return mailbox.Message{
		MessageID: "0197a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
		Key:       mailbox.Key{Tenant: "acme", User: "u1"},
		TaskID:    "task-42",
		Pool:      "gpu",
		Status:    mailbox.StatusCompleted,
		Payload:   json.RawMessage(`{"tokens":12}`),
		CreatedAt: time.Date(2025, 6, 1, 12, 0, 0, 123456000, time.UTC),
	}
}

// received is one request as the test server saw it.
type received struct {
	method string
	header http.Header
	body   []byte
}

// receiver answers every request with status and body and records it.
func receiver(t *testing.T, status int, body string) (*httptest.Server, func() []received) {
	t.Helper()
	var mu sync.Mutex
	var got []received
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, received{r.Method, r.Header.Clone(), b})
		mu.Unlock()
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []received {
		mu.Lock()
		defer mu.Unlock()
		return append([]received(nil), got...)
	}
}

func TestNotifyPostsTheSignedMessage(t *testing.T) {
	srv, requests := receiver(t, http.StatusNoContent, "")
	w := &Webhook{URL: srv.URL + "/hook", Secret: testSecret}
	msg := testMessage()
	before := time.Now().Add(-time.Second)
	if err := w.Notify(context.Background(), msg); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	after := time.Now().Add(time.Second)

	reqs := requests()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.method != http.MethodPost {
		t.Errorf("method = %s, want POST", r.method)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if id := r.header.Get(HeaderMessageID); id != msg.MessageID {
		t.Errorf("%s = %q, want %q", HeaderMessageID, id, msg.MessageID)
	}
	ts := r.header.Get(HeaderTimestamp)
	at, err := time.Parse(time.RFC3339, ts)
	if err != nil || at.Before(before) || at.After(after) || !strings.HasSuffix(ts, "Z") {
		t.Errorf("%s = %q, want the UTC time of the attempt in RFC 3339", HeaderTimestamp, ts)
	}

	var decoded mailbox.Message
	if err := json.Unmarshal(r.body, &decoded); err != nil {
		t.Fatalf("body is not a message: %v\n%s", err, r.body)
	}
	if !reflect.DeepEqual(decoded, msg) {
		t.Errorf("body decodes to %+v\nwant %+v", decoded, msg)
	}

	// Recompute the signature independently of the package's own helpers.
	h := hmac.New(sha256.New, testSecret)
	h.Write([]byte(ts + "." + string(r.body)))
	want := "sha256=" + hex.EncodeToString(h.Sum(nil))
	sig := r.header.Get(HeaderSignature)
	if sig != want {
		t.Errorf("%s = %q, want %q", HeaderSignature, sig, want)
	}
	if !Verify(testSecret, ts, r.body, sig) {
		t.Error("Verify rejects the request Notify sent")
	}
}

func TestVerifyRejectsAnythingButTheSignedRequest(t *testing.T) {
	srv, requests := receiver(t, http.StatusOK, "")
	if err := (&Webhook{URL: srv.URL, Secret: testSecret}).Notify(context.Background(), testMessage()); err != nil {
		t.Fatal(err)
	}
	r := requests()[0]
	ts, body, sig := r.header.Get(HeaderTimestamp), r.body, r.header.Get(HeaderSignature)

	tampered := []byte(strings.Replace(string(body), `"completed"`, `"failed"`, 1))
	later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	cases := []struct {
		name      string
		secret    []byte
		timestamp string
		body      []byte
		signature string
	}{
		{"a tampered body", testSecret, ts, tampered, sig},
		{"a body with a byte appended", testSecret, ts, append(append([]byte(nil), body...), ' '), sig},
		{"another timestamp (a replay made to look fresh)", testSecret, later, body, sig},
		{"another secret", []byte("not-the-secret"), ts, body, sig},
		{"an empty secret", nil, ts, body, sig},
		{"a signature without its sha256= prefix", testSecret, ts, body, strings.TrimPrefix(sig, "sha256=")},
		{"another algorithm's prefix", testSecret, ts, body, "sha1=" + strings.TrimPrefix(sig, "sha256=")},
		{"a signature that is not hex", testSecret, ts, body, "sha256=zz"},
		{"a truncated signature", testSecret, ts, body, sig[:len(sig)-2]},
		{"an empty signature", testSecret, ts, body, ""},
		{"a timestamp that is not RFC 3339", testSecret, "1748779200", body, sig},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if Verify(tc.secret, tc.timestamp, tc.body, tc.signature) {
				t.Error("Verify = true, want false")
			}
		})
	}
	if !Verify(testSecret, ts, body, sig) {
		t.Error("Verify rejects the untouched request")
	}
	if !Verify(testSecret, ts, body, "sha256="+strings.ToUpper(strings.TrimPrefix(sig, "sha256="))) {
		t.Error("Verify rejects upper-case hex")
	}
}

func TestVerifyKeepsTimestampAndBodyApart(t *testing.T) {
	// Moving bytes across the "." must not keep the signature valid.
	body := []byte(`{"a":1}`)
	ts := "2025-06-01T12:00:00Z"
	sig := sign(testSecret, ts, body)
	if Verify(testSecret, ts+".{", []byte(`"a":1}`), sig) {
		t.Error("a timestamp that swallowed the start of the body verifies")
	}
}

func TestAnswersMapToRetryableOrPermanent(t *testing.T) {
	cases := []struct {
		status    int
		permanent bool
	}{
		{http.StatusMovedPermanently, true},
		{http.StatusFound, true},
		{http.StatusTemporaryRedirect, true},
		{http.StatusBadRequest, true},
		{http.StatusUnauthorized, true},
		{http.StatusForbidden, true},
		{http.StatusNotFound, true},
		{http.StatusGone, true},
		{http.StatusRequestEntityTooLarge, true},
		{http.StatusUnprocessableEntity, true},
		{http.StatusRequestTimeout, false},
		{http.StatusTooManyRequests, false},
		{http.StatusInternalServerError, false},
		{http.StatusBadGateway, false},
		{http.StatusServiceUnavailable, false},
		{http.StatusGatewayTimeout, false},
	}
	for _, tc := range cases {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			srv, requests := receiver(t, tc.status, "  refused: because\n")
			err := (&Webhook{URL: srv.URL, Secret: testSecret}).Notify(context.Background(), testMessage())
			if err == nil {
				t.Fatal("Notify = nil, want an error")
			}
			if got := IsPermanent(err); got != tc.permanent {
				t.Errorf("IsPermanent = %v, want %v (%v)", got, tc.permanent, err)
			}
			var se *StatusError
			if !errors.As(err, &se) || se.StatusCode != tc.status || se.Body != "refused: because" {
				t.Errorf("err = %#v, want a *StatusError with status %d and the trimmed body", err, tc.status)
			}
			if !strings.Contains(err.Error(), strconv.Itoa(tc.status)) || !strings.Contains(err.Error(), "refused: because") {
				t.Errorf("message %q lacks the status or the body", err)
			}
			if n := len(requests()); n != 1 {
				t.Errorf("%d requests, want 1: redirects are not followed and Notify does not retry", n)
			}
		})
	}
}

func TestEvery2xxIsSuccess(t *testing.T) {
	for _, status := range []int{http.StatusOK, http.StatusCreated, http.StatusAccepted, http.StatusNoContent} {
		srv, _ := receiver(t, status, "ok")
		if err := (&Webhook{URL: srv.URL, Secret: testSecret}).Notify(context.Background(), testMessage()); err != nil {
			t.Errorf("%d: Notify = %v, want nil", status, err)
		}
	}
}

func TestTheErrorQuotesAtMost64KiBOfTheBody(t *testing.T) {
	srv, _ := receiver(t, http.StatusInternalServerError, strings.Repeat("x", 200<<10))
	err := (&Webhook{URL: srv.URL, Secret: testSecret}).Notify(context.Background(), testMessage())
	var se *StatusError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want a *StatusError", err)
	}
	if len(se.Body) != 64<<10 {
		t.Errorf("quoted %d bytes of the body, want 65536", len(se.Body))
	}
}

func TestTheErrorHidesTheURLPassword(t *testing.T) {
	srv, _ := receiver(t, http.StatusForbidden, "")
	u := strings.Replace(srv.URL, "http://", "http://user:hunter2@", 1)
	err := (&Webhook{URL: u, Secret: testSecret}).Notify(context.Background(), testMessage())
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("err = %v, want an error without the password", err)
	}
}

func TestASlowReceiverTimesOutRetryably(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)

	start := time.Now()
	err := (&Webhook{URL: srv.URL, Secret: testSecret, Timeout: 50 * time.Millisecond}).Notify(context.Background(), testMessage())
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("Notify took %v with a 50ms timeout", elapsed)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want a deadline exceeded", err)
	}
	if IsPermanent(err) {
		t.Error("a timeout is permanent, want retryable")
	}
}

func TestAnUnreachableReceiverIsRetryable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	err := (&Webhook{URL: url, Secret: testSecret}).Notify(context.Background(), testMessage())
	if err == nil || IsPermanent(err) {
		t.Errorf("err = %v, want a retryable network error", err)
	}
}

func TestACancelledContextIsNotPermanent(t *testing.T) {
	srv, _ := receiver(t, http.StatusOK, "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := (&Webhook{URL: srv.URL, Secret: testSecret}).Notify(ctx, testMessage())
	if !errors.Is(err, context.Canceled) || IsPermanent(err) {
		t.Errorf("err = %v, want context.Canceled, not permanent", err)
	}
}

func TestWhatCannotBeSentIsPermanent(t *testing.T) {
	srv, requests := receiver(t, http.StatusOK, "")
	noID := testMessage()
	noID.MessageID = ""
	badPayload := testMessage()
	badPayload.Payload = json.RawMessage(`{not json`)
	cases := []struct {
		name string
		w    Webhook
		msg  mailbox.Message
		want string
	}{
		{"no URL", Webhook{Secret: testSecret}, testMessage(), "no URL"},
		{"a URL that is not http(s)", Webhook{URL: "ftp://example.com/x", Secret: testSecret}, testMessage(), "not an http(s) URL"},
		{"a URL without a host", Webhook{URL: "https:///x", Secret: testSecret}, testMessage(), "not an http(s) URL"},
		{"no secret", Webhook{URL: srv.URL}, testMessage(), "no secret"},
		{"a message without an id", Webhook{URL: srv.URL, Secret: testSecret}, noID, "no messageId"},
		{"a payload that is not JSON", Webhook{URL: srv.URL, Secret: testSecret}, badPayload, "encode message"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.w.Notify(context.Background(), tc.msg)
			if err == nil || !IsPermanent(err) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want a permanent error containing %q", err, tc.want)
			}
		})
	}
	if n := len(requests()); n != 0 {
		t.Errorf("%d requests sent, want none", n)
	}
}

func TestIsPermanent(t *testing.T) {
	if IsPermanent(nil) || IsPermanent(errors.New("x")) || IsPermanent(&StatusError{StatusCode: 400}) {
		t.Error("IsPermanent is true for an error Notify did not mark")
	}
	if !IsPermanent(permanentf("x")) {
		t.Error("IsPermanent(permanentf) = false")
	}
}

func TestACallersClientIsUsed(t *testing.T) {
	srv, requests := receiver(t, http.StatusOK, "")
	var used bool
	client := &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		used = true
		return http.DefaultTransport.RoundTrip(r)
	})}
	if err := (&Webhook{URL: srv.URL, Secret: testSecret, Client: client}).Notify(context.Background(), testMessage()); err != nil {
		t.Fatal(err)
	}
	if !used || len(requests()) != 1 {
		t.Error("Notify did not send through Webhook.Client")
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// The caller adapts the package to Temporal; importing Temporal, config or
// another Parklot package besides the mailbox vocabulary would invert that.
func TestPackageImportsOnlyTheStandardLibraryAndTheMailbox(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(path, "/")
			if strings.Contains(first, ".") && path != "github.com/parklot/parklot/domain/mailbox" {
				t.Errorf("%s imports %s", name, path)
			}
		}
	}
}
