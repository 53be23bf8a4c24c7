package storetest

import (
	"testing"

	"github.com/parklot/parklot/storage"
)

// Option adjusts a contract run.
type Option func(*options)

type options struct {
	reopenMailbox func(t *testing.T, closed storage.Mailbox) storage.Mailbox
	reopenAudit   func(t *testing.T, closed storage.Audit) storage.Audit
}

// ReopenMailbox declares the backend durable: reopen must return a new store
// on the same database as closed (which the suite has closed), and RunMailbox
// then checks that messages and idempotency survive the restart.
func ReopenMailbox(reopen func(t *testing.T, closed storage.Mailbox) storage.Mailbox) Option {
	return func(o *options) { o.reopenMailbox = reopen }
}

// ReopenAudit declares the backend durable: reopen must return a new store on
// the same database as closed, and RunAudit then checks that events and
// idempotency survive the restart.
func ReopenAudit(reopen func(t *testing.T, closed storage.Audit) storage.Audit) Option {
	return func(o *options) { o.reopenAudit = reopen }
}

func collect(opts []Option) options {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return o
}
