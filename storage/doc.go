// Package storage owns the contracts of Parklot's persistent stores, the
// Mailbox and Audit interfaces, and opening the backend a configuration
// names (Spec, OpenMailbox, OpenAudit).
//
// The backends live in sub-packages with identical behaviour, proved by the
// contract suite in storage/storetest: memory (tests, ephemeral dev), sqlite
// (the "file" backend: one SQLite file, pure Go, no cgo) and postgres.
// Backends import only domain/mailbox and domain/audit, never this package,
// which imports them; nothing here imports Temporal, workflows, activities,
// config or the binaries.
package storage
