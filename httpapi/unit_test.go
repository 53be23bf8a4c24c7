package httpapi

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parklot/parklot/domain/mailbox"
	"github.com/parklot/parklot/workflows"
)

func TestQuantileInterpolatesInsideTheBucketOfTheRank(t *testing.T) {
	var empty workflows.Histogram
	if _, ok := Quantile(empty, 0.95); ok {
		t.Fatal("an empty histogram has a p95")
	}
	var h workflows.Histogram
	// 100 waits: 90 of 5ms, 10 between 1s and 2.5s.
	for range 90 {
		h.Observe(5 * time.Millisecond)
	}
	for range 10 {
		h.Observe(2 * time.Second)
	}
	got, ok := Quantile(h, 0.95)
	// Rank 95 is the 5th of the 10 observations in (1, 2.5]: 1 + 1.5*5/10.
	if !ok || math.Abs(got-1.75) > 1e-9 {
		t.Fatalf("p95 = %v, %v; want 1.75", got, ok)
	}
	var slow workflows.Histogram
	slow.Observe(time.Hour)
	if got, _ := Quantile(slow, 0.95); got != workflows.LatencyBuckets[len(workflows.LatencyBuckets)-1] {
		t.Fatalf("p95 above every bound = %v, want the last bound", got)
	}
}

// fakeMailbox is a mailbox whose messages a test adds in any order, read
// like the mailbox workflow reads (mailbox.Page).
type fakeMailbox struct{ msgs []mailbox.Message }

func (f *fakeMailbox) add(m mailbox.Message) {
	f.msgs = append(f.msgs, m)
	slices.SortFunc(f.msgs, mailbox.Compare)
}

func (f *fakeMailbox) read(_ context.Context, since string) ([]mailbox.Message, error) {
	cur, err := mailbox.ParseCursor(since)
	if err != nil {
		return nil, err
	}
	return mailbox.Page(mailbox.Key{Tenant: "t"}, f.msgs, cur, mailbox.MaxLimit)
}

func msgAt(t time.Time) mailbox.Message {
	t = mailbox.CanonicalTime(t)
	return mailbox.Message{MessageID: mailbox.NewMessageID(t), CreatedAt: t, TaskID: t.String()}
}

// eventClient plays an EventSource: it keeps what it received and its last
// event id.
type eventClient struct {
	got    []string
	lastID string
}

func (c *eventClient) take(t *testing.T, evs []streamEvent) {
	t.Helper()
	for _, ev := range evs {
		if slices.Contains(c.got, ev.msg.MessageID) {
			t.Fatalf("message %s sent twice", ev.msg.MessageID)
		}
		c.got = append(c.got, ev.msg.MessageID)
		if ev.inOrder {
			c.lastID = ev.msg.MessageID
		}
	}
}

