package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/parklot/parklot/domain/audit"
	"github.com/parklot/parklot/domain/mailbox"
	"github.com/parklot/parklot/storage"
	"github.com/parklot/parklot/storage/postgres"
	"github.com/parklot/parklot/storage/storetest"
)

var (
	_ storage.Mailbox = (*postgres.Mailbox)(nil)
	_ storage.Audit   = (*postgres.Audit)(nil)
)

func openMailbox(t *testing.T, dsn string) *postgres.Mailbox {
	t.Helper()
	s, err := postgres.OpenMailbox(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func openAudit(t *testing.T, dsn string) *postgres.Audit {
	t.Helper()
	s, err := postgres.OpenAudit(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// dsns remembers each store's DSN so that the contract can reopen it.
type dsns struct {
	mu sync.Mutex
	m  map[any]string
}

func (d *dsns) put(store any, dsn string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil {
		d.m = map[any]string{}
	}
	d.m[store] = dsn
}

func (d *dsns) get(store any) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.m[store]
}

func TestMailboxContract(t *testing.T) {
	storetest.RequirePostgres(t)
	var known dsns
	storetest.RunMailbox(t,
		func(t *testing.T) storage.Mailbox {
			dsn := storetest.PostgresDSN(t)
			s := openMailbox(t, dsn)
			known.put(s, dsn)
			return s
		},
		storetest.ReopenMailbox(func(t *testing.T, closed storage.Mailbox) storage.Mailbox {
			return openMailbox(t, known.get(closed))
		}))
}

func TestAuditContract(t *testing.T) {
	storetest.RequirePostgres(t)
	var known dsns
	storetest.RunAudit(t,
		func(t *testing.T) storage.Audit {
			dsn := storetest.PostgresDSN(t)
			s := openAudit(t, dsn)
			known.put(s, dsn)
			return s
		},
		storetest.ReopenAudit(func(t *testing.T, closed storage.Audit) storage.Audit {
			return openAudit(t, known.get(closed))
		}))
}

func TestOpenExplainsWhatToFixWithoutLeakingThePassword(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tt := range []struct {
		name, dsn string
		want      []string
	}{
		{"an unreachable server", "postgres://parklot:s3cret@127.0.0.1:1/db?sslmode=disable&connect_timeout=2",
			[]string{"open postgres mailbox store parklot@127.0.0.1:1/db", "unreachable"}},
		{"a malformed URL", "postgres://parklot:s3cret@127.0.0.1:port/db", []string{"parse DSN", "postgres://user:password@host"}},
		{"a malformed key=value DSN", "host=127.0.0.1 password=s3cret port", []string{"parse DSN"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := postgres.OpenMailbox(ctx, tt.dsn)
			if err == nil {
				s.Close()
				t.Fatal("OpenMailbox() succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q leaks the password", err)
			}
		})
	}
}

// proxy is a TCP forwarder to PostgreSQL that a test can take down and bring
// back on the same address: an outage of the network path or the server,
// as the store sees it, without touching the shared database server.
type proxy struct {
	t        *testing.T
	addr     string
	upstream string
	mu       sync.Mutex
	ln       net.Listener
	conns    map[net.Conn]struct{}
}

func newProxy(t *testing.T, upstream string) *proxy {
	p := &proxy{t: t, addr: "127.0.0.1:0", upstream: upstream, conns: map[net.Conn]struct{}{}}
	p.start()
	t.Cleanup(p.stop)
	return p
}

func (p *proxy) start() {
	p.t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
}

func (p *proxy) serve(client net.Conn) {
	server, err := net.Dial("tcp", p.upstream)
	if err != nil {
		client.Close()
		return
	}
	p.mu.Lock()
	if p.ln == nil { // stopped meanwhile
		p.mu.Unlock()
		client.Close()
		server.Close()
		return
	}
	p.conns[client], p.conns[server] = struct{}{}, struct{}{}
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		done <- struct{}{}
	}
	go pipe(server, client)
	go pipe(client, server)
	<-done
	client.Close()
	server.Close()
}

// stop closes the listener and every forwarded connection.
func (p *proxy) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// throughProxy rewrites dsn to connect through p.
func throughProxy(t *testing.T, dsn string, p *proxy) string {
	host, port, _ := net.SplitHostPort(p.addr)
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		u.Host = p.addr
		return u.String()
	}
	return fmt.Sprintf("%s host=%s port=%s", dsn, host, port)
}

func upstreamOf(t *testing.T, dsn string) string {
	cfg, err := pq.NewConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	host := cfg.Host
	if host == "" || strings.HasPrefix(host, "/") {
		t.Skip("the test database is reached over a Unix socket; the outage test needs TCP")
	}
	return net.JoinHostPort(host, fmt.Sprint(cfg.Port))
}

// firstSuccess retries op a few times and reports how many attempts failed:
// recovery must need no reopen and at most a couple of failed calls.
func firstSuccess(t *testing.T, what string, op func() error) {
	t.Helper()
	var err error
	for attempt := range 3 {
		if err = op(); err == nil {
			if attempt > 0 {
				t.Logf("%s recovered after %d failed attempt(s)", what, attempt)
			}
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s did not recover after the database came back: %v", what, err)
}

func TestStoresFailWhileTheDatabaseIsDownAndRecoverWhenItIsBack(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	base := storetest.PostgresDSN(t)
	p := newProxy(t, upstreamOf(t, base))
	dsn := throughProxy(t, base, p)
	mb := openMailbox(t, dsn)
	defer mb.Close()
	au := openAudit(t, dsn)
	defer au.Close()

	key := mailbox.Key{Tenant: "acme"}
	msg := func(task string) mailbox.Message {
		return mailbox.Message{Key: key, TaskID: task, Status: mailbox.StatusCompleted}
	}
	event := audit.Event{EventID: audit.NewEventID(time.Now()), Type: audit.TypeDelivered, Subjects: []audit.Subject{audit.Task("t-2")}}
	if _, _, err := mb.Deliver(ctx, msg("t-1")); err != nil {
		t.Fatal(err)
	}

	p.stop()
	start := time.Now()
	_, _, derr := mb.Deliver(ctx, msg("t-2"))
	_, rerr := mb.Read(ctx, key, mailbox.Cursor{}, 0)
	aerr := au.Append(ctx, event)
	_, qerr := au.Query(ctx, audit.Query{Subject: audit.Task("t-2")})
	perr := mb.Ping(ctx)
	for name, err := range map[string]error{"Deliver": derr, "Read": rerr, "Append": aerr, "Query": qerr, "Ping": perr} {
		if err == nil {
			t.Fatalf("%s succeeded while the database was down", name)
		}
		if !strings.Contains(err.Error(), "unreachable") || errors.Is(err, mailbox.ErrInvalid) || errors.Is(err, audit.ErrInvalid) {
			t.Errorf("%s while down = %v, want a retryable error that says the database is unreachable", name, err)
		}
	}
	t.Logf("5 calls failed in %v while the database was down; e.g. %v", time.Since(start).Round(time.Millisecond), derr)

	p.start()
	firstSuccess(t, "Deliver", func() error { _, _, err := mb.Deliver(ctx, msg("t-2")); return err })
	firstSuccess(t, "Append", func() error { return au.Append(ctx, event) })
	got, err := mb.Read(ctx, key, mailbox.Cursor{}, 0)
	if err != nil || len(got) != 2 {
		t.Fatalf("Read() after recovery = %d messages, %v; want 2", len(got), err)
	}
	events, err := au.Query(ctx, audit.Query{Subject: audit.Task("t-2")})
	if err != nil || len(events) != 1 {
		t.Fatalf("Query() after recovery = %d events, %v; want 1", len(events), err)
	}
}

// A server restart kills every session; the pooled connections are dead and
// the store must replace them rather than keep failing.
func TestStoresRecoverWhenTheServerKillsTheirSessions(t *testing.T) {
	ctx := context.Background()
	base := storetest.PostgresDSN(t)
	app := fmt.Sprintf("parklot_kill_%d", time.Now().UnixNano())
	dsn := base + " application_name=" + app
	if u, err := url.Parse(base); err == nil && strings.HasPrefix(u.Scheme, "postgres") {
		q := u.Query()
		q.Set("application_name", app)
		u.RawQuery = q.Encode()
		dsn = u.String()
	}
	mb := openMailbox(t, dsn)
	defer mb.Close()
	key := mailbox.Key{Tenant: "acme"}
	// Fill the pool with several connections.
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, _ = mb.Deliver(ctx, mailbox.Message{Key: key, TaskID: fmt.Sprint("warm-", i), Status: mailbox.StatusCompleted})
		}()
	}
	wg.Wait()

	admin, err := sql.Open("postgres", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var killed int
	if err := admin.QueryRowContext(ctx,
		`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed == 0 {
		t.Fatal("no session of the store was found to terminate")
	}
	t.Logf("terminated %d sessions", killed)
	firstSuccess(t, "Deliver", func() error {
		_, _, err := mb.Deliver(ctx, mailbox.Message{Key: key, TaskID: "after", Status: mailbox.StatusCompleted})
		return err
	})
}

// Two processes starting at once on one schema are modelled by several
// stores opening concurrently: each migration must be applied exactly once.
func TestConcurrentOpensMigrateOnce(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if i%2 == 0 {
				var s *postgres.Mailbox
				if s, err = postgres.OpenMailbox(context.Background(), dsn); err == nil {
					s.Close()
				}
			} else {
				var s *postgres.Audit
				if s, err = postgres.OpenAudit(context.Background(), dsn); err == nil {
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
	db, err := sql.Open("postgres", dsn)
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
	dsn := storetest.PostgresDSN(t)
	openMailbox(t, dsn).Close()
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, name) VALUES (99, 'future')`); err != nil {
		t.Fatal(err)
	}
	_, err = postgres.OpenMailbox(context.Background(), dsn)
	if err == nil || !strings.Contains(err.Error(), "newer than this binary") {
		t.Fatalf("OpenMailbox() = %v, want a refusal naming the newer schema", err)
	}
}

// With enough rows for the planner to care, a subject query must walk the
// subject index backwards and stop at the limit: no sort, no sequential
// scan of the subject table.
func TestQueryPlanUsesTheSubjectIndex(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.PostgresDSN(t)
	s := openAudit(t, dsn)
	defer s.Close()
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for b := range 20 {
		batch := make([]audit.Event, 1000)
		for i := range batch {
			at = at.Add(time.Second)
			batch[i] = audit.Event{Type: audit.TypeQueued, At: at, Subjects: []audit.Subject{
				audit.Task(fmt.Sprintf("t-%d-%d", b, i)), audit.Tenant(fmt.Sprintf("tenant-%d", i%50)), audit.Pool(fmt.Sprintf("pool-%d", i%5)),
			}}
		}
		if err := s.Append(ctx, batch...); err != nil {
			t.Fatal(err)
		}
	}
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`ANALYZE audit_events; ANALYZE audit_event_subjects`); err != nil {
		t.Fatal(err)
	}
	for _, q := range []audit.Query{
		{Subject: audit.Pool("pool-1"), Limit: 100},
		{Subject: audit.Tenant("tenant-7"), Limit: 100},
		{Subject: audit.Task("t-3-3"), Limit: 100},
		{Subject: audit.Pool("pool-1"), Types: []audit.Type{audit.TypeQueued}, Since: at.Add(-time.Hour), Until: at, Limit: 100},
	} {
		q, err := q.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		query, args := postgres.BuildQuery(q)
		rows, err := db.Query(`EXPLAIN `+query, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, line)
		}
		rows.Close()
		joined := strings.Join(plan, "\n")
		if !strings.Contains(joined, "Index") || !strings.Contains(joined, "audit_event_subjects_pkey") ||
			strings.Contains(joined, "Sort") || strings.Contains(joined, "Seq Scan on audit_event_subjects") {
			t.Errorf("plan for %s:\n%s\nwant a scan of audit_event_subjects_pkey without a sort", q.Subject, joined)
		}
		start := time.Now()
		if _, err := s.Query(ctx, q); err != nil {
			t.Fatal(err)
		}
		t.Logf("Query(%s, limit 100) over 20000 events: %v", q.Subject, time.Since(start).Round(time.Microsecond))
	}
}

func BenchmarkAppend100(b *testing.B) {
	s, err := postgres.OpenAudit(context.Background(), storetest.PostgresDSN(b))
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

func TestACallerTimeoutIsNotReportedAsAnOutage(t *testing.T) {
	s := openMailbox(t, storetest.PostgresDSN(t))
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	time.Sleep(time.Millisecond)
	_, err := s.Read(ctx, mailbox.Key{Tenant: "t"}, mailbox.Cursor{}, 0)
	if !errors.Is(err, context.DeadlineExceeded) || strings.Contains(fmt.Sprint(err), "unreachable") {
		t.Fatalf("Read() past its deadline = %v, want context.DeadlineExceeded without an outage hint", err)
	}
}
