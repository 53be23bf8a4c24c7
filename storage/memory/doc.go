// Package memory owns the in-process mailbox and audit stores: for tests and
// for ephemeral development, where losing everything on exit is expected.
//
// They implement storage.Mailbox and storage.Audit with exactly the
// semantics of the durable backends (the storetest contract proves it), by
// reusing the reference rules in domain/mailbox and domain/audit. This
// package imports only those domain packages; it must not import storage
// (which imports it) or anything of Temporal.
package memory
