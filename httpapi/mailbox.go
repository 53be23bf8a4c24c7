package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/parklot/parklot/domain/mailbox"
)

// MessageList is the answer of GET /mailbox/{tenant}: messages oldest first.
type MessageList struct {
	Messages []mailbox.Message `json:"messages"`
}

// mailboxKey resolves the key of a mailbox request, field by field so that
// an error names the parameter at fault.
func (h *Handler) mailboxKey(r *http.Request) (mailbox.Key, error) {
	s := h.scope(r)
	q := r.URL.Query()
	var key mailbox.Key
	var err error
	if key.Tenant, err = s.tenant("tenant", r.PathValue("tenant")); err != nil {
		return key, err
	}
	if key.User, err = s.user("user", q.Get("user")); err != nil {
		return key, err
	}
	if key.Session, err = s.session("session", q.Get("session")); err != nil {
		return key, err
	}
	check := mailbox.Key{}
	for _, f := range []struct {
		field, value string
		set          *string
	}{{"tenant", key.Tenant, &check.Tenant}, {"user", key.User, &check.User}, {"session", key.Session, &check.Session}} {
		*f.set = f.value
		if err := check.Validate(); err != nil {
			return key, invalid(f.field, "%s", strings.TrimPrefix(err.Error(), mailbox.ErrInvalid.Error()+": "))
		}
	}
	return key, nil
}

// queryInt reads an optional integer query parameter (0 when absent).
func queryInt(r *http.Request, name string) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, invalid(name, "%s %q is not an integer", name, s)
	}
	return n, nil
}

