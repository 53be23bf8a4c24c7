package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/parklot/parklot/domain/audit"
)

// Audit is the file-backed storage.Audit.
type Audit struct {
	db  *db
	now func() time.Time
}

// OpenAudit opens (creating if needed) the SQLite file at path and migrates
// it. The directory must exist.
func OpenAudit(ctx context.Context, path string) (*Audit, error) {
	d, err := open(ctx, "audit", path)
	if err != nil {
		return nil, err
	}
	return &Audit{db: d, now: time.Now}, nil
}

// Path is the file the store was opened on.
func (s *Audit) Path() string { return s.db.path }

// Append implements storage.Audit: one transaction for the whole batch, so
// the batch costs one fsync and is stored entirely or not at all.
func (s *Audit) Append(ctx context.Context, events ...audit.Event) (err error) {
	now := s.now()
	prepared := make([]audit.Event, 0, len(events))
	for _, e := range events {
		p, err := e.Prepare(now)
		if err != nil {
			return err
		}
		prepared = append(prepared, p)
	}
	if err := s.db.check(ctx); err != nil {
		return err
	}
	if len(prepared) == 0 {
		return nil
	}
	tx, err := s.db.writer.BeginTxx(ctx, nil)
	if err != nil {
		return s.db.wrap("append", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	insertEvent, err := tx.PrepareContext(ctx,
		`INSERT INTO audit_events (event_id, type, at, subjects, data) VALUES (?, ?, ?, ?, ?)
		 ON CONFLICT DO NOTHING`)
	if err != nil {
		return s.db.wrap("append", err)
	}
	defer insertEvent.Close()
	insertSubject, err := tx.PrepareContext(ctx,
		`INSERT INTO audit_event_subjects (kind, id, at, event_id, type) VALUES (?, ?, ?, ?, ?)`)
	if err != nil {
		return s.db.wrap("append", err)
	}
	defer insertSubject.Close()

	for _, e := range prepared {
		subjects, err := json.Marshal(e.Subjects)
		if err != nil {
			return fmt.Errorf("encode subjects of event %s: %w", e.EventID, err)
		}
		var data any
		if e.Data != nil {
			data = string(e.Data)
		}
		res, err := insertEvent.ExecContext(ctx, e.EventID, string(e.Type), micros(e.At), string(subjects), data)
		if err != nil {
			return s.db.wrap("append", err)
		}
		// Subject rows only for events this call inserted: re-appending an
		// id with different subjects must not graft them onto the first
		// version.
		if n, err := res.RowsAffected(); err != nil {
			return s.db.wrap("append", err)
		} else if n == 0 {
			continue
		}
		for _, sub := range e.Subjects {
			if _, err := insertSubject.ExecContext(ctx, string(sub.Kind), sub.ID, micros(e.At), e.EventID, string(e.Type)); err != nil {
				return s.db.wrap("append", err)
			}
		}
	}
	return s.db.wrap("append", tx.Commit())
}

type eventRow struct {
	EventID  string `db:"event_id"`
	Type     string `db:"type"`
	At       int64  `db:"at"`
	Subjects string `db:"subjects"`
	Data     []byte `db:"data"`
}

// Query implements storage.Audit. The WHERE and ORDER BY match the primary
// key of audit_event_subjects column for column, so SQLite walks the index
// backwards from the newest matching row and stops at the limit
// (TestQueryPlanUsesTheSubjectIndex holds it to that).
func (s *Audit) Query(ctx context.Context, q audit.Query) ([]audit.Event, error) {
	q, err := q.Canonical()
	if err != nil {
		return nil, err
	}
	if err := s.db.check(ctx); err != nil {
		return nil, err
	}
	query, args := buildQuery(q)
	rows := []eventRow{}
	if err := s.db.reader.SelectContext(ctx, &rows, query, args...); err != nil {
		return nil, s.db.wrap("query", err)
	}
	out := make([]audit.Event, len(rows))
	for i, r := range rows {
		e := audit.Event{EventID: r.EventID, Type: audit.Type(r.Type), At: fromMicros(r.At), Data: r.Data}
		if err := json.Unmarshal([]byte(r.Subjects), &e.Subjects); err != nil {
			return nil, s.db.wrap("query", fmt.Errorf("decode subjects of event %s: %w", r.EventID, err))
		}
		out[i] = e
	}
	return out, nil
}

func buildQuery(q audit.Query) (string, []any) {
	var b strings.Builder
	b.WriteString(`SELECT e.event_id, e.type, e.at, e.subjects, e.data
		FROM audit_event_subjects s JOIN audit_events e ON e.event_id = s.event_id
		WHERE s.kind = ? AND s.id = ?`)
	args := []any{string(q.Subject.Kind), q.Subject.ID}
	if len(q.Types) > 0 {
		b.WriteString(` AND s.type IN (?` + strings.Repeat(`, ?`, len(q.Types)-1) + `)`)
		for _, t := range q.Types {
			args = append(args, string(t))
		}
	}
	if !q.Since.IsZero() {
		b.WriteString(` AND s.at >= ?`)
		args = append(args, micros(q.Since))
	}
	if !q.Until.IsZero() {
		b.WriteString(` AND s.at < ?`)
		args = append(args, micros(q.Until))
	}
	b.WriteString(` ORDER BY s.at DESC, s.event_id DESC LIMIT ?`)
	args = append(args, q.Limit)
	return b.String(), args
}

// Ping implements storage.Audit.
func (s *Audit) Ping(ctx context.Context) error { return s.db.ping(ctx) }

// Close implements storage.Audit.
func (s *Audit) Close() error { return s.db.close() }
