// Package postgres owns the PostgreSQL mailbox and audit stores (sqlx +
// lib/pq), with the schema migrations embedded and applied at open under an
// advisory lock.
//
// It imports only domain/mailbox, domain/audit and storage/internal; it must
// not import storage (which imports it) or anything of Temporal.
package postgres
