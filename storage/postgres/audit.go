package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/parklot/parklot/domain/audit"
)

// Audit is the PostgreSQL storage.Audit.
type Audit struct {
	db  *db
	now func() time.Time
}

// OpenAudit connects to the database dsn names and migrates its schema (the
// first schema of search_path). It fails when the server cannot be reached;
// once open, the store survives server restarts.
func OpenAudit(ctx context.Context, dsn string) (*Audit, error) {
	d, err := open(ctx, "audit", dsn)
	if err != nil {
		return nil, err
	}
	return &Audit{db: d, now: time.Now}, nil
}

// appendSQL writes a whole batch in one statement (one round trip, one
// implicit transaction) whatever its size: the batch travels as arrays, so
// there is no bind-parameter limit to chunk around. Subject rows are
// inserted only for the events this statement inserted, so re-appending an
// id, even with other subjects, leaves the first version intact; a
// concurrent append of the same id waits on the primary key and then skips.
const appendSQL = `
WITH inserted AS (
    INSERT INTO audit_events (event_id, type, at, subjects, data)
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::json[], $5::json[])
    ON CONFLICT (event_id) DO NOTHING
    RETURNING event_id, type, at
)
INSERT INTO audit_event_subjects (kind, id, at, event_id, type)
SELECT s.kind, s.id, i.at, i.event_id, i.type
FROM unnest($6::text[], $7::text[], $8::uuid[]) AS s(kind, id, event_id)
JOIN inserted i ON i.event_id = s.event_id`

// Append implements storage.Audit.
func (s *Audit) Append(ctx context.Context, events ...audit.Event) error {
	now := s.now()
	batch := make([]audit.Event, 0, len(events))
	seen := make(map[string]bool, len(events))
	for _, e := range events {
		p, err := e.Prepare(now)
		if err != nil {
			return err
		}
		// First occurrence wins within a batch too; PostgreSQL would
		// otherwise keep an arbitrary one.
		if !seen[p.EventID] {
			seen[p.EventID] = true
			batch = append(batch, p)
		}
	}
	if err := s.db.check(ctx); err != nil {
		return err
	}
	if len(batch) == 0 {
		return nil
	}
	// Inserting in event-id order makes every batch take its primary-key
	// locks in the same order, so concurrent batches that share ids (a
	// retried batch racing its original) wait for each other instead of
	// deadlocking.
	slices.SortFunc(batch, func(a, b audit.Event) int { return strings.Compare(a.EventID, b.EventID) })
	var (
		ids, types, ats, subjects   = make([]string, len(batch)), make([]string, len(batch)), make([]string, len(batch)), make([]string, len(batch))
		data                        = make([]sql.NullString, len(batch))
		subKinds, subIDs, subEvents []string
	)
	for i, e := range batch {
		subs, err := json.Marshal(e.Subjects)
		if err != nil {
			return fmt.Errorf("encode subjects of event %s: %w", e.EventID, err)
		}
		ids[i], types[i], ats[i], subjects[i] = e.EventID, string(e.Type), e.At.Format(time.RFC3339Nano), string(subs)
		data[i] = sql.NullString{String: string(e.Data), Valid: e.Data != nil}
		for _, sub := range e.Subjects {
			subKinds = append(subKinds, string(sub.Kind))
			subIDs = append(subIDs, sub.ID)
			subEvents = append(subEvents, e.EventID)
		}
	}
	_, err := s.db.sqlx.ExecContext(ctx, appendSQL,
		pq.Array(ids), pq.Array(types), pq.Array(ats), pq.Array(subjects), pq.Array(data),
		pq.Array(subKinds), pq.Array(subIDs), pq.Array(subEvents))
	return s.db.wrap("append", err)
}

type eventRow struct {
	EventID  string    `db:"event_id"`
	Type     string    `db:"type"`
	At       time.Time `db:"at"`
	Subjects []byte    `db:"subjects"`
	Data     []byte    `db:"data"`
}

// Query implements storage.Audit. The WHERE and ORDER BY match the primary
// key of audit_event_subjects column for column, so the plan is a backward
// index scan that stops at the limit, joined to audit_events by primary key.
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
	if err := s.db.sqlx.SelectContext(ctx, &rows, query, args...); err != nil {
		return nil, s.db.wrap("query", err)
	}
	out := make([]audit.Event, len(rows))
	for i, r := range rows {
		e := audit.Event{EventID: r.EventID, Type: audit.Type(r.Type), At: r.At.UTC(), Data: r.Data}
		if err := json.Unmarshal(r.Subjects, &e.Subjects); err != nil {
			return nil, s.db.wrap("query", fmt.Errorf("decode subjects of event %s: %w", r.EventID, err))
		}
		out[i] = e
	}
	return out, nil
}

// buildQuery spells out only the filters in use rather than "$n IS NULL OR
// ...", which would hide the index range from the planner.
func buildQuery(q audit.Query) (string, []any) {
	var b strings.Builder
	b.WriteString(`SELECT e.event_id, e.type, e.at, e.subjects, e.data
		FROM audit_event_subjects s JOIN audit_events e ON e.event_id = s.event_id
		WHERE s.kind = $1 AND s.id = $2`)
	args := []any{string(q.Subject.Kind), q.Subject.ID}
	if len(q.Types) > 0 {
		types := make([]string, len(q.Types))
		for i, t := range q.Types {
			types[i] = string(t)
		}
		args = append(args, pq.Array(types))
		fmt.Fprintf(&b, ` AND s.type = ANY($%d)`, len(args))
	}
	if !q.Since.IsZero() {
		args = append(args, q.Since)
		fmt.Fprintf(&b, ` AND s.at >= $%d`, len(args))
	}
	if !q.Until.IsZero() {
		args = append(args, q.Until)
		fmt.Fprintf(&b, ` AND s.at < $%d`, len(args))
	}
	args = append(args, q.Limit)
	fmt.Fprintf(&b, ` ORDER BY s.at DESC, s.event_id DESC LIMIT $%d`, len(args))
	return b.String(), args
}

// Ping implements storage.Audit.
func (s *Audit) Ping(ctx context.Context) error { return s.db.ping(ctx) }

// Close implements storage.Audit.
func (s *Audit) Close() error { return s.db.close() }