func TestMailboxStreamHoldsYoungMessagesAndSendsLateOnesWithoutMovingBack(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	mb := &fakeMailbox{}
	m1, m2, m3 := msgAt(now.Add(-10*time.Second)), msgAt(now.Add(-8*time.Second)), msgAt(now.Add(-500*time.Millisecond))
	mb.add(m1)
	mb.add(m2)
	mb.add(m3)
	s := &mailboxStream{read: mb.read, settle: time.Second, late: time.Minute, seen: map[string]time.Time{}}
	var c eventClient
	evs, err := s.start(ctx, mailbox.Cursor{}, now)
	if err != nil {
		t.Fatal(err)
	}
	c.take(t, evs)
	if !slices.Equal(c.got, []string{m1.MessageID, m2.MessageID}) {
		t.Fatalf("first send %v, want m1 m2 (m3 is younger than settle)", c.got)
	}
	// m3 settles; a message created before m2 lands now (a delivery that
	// lagged): it goes out at once, without an id.
	late := msgAt(now.Add(-9 * time.Second))
	mb.add(late)
	evs, _ = s.poll(ctx, now.Add(time.Second))
	c.take(t, evs)
	if !slices.Equal(c.got, []string{m1.MessageID, m2.MessageID, late.MessageID, m3.MessageID}) || c.lastID != m3.MessageID {
		t.Fatalf("after the late message: got %v, last id %s", c.got, c.lastID)
	}
	for _, ev := range evs {
		if ev.msg.MessageID == late.MessageID && ev.inOrder {
			t.Fatal("the late message carries an id: a resume from it would repeat m2 and m3")
		}
	}
	// Nothing new: nothing sent.
	if evs, _ := s.poll(ctx, now.Add(2*time.Second)); len(evs) != 0 {
		t.Fatalf("an idle poll sent %d messages", len(evs))
	}

	// A reconnect from the client's last id continues after it, and what
	// is before it (the late message included) is not sent again.
	m4 := msgAt(now.Add(time.Second))
	mb.add(m4)
	again := &mailboxStream{read: mb.read, settle: time.Second, late: time.Minute, seen: map[string]time.Time{}}
	cur, _ := mailbox.ParseCursor(c.lastID)
	evs, err = again.start(ctx, cur, now.Add(3*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	c.take(t, evs)
	if c.lastID != m4.MessageID || len(c.got) != 5 {
		t.Fatalf("after the resume: got %v, last id %s", c.got, c.lastID)
	}
}

func TestMailboxStreamResumesAfterATimeCursor(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	mb := &fakeMailbox{}
	m1, m2 := msgAt(now.Add(-10*time.Second)), msgAt(now.Add(-5*time.Second))
	mb.add(m1)
	mb.add(m2)
	s := &mailboxStream{read: mb.read, settle: time.Second, late: time.Minute, seen: map[string]time.Time{}}
	evs, err := s.start(context.Background(), mailbox.Cursor{After: m1.CreatedAt}, now)
	if err != nil || len(evs) != 1 || evs[0].msg.MessageID != m2.MessageID {
		t.Fatalf("after m1's time: %v, %v; want m2 alone", evs, err)
	}
}

func TestMessageTimeIsTheCreationTimeOfTheID(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)
	if got := messageTime(mailbox.NewMessageID(at)); !got.Equal(at) {
		t.Fatalf("messageTime = %v, want %v", got, at)
	}
	if got := messageTime("6ba7b810-9dad-11d1-80b4-00c04fd430c8"); !got.IsZero() {
		t.Fatalf("a v1 uuid has time %v", got)
	}
}

func TestScopeMergesOrEnforcesTheTrustHeaders(t *testing.T) {
	req := func(headers ...string) *http.Request {
		r := httptest.NewRequest("GET", "/", nil)
		for i := 0; i < len(headers); i += 2 {
			r.Header.Set(headers[i], headers[i+1])
		}
		return r
	}
	open := New(Options{})
	strict := New(Options{Trust: Trust{HeadersAuthoritative: true, TenantHeader: "X-Org"}})
	tests := []struct {
		name    string
		h       *Handler
		r       *http.Request
		named   string
		want    string
		wantErr bool
	}{
		{"open: the request's tenant wins", open, req(DefaultTenantHeader, "a"), "b", "b", false},
		{"open: the header fills a missing tenant", open, req(DefaultTenantHeader, "a"), "", "a", false},
		{"open: neither", open, req(), "", "", false},
		{"authoritative: header required", strict, req(), "b", "", true},
		{"authoritative: configured header name", strict, req(DefaultTenantHeader, "b"), "b", "", true},
		{"authoritative: equal", strict, req("X-Org", "b"), "b", "b", false},
		{"authoritative: header fills", strict, req("X-Org", "b"), "", "b", false},
		{"authoritative: differs", strict, req("X-Org", "a"), "b", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.h.scope(tt.r).tenant("tenant", tt.named)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("tenant = %q, %v; want %q, error %v", got, err, tt.want, tt.wantErr)
			}
			if err != nil && (toHTTPError(err).status != http.StatusForbidden || !strings.Contains(err.Error(), "header")) {
				t.Fatalf("error %v: want a 403 that names the header", err)
			}
		})
	}
}