func (h *Handler) readMailbox(w http.ResponseWriter, r *http.Request) {
	key, err := h.mailboxKey(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	since := r.URL.Query().Get("since")
	if _, err := mailbox.ParseCursor(since); err != nil {
		h.fail(w, r, invalid("since", "%s", strings.TrimPrefix(err.Error(), mailbox.ErrInvalid.Error()+": ")))
		return
	}
	limit, err := queryInt(r, "limit")
	if err == nil {
		limit, err = mailbox.CheckLimit(limit)
		if err != nil {
			err = invalid("limit", "%s", strings.TrimPrefix(err.Error(), mailbox.ErrInvalid.Error()+": "))
		}
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	msgs, err := h.o.API.Mailbox(r.Context(), key, since, limit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, MessageList{Messages: msgs})
}

// mailboxEvents streams a mailbox as Server-Sent Events: one `message`
// event per message, its id the messageId, oldest first. A reconnecting
// EventSource sends Last-Event-ID and the stream goes on after that message;
// a first connection may pass ?since= (a messageId or an RFC3339 time)
// instead, and without either it starts at the beginning of the mailbox.
func (h *Handler) mailboxEvents(w http.ResponseWriter, r *http.Request) {
	key, err := h.mailboxKey(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	field, since := "Last-Event-ID", r.Header.Get("Last-Event-ID")
	if since == "" {
		field, since = "since", r.URL.Query().Get("since")
	}
	cur, err := mailbox.ParseCursor(since)
	if err != nil {
		h.fail(w, r, invalid(field, "%s", strings.TrimPrefix(err.Error(), mailbox.ErrInvalid.Error()+": ")))
		return
	}
	done, err := h.openStream()
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer done()

	ctx := r.Context()
	st := &mailboxStream{read: h.readAll(key), settle: h.o.MailboxSettle, late: mailboxLateWindow, seen: map[string]time.Time{},
		probe: func(ctx context.Context, id string) error {
			_, err := h.o.API.Mailbox(ctx, key, id, 1)
			return err
		}}
	pctx, cancel := context.WithTimeout(ctx, h.o.RequestTimeout)
	first, err := st.start(pctx, cur, time.Now())
	cancel()
	if err != nil {
		if he := toHTTPError(err); he.Field == "since" {
			he.Field = field
			err = he
		}
		h.fail(w, r, err)
		return
	}
	sse, err := startSSE(w, 2*time.Second)
	if err != nil {
		return
	}
	defer sse.end()
	if sendMessages(sse, first) != nil {
		return
	}
	poll := time.NewTicker(h.o.StreamPoll)
	defer poll.Stop()
	keepAlive := time.NewTicker(keepAliveEvery)
	defer keepAlive.Stop()
	maxAge := time.NewTimer(h.o.StreamMaxAge)
	defer maxAge.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.shutdown:
			return
		case <-maxAge.C:
			return
		case <-keepAlive.C:
			if sse.comment("keep-alive") != nil {
				return
			}
		case <-poll.C:
			pctx, cancel := context.WithTimeout(ctx, h.o.RequestTimeout)
			evs, err := st.poll(pctx, time.Now())
			cancel()
			if err != nil {
				// Temporal may be away for a moment; the next poll
				// catches up, from the same position.
				h.o.Logger.Debug("mailbox stream poll", "key", key.String(), "err", err)
				continue
			}
			if sendMessages(sse, evs) != nil {
				return
			}
		}
	}
}

func sendMessages(sse *sseWriter, evs []streamEvent) error {
	for _, ev := range evs {
		data, err := json.Marshal(ev.msg)
		if err != nil {
			return err
		}
		id := ""
		if ev.inOrder {
			id = ev.msg.MessageID
		}
		if err := sse.event(id, "message", data); err != nil {
			return err
		}
	}
	return nil
}

// readAll returns a reader of key's mailbox through its workflow: every
// message strictly after since (an RFC3339 time, a messageId, or "" for
// all), oldest first, paging as needed.
func (h *Handler) readAll(key mailbox.Key) func(ctx context.Context, since string) ([]mailbox.Message, error) {
	return func(ctx context.Context, since string) ([]mailbox.Message, error) {
		var all []mailbox.Message
		for {
			page, err := h.o.API.Mailbox(ctx, key, since, mailbox.MaxLimit)
			if err != nil {
				return nil, err
			}
			all = append(all, page...)
			if len(page) < mailbox.MaxLimit {
				return all, nil
			}
			since = page[len(page)-1].MessageID
		}
	}
}

// mailboxLateWindow is how far behind the stream's position it keeps
// looking for messages delivered out of order.
const mailboxLateWindow = 2 * time.Minute

// mailboxStream decides what a mailbox stream sends, without gaps or
// repeats across reconnects.
//
// A mailbox is ordered by (createdAt, messageId) (mailbox.Compare), and a
// messageId cursor means "strictly after this message in that order", so
// an event id is a resumable position. But messages are created when their
// task finishes and arrive a little later, through an activity; two tasks
// finishing together may arrive in the other order, and one whose delivery
// was retried through a store outage arrives much later. A stream that sent
// whatever it found after its position would then skip the message that
// landed behind it. So:
//
//   - a message goes out in order, with its id, only once it is settle old
//     (the node's clock against the workflow's createdAt), so the usual
//     near-simultaneous deliveries are already in place when it is sent;
//   - the stream also re-reads the late window behind its position, and a
//     message it finds there that it has not sent and that was not there
//     when it started is sent at once, without an id, so that the client's
//     Last-Event-ID, and with it a resume, never moves backwards.
//
// What stays out of reach is a message that sorts before the client's last
// event and arrives either more than settle late while no stream is
// connected, or more than the late window late at all: the mailbox (GET
// /mailbox) has it, the stream does not send it.
type mailboxStream struct {
	read func(ctx context.Context, since string) ([]mailbox.Message, error)
	// probe checks that the mailbox holds a message id; nil uses read.
	probe  func(ctx context.Context, messageID string) error
	settle time.Duration
	late   time.Duration
	// pos is the last message sent in order, or the cursor's position:
	// a message sorts after it when mailbox.Compare(m, pos) > 0. A time
	// cursor's position has the id "~", which sorts after every id at
	// that instant. Unset, the stream is at the start of the mailbox.
	pos    mailbox.Message
	posSet bool
	// seen are the messages at or before pos, back to pos.CreatedAt-late,
	// that the client has: sent by this stream or before its cursor.
	seen map[string]time.Time
}

type streamEvent struct {
	msg     mailbox.Message
	inOrder bool
}

// start places the stream at cur and returns what to send first. A
// messageId the mailbox does not hold is an error.
func (s *mailboxStream) start(ctx context.Context, cur mailbox.Cursor, now time.Time) ([]streamEvent, error) {
	switch {
	case cur.MessageID != "":
		// A read after the id fails when the mailbox does not hold it.
		probe := s.probe
		if probe == nil {
			probe = func(ctx context.Context, id string) error { _, err := s.read(ctx, id); return err }
		}
		if err := probe(ctx, cur.MessageID); err != nil {
			return nil, err
		}
		s.pos, s.posSet = mailbox.Message{MessageID: cur.MessageID, CreatedAt: messageTime(cur.MessageID)}, true
	case !cur.After.IsZero():
		s.pos, s.posSet = mailbox.Message{MessageID: "~", CreatedAt: mailbox.CanonicalTime(cur.After)}, true
	}
	msgs, err := s.read(ctx, s.since())
	if err != nil {
		return nil, err
	}
	if s.posSet {
		for _, m := range msgs {
			if m.MessageID == s.pos.MessageID {
				s.pos = m // its exact createdAt
			}
		}
		for _, m := range msgs {
			if mailbox.Compare(m, s.pos) <= 0 {
				s.seen[m.MessageID] = m.CreatedAt
			}
		}
	}
	return s.next(msgs, now), nil
}

// poll reads the mailbox again and returns what to send.
func (s *mailboxStream) poll(ctx context.Context, now time.Time) ([]streamEvent, error) {
	msgs, err := s.read(ctx, s.since())
	if err != nil {
		return nil, err
	}
	return s.next(msgs, now), nil
}

func (s *mailboxStream) since() string {
	if !s.posSet || s.pos.CreatedAt.IsZero() {
		return ""
	}
	return s.pos.CreatedAt.Add(-s.late).UTC().Format(time.RFC3339Nano)
}

// next picks from msgs (oldest first) the late messages and the in-order
// messages old enough to send, and moves the position.
func (s *mailboxStream) next(msgs []mailbox.Message, now time.Time) []streamEvent {
	var out []streamEvent
	for _, m := range msgs {
		if s.posSet && mailbox.Compare(m, s.pos) <= 0 {
			if _, ok := s.seen[m.MessageID]; !ok {
				s.seen[m.MessageID] = m.CreatedAt
				out = append(out, streamEvent{msg: m})
			}
			continue
		}
		if now.Sub(m.CreatedAt) < s.settle {
			break // and so is everything after it
		}
		out = append(out, streamEvent{msg: m, inOrder: true})
		s.pos, s.posSet = m, true
		s.seen[m.MessageID] = m.CreatedAt
	}
	horizon := s.pos.CreatedAt.Add(-s.late)
	for id, at := range s.seen {
		if at.Before(horizon) {
			delete(s.seen, id)
		}
	}
	return out
}

// messageTime is the creation time a UUIDv7 message id carries
// (mailbox.NewMessageID: 48 bits of milliseconds, 12 bits of millisecond
// fraction), rounded up to the microsecond like createdAt. For another
// kind of id it is the zero time, and the stream reads from the start of
// the mailbox to find the message.
func messageTime(id string) time.Time {
	u, err := uuid.Parse(id)
	if err != nil || u.Version() != 7 {
		return time.Time{}
	}
	var ms int64
	for _, b := range u[:6] {
		ms = ms<<8 | int64(b)
	}
	frac := int64(u[6]&0x0f)<<8 | int64(u[7])
	t := time.Unix(0, ms*int64(time.Millisecond)+frac*int64(time.Millisecond)/4096).UTC()
	if tr := t.Truncate(time.Microsecond); !tr.Equal(t) {
		t = tr.Add(time.Microsecond)
	}
	return t
}
