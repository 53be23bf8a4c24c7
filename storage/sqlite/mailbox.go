package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/parklot/parklot/domain/mailbox"
)

// Mailbox is the file-backed storage.Mailbox.
type Mailbox struct {
	db  *db
	now func() time.Time
}

// OpenMailbox opens (creating if needed) the SQLite file at path and
// migrates it. The directory must exist.
func OpenMailbox(ctx context.Context, path string) (*Mailbox, error) {
	d, err := open(ctx, "mailbox", path)
	if err != nil {
		return nil, err
	}
	return &Mailbox{db: d, now: time.Now}, nil
}

// Path is the file the store was opened on.
func (s *Mailbox) Path() string { return s.db.path }

type messageRow struct {
	MessageID string `db:"message_id"`
	Tenant    string `db:"tenant"`
	User      string `db:"user_id"`
	Session   string `db:"session_id"`
	TaskID    string `db:"task_id"`
	Pool      string `db:"pool"`
	Status    string `db:"status"`
	Reason    string `db:"reason"`
	Payload   []byte `db:"payload"`
	CreatedAt int64  `db:"created_at"`
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
		CreatedAt: fromMicros(r.CreatedAt),
	}
}

const messageColumns = `message_id, tenant, user_id, session_id, task_id, pool, status, reason, payload, created_at`

// Deliver implements storage.Mailbox. The UNIQUE (key, task) constraint
// decides which of concurrent deliveries wins, across processes too; the
// losers read the winner's row.
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
	res, err := s.db.writer.ExecContext(ctx,
		`INSERT INTO mailbox_messages (`+messageColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		 ON CONFLICT DO NOTHING`,
		msg.MessageID, msg.Key.Tenant, msg.Key.User, msg.Key.Session, msg.TaskID, msg.Pool,
		string(msg.Status), msg.Reason, payload, micros(msg.CreatedAt))
	if err != nil {
		return mailbox.Message{}, false, s.db.wrap("deliver", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return mailbox.Message{}, false, s.db.wrap("deliver", err)
	} else if n == 1 {
		return msg, true, nil
	}
	var row messageRow
	err = s.db.writer.GetContext(ctx, &row,
		`SELECT `+messageColumns+` FROM mailbox_messages
		 WHERE tenant = ? AND user_id = ? AND session_id = ? AND task_id = ?`,
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
		WHERE tenant = ? AND user_id = ? AND session_id = ?`
	args := []any{key.Tenant, key.User, key.Session}
	switch {
	case cursor.MessageID != "":
		var at int64
		err := s.db.reader.GetContext(ctx, &at,
			`SELECT created_at FROM mailbox_messages
			 WHERE message_id = ? AND tenant = ? AND user_id = ? AND session_id = ?`,
			cursor.MessageID, key.Tenant, key.User, key.Session)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, mailbox.CursorNotFoundError(key, cursor.MessageID)
		}
		if err != nil {
			return nil, s.db.wrap("read", err)
		}
		query += ` AND (created_at, message_id) > (?, ?)`
		args = append(args, at, cursor.MessageID)
	case !cursor.After.IsZero():
		query += ` AND created_at > ?`
		args = append(args, micros(cursor.After))
	}
	query += ` ORDER BY created_at, message_id LIMIT ?`
	args = append(args, limit)

	rows := []messageRow{}
	if err := s.db.reader.SelectContext(ctx, &rows, query, args...); err != nil {
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
