package storage

import (
	"context"

	"github.com/parklot/parklot/domain/audit"
	"github.com/parklot/parklot/domain/mailbox"
)

// Mailbox stores task outcomes per mailbox key.
//
// Errors caused by the input wrap mailbox.ErrInvalid and will fail again on
// retry; any other error (backend unreachable, closed store, context ended)
// may succeed on retry. Implementations are safe for concurrent use.
type Mailbox interface {
	// Deliver stores msg once per (key, task id). A later delivery for the
	// same task in the same mailbox returns the first stored message
	// unchanged with created=false, so retried deliveries never duplicate.
	// An empty MessageID is assigned (UUIDv7 of CreatedAt) and a zero
	// CreatedAt is set to the current time; stored is what reads return.
	Deliver(ctx context.Context, msg mailbox.Message) (stored mailbox.Message, created bool, err error)

	// Read returns up to limit messages of exactly this key (0 means
	// mailbox.DefaultLimit, above mailbox.MaxLimit is an error), oldest
	// first (mailbox.Compare), strictly after the cursor. A message-id
	// cursor that is not in this mailbox fails with
	// mailbox.ErrCursorNotFound.
	Read(ctx context.Context, key mailbox.Key, cursor mailbox.Cursor, limit int) ([]mailbox.Message, error)

	// Ping reports whether the backend is reachable now.
	Ping(ctx context.Context) error

	// Close releases the store; every later call fails.
	Close() error
}

// Audit stores the audit trail.
//
// Errors caused by the input wrap audit.ErrInvalid; any other error may
// succeed on retry. Implementations are safe for concurrent use.
type Audit interface {
	// Append stores events atomically (all or none) in one batch. It is
	// idempotent by event id: ids already stored, or repeated in the batch,
	// are skipped (the first version wins) without error, so a producer can
	// retry a whole batch after a failure. Events with an empty EventID or
	// zero At get them assigned; a producer that retries must set them.
	Append(ctx context.Context, events ...audit.Event) error

	// Query returns the events of one subject, newest first
	// (audit.NewestFirst), filtered by the query's types and its
	// [Since, Until) window, at most its limit.
	Query(ctx context.Context, q audit.Query) ([]audit.Event, error)

	// Ping reports whether the backend is reachable now.
	Ping(ctx context.Context) error

	// Close releases the store; every later call fails.
	Close() error
}
