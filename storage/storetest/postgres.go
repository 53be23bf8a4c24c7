package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/lib/pq" // the "postgres" driver for the admin connection
)

// PostgresDSNEnv names the variable that points the tests at a PostgreSQL
// database, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const PostgresDSNEnv = "PARKLOT_TEST_POSTGRES_DSN"

// RequirePostgres returns the DSN of the test database, or ends the test:
// it fails when CI is set (CI must not pass by skipping the database) and is
// skipped otherwise. Call it at the top of a test whose subtests all need
// PostgreSQL, so that the skip is reported once.
func RequirePostgres(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresDSNEnv)
	if base == "" {
		msg := "POSTGRESQL STORE TESTS DID NOT RUN: " + PostgresDSNEnv + " is not set. " +
			"Set it to run them, e.g. " + PostgresDSNEnv + "='postgres://postgres@127.0.0.1:5432/test?sslmode=disable'"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (CI is set: PostgreSQL is required)")
		}
		t.Skip(msg)
	}
	return base
}

// PostgresDSN returns a DSN for a schema of its own, created for this test
// and dropped when it ends, so tests never see each other's rows and can
// run in parallel against one database. (This is the one place tests read
// the environment, as STYLE.md allows test helpers to.)
// Without PARKLOT_TEST_POSTGRES_DSN it ends the test as RequirePostgres does.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := RequirePostgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	admin, err := sql.Open("postgres", base)
	if err != nil {
		t.Fatalf("%s: %v", PostgresDSNEnv, err)
	}
	var suffix [6]byte
	_, _ = rand.Read(suffix[:])
	schema := "parklot_test_" + hex.EncodeToString(suffix[:])
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		admin.Close()
		msg := fmt.Sprintf("create test schema in the database of %s: %v (is PostgreSQL running? locally: pg_ctlcluster --skip-systemctl-redirect <version> main start)", PostgresDSNEnv, err)
		if os.Getenv("CI") == "" && isUnreachable(err) {
			// `make test` sets a default DSN; a laptop without PostgreSQL
			// still runs everything else. CI never gets here: it fails.
			t.Skip("POSTGRESQL STORE TESTS DID NOT RUN: " + msg)
		}
		t.Fatal(msg)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop test schema %s: %v", schema, err)
		}
		admin.Close()
	})
	return WithSearchPath(base, schema)
}

// WithSearchPath returns dsn (URL or key=value form) with search_path set to
// schema, so that unqualified table names resolve there.
func WithSearchPath(dsn, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err == nil {
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return dsn + " search_path=" + schema
}

// isUnreachable reports a database that is not there at all (nothing
// listening), as opposed to one that answers with an error.
func isUnreachable(err error) bool {
	var op *net.OpError
	return errors.As(err, &op)
}
