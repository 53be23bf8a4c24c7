package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/parklot/parklot/domain/audit"
	"github.com/parklot/parklot/storage"
)

// RunAudit runs the storage.Audit contract. open must return a new, empty
// store for each call; the suite closes it. Pass ReopenAudit for a durable
// backend.
func RunAudit(t *testing.T, open func(t *testing.T) storage.Audit, opts ...Option) {
	o := collect(opts)
	newStore := func(t *testing.T) storage.Audit {
		t.Helper()
		s := open(t)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	ctx := context.Background()
	task := audit.Task("t-1")

	t.Run("an appended event reads back unchanged by each of its subjects", func(t *testing.T) {
		s := newStore(t)
		e := audit.Event{
			EventID:  audit.NewEventID(base),
			Type:     audit.TypeRejected,
			At:       base,
			Subjects: []audit.Subject{task, audit.Tenant("acme"), audit.Pool("gpu"), audit.Mailbox("acme/ana/s1")},
			Data:     json.RawMessage(`{"reason":"queue_full","depth":100,"note":"ü — ✓"}`),
		}
		appendEvents(t, s, e)
		for _, sub := range e.Subjects {
			equalEvents(t, "Query("+sub.String()+")", query(t, s, audit.Query{Subject: sub}), []audit.Event{e})
		}
	})

	t.Run("append assigns a time-ordered id and the current time when they are empty", func(t *testing.T) {
		s := newStore(t)
		before := time.Now().Truncate(time.Microsecond)
		appendEvents(t, s, audit.Event{Type: audit.TypeQueued, Subjects: []audit.Subject{task}})
		after := time.Now()
		got := query(t, s, audit.Query{Subject: task})
		if len(got) != 1 {
			t.Fatalf("Query() = %d events, want 1", len(got))
		}
		if u, err := uuid.Parse(got[0].EventID); err != nil || u.Version() != 7 {
			t.Errorf("EventID = %q, want a UUIDv7", got[0].EventID)
		}
		if got[0].At.Before(before) || got[0].At.After(after) {
			t.Errorf("At = %v, want between %v and %v", got[0].At, before, after)
		}
	})

	t.Run("re-appending stored event ids adds nothing and is not an error", func(t *testing.T) {
		s := newStore(t)
		e1 := newEvent(audit.TypeSubmitted, base, task)
		e2 := newEvent(audit.TypeQueued, base.Add(time.Second), task)
		appendEvents(t, s, e1, e2)
		changed := e1
		changed.Type = audit.TypeFailed
		changed.Data = json.RawMessage(`{"changed":true}`)
		changed.Subjects = []audit.Subject{task, audit.Pool("other")}
		appendEvents(t, s, changed, e2)
		appendEvents(t, s, e1, e2)
		equalEvents(t, "Query(task)", query(t, s, audit.Query{Subject: task}), []audit.Event{e2, e1})
		if got := query(t, s, audit.Query{Subject: audit.Pool("other")}); len(got) != 0 {
			t.Errorf("a subject added by a re-append is indexed: %d events", len(got))
		}
	})

	t.Run("an id repeated within one batch keeps its first version", func(t *testing.T) {
		s := newStore(t)
		e := newEvent(audit.TypeStarted, base, task)
		later := e
		later.Type = audit.TypeCompleted
		appendEvents(t, s, e, later, e)
		equalEvents(t, "Query(task)", query(t, s, audit.Query{Subject: task}), []audit.Event{e})
	})

	t.Run("events read newest first, by time then id", func(t *testing.T) {
		s := newStore(t)
		var want []audit.Event
		for _, offset := range []time.Duration{3, 1, 4, 1, 5, 9, 2, 6, 5, 3} {
			want = append(want, newEvent(audit.TypeQueued, base.Add(offset*time.Second), task))
		}
		appendEvents(t, s, want...)
		slices.SortFunc(want, audit.NewestFirst)
		equalEvents(t, "Query(task)", query(t, s, audit.Query{Subject: task}), want)
	})

	t.Run("a query matches its subject's kind and id exactly", func(t *testing.T) {
		s := newStore(t)
		subjects := []audit.Subject{
			audit.Task("1"), audit.Tenant("1"), audit.Pool("1"), audit.Task("10"), audit.Task("T-1"),
			{Kind: audit.KindTicket, ID: "1"}, {Kind: audit.KindLot, ID: "1"},
		}
		want := map[audit.Subject][]audit.Event{}
		for i, sub := range subjects {
			e := newEvent(audit.TypeQueued, base.Add(time.Duration(i)*time.Second), sub)
			want[sub] = []audit.Event{e}
			appendEvents(t, s, e)
		}
		both := newEvent(audit.TypeStarted, base.Add(time.Hour), audit.Task("1"), audit.Pool("1"))
		appendEvents(t, s, both)
		want[audit.Task("1")] = append([]audit.Event{both}, want[audit.Task("1")]...)
		want[audit.Pool("1")] = append([]audit.Event{both}, want[audit.Pool("1")]...)
		for _, sub := range subjects {
			equalEvents(t, "Query("+sub.String()+")", query(t, s, audit.Query{Subject: sub}), want[sub])
		}
		if got := query(t, s, audit.Query{Subject: audit.Task("2")}); got == nil || len(got) != 0 {
			t.Errorf("Query() with no match = %#v, want an empty, non-nil list", got)
		}
	})

	t.Run("types filter the events", func(t *testing.T) {
		s := newStore(t)
		sub := newEvent(audit.TypeSubmitted, base, task)
		que := newEvent(audit.TypeQueued, base.Add(1*time.Second), task)
		sta := newEvent(audit.TypeStarted, base.Add(2*time.Second), task)
		com := newEvent(audit.TypeCompleted, base.Add(3*time.Second), task)
		appendEvents(t, s, sub, que, sta, com)
		equalEvents(t, "one type", query(t, s, audit.Query{Subject: task, Types: []audit.Type{audit.TypeQueued}}), []audit.Event{que})
		equalEvents(t, "two types", query(t, s, audit.Query{Subject: task, Types: []audit.Type{audit.TypeSubmitted, audit.TypeCompleted}}), []audit.Event{com, sub})
		equalEvents(t, "a type with no event", query(t, s, audit.Query{Subject: task, Types: []audit.Type{audit.TypeExpired}}), nil)
	})

	t.Run("since is inclusive and until exclusive", func(t *testing.T) {
		s := newStore(t)
		var e []audit.Event
		for i := range 5 {
			e = append(e, newEvent(audit.TypeQueued, base.Add(time.Duration(i)*time.Second), task))
		}
		appendEvents(t, s, e...)
		at := func(i int) time.Time { return e[i].At }
		for _, tt := range []struct {
			name         string
			since, until time.Time
			want         []audit.Event
		}{
			{"since alone", at(1), time.Time{}, []audit.Event{e[4], e[3], e[2], e[1]}},
			{"until alone", time.Time{}, at(1), []audit.Event{e[0]}},
			{"since and until", at(1), at(3), []audit.Event{e[2], e[1]}},
			{"since a nanosecond after an event excludes it", at(1).Add(time.Nanosecond), at(3), []audit.Event{e[2]}},
			{"until a nanosecond after an event includes it", at(1), at(3).Add(time.Nanosecond), []audit.Event{e[3], e[2], e[1]}},
			{"a window with no event", at(4).Add(time.Millisecond), at(4).Add(time.Hour), nil},
		} {
			equalEvents(t, tt.name, query(t, s, audit.Query{Subject: task, Since: tt.since, Until: tt.until}), tt.want)
		}
	})

	t.Run("queries return the default limit and refuse more than the maximum", func(t *testing.T) {
		s := newStore(t)
		var all []audit.Event
		for i := range audit.DefaultLimit + 10 {
			all = append(all, newEvent(audit.TypeQueued, base.Add(time.Duration(i)*time.Millisecond), task))
		}
		appendEvents(t, s, all...)
		slices.SortFunc(all, audit.NewestFirst)
		equalEvents(t, "limit 0", query(t, s, audit.Query{Subject: task}), all[:audit.DefaultLimit])
		equalEvents(t, "limit 7", query(t, s, audit.Query{Subject: task, Limit: 7}), all[:7])
		equalEvents(t, "limit 7 with types and a window", query(t, s, audit.Query{
			Subject: task, Types: []audit.Type{audit.TypeQueued}, Since: all[20].At, Until: all[5].At, Limit: 7,
		}), all[6:13])
		for _, limit := range []int{audit.MaxLimit + 1, -1} {
			if _, err := s.Query(ctx, audit.Query{Subject: task, Limit: limit}); !errors.Is(err, audit.ErrInvalid) {
				t.Errorf("Query(limit %d) = %v, want ErrInvalid", limit, err)
			}
		}
	})

	t.Run("a batch of 1000 events is appended in one call", func(t *testing.T) {
		s := newStore(t)
		pool := audit.Pool("gpu")
		var batch []audit.Event
		for i := range 1000 {
			batch = append(batch, newEvent(audit.TypeQueued, base.Add(time.Duration(i)*time.Millisecond),
				audit.Task(fmt.Sprintf("t-%04d", i)), audit.Tenant(fmt.Sprintf("tenant-%d", i%7)), pool))
		}
		start := time.Now()
		appendEvents(t, s, batch...)
		t.Logf("appended 1000 events (3000 subject rows) in one call in %v", time.Since(start).Round(time.Microsecond))
		slices.SortFunc(batch, audit.NewestFirst)
		start = time.Now()
		got := query(t, s, audit.Query{Subject: pool, Limit: audit.MaxLimit})
		t.Logf("queried 1000 events of one subject in %v", time.Since(start).Round(time.Microsecond))
		equalEvents(t, "Query(pool, limit 1000)", got, batch)
		equalEvents(t, "Query(task)", query(t, s, audit.Query{Subject: audit.Task("t-0500")}), batch[499:500])
	})

	t.Run("a batch with an invalid event stores nothing", func(t *testing.T) {
		s := newStore(t)
		good := newEvent(audit.TypeQueued, base, task)
		bad := newEvent("no_such_type", base, task)
		if err := s.Append(ctx, good, bad); !errors.Is(err, audit.ErrInvalid) {
			t.Fatalf("Append() = %v, want ErrInvalid", err)
		}
		equalEvents(t, "Query() after a refused batch", query(t, s, audit.Query{Subject: task}), nil)
		for name, e := range map[string]audit.Event{
			"no subject":     {Type: audit.TypeQueued},
			"unknown kind":   {Type: audit.TypeQueued, Subjects: []audit.Subject{{Kind: "truck", ID: "1"}}},
			"invalid data":   {Type: audit.TypeQueued, Subjects: []audit.Subject{task}, Data: json.RawMessage(`[`)},
			"invalid id":     {EventID: "e-1", Type: audit.TypeQueued, Subjects: []audit.Subject{task}},
			"empty subject":  {Type: audit.TypeQueued, Subjects: []audit.Subject{{Kind: audit.KindTask}}},
			"NUL in subject": {Type: audit.TypeQueued, Subjects: []audit.Subject{audit.Task("a\x00b")}},
		} {
			if err := s.Append(ctx, e); !errors.Is(err, audit.ErrInvalid) {
				t.Errorf("Append(%s) = %v, want ErrInvalid", name, err)
			}
		}
	})

	t.Run("invalid queries are refused", func(t *testing.T) {
		s := newStore(t)
		for name, q := range map[string]audit.Query{
			"no subject":   {},
			"unknown type": {Subject: task, Types: []audit.Type{"nope"}},
			"empty window": {Subject: task, Since: base, Until: base},
		} {
			if _, err := s.Query(ctx, q); !errors.Is(err, audit.ErrInvalid) {
				t.Errorf("Query(%s) = %v, want ErrInvalid", name, err)
			}
		}
	})

	t.Run("an empty append is a no-op", func(t *testing.T) {
		s := newStore(t)
		if err := s.Append(ctx); err != nil {
			t.Fatalf("Append() = %v", err)
		}
	})

	t.Run("concurrent appends of overlapping batches store each event once", func(t *testing.T) {
		s := newStore(t)
		var events []audit.Event
		for i := range 100 {
			events = append(events, newEvent(audit.TypeQueued, base.Add(time.Duration(i)*time.Millisecond), task, audit.Pool("gpu")))
		}
		var wg sync.WaitGroup
		errs := make(chan error, 6)
		for i := range 6 {
			batch := slices.Clone(events[i*10 : i*10+50]) // overlapping windows
			rand.Shuffle(len(batch), func(a, b int) { batch[a], batch[b] = batch[b], batch[a] })
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- s.Append(ctx, batch...)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("concurrent Append() = %v", err)
			}
		}
		want := slices.Clone(events[:100])
		slices.SortFunc(want, audit.NewestFirst)
		equalEvents(t, "Query(task)", query(t, s, audit.Query{Subject: task, Limit: 1000}), want)
		equalEvents(t, "Query(pool)", query(t, s, audit.Query{Subject: audit.Pool("gpu"), Limit: 1000}), want)
	})

	t.Run("a cancelled context fails the call", func(t *testing.T) {
		s := newStore(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := s.Append(cctx, newEvent(audit.TypeQueued, base, task)); err == nil {
			t.Error("Append() with a cancelled context succeeded")
		}
		if _, err := s.Query(cctx, audit.Query{Subject: task}); err == nil {
			t.Error("Query() with a cancelled context succeeded")
		}
	})

	t.Run("a closed store fails every call", func(t *testing.T) {
		s := newStore(t)
		if err := s.Ping(ctx); err != nil {
			t.Fatalf("Ping() of an open store = %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close() = %v", err)
		}
		if err := s.Ping(ctx); err == nil {
			t.Error("Ping() of a closed store succeeded")
		}
		if err := s.Append(ctx, newEvent(audit.TypeQueued, base, task)); err == nil || errors.Is(err, audit.ErrInvalid) {
			t.Errorf("Append() on a closed store = %v, want a retryable error", err)
		}
		if _, err := s.Query(ctx, audit.Query{Subject: task}); err == nil {
			t.Error("Query() on a closed store succeeded")
		}
		if err := s.Close(); err != nil {
			t.Errorf("a second Close() = %v, want nil", err)
		}
	})

	if o.reopenAudit != nil {
		t.Run("events and idempotency survive close and reopen", func(t *testing.T) {
			s := open(t)
			e1 := newEvent(audit.TypeSubmitted, base, task, audit.Tenant("acme"))
			e2 := newEvent(audit.TypeQueued, base.Add(time.Second), task, audit.Tenant("acme"))
			appendEvents(t, s, e1, e2)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = o.reopenAudit(t, s)
			t.Cleanup(func() { _ = s.Close() })
			appendEvents(t, s, e1) // a retry after a restart
			equalEvents(t, "Query() after reopen", query(t, s, audit.Query{Subject: audit.Tenant("acme")}), []audit.Event{e2, e1})
		})
	}
}

func newEvent(typ audit.Type, at time.Time, subjects ...audit.Subject) audit.Event {
	return audit.Event{
		EventID:  audit.NewEventID(at),
		Type:     typ,
		At:       at,
		Subjects: subjects,
		Data:     json.RawMessage(`{"at":"` + at.Format(time.RFC3339Nano) + `"}`),
	}
}

func appendEvents(t *testing.T, s storage.Audit, events ...audit.Event) {
	t.Helper()
	if err := s.Append(context.Background(), events...); err != nil {
		t.Fatalf("Append(%d events) = %v", len(events), err)
	}
}

func query(t *testing.T, s storage.Audit, q audit.Query) []audit.Event {
	t.Helper()
	got, err := s.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("Query(%s) = %v", q.Subject, err)
	}
	return got
}

func equalEvents(t *testing.T, what string, got, want []audit.Event) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %s\n want %s", what, dumpEvents(got), dumpEvents(want))
	}
}

func dumpEvents(es []audit.Event) string {
	s := fmt.Sprintf("%d events", len(es))
	for _, e := range es {
		s += fmt.Sprintf("\n   %s %s at=%s subjects=%v data=%s", e.EventID, e.Type, e.At.Format(time.RFC3339Nano), e.Subjects, e.Data)
	}
	return s
}
