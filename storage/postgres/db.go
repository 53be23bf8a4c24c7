package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/parklot/parklot/storage/internal/migrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// The lock key depends on the schema, so that stores in different schemas
// of one database (one per test, one per deployment) migrate independently,
// while two processes starting on the same schema take turns.
const lockKey = `hashtext('parklot.schema_migrations.' || current_schema())`

var dialect = migrate.Dialect{
	Lock:   `SELECT pg_advisory_lock(` + lockKey + `)`,
	Unlock: `SELECT pg_advisory_unlock(` + lockKey + `)`,
	CreateTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer     NOT NULL PRIMARY KEY,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`,
	Insert: `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`,
}

// maxConns bounds one store's connections: a worker opens a mailbox and an
// audit store, and many workers share one server's max_connections.
const maxConns = 8

// db is a pool of PostgreSQL connections. It caches nothing about the
// server: database/sql drops connections lib/pq marked bad and dials new
// ones on demand, so the store works again as soon as the server is back.
type db struct {
	kind   string // "mailbox" or "audit", for messages
	target string // user@host:port/db, never the password
	sqlx   *sqlx.DB
	closed atomic.Bool
}

func open(ctx context.Context, kind, dsn string) (*db, error) {
	cfg, err := pq.NewConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres %s store: parse DSN: %s: use postgres://user:password@host:5432/database?sslmode=disable or key=value pairs",
			kind, redact(dsn, err.Error()))
	}
	target := describe(cfg)
	connector, err := pq.NewConnectorConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres %s store %s: %s", kind, target, redact(dsn, err.Error()))
	}
	sqlDB := sql.OpenDB(connector)
	sqlDB.SetMaxOpenConns(maxConns)
	sqlDB.SetMaxIdleConns(maxConns)
	// Recycling connections bounds how long a pool keeps talking to a
	// server that was failed over or restarted behind the same address.
	sqlDB.SetConnMaxLifetime(30 * time.Minute)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	d := &db{kind: kind, target: target, sqlx: sqlx.NewDb(sqlDB, "postgres")}

	migrations, err := migrate.Load(migrationFiles, "migrations")
	if err == nil {
		err = migrate.Apply(ctx, sqlDB, dialect, migrations)
	}
	if err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("open postgres %s store %s: %w: %s", kind, target, err,
			hint(err, "check that PostgreSQL is running and reachable, and that the DSN's user may create tables"))
	}
	return d, nil
}

func describe(cfg pq.Config) string {
	host := cfg.Host
	if cfg.Hostaddr.IsValid() {
		host = cfg.Hostaddr.String()
	}
	return fmt.Sprintf("%s@%s/%s", cfg.User, net.JoinHostPort(host, fmt.Sprint(cfg.Port)), cfg.Database)
}

var kvPassword = regexp.MustCompile(`password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)`)

// redact removes the password of dsn from msg: parse errors quote the DSN.
func redact(dsn, msg string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	}
	for _, m := range kvPassword.FindAllStringSubmatch(dsn, -1) {
		msg = strings.ReplaceAll(msg, m[1], "xxxxx")
	}
	return strings.ReplaceAll(msg, dsn, "[DSN]")
}

// check refuses calls on a closed store with an error that says so, rather
// than database/sql's bare "sql: database is closed".
func (d *db) check(ctx context.Context) error {
	if d.closed.Load() {
		return fmt.Errorf("postgres %s store %s is closed: open it again", d.kind, d.target)
	}
	return ctx.Err()
}

// wrap names the store and the operation, and says what to do when the
// cause is one an operator can act on.
func (d *db) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if unreachable(err) {
		d.dropIdle()
	}
	msg := fmt.Sprintf("postgres %s store %s: %s: %%w", d.kind, d.target, op)
	if h := hint(err, ""); h != "" {
		msg += ": " + h
	}
	return fmt.Errorf(msg, err)
}

func hint(err error, fallback string) string {
	if unreachable(err) {
		return "PostgreSQL is unreachable or restarting; retry later: the store reconnects by itself once the server is back"
	}
	var pe *pq.Error
	if errors.As(err, &pe) {
		code := pe.SQLState()
		switch {
		case strings.HasPrefix(code, "28"):
			return "authentication failed: check the user and password in the DSN"
		case code == "3D000":
			return "the database does not exist: create it or fix the DSN"
		case code == "3F000":
			return "the schema in search_path does not exist: create it or fix the DSN"
		case code == "42P01" || code == "42501":
			return "the schema is missing or not accessible: check the DSN's user and search_path"
		case code == "53100":
			return "the database server's disk is full"
		}
	}
	return fallback
}

// unreachable reports whether err means the server could not be reached or
// dropped the connection: the errors a retry after a while can cure.
func unreachable(err error) bool {
	// The caller's own deadline or cancellation says nothing about the
	// server (and context.DeadlineExceeded would pass as a net.Error).
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var pe *pq.Error
	if errors.As(err, &pe) {
		code := pe.SQLState()
		return strings.HasPrefix(code, "08") || // connection exception
			code == "57P01" || code == "57P02" || code == "57P03" || // shutdown, crash, starting up
			code == "53300" // too many connections
	}
	var netErr net.Error
	return errors.Is(err, driver.ErrBadConn) ||
		errors.As(err, &netErr) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// dropIdle closes the idle connections. When the server went away they are
// all dead too, and database/sql would only find out one call at a time,
// failing a call per dead connection after the server is back.
func (d *db) dropIdle() {
	d.sqlx.SetMaxIdleConns(0)
	d.sqlx.SetMaxIdleConns(maxConns)
}

func (d *db) ping(ctx context.Context) error {
	if err := d.check(ctx); err != nil {
		return err
	}
	return d.wrap("ping", d.sqlx.PingContext(ctx))
}

func (d *db) close() error {
	if d.closed.Swap(true) {
		return nil
	}
	return d.sqlx.Close()
}
