// Package sqlite owns the "file" backend: mailbox and audit stores in one
// SQLite file, through the pure-Go driver modernc.org/sqlite (no cgo), with
// the schema migrations embedded and applied at open.
//
// It imports only domain/mailbox, domain/audit and storage/internal; it must
// not import storage (which imports it) or anything of Temporal.
package sqlite
