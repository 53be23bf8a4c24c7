package postgres

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/parklot/parklot/domain/mailbox"
)

// Mailbox is the PostgreSQL storage.Mailbox.
type Mailbox struct {
	db  *db
	now func() time.Time
}

// OpenMailbox connects to the database dsn names and migrates its schema
// (the first schema of search_path). It fails when the server cannot be
// reached; once open, the store survives server restarts.
func OpenMailbox(ctx context.Context, dsn string) (*Mailbox, error) {
	d, err := open(ctx, "mailbox", dsn)
	if err != nil {
		return nil, err
	}
	return &Mailbox{db: d, now: time.Now}, nil
}

type messageRow struct {
	MessageID string    `db:"message_id"`
	Tenant    string    `db:"tenant"`
	User      string    `db:"user_id"`
	Session   string    `db:"session_id"`
	TaskID    string    `db:"task_id"`
	Pool      string    `db:"pool"`
	Status    string    `db:"status"`
	Reason    string    `db:"reason"`
	Payload   []byte    `db:"payload"`
	CreatedAt time.Time `db:"created_at"`
}

func (r messageRow) message() mailbox.Message {
	return mailbox.Message{
		MessageID: r.MessageID,
		Key:       mailbox.Key{Tenant: r.Tenant, User: r.User, Session: r.Session},
		TaskID:    r.TaskID,
		Pool:      r.Pool,
		Status:    mailbox.Status(r.Status),
		Reason:    r.Reason,
		Payload:   r.Payload,
		CreatedAt: r.CreatedAt.UTC(),
	}
}

const messageColumns = `message_id, tenant, user_id, session_id, task_id, pool, status, reason, payload, created_at`

// Deliver implements storage.Mailbox. The UNIQUE (key, task) constraint
// decides which of concurrent deliveries wins, across processes too: ON
// CONFLICT DO NOTHING waits for a competing insert to commit, so the
// losers' follow-up SELECT always finds the winner's row.
func (s *Mailbox) Deliver(ctx context.Context, msg mailbox.Message) (mailbox.Message, bool, error) {
	msg, err := msg.Prepare(s.now())
	if err != nil {
		return mailbox.Message{}, false, err
	}
	if err := s.db.check(ctx); err != nil {
		return mailbox.Message{}, false, err
	}
	var payload any
	if msg.Payload != nil {
		payload = string(msg.Payload)
	}
	res, err := s.db.sqlx.ExecContext(ctx,
		`INSERT INTO mailbox_messages (`+messageColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		 ON CONFLICT DO NOTHING`,
		msg.MessageID, msg.Key.Tenant, msg.Key.User, msg.Key.Session, msg.TaskID, msg.Pool,
		string(msg.Status), msg.Reason, payload, msg.CreatedAt)
	if err != nil {
		return mailbox.Message{}, false, s.db.wrap("deliver", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return mailbox.Message{}, false, s.db.wrap("deliver", err)
	} else if n == 1 {
		return msg, true, nil
	}
	var row messageRow
	err = s.db.sqlx.GetContext(ctx, &row,
		`SELECT `+messageColumns+` FROM mailbox_messages
		 WHERE tenant = $1 AND user_id = $2 AND session_id = $3 AND task_id = $4`,
		msg.Key.Tenant, msg.Key.User, msg.Key.Session, msg.TaskID)
	if errors.Is(err, sql.ErrNoRows) {
		// The insert conflicted on the message id, not on the task.
		return mailbox.Message{}, false, mailbox.ConflictError(msg)
	}
	if err != nil {
		return mailbox.Message{}, false, s.db.wrap("deliver", err)
	}
	return row.message(), false, nil
}

// Read implements storage.Mailbox.
func (s *Mailbox) Read(ctx context.Context, key mailbox.Key, cursor mailbox.Cursor, limit int) ([]mailbox.Message, error) {
	cursor, limit, err := mailbox.CheckRead(key, cursor, limit)
	if err != nil {
		return nil, err
	}
	if err := s.db.check(ctx); err != nil {
		return nil, err
	}
	query := `SELECT ` + messageColumns + ` FROM mailbox_messages
		WHERE tenant = $1 AND user_id = $2 AND session_id = $3`
	args := []any{key.Tenant, key.User, key.Session}
	switch {
	case cursor.MessageID != "":
		// Resolved within the key: an id from another mailbox is "not
		// found", which reveals nothing about that mailbox.
		var at time.Time
		err := s.db.sqlx.GetContext(ctx, &at,
			`SELECT created_at FROM mailbox_messages
			 WHERE message_id = $1 AND tenant = $2 AND user_id = $3 AND session_id = $4`,
			cursor.MessageID, key.Tenant, key.User, key.Session)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, mailbox.CursorNotFoundError(key, cursor.MessageID)
		}
		if err != nil {
			return nil, s.db.wrap("read", err)
		}
		query += ` AND (created_at, message_id) > ($4, $5) ORDER BY created_at, message_id LIMIT $6`
		args = append(args, at, cursor.MessageID, limit)
	case !cursor.After.IsZero():
		query += ` AND created_at > $4 ORDER BY created_at, message_id LIMIT $5`
		args = append(args, cursor.After, limit)
	default:
		query += ` ORDER BY created_at, message_id LIMIT $4`
		args = append(args, limit)
	}
	rows := []messageRow{}
	if err := s.db.sqlx.SelectContext(ctx, &rows, query, args...); err != nil {
		return nil, s.db.wrap("read", err)
	}
	out := make([]mailbox.Message, len(rows))
	for i, r := range rows {
		out[i] = r.message()
	}
	return out, nil
}

// Ping implements storage.Mailbox.
func (s *Mailbox) Ping(ctx context.Context) error { return s.db.ping(ctx) }

// Close implements storage.Mailbox.
func (s *Mailbox) Close() error { return s.db.close() }
