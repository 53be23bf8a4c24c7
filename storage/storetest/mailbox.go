package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/parklot/parklot/domain/mailbox"
	"github.com/parklot/parklot/storage"
)

// base is a fixed instant with a microsecond fraction, so that the suite
// notices a backend that loses sub-second precision.
var base = time.Date(2025, 6, 1, 12, 0, 0, 123456000, time.UTC)

// RunMailbox runs the storage.Mailbox contract. open must return a new,
// empty store for each call; the suite closes it. Pass ReopenMailbox for a
// durable backend.
func RunMailbox(t *testing.T, open func(t *testing.T) storage.Mailbox, opts ...Option) {
	o := collect(opts)
	newStore := func(t *testing.T) storage.Mailbox {
		t.Helper()
		s := open(t)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	ctx := context.Background()
	keyA := mailbox.Key{Tenant: "acme", User: "ana", Session: "s1"}

	t.Run("a delivered message reads back unchanged", func(t *testing.T) {
		s := newStore(t)
		in := mailbox.Message{
			MessageID: mailbox.NewMessageID(base),
			Key:       keyA,
			TaskID:    "task-1",
			Pool:      "gpu",
			Status:    mailbox.StatusRejected,
			Reason:    "queue full: 100 tasks queued — retry later ✓",
			Payload:   json.RawMessage(`{"depth":100,"nested":{"a":[1,2.5,"x"]},"s":"ü"}`),
			CreatedAt: base,
		}
		stored, created, err := s.Deliver(ctx, in)
		if err != nil || !created {
			t.Fatalf("Deliver() = created %v, err %v; want a new message", created, err)
		}
		equalMessages(t, "Deliver() returned", []mailbox.Message{stored}, []mailbox.Message{in})
		got, err := s.Read(ctx, keyA, mailbox.Cursor{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		equalMessages(t, "Read()", got, []mailbox.Message{in})
	})

	t.Run("a message without a payload reads back without one", func(t *testing.T) {
		s := newStore(t)
		in := newMessage(keyA, "task-1", base)
		in.Payload = nil
		deliver(t, s, in)
		got, err := s.Read(ctx, keyA, mailbox.Cursor{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Payload != nil {
			t.Fatalf("Read() = %+v, want one message with a nil payload", got)
		}
	})

	t.Run("deliver assigns a time-ordered id and the current time when they are empty", func(t *testing.T) {
		s := newStore(t)
		before := time.Now().Truncate(time.Microsecond)
		stored, created, err := s.Deliver(ctx, mailbox.Message{Key: keyA, TaskID: "task-1", Status: mailbox.StatusCompleted})
		after := time.Now()
		if err != nil || !created {
			t.Fatalf("Deliver() = created %v, err %v", created, err)
		}
		if u, err := uuid.Parse(stored.MessageID); err != nil || u.Version() != 7 {
			t.Errorf("MessageID = %q, want a UUIDv7", stored.MessageID)
		}
		if stored.CreatedAt.Before(before) || stored.CreatedAt.After(after) {
			t.Errorf("CreatedAt = %v, want between %v and %v", stored.CreatedAt, before, after)
		}
		got, err := s.Read(ctx, keyA, mailbox.Cursor{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		equalMessages(t, "Read()", got, []mailbox.Message{stored})
	})

	t.Run("a second delivery of the same task returns the first message unchanged", func(t *testing.T) {
		s := newStore(t)
		first := deliver(t, s, newMessage(keyA, "task-1", base))
		retry := newMessage(keyA, "task-1", base.Add(time.Minute))
		retry.Status = mailbox.StatusFailed
		retry.Reason = "a different outcome"
		retry.Payload = json.RawMessage(`{"other":true}`)
		for _, m := range []mailbox.Message{retry, {Key: keyA, TaskID: "task-1", Status: mailbox.StatusDropped}} {
			stored, created, err := s.Deliver(ctx, m)
			if err != nil {
				t.Fatal(err)
			}
			if created {
				t.Fatal("Deliver() created a second message for the same task")
			}
			equalMessages(t, "the repeated Deliver() returned", []mailbox.Message{stored}, []mailbox.Message{first})
		}
		got, err := s.Read(ctx, keyA, mailbox.Cursor{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		equalMessages(t, "Read()", got, []mailbox.Message{first})
	})

	t.Run("the same task id in another mailbox is another message", func(t *testing.T) {
		s := newStore(t)
		other := mailbox.Key{Tenant: "acme", User: "bob"}
		deliver(t, s, newMessage(keyA, "task-1", base))
		if _, created, err := s.Deliver(ctx, newMessage(other, "task-1", base)); err != nil || !created {
			t.Fatalf("Deliver() to %v = created %v, err %v; want a new message", other, created, err)
		}
	})

	t.Run("concurrent deliveries of one task make exactly one message", func(t *testing.T) {
		s := newStore(t)
		const n = 8
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			results []mailbox.Message
			created int
			errs    []error
		)
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				m := newMessage(keyA, "task-1", base.Add(time.Duration(i)*time.Millisecond))
				stored, c, err := s.Deliver(ctx, m)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
					return
				}
				results = append(results, stored)
				if c {
					created++
				}
			}()
		}
		close(start)
		wg.Wait()
		if len(errs) > 0 {
			t.Fatalf("concurrent Deliver() failed: %v", errors.Join(errs...))
		}
		if created != 1 {
			t.Fatalf("%d deliveries report created, want exactly 1", created)
		}
		for _, r := range results[1:] {
			equalMessages(t, "concurrent Deliver() results", []mailbox.Message{r}, results[:1])
		}
		got, err := s.Read(ctx, keyA, mailbox.Cursor{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		equalMessages(t, "Read()", got, results[:1])
	})

	t.Run("messages read oldest first, by time then id", func(t *testing.T) {
		s := newStore(t)
		var want []mailbox.Message
		for i, offset := range []time.Duration{3, 1, 4, 1, 5, 9, 2, 6} {
			want = append(want, deliver(t, s, newMessage(keyA, fmt.Sprintf("task-%d", i), base.Add(offset*time.Second))))
		}
		slices.SortFunc(want, mailbox.Compare)
		got, err := s.Read(ctx, keyA, mailbox.Cursor{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		equalMessages(t, "Read()", got, want)
	})

	t.Run("a time cursor reads strictly after that time", func(t *testing.T) {
		s := newStore(t)
		var all []mailbox.Message
		for i := range 5 {
			all = append(all, deliver(t, s, newMessage(keyA, fmt.Sprintf("task-%d", i), base.Add(time.Duration(i)*time.Second))))
		}
		t2 := all[2].CreatedAt
		for _, tt := range []struct {
			name  string
			after time.Time
			want  []mailbox.Message
		}{
			{"exactly a message's time excludes it", t2, all[3:]},
			{"a nanosecond before a message's time includes it", t2.Add(-time.Nanosecond), all[2:]},
			{"a nanosecond after a message's time excludes it", t2.Add(time.Nanosecond), all[3:]},
			{"a time before every message reads all", base.Add(-time.Hour), all},
			{"a time after every message reads none", base.Add(time.Hour), nil},
			{"a time in another zone means the same instant", t2.In(time.FixedZone("X", -5*3600)), all[3:]},
		} {
			got, err := s.Read(ctx, keyA, mailbox.Cursor{After: tt.after}, 0)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			equalMessages(t, tt.name, got, tt.want)
		}
	})

	t.Run("a message-id cursor pages through every message exactly once", func(t *testing.T) {
		s := newStore(t)
		var want []mailbox.Message
		for i := range 7 {
			// Three messages share one instant: the id must break the tie
			// the same way in the order and in the cursor.
			at := base.Add(time.Duration(min(i, 3)) * time.Second)
			want = append(want, deliver(t, s, newMessage(keyA, fmt.Sprintf("task-%d", i), at)))
		}
		slices.SortFunc(want, mailbox.Compare)
		var got []mailbox.Message
		cursor := mailbox.Cursor{}
		for range 10 {
			page, err := s.Read(ctx, keyA, cursor, 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			got = append(got, page...)
			cursor, err = mailbox.ParseCursor(page[len(page)-1].MessageID)
			if err != nil {
				t.Fatal(err)
			}
		}
		equalMessages(t, "the pages", got, want)
	})

	t.Run("a message-id cursor from another mailbox is not found", func(t *testing.T) {
		s := newStore(t)
		deliver(t, s, newMessage(keyA, "task-1", base))
		foreign := deliver(t, s, newMessage(mailbox.Key{Tenant: "globex"}, "task-2", base))
		for _, id := range []string{foreign.MessageID, mailbox.NewMessageID(base)} {
			_, err := s.Read(ctx, keyA, mailbox.Cursor{MessageID: id}, 0)
			if !errors.Is(err, mailbox.ErrCursorNotFound) || !errors.Is(err, mailbox.ErrInvalid) {
				t.Fatalf("Read() after %s = %v, want ErrCursorNotFound and ErrInvalid", id, err)
			}
		}
	})

	t.Run("reads return the default limit and refuse more than the maximum", func(t *testing.T) {
		s := newStore(t)
		var all []mailbox.Message
		for i := range mailbox.DefaultLimit + 10 {
			all = append(all, deliver(t, s, newMessage(keyA, fmt.Sprintf("task-%02d", i), base.Add(time.Duration(i)*time.Millisecond))))
		}
		got, err := s.Read(ctx, keyA, mailbox.Cursor{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		equalMessages(t, "Read(limit 0)", got, all[:mailbox.DefaultLimit])
		got, err = s.Read(ctx, keyA, mailbox.Cursor{}, mailbox.MaxLimit)
		if err != nil || len(got) != len(all) {
			t.Fatalf("Read(limit %d) = %d messages, err %v; want %d", mailbox.MaxLimit, len(got), err, len(all))
		}
		got, err = s.Read(ctx, keyA, mailbox.Cursor{}, 3)
		if err != nil {
			t.Fatal(err)
		}
		equalMessages(t, "Read(limit 3)", got, all[:3])
		for _, limit := range []int{mailbox.MaxLimit + 1, -1} {
			if _, err := s.Read(ctx, keyA, mailbox.Cursor{}, limit); !errors.Is(err, mailbox.ErrInvalid) {
				t.Errorf("Read(limit %d) = %v, want ErrInvalid", limit, err)
			}
		}
	})

	t.Run("a key reads only its own mailbox", func(t *testing.T) {
		s := newStore(t)
		keys := []mailbox.Key{
			{Tenant: "A"},
			{Tenant: "a"},
			{Tenant: "A", User: "u"},
			{Tenant: "A", User: "u", Session: "s"},
			{Tenant: "A", Session: "s"},
			{Tenant: "A", Session: "u"},
			{Tenant: "B"},
			{Tenant: "B", User: "u"},
			{Tenant: "A/u"},
		}
		delivered := map[mailbox.Key]mailbox.Message{}
		for _, k := range keys {
			if k.Validate() != nil {
				continue // a key the domain refuses cannot even be delivered to
			}
			// The same task id everywhere: idempotency must not cross keys.
			delivered[k] = deliver(t, s, newMessage(k, "task-1", base))
		}
		for k, want := range delivered {
			got, err := s.Read(ctx, k, mailbox.Cursor{}, 0)
			if err != nil {
				t.Fatal(err)
			}
			equalMessages(t, "Read("+k.String()+")", got, []mailbox.Message{want})
		}
		got, err := s.Read(ctx, mailbox.Key{Tenant: "C"}, mailbox.Cursor{}, 0)
		if err != nil || got == nil || len(got) != 0 {
			t.Fatalf("Read() of an empty mailbox = %#v, %v; want an empty, non-nil list", got, err)
		}
	})

	t.Run("invalid messages and reads are refused and store nothing", func(t *testing.T) {
		s := newStore(t)
		for name, m := range map[string]mailbox.Message{
			"no tenant":       {TaskID: "t", Status: mailbox.StatusCompleted},
			"slash in user":   {Key: mailbox.Key{Tenant: "acme", User: "a/b"}, TaskID: "t", Status: mailbox.StatusCompleted},
			"no task":         {Key: keyA, Status: mailbox.StatusCompleted},
			"unknown status":  {Key: keyA, TaskID: "t", Status: "done"},
			"invalid payload": {Key: keyA, TaskID: "t", Status: mailbox.StatusCompleted, Payload: json.RawMessage(`{"a":`)},
			"invalid id":      {MessageID: "not-a-uuid", Key: keyA, TaskID: "t", Status: mailbox.StatusCompleted},
		} {
			if _, _, err := s.Deliver(ctx, m); !errors.Is(err, mailbox.ErrInvalid) {
				t.Errorf("Deliver(%s) = %v, want ErrInvalid", name, err)
			}
		}
		got, err := s.Read(ctx, keyA, mailbox.Cursor{}, 0)
		if err != nil || len(got) != 0 {
			t.Fatalf("Read() after refused deliveries = %d messages, %v; want none", len(got), err)
		}
		if _, err := s.Read(ctx, mailbox.Key{User: "u"}, mailbox.Cursor{}, 0); !errors.Is(err, mailbox.ErrInvalid) {
			t.Errorf("Read(no tenant) = %v, want ErrInvalid", err)
		}
		if _, err := s.Read(ctx, keyA, mailbox.Cursor{MessageID: "nope"}, 0); !errors.Is(err, mailbox.ErrInvalid) {
			t.Errorf("Read(bad cursor id) = %v, want ErrInvalid", err)
		}
	})

	t.Run("a message id used by another task is a conflict", func(t *testing.T) {
		s := newStore(t)
		first := deliver(t, s, newMessage(keyA, "task-1", base))
		for _, k := range []mailbox.Key{keyA, {Tenant: "globex"}} {
			m := newMessage(k, "task-2", base)
			m.MessageID = first.MessageID
			_, _, err := s.Deliver(ctx, m)
			if !errors.Is(err, mailbox.ErrConflict) || !errors.Is(err, mailbox.ErrInvalid) {
				t.Errorf("Deliver() reusing an id in %v = %v, want ErrConflict and ErrInvalid", k, err)
			}
		}
	})

	t.Run("a cancelled context fails the call", func(t *testing.T) {
		s := newStore(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, _, err := s.Deliver(cctx, newMessage(keyA, "task-1", base)); err == nil {
			t.Error("Deliver() with a cancelled context succeeded")
		}
		if _, err := s.Read(cctx, keyA, mailbox.Cursor{}, 0); err == nil {
			t.Error("Read() with a cancelled context succeeded")
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
		if _, _, err := s.Deliver(ctx, newMessage(keyA, "task-1", base)); err == nil || errors.Is(err, mailbox.ErrInvalid) {
			t.Errorf("Deliver() on a closed store = %v, want a retryable error", err)
		}
		if _, err := s.Read(ctx, keyA, mailbox.Cursor{}, 0); err == nil {
			t.Error("Read() on a closed store succeeded")
		}
		if err := s.Close(); err != nil {
			t.Errorf("a second Close() = %v, want nil", err)
		}
	})

	if o.reopenMailbox != nil {
		t.Run("messages and idempotency survive close and reopen", func(t *testing.T) {
			s := open(t)
			var want []mailbox.Message
			for i := range 3 {
				want = append(want, deliver(t, s, newMessage(keyA, fmt.Sprintf("task-%d", i), base.Add(time.Duration(i)*time.Second))))
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = o.reopenMailbox(t, s)
			t.Cleanup(func() { _ = s.Close() })
			got, err := s.Read(ctx, keyA, mailbox.Cursor{}, 0)
			if err != nil {
				t.Fatal(err)
			}
			equalMessages(t, "Read() after reopen", got, want)
			stored, created, err := s.Deliver(ctx, newMessage(keyA, "task-1", base.Add(time.Hour)))
			if err != nil || created {
				t.Fatalf("redelivery after reopen = created %v, err %v; want the stored message", created, err)
			}
			equalMessages(t, "redelivery after reopen", []mailbox.Message{stored}, want[1:2])
		})
	}
}

func newMessage(key mailbox.Key, task string, at time.Time) mailbox.Message {
	return mailbox.Message{
		MessageID: mailbox.NewMessageID(at),
		Key:       key,
		TaskID:    task,
		Pool:      "gpu",
		Status:    mailbox.StatusCompleted,
		Payload:   json.RawMessage(`{"task":"` + task + `"}`),
		CreatedAt: at,
	}
}

func deliver(t *testing.T, s storage.Mailbox, m mailbox.Message) mailbox.Message {
	t.Helper()
	stored, created, err := s.Deliver(context.Background(), m)
	if err != nil {
		t.Fatalf("Deliver(%s) = %v", m.TaskID, err)
	}
	if !created {
		t.Fatalf("Deliver(%s) did not create a message", m.TaskID)
	}
	return stored
}

func equalMessages(t *testing.T, what string, got, want []mailbox.Message) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %s\n want %s", what, dumpMessages(got), dumpMessages(want))
	}
}

func dumpMessages(ms []mailbox.Message) string {
	s := fmt.Sprintf("%d messages", len(ms))
	for _, m := range ms {
		s += fmt.Sprintf("\n   %s %s task=%s pool=%s status=%s reason=%q payload=%s createdAt=%s",
			m.MessageID, m.Key, m.TaskID, m.Pool, m.Status, m.Reason, m.Payload, m.CreatedAt.Format(time.RFC3339Nano))
	}
	return s
}
