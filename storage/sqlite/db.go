package sqlite

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	moderncsqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/parklot/parklot/storage/internal/migrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

var dialect = migrate.Dialect{
	CreateTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
	)`,
	Insert: `INSERT INTO schema_migrations (version, name) VALUES (?, ?)`,
}

// busyTimeout is how long a write waits for another connection or process
// holding the write lock before failing with "database is locked".
const busyTimeout = 10 * time.Second

// db is one SQLite file opened as a single writer plus a pool of readers.
// SQLite allows one writer at a time; funnelling this process's writes
// through one connection turns lock contention into an in-process queue,
// while WAL lets the readers proceed during writes.
type db struct {
	kind   string // "mailbox" or "audit", for messages
	path   string
	writer *sqlx.DB
	reader *sqlx.DB
	closed atomic.Bool
}

func open(ctx context.Context, kind, path string) (*db, error) {
	fail := func(err error, fix string) error {
		return fmt.Errorf("open file %s store %s: %w: %s", kind, path, err, fix)
	}
	switch {
	case path == "" || path == ":memory:" || strings.HasPrefix(path, "file:"):
		return nil, fail(errors.New("not a file path"), "give the path of the SQLite file, e.g. ./data/parklot.db (use the memory backend for a store that is not kept)")
	}
	if fi, err := os.Stat(filepath.Dir(path)); err != nil || !fi.IsDir() {
		return nil, fail(fmt.Errorf("directory %s does not exist", filepath.Dir(path)), "create it, or point the path at an existing directory")
	}
	writer, err := sqlx.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fail(err, "check the path")
	}
	writer.SetMaxOpenConns(1)
	reader, err := sqlx.Open("sqlite", dsn(path, true))
	if err != nil {
		writer.Close()
		return nil, fail(err, "check the path")
	}
	reader.SetMaxOpenConns(4)
	reader.SetConnMaxIdleTime(time.Minute)

	migrations, err := migrate.Load(migrationFiles, "migrations")
	if err == nil {
		err = applyWhileBusy(ctx, func() error { return migrate.Apply(ctx, writer.DB, dialect, migrations) })
	}
	if err != nil {
		writer.Close()
		reader.Close()
		return nil, fail(err, hint(err, "check that the directory exists and is writable and that the file is a Parklot SQLite database"))
	}
	return &db{kind: kind, path: path, writer: writer, reader: reader}, nil
}

// dsn builds a modernc.org/sqlite URI. synchronous=FULL because a delivered
// message must survive a power loss once Deliver has returned: the mailbox
// activity reports success on that basis and will not deliver again.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		// BEGIN IMMEDIATE takes the write lock at the start of a
		// transaction, so a migrating or appending transaction waits (busy
		// timeout) instead of failing half-way when another process writes.
		q.Set("_txlock", "immediate")
	}
	// In a file: URI, '%', '?' and '#' would be read as URI syntax.
	escaped := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	return "file:" + escaped + "?" + q.Encode()
}

// check refuses calls on a closed store with an error that says so, rather
// than database/sql's bare "sql: database is closed".
func (d *db) check(ctx context.Context) error {
	if d.closed.Load() {
		return fmt.Errorf("file %s store %s is closed: open it again", d.kind, d.path)
	}
	return ctx.Err()
}

// wrap names the store and the operation, and adds what to do for the
// SQLite failures an operator can fix.
func (d *db) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	msg := fmt.Sprintf("file %s store %s: %s: %%w", d.kind, d.path, op)
	if h := hint(err, ""); h != "" {
		msg += ": " + h
	}
	return fmt.Errorf(msg, err)
}

// applyWhileBusy retries fn while SQLite reports the file busy, for up to
// busyTimeout. The first connection to a new file switches it to WAL, which
// needs an exclusive lock and fails at once, without the busy handler, when
// another process opens the same new file at that moment.
func applyWhileBusy(ctx context.Context, fn func() error) error {
	deadline := time.Now().Add(busyTimeout)
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, 500*time.Millisecond) {
		err := fn()
		if !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

func isBusy(err error) bool {
	var se *moderncsqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	code := se.Code() & 0xff
	return code == sqlite3.SQLITE_BUSY || code == sqlite3.SQLITE_LOCKED
}

func hint(err error, fallback string) string {
	var se *moderncsqlite.Error
	if !errors.As(err, &se) {
		return fallback
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return fmt.Sprintf("another connection or process held the write lock for more than %s; retry, and check that no other program keeps the file busy", busyTimeout)
	case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM, sqlite3.SQLITE_AUTH:
		return "the file or its directory is not writable; fix the permissions"
	case sqlite3.SQLITE_CANTOPEN:
		return "check that the directory exists and is writable"
	case sqlite3.SQLITE_FULL:
		return "the disk is full; free space and retry"
	case sqlite3.SQLITE_IOERR:
		return "the disk reported an I/O error; check the device and retry"
	case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
		return "the file is damaged or not a SQLite database; restore it from a backup or point the path elsewhere"
	}
	return fallback
}

func (d *db) ping(ctx context.Context) error {
	if err := d.check(ctx); err != nil {
		return err
	}
	if err := d.writer.PingContext(ctx); err != nil {
		return d.wrap("ping", err)
	}
	// A read proves the file is still a readable database, which a bare
	// ping of an already-open connection does not.
	var n int
	return d.wrap("ping", d.reader.GetContext(ctx, &n, `SELECT count(*) FROM schema_migrations`))
}

func (d *db) close() error {
	if d.closed.Swap(true) {
		return nil
	}
	return errors.Join(d.reader.Close(), d.writer.Close())
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }
