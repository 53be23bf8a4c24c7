package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parklot/parklot/domain/audit"
	"github.com/parklot/parklot/domain/mailbox"
	"github.com/parklot/parklot/storage"
	"github.com/parklot/parklot/storage/sqlite"
	"github.com/parklot/parklot/storage/storetest"
)

var (
	_ storage.Mailbox = (*sqlite.Mailbox)(nil)
	_ storage.Audit   = (*sqlite.Audit)(nil)
)

func tempDB(t *testing.T) string {
	return filepath.Join(t.TempDir(), "parklot.db")
}

func openMailbox(t *testing.T, path string) *sqlite.Mailbox {
	t.Helper()
	s, err := sqlite.OpenMailbox(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func openAudit(t *testing.T, path string) *sqlite.Audit {
	t.Helper()
	s, err := sqlite.OpenAudit(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMailboxContract(t *testing.T) {
	storetest.RunMailbox(t,
		func(t *testing.T) storage.Mailbox { return openMailbox(t, tempDB(t)) },
		storetest.ReopenMailbox(func(t *testing.T, closed storage.Mailbox) storage.Mailbox {
			return openMailbox(t, closed.(*sqlite.Mailbox).Path())
		}))
}

func TestAuditContract(t *testing.T) {
	storetest.RunAudit(t,
		func(t *testing.T) storage.Audit { return openAudit(t, tempDB(t)) },
		storetest.ReopenAudit(func(t *testing.T, closed storage.Audit) storage.Audit {
			return openAudit(t, closed.(*sqlite.Audit).Path())
		}))
}

func TestOpenExplainsWhatToFix(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	notADB := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notADB, []byte(strings.Repeat("not a database\n", 200)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, path string
		want       []string
	}{
		{"a missing directory", filepath.Join(dir, "missing", "x.db"), []string{"open file mailbox store", "does not exist", "create it"}},
		{"an in-memory name", ":memory:", []string{"not a file path", "memory backend"}},
		{"a file that is not a database", notADB, []string{notADB, "not a SQLite database"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := sqlite.OpenMailbox(ctx, tt.path)
			if err == nil {
				s.Close()
				t.Fatal("OpenMailbox() succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestPathsWithURISyntaxAreFilePaths(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir with spaces, % and #")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "odd?name.db")
	s := openMailbox(t, path)
	defer s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the database is not at the given path: %v", err)
	}
}

func TestTheFileUsesWALAndTheCurrentSchema(t *testing.T) {
	path := tempDB(t)
	openAudit(t, path).Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	var versions int
	if err := db.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&versions); err != nil || versions != 2 {
		t.Errorf("schema_migrations has %d rows, %v; want 2", versions, err)
	}
}

// Two processes starting on one file at once is modelled by several stores
// opening concurrently: each migration must be applied exactly once.
func TestConcurrentOpensMigrateOnce(t *testing.T) {
	path := tempDB(t)
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if i%2 == 0 {
				var s *sqlite.Mailbox
				if s, err = sqlite.OpenMailbox(context.Background(), path); err == nil {
					s.Close()
				}
			} else {
				var s *sqlite.Audit
				if s, err = sqlite.OpenAudit(context.Background(), path); err == nil {
					s.Close()
				}
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rows, versions int
	if err := db.QueryRow(`SELECT count(*), count(DISTINCT version) FROM schema_migrations`).Scan(&rows, &versions); err != nil {
		t.Fatal(err)
	}
	if rows != 2 || versions != 2 {
		t.Fatalf("schema_migrations has %d rows for %d versions, want 2 and 2", rows, versions)
	}
}

func TestANewerSchemaIsRefused(t *testing.T) {
	path := tempDB(t)
	openMailbox(t, path).Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, name) VALUES (99, 'future')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = sqlite.OpenMailbox(context.Background(), path)
	if err == nil || !strings.Contains(err.Error(), "newer than this binary") {
		t.Fatalf("OpenMailbox() = %v, want a refusal naming the newer schema", err)
	}
}

// The subject query must be an index range scan in query order: a plan that
// sorts or scans the table would be fine in tests and unusable at tens of
// millions of rows.
func TestQueryPlanUsesTheSubjectIndex(t *testing.T) {
	path := tempDB(t)
	openAudit(t, path).Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []audit.Query{
		{Subject: audit.Pool("gpu")},
		{Subject: audit.Pool("gpu"), Types: []audit.Type{audit.TypeQueued, audit.TypeFailed}, Since: time.Unix(1, 0), Until: time.Unix(2, 0), Limit: 10},
	} {
		q, err := q.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		query, args := sqlite.BuildQuery(q)
		rows, err := db.Query(`EXPLAIN QUERY PLAN `+query, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		joined := strings.Join(plan, "\n")
		if !strings.Contains(joined, "SEARCH s USING PRIMARY KEY (kind=? AND id=?") || strings.Contains(joined, "TEMP B-TREE") || strings.Contains(joined, "SCAN") {
			t.Errorf("plan for %+v:\n%s\nwant a primary-key search of audit_event_subjects without a sort", q, joined)
		}
	}
}

func TestAClosedStoreRecoversWhenReopened(t *testing.T) {
	ctx := context.Background()
	path := tempDB(t)
	s := openMailbox(t, path)
	key := mailbox.Key{Tenant: "acme"}
	if _, _, err := s.Deliver(ctx, mailbox.Message{Key: key, TaskID: "t-1", Status: mailbox.StatusCompleted}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, _, err := s.Deliver(ctx, mailbox.Message{Key: key, TaskID: "t-2", Status: mailbox.StatusCompleted})
	if err == nil || !strings.Contains(err.Error(), "closed") || !strings.Contains(err.Error(), path) {
		t.Fatalf("Deliver() on a closed store = %v, want an error naming the store and that it is closed", err)
	}
	s = openMailbox(t, path)
	defer s.Close()
	if _, _, err := s.Deliver(ctx, mailbox.Message{Key: key, TaskID: "t-2", Status: mailbox.StatusCompleted}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Read(ctx, key, mailbox.Cursor{}, 0)
	if err != nil || len(got) != 2 {
		t.Fatalf("Read() = %d messages, %v; want both", len(got), err)
	}
}

func BenchmarkAppend100(b *testing.B) {
	s, err := sqlite.OpenAudit(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	at := time.Now()
	for i := 0; b.Loop(); i++ {
		batch := make([]audit.Event, 100)
		for j := range batch {
			at = at.Add(time.Microsecond)
			batch[j] = audit.Event{Type: audit.TypeQueued, At: at, Subjects: []audit.Subject{
				audit.Task(fmt.Sprintf("t-%d-%d", i, j)), audit.Tenant("acme"), audit.Pool("gpu"),
			}}
		}
		if err := s.Append(context.Background(), batch...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "events/s")
}
