package memory

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/parklot/parklot/domain/audit"
)

var errAuditClosed = errors.New("memory audit store is closed: open a new one")

// Audit is an in-memory storage.Audit. The zero value is not usable; call
// NewAudit.
type Audit struct {
	mu     sync.RWMutex
	closed bool
	ids    map[string]struct{}
	// bySubject mirrors the durable backends' subject index: each list is
	// sorted oldest first, so an event written now is appended at the end
	// instead of shifting the whole list, and a query reads the list
	// backwards from its newest end instead of scanning every event.
	bySubject map[audit.Subject][]audit.Event
	now       func() time.Time
}

// NewAudit returns an empty store.
func NewAudit() *Audit {
	return &Audit{
		ids:       map[string]struct{}{},
		bySubject: map[audit.Subject][]audit.Event{},
		now:       time.Now,
	}
}

// Append implements storage.Audit.
func (s *Audit) Append(ctx context.Context, events ...audit.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// Validate the whole batch first: a batch is stored entirely or not at
	// all, like the transaction of the SQL backends.
	now := s.now()
	prepared := make([]audit.Event, 0, len(events))
	for _, e := range events {
		p, err := e.Prepare(now)
		if err != nil {
			return err
		}
		p.Subjects = slices.Clone(p.Subjects)
		p.Data = slices.Clone(p.Data)
		prepared = append(prepared, p)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errAuditClosed
	}
	for _, e := range prepared {
		if _, dup := s.ids[e.EventID]; dup {
			continue
		}
		s.ids[e.EventID] = struct{}{}
		for _, sub := range e.Subjects {
			list := s.bySubject[sub]
			i := len(list)
			if i > 0 && oldestFirst(e, list[i-1]) < 0 {
				// Older than the newest stored (a late batch): find its place.
				i, _ = slices.BinarySearchFunc(list, e, oldestFirst)
			}
			s.bySubject[sub] = slices.Insert(list, i, e)
		}
	}
	return nil
}

// oldestFirst orders a subject's list: the reverse of audit.NewestFirst.
func oldestFirst(a, b audit.Event) int { return audit.NewestFirst(b, a) }

// Query implements storage.Audit.
func (s *Audit) Query(ctx context.Context, q audit.Query) ([]audit.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	q, err := q.Canonical()
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errAuditClosed
	}
	list := s.bySubject[q.Subject]
	if !q.Until.IsZero() {
		// Leave out events at or after Until: cut at the first whose At is
		// not before it.
		i, _ := slices.BinarySearchFunc(list, q.Until, func(e audit.Event, until time.Time) int {
			if e.At.Before(until) {
				return -1
			}
			return 1
		})
		list = list[:i]
	}
	out := []audit.Event{}
	for _, e := range slices.Backward(list) {
		if len(out) == q.Limit || (!q.Since.IsZero() && e.At.Before(q.Since)) {
			break
		}
		if q.Matches(e) {
			e.Subjects = slices.Clone(e.Subjects)
			e.Data = slices.Clone(e.Data)
			out = append(out, e)
		}
	}
	return out, nil
}

// Ping implements storage.Audit.
func (s *Audit) Ping(ctx context.Context) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return errAuditClosed
	}
	return ctx.Err()
}

// Close implements storage.Audit. It drops the events.
func (s *Audit) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.ids, s.bySubject = nil, nil
	return nil
}
