package storage

import (
	"context"
	"fmt"

	"github.com/parklot/parklot/storage/memory"
	"github.com/parklot/parklot/storage/postgres"
	"github.com/parklot/parklot/storage/sqlite"
)

// Backend names accepted in Spec.Backend.
const (
	BackendMemory   = "memory"
	BackendFile     = "file"
	BackendPostgres = "postgres"
)

// Spec says which store to open. It is a plain struct so that the config
// package can fill it without this package knowing the config format.
type Spec struct {
	// Backend is "memory", "file" or "postgres".
	Backend string
	// Path is the SQLite file of the "file" backend.
	Path string
	// DSN is the PostgreSQL connection string of the "postgres" backend,
	// e.g. postgres://user:pass@host:5432/db?sslmode=disable.
	DSN string
}

// Validate reports what is missing or unknown in s.
func (s Spec) Validate() error {
	switch s.Backend {
	case BackendMemory:
		return nil
	case BackendFile:
		if s.Path == "" {
			return fmt.Errorf("store backend %q needs a path: set the SQLite file path, e.g. ./data/parklot.db", s.Backend)
		}
		return nil
	case BackendPostgres:
		if s.DSN == "" {
			return fmt.Errorf("store backend %q needs a DSN: set it, e.g. postgres://user:pass@host:5432/db?sslmode=disable", s.Backend)
		}
		return nil
	case "":
		return fmt.Errorf("store backend is not set: use %s, %s or %s", BackendMemory, BackendFile, BackendPostgres)
	}
	return fmt.Errorf("unknown store backend %q: use %s, %s or %s", s.Backend, BackendMemory, BackendFile, BackendPostgres)
}

// OpenMailbox opens the mailbox store s names. File and PostgreSQL stores
// are migrated to the current schema before it returns.
func OpenMailbox(ctx context.Context, s Spec) (Mailbox, error) {
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("open mailbox store: %w", err)
	}
	// Each case returns through its own variables: returning a nil
	// *sqlite.Mailbox as a Mailbox would make a non-nil interface.
	switch s.Backend {
	case BackendFile:
		m, err := sqlite.OpenMailbox(ctx, s.Path)
		if err != nil {
			return nil, err
		}
		return m, nil
	case BackendPostgres:
		m, err := postgres.OpenMailbox(ctx, s.DSN)
		if err != nil {
			return nil, err
		}
		return m, nil
	}
	return memory.NewMailbox(), nil
}

// OpenAudit opens the audit store s names. File and PostgreSQL stores are
// migrated to the current schema before it returns.
func OpenAudit(ctx context.Context, s Spec) (Audit, error) {
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("open audit store: %w", err)
	}
	switch s.Backend {
	case BackendFile:
		a, err := sqlite.OpenAudit(ctx, s.Path)
		if err != nil {
			return nil, err
		}
		return a, nil
	case BackendPostgres:
		a, err := postgres.OpenAudit(ctx, s.DSN)
		if err != nil {
			return nil, err
		}
		return a, nil
	}
	return memory.NewAudit(), nil
}
