package audit

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestParseSubject(t *testing.T) {
	tests := []struct {
		in      string
		want    Subject
		wantErr string
	}{
		{"task:t-42", Task("t-42"), ""},
		{"mailbox:acme/u/", Mailbox("acme/u/"), ""},
		{"ticket:a:b", Subject{Kind: KindTicket, ID: "a:b"}, ""},
		{"t-42", Subject{}, "want kind:id"},
		{"truck:1", Subject{}, `kind "truck"`},
		{"pool:", Subject{}, "id is required"},
		{"pool:a\tb", Subject{}, "U+0009"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSubject(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrInvalid) {
					t.Fatalf("ParseSubject(%q) = %v, want an ErrInvalid containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseSubject(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
			if got.String() != tt.in {
				t.Errorf("String() = %q, want %q", got.String(), tt.in)
			}
		})
	}
}

func TestNewEventIDIsATimeOrderedUUIDv7(t *testing.T) {
	base := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	var ids []string
	for i := range 2000 {
		ids = append(ids, NewEventID(base.Add(time.Duration(i)*300*time.Nanosecond)))
	}
	if !slices.IsSorted(ids) {
		t.Fatal("ids made from increasing times are not in increasing order")
	}
	if u := uuid.MustParse(ids[0]); u.Version() != 7 {
		t.Fatalf("version %d, want 7", u.Version())
	}
}

func TestPrepareEvent(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 999, time.UTC)
	e, err := Event{
		Type:     TypeSubmitted,
		Subjects: []Subject{Task("t"), Tenant("a"), Task("t")},
		Data:     json.RawMessage(` { "units" : 2 } `),
	}.Prepare(now)
	if err != nil {
		t.Fatal(err)
	}
	if !e.At.Equal(now.Truncate(time.Microsecond)) || e.EventID == "" {
		t.Errorf("At %v id %q: want now truncated to µs and an assigned id", e.At, e.EventID)
	}
	if len(e.Subjects) != 2 {
		t.Errorf("Subjects = %v, want the duplicate removed", e.Subjects)
	}
	if string(e.Data) != `{"units":2}` {
		t.Errorf("Data = %s, want it compacted", e.Data)
	}

	bad := []struct {
		name    string
		event   Event
		wantErr string
	}{
		{"an unknown type is refused", Event{Type: "finished", Subjects: []Subject{Task("t")}}, `type "finished"`},
		{"an event needs a subject", Event{Type: TypeQueued}, "no subject"},
		{"subjects are validated", Event{Type: TypeQueued, Subjects: []Subject{{Kind: "x", ID: "1"}}}, `kind "x"`},
		{"the id must be a UUID", Event{EventID: "e1", Type: TypeQueued, Subjects: []Subject{Task("t")}}, "not a UUID"},
		{"data must be JSON", Event{Type: TypeQueued, Subjects: []Subject{Task("t")}, Data: json.RawMessage("{")}, "JSON"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.event.Prepare(now)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Prepare() = %v, want an ErrInvalid containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestQueryCanonical(t *testing.T) {
	since := time.Date(2025, 1, 1, 0, 0, 0, 1, time.UTC)
	q, err := Query{Subject: Pool("gpu"), Types: []Type{TypeQueued, TypeQueued}, Since: since}.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	if q.Limit != DefaultLimit || len(q.Types) != 1 {
		t.Errorf("got limit %d types %v, want the default limit and de-duplicated types", q.Limit, q.Types)
	}
	if want := since.Truncate(time.Microsecond).Add(time.Microsecond); !q.Since.Equal(want) {
		t.Errorf("Since = %v, want it rounded up to %v", q.Since, want)
	}

	for _, tt := range []struct {
		name    string
		q       Query
		wantErr string
	}{
		{"a query needs a subject", Query{}, "subject kind"},
		{"types must be known", Query{Subject: Task("t"), Types: []Type{"x"}}, `type "x"`},
		{"an empty time range is refused", Query{Subject: Task("t"), Since: since, Until: since}, "not before until"},
		{"the limit is bounded", Query{Subject: Task("t"), Limit: 1001}, "maximum 1000"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.q.Canonical()
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Canonical() = %v, want an ErrInvalid containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestQueryMatchesUsesAHalfOpenTimeRange(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	q, err := Query{Subject: Task("t"), Since: t0, Until: t0.Add(time.Second)}.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	at := func(d time.Duration) Event {
		return Event{Type: TypeQueued, At: t0.Add(d), Subjects: []Subject{Tenant("a"), Task("t")}}
	}
	if !q.Matches(at(0)) {
		t.Error("an event at since is excluded, want since inclusive")
	}
	if q.Matches(at(time.Second)) {
		t.Error("an event at until is included, want until exclusive")
	}
	if q.Matches(Event{Type: TypeQueued, At: t0, Subjects: []Subject{Tenant("t")}}) {
		t.Error("tenant:t matches a query for task:t, want the kind to be part of the subject")
	}
}

func TestEventJSONUsesCamelCase(t *testing.T) {
	b, _ := json.Marshal(Event{EventID: "e", Type: TypeStarted, At: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Subjects: []Subject{Task("t")}})
	want := `{"eventId":"e","type":"started","at":"2025-01-01T00:00:00Z","subjects":[{"kind":"task","id":"t"}]}`
	if string(b) != want {
		t.Errorf("json = %s\nwant   %s", b, want)
	}
}

func FuzzParseSubject(f *testing.F) {
	for _, s := range []string{"task:t", "mailbox:a/b/c", "x", ":"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sub, err := ParseSubject(s)
		if err != nil {
			return
		}
		if sub.String() != s {
			t.Fatalf("ParseSubject(%q).String() = %q", s, sub.String())
		}
	})
}
