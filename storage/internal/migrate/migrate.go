// Package migrate applies the numbered SQL migrations that the file and
// postgres stores embed. It owns the schema_migrations bookkeeping and
// nothing else; it must not import the stores or any domain package.
package migrate

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
)

// Migration is one numbered schema change.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

var fileName = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.sql$`)

// Load reads dir of fsys: files named NNNN_name.sql, numbered 1, 2, 3...
// without gaps, so that a misnamed file fails every test instead of being
// skipped silently in production.
func Load(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		m := fileName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migration file %q: want NNNN_name.sql", e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		body, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		out = append(out, Migration{Version: v, Name: m[2], SQL: string(body)})
	}
	slices.SortFunc(out, func(a, b Migration) int { return a.Version - b.Version })
	for i, m := range out {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migration %04d_%s: want version %d, the versions must count up from 1 without gaps", m.Version, m.Name, i+1)
		}
	}
	return out, nil
}

// Dialect holds what differs between databases.
type Dialect struct {
	// Lock and Unlock run on the migration connection around the whole
	// migration, so two processes starting at once apply each migration
	// once. Empty when the transaction itself serializes migrators (SQLite's
	// BEGIN IMMEDIATE takes the database write lock).
	Lock, Unlock string
	// CreateTable creates schema_migrations if it does not exist.
	CreateTable string
	// Insert records one applied migration; parameters: version, name.
	Insert string
}

// Apply brings the database to the latest version in one transaction: either
// every pending migration is applied and recorded, or none is. It refuses a
// database whose schema is newer than migrations, since this binary would
// misread it.
func Apply(ctx context.Context, db *sql.DB, d Dialect, migrations []Migration) (err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if d.Lock != "" {
		if _, err := conn.ExecContext(ctx, d.Lock); err != nil {
			return fmt.Errorf("take the migration lock: %w", err)
		}
		defer func() {
			// A fresh context: the unlock must run even when ctx has ended,
			// or the pooled session would keep the lock.
			if _, uerr := conn.ExecContext(context.WithoutCancel(ctx), d.Unlock); uerr != nil && err == nil {
				err = fmt.Errorf("release the migration lock: %w", uerr)
			}
		}()
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if _, err := tx.ExecContext(ctx, d.CreateTable); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	var current sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	latest := 0
	if n := len(migrations); n > 0 {
		latest = migrations[n-1].Version
	}
	if int(current.Int64) > latest {
		return fmt.Errorf("database schema version %d is newer than this binary's %d: run a newer parklot against this database", current.Int64, latest)
	}
	for _, m := range migrations[current.Int64:] {
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("apply migration %04d_%s: %w", m.Version, m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, d.Insert, m.Version, m.Name); err != nil {
			return fmt.Errorf("record migration %04d_%s: %w", m.Version, m.Name, err)
		}
	}
	return tx.Commit()
}
