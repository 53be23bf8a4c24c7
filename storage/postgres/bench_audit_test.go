package postgres_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parklot/parklot/domain/audit"
	"github.com/parklot/parklot/storage/postgres"
	"github.com/parklot/parklot/storage/storetest"
)

// BenchmarkAuditRetrieval measures audit retrieval by subject (task, tenant,
// pool; limit 100) through Store.Query over a day of audit events in
// PostgreSQL. It only runs when PARKLOT_AUDIT_BENCH_EVENTS says how many
// events to load (10000000 for the figures in docs/BENCHMARKS.md):
//
//	PARKLOT_AUDIT_BENCH_EVENTS=10000000 \
//	PARKLOT_TEST_POSTGRES_DSN='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' \
//	go test -run '^$' -bench BenchmarkAuditRetrieval -benchtime 3000x -timeout 2h ./storage/postgres/
//
// The events live in the schema parklot_bench_audit, which is kept: the
// first run loads it (minutes), later runs with the same count and
// generator reuse it. Drop the schema to reclaim the disk space.
func BenchmarkAuditRetrieval(b *testing.B) {
	raw := os.Getenv(benchEventsEnv)
	if raw == "" {
		b.Skip(benchEventsEnv + " is not set: set it (e.g. 10000000) to load that many audit events into PostgreSQL and measure retrieval")
	}
	events, err := strconv.Atoi(raw)
	if err != nil || events < 10_000 {
		b.Fatalf("%s=%q: want a number of events, at least 10000", benchEventsEnv, raw)
	}
	dsn := storetest.WithSearchPath(storetest.RequirePostgres(b), benchSchema)
	ctx := context.Background()

	start := time.Now()
	model := newBenchModel(events)
	fmt.Printf("model: %d events of %d tasks, %d tenants, %d pools (built in %v)\n",
		model.events, model.tasks, benchTenants, len(benchPools), time.Since(start).Round(time.Millisecond))

	db, err := sql.Open("postgres", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	env := &benchEnv{model: model, db: db, dsn: dsn}
	if env.loaded(ctx) {
		fmt.Printf("reusing the %d events already in schema %s (drop it to load again)\n", events, benchSchema)
	} else {
		env.load(ctx, b)
	}
	store, err := postgres.OpenAudit(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	env.store = store
	env.printSizes(ctx, b)
	env.verify(ctx, b)
	env.explain(ctx, b)
	env.worstCases(ctx, b)

	results := map[string]*benchLatencies{}
	bench := func(name string, gen func(i int, rng *rand.Rand) benchOp) {
		b.Run(name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(uint64(len(name)), 42))
			ops := make([]benchOp, b.N)
			for i := range ops {
				ops[i] = gen(i, rng)
			}
			l := &benchLatencies{byLabel: map[string][]time.Duration{}}
			b.ResetTimer()
			for _, op := range ops {
				t0 := time.Now()
				rows, err := op.run()
				d := time.Since(t0)
				if err != nil {
					b.Fatal(err)
				}
				l.add(d, rows, op.labels)
			}
			b.StopTimer()
			l.report(b)
			results[name] = l
		})
	}
	query := func(q audit.Query) func() (int, error) {
		return func() (int, error) {
			evs, err := store.Query(ctx, q)
			return len(evs), err
		}
	}

	// Baselines: a bare round trip, then the store's whole fixed cost (two
	// round trips with parameters, planning, index descent, decoding) on a
	// query that finds nothing.
	bench("baseline_select1", func(int, *rand.Rand) benchOp {
		return benchOp{run: func() (int, error) {
			var one int
			return 1, db.QueryRowContext(ctx, `SELECT 1`).Scan(&one)
		}}
	})
	bench("baseline_empty_window", func(_ int, rng *rand.Rand) benchOp {
		since := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
		return benchOp{run: query(audit.Query{
			Subject: audit.Tenant(benchTenantID(rng.IntN(benchTenants))),
			Since:   since, Until: since.Add(time.Hour), Limit: 100,
		})}
	})
	bench("task", func(i int, rng *rand.Rand) benchOp {
		n := rng.IntN(model.tasks)
		q := audit.Query{Subject: audit.Task(benchTaskID(n)), Limit: 100}
		shape := benchShape(i)
		switch shape {
		case "type":
			q.Types = []audit.Type{[]audit.Type{audit.TypeStarted, audit.TypeCompleted, audit.TypeQueued}[rng.IntN(3)]}
		case "window":
			q.Since = time.UnixMicro(model.tasksInfo[n].t0).Add(-time.Duration(rng.IntN(600)) * time.Second)
			q.Until = q.Since.Add(15 * time.Minute)
		}
		return benchOp{run: query(q), labels: []string{shape}}
	})
	bench("tenant", func(i int, rng *rand.Rand) benchOp {
		// Half the queries pick a tenant by traffic (mostly the hot
		// ones), half uniformly (mostly the long cold tail).
		tenant := rng.IntN(benchTenants)
		if i%2 == 0 {
			tenant = int(model.tasksInfo[rng.IntN(model.tasks)].tenant)
		}
		class := "cold tenants (rest)"
		if tenant < 10 {
			class = "hot tenants (top 10)"
		}
		q, shape := benchSubjectQuery(audit.Tenant(benchTenantID(tenant)), i, rng)
		return benchOp{run: query(q), labels: []string{shape, class}}
	})
	bench("pool", func(i int, rng *rand.Rand) benchOp {
		q, shape := benchSubjectQuery(audit.Pool(benchPools[rng.IntN(len(benchPools))]), i, rng)
		return benchOp{run: query(q), labels: []string{shape}}
	})

	printBenchTable(model, results)
}

const (
	benchEventsEnv = "PARKLOT_AUDIT_BENCH_EVENTS"
	benchSchema    = "parklot_bench_audit"
	// benchBatchEvents is about the events one load statement writes.
	benchBatchEvents = 1_000_000
	// benchAppendBatch is the events of one Store.Append call, about what a
	// busy worker batches.
	benchAppendBatch = 500
)

// benchShape spreads the queries: 60% subject only, 20% with a type
// filter, 20% with a time window.
func benchShape(i int) string {
	switch i % 5 {
	case 3:
		return "type"
	case 4:
		return "window"
	}
	return "plain"
}

// benchSubjectQuery is a tenant or pool query of the shape benchShape(i):
// the type filter is a common type (completed) or a rare one, which makes
// the scan walk further to find 100; the window is 5 min, 1 h or 6 h at a
// random time of the day.
func benchSubjectQuery(sub audit.Subject, i int, rng *rand.Rand) (audit.Query, string) {
	q := audit.Query{Subject: sub, Limit: 100}
	shape := benchShape(i)
	switch shape {
	case "type":
		q.Types = []audit.Type{[]audit.Type{audit.TypeCompleted, audit.TypeFailed, audit.TypeExpired, audit.TypeRejected}[rng.IntN(4)]}
	case "window":
		width := []time.Duration{5 * time.Minute, time.Hour, 6 * time.Hour}[rng.IntN(3)]
		q.Since = benchDay0.Add(time.Duration(rng.Int64N(int64(24*time.Hour - width))))
		q.Until = q.Since.Add(width)
	}
	return q, shape
}

type benchOp struct {
	run    func() (rows int, err error)
	labels []string
}

type benchLatencies struct {
	all     []time.Duration
	rows    int
	byLabel map[string][]time.Duration
}

func (l *benchLatencies) add(d time.Duration, rows int, labels []string) {
	l.all = append(l.all, d)
	l.rows += rows
	for _, label := range labels {
		l.byLabel[label] = append(l.byLabel[label], d)
	}
}

func (l *benchLatencies) report(b *testing.B) {
	s := benchStatsOf(l.all)
	b.ReportMetric(ms(s.p50), "p50-ms")
	b.ReportMetric(ms(s.p95), "p95-ms")
	b.ReportMetric(ms(s.p99), "p99-ms")
	b.ReportMetric(ms(s.max), "max-ms")
	b.ReportMetric(float64(l.rows)/float64(len(l.all)), "rows/op")
}

type benchStats struct{ n, p50, p95, p99, max time.Duration }

func benchStatsOf(ds []time.Duration) benchStats {
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := func(q float64) time.Duration { // nearest rank
		i := int(q*float64(len(s))+0.999999) - 1
		return s[min(max(i, 0), len(s)-1)]
	}
	return benchStats{time.Duration(len(s)), rank(0.50), rank(0.95), rank(0.99), s[len(s)-1]}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func printBenchTable(m *benchModel, results map[string]*benchLatencies) {
	var rtt time.Duration
	if r := results["baseline_select1"]; r != nil {
		rtt = benchStatsOf(r.all).p50
	}
	var out strings.Builder
	fmt.Fprintf(&out, "\naudit retrieval through Store.Query, limit 100, %d events, one query at a time:\n", m.events)
	fmt.Fprintf(&out, "%-34s %7s %7s %8s %8s %8s %8s %8s %8s\n",
		"subject / shape", "queries", "rows/q", "p50 ms", "p95 ms", "p99 ms", "max ms", "p50/rtt", "p99/rtt")
	line := func(name string, ds []time.Duration, rows float64) {
		s := benchStatsOf(ds)
		ratio := func(d time.Duration) string {
			if rtt == 0 {
				return "-"
			}
			return fmt.Sprintf("%.1fx", float64(d)/float64(rtt))
		}
		rowsText := "-"
		if rows >= 0 {
			rowsText = fmt.Sprintf("%.1f", rows)
		}
		fmt.Fprintf(&out, "%-34s %7d %7s %8.3f %8.3f %8.3f %8.3f %8s %8s\n",
			name, s.n, rowsText, ms(s.p50), ms(s.p95), ms(s.p99), ms(s.max), ratio(s.p50), ratio(s.p99))
	}
	for _, name := range []string{"baseline_select1", "baseline_empty_window", "task", "tenant", "pool"} {
		r := results[name]
		if r == nil {
			continue
		}
		line(name, r.all, float64(r.rows)/float64(len(r.all)))
		labels := make([]string, 0, len(r.byLabel))
		for label := range r.byLabel {
			labels = append(labels, label)
		}
		slices.Sort(labels)
		for _, label := range labels {
			line("  "+label, r.byLabel[label], -1)
		}
	}
	if rtt > 0 {
		fmt.Fprintf(&out, "rtt = p50 of baseline_select1 = %.3f ms\n", ms(rtt))
	}
	fmt.Print(out.String())
}

// benchEnv is the loaded schema and what the benchmark knows about it.
type benchEnv struct {
	model *benchModel
	db    *sql.DB // search_path is the benchmark schema
	dsn   string
	store *postgres.Audit
}

func (e *benchEnv) marker() string {
	return fmt.Sprintf("parklot audit benchmark: generator %s, %d events, complete", benchSalt, e.model.events)
}

// loaded reports whether the schema holds the complete data set this model
// describes: the marker comment is written only once a load has finished.
func (e *benchEnv) loaded(ctx context.Context) bool {
	var comment sql.NullString
	err := e.db.QueryRowContext(ctx,
		`SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = $1`, benchSchema).Scan(&comment)
	if err != nil || comment.String != e.marker() {
		return false
	}
	var events, subjects int
	if err := e.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM audit_events), (SELECT count(*) FROM audit_event_subjects)`).
		Scan(&events, &subjects); err != nil {
		return false
	}
	return events == e.model.events && subjects == 3*e.model.events
}

func (e *benchEnv) load(ctx context.Context, b *testing.B) {
	m := e.model
	total := time.Now()
	fmt.Printf("loading %d events into schema %s\n", m.events, benchSchema)
	if _, err := e.db.ExecContext(ctx, `DROP SCHEMA IF EXISTS `+benchSchema+` CASCADE`); err != nil {
		b.Fatal(err)
	}
	if _, err := e.db.ExecContext(ctx, `CREATE SCHEMA `+benchSchema); err != nil {
		b.Fatal(err)
	}
	// The store's own migrations make the tables.
	store, err := postgres.OpenAudit(ctx, e.dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()

	conn, err := e.db.Conn(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		// The connection goes back to the pool the baselines use.
		_, _ = conn.ExecContext(ctx, `RESET ALL`)
		conn.Close()
	}()
	// Session settings only: room for the sorts of a batch, and no wait
	// for the WAL flush at each commit (a crash would only lose the load).
	for _, set := range []string{`SET work_mem = '256MB'`, `SET maintenance_work_mem = '512MB'`} {
		if _, err := conn.ExecContext(ctx, set); err != nil {
			b.Fatal(err)
		}
	}
	tenantCounts, poolCounts := m.eventCounts()
	// Passes in primary-key order of audit_event_subjects (kind pool <
	// task < tenant), each batch in key order within.
	passes := []struct {
		pass    benchPass
		batches []benchBatch
	}{
		{passEvents, m.byTasks(benchBatchEvents)},
		{passPool, m.bySubject(benchBatchEvents, poolCounts)},
		{passTask, m.byTasks(benchBatchEvents)},
		{passTenant, m.bySubject(benchBatchEvents, tenantCounts)},
	}
	for _, p := range passes {
		t0 := time.Now()
		var rows int64
		query := p.pass.sql()
		for _, batch := range p.batches {
			args := append(m.sqlArgs(), batch.nLo, batch.nHi, batch.sLo, batch.sHi)
			res, err := conn.ExecContext(ctx, query, args...)
			if err != nil {
				b.Fatalf("load %s, batch %+v: %v", p.pass.name, batch, err)
			}
			n, _ := res.RowsAffected()
			rows += n
		}
		fmt.Printf("  %-16s %9d rows by INSERT ... SELECT in %3d batches: %v\n",
			p.pass.name, rows, len(p.batches), time.Since(t0).Round(time.Millisecond))
	}

	// The other 1% through the store's own write path.
	t0 := time.Now()
	var batch []audit.Event
	appended, calls := 0, 0
	flush := func() {
		if err := store.Append(ctx, batch...); err != nil {
			b.Fatalf("Append: %v", err)
		}
		appended += len(batch)
		calls++
		batch = batch[:0]
	}
	for n := benchAppendEvery - 1; n < m.tasks; n += benchAppendEvery {
		batch = append(batch, m.taskEvents(n)...)
		if len(batch) >= benchAppendBatch {
			flush()
		}
	}
	if len(batch) > 0 {
		flush()
	}
	fmt.Printf("  %-16s %9d events by Store.Append in %d calls: %v\n", "Append", appended, calls, time.Since(t0).Round(time.Millisecond))

	t0 = time.Now()
	if _, err := conn.ExecContext(ctx, `VACUUM (ANALYZE) audit_events, audit_event_subjects`); err != nil {
		b.Fatal(err)
	}
	fmt.Printf("  %-16s %v\n", "VACUUM ANALYZE", time.Since(t0).Round(time.Millisecond))
	if _, err := conn.ExecContext(ctx, `COMMENT ON SCHEMA `+benchSchema+` IS '`+e.marker()+`'`); err != nil {
		b.Fatal(err)
	}
	if !e.loaded(ctx) {
		b.Fatalf("after the load the schema does not hold %d events and %d subject rows", m.events, 3*m.events)
	}
	fmt.Printf("loaded %d events in %v\n", m.events, time.Since(total).Round(time.Second))
}

func (e *benchEnv) printSizes(ctx context.Context, b *testing.B) {
	rows, err := e.db.QueryContext(ctx, `
		SELECT c.relname, c.relkind = 'i', pg_relation_size(c.oid), pg_size_pretty(pg_relation_size(c.oid)),
		       pg_size_pretty(pg_total_relation_size(c.oid))
		FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
		WHERE ns.nspname = $1 AND c.relname LIKE 'audit%' AND c.relkind IN ('r', 'i')
		ORDER BY c.relname`, benchSchema)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var sum int64
	fmt.Println("sizes:")
	for rows.Next() {
		var name, sizeText, totalSize string
		var index bool
		var size int64
		if err := rows.Scan(&name, &index, &size, &sizeText, &totalSize); err != nil {
			b.Fatal(err)
		}
		sum += size
		if index {
			fmt.Printf("  %-28s index %10s\n", name, sizeText)
		} else {
			fmt.Printf("  %-28s table %10s (with indexes and TOAST %s)\n", name, sizeText, totalSize)
		}
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	fmt.Printf("  %-28s       %7.2f GB\n", "all audit tables and indexes", float64(sum)/(1<<30))
}

// verify checks through Store.Query that both write paths stored what the
// model says, to the byte: tasks loaded by SQL and by Append, and windows of
// a cold tenant, a hot tenant and a pool, where the two paths interleave.
func (e *benchEnv) verify(ctx context.Context, b *testing.B) {
	m := e.model
	rng := rand.New(rand.NewPCG(7, 7))
	var queries []audit.Query
	for i := range 20 {
		n := rng.IntN(m.tasks - benchAppendEvery)
		if i%2 == 0 {
			n += benchAppendEvery - 1 - n%benchAppendEvery // an Append task
		} else if byAppend(n) {
			n--
		}
		queries = append(queries, audit.Query{Subject: audit.Task(benchTaskID(n)), Limit: 100})
	}
	at := func(h float64) time.Time { return benchDay0.Add(time.Duration(h * float64(time.Hour))) }
	queries = append(queries,
		audit.Query{Subject: audit.Tenant(benchTenantID(150)), Since: at(10), Until: at(12), Limit: 1000},
		audit.Query{Subject: audit.Tenant(benchTenantID(0)), Types: []audit.Type{audit.TypeRejected, audit.TypeExpired},
			Since: at(6), Until: at(12), Limit: 1000},
		audit.Query{Subject: audit.Pool("gpu-h100"), Since: at(15), Until: at(15).Add(2 * time.Minute), Limit: 1000},
		audit.Query{Subject: audit.Pool("batch"), Types: []audit.Type{audit.TypeCompleted}, Limit: 1000},
	)
	checked, fromAppend := 0, 0
	for _, q := range queries {
		q, err := q.Canonical()
		if err != nil {
			b.Fatal(err)
		}
		got, err := e.store.Query(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		want := m.query(q)
		if len(got) != len(want) {
			b.Fatalf("verify %+v: Store.Query returned %d events, the model has %d", q, len(got), len(want))
		}
		for i := range want {
			g, w := got[i], want[i]
			if g.EventID != w.EventID || g.Type != w.Type || !g.At.Equal(w.At) ||
				!slices.Equal(g.Subjects, w.Subjects) || !bytes.Equal(g.Data, w.Data) {
				b.Fatalf("verify %+v: event %d\n got  %+v %s\n want %+v %s", q, i, g, g.Data, w, w.Data)
			}
			n, _ := strconv.Atoi(strings.TrimPrefix(w.Subjects[0].ID, "t-"))
			if byAppend(n) {
				fromAppend++
			}
		}
		checked += len(want)
	}
	if fromAppend == 0 || fromAppend == checked {
		b.Fatalf("verify: %d of %d checked events came from Append: want both paths", fromAppend, checked)
	}
	fmt.Printf("verified %d events in %d queries against the model: %d written by Store.Append, %d by INSERT ... SELECT\n",
		checked, len(queries), fromAppend, checked-fromAppend)
}

// query answers q (canonical) from the model, as Store.Query should.
func (m *benchModel) query(q audit.Query) []audit.Event {
	var tasks []int
	if q.Subject.Kind == audit.KindTask {
		n, _ := strconv.Atoi(strings.TrimPrefix(q.Subject.ID, "t-"))
		tasks = []int{n}
	} else {
		// A lifecycle lasts under 25 minutes (two waits and two runs at
		// most), so only tasks submitted from 30 minutes before Since
		// can have events in the window.
		lo := int64(-1 << 62)
		if !q.Since.IsZero() {
			lo = q.Since.Add(-30 * time.Minute).UnixMicro()
		}
		hi := int64(1 << 62)
		if !q.Until.IsZero() {
			hi = q.Until.UnixMicro()
		}
		for n, t := range m.tasksInfo {
			if t.t0 < lo || t.t0 >= hi {
				continue
			}
			if (q.Subject.Kind == audit.KindTenant && benchTenantID(int(t.tenant)) == q.Subject.ID) ||
				(q.Subject.Kind == audit.KindPool && benchPools[t.pool] == q.Subject.ID) {
				tasks = append(tasks, n)
			}
		}
	}
	var out []audit.Event
	for _, n := range tasks {
		for _, ev := range m.taskEvents(n) {
			if q.Matches(ev) {
				out = append(out, ev)
			}
		}
	}
	slices.SortFunc(out, audit.NewestFirst)
	if len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out
}

// explain prints the plan of the hottest tenant's query, plain and with a
// rare type, as EXPLAIN (ANALYZE, BUFFERS) runs it.
func (e *benchEnv) explain(ctx context.Context, b *testing.B) {
	for _, q := range []audit.Query{
		{Subject: audit.Tenant(benchTenantID(0)), Limit: 100},
		{Subject: audit.Tenant(benchTenantID(0)), Types: []audit.Type{audit.TypeRejected}, Limit: 100},
	} {
		q, err := q.Canonical()
		if err != nil {
			b.Fatal(err)
		}
		text, args := postgres.BuildQuery(q)
		rows, err := e.db.QueryContext(ctx, `EXPLAIN (ANALYZE, BUFFERS) `+text, args...)
		if err != nil {
			b.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				b.Fatal(err)
			}
			plan = append(plan, "  "+line)
		}
		if err := rows.Err(); err != nil {
			b.Fatal(err)
		}
		rows.Close()
		fmt.Printf("EXPLAIN (ANALYZE, BUFFERS) of Query{%s, types %v, limit %d}:\n%s\n", q.Subject, q.Types, q.Limit, strings.Join(plan, "\n"))
	}
}

// worstCases times what the subject index cannot stop early on: a type
// filter that matches none of the subject's events, so the scan reads the
// subject's whole range of the index. They are not part of the measured
// mix (a few of them take as long as thousands of ordinary queries); each
// runs once to warm up, then three times.
func (e *benchEnv) worstCases(ctx context.Context, b *testing.B) {
	tenantCounts, poolCounts := e.model.eventCounts()
	type worst struct {
		sub    audit.Subject
		events int
	}
	var cases []worst
	for _, k := range []int{0, 1, 9, 199} {
		cases = append(cases, worst{audit.Tenant(benchTenantID(k)), tenantCounts[k]})
	}
	for k, name := range benchPools {
		cases = append(cases, worst{audit.Pool(name), poolCounts[k]})
	}
	fmt.Println("worst case: Query{subject, types [pool_reconfigured] (none in the data), limit 100}, full scan of the subject's index range:")
	for _, c := range cases {
		q := audit.Query{Subject: c.sub, Types: []audit.Type{audit.TypePoolReconfigured}, Limit: 100}
		var times []time.Duration
		for i := range 4 {
			t0 := time.Now()
			if _, err := e.store.Query(ctx, q); err != nil {
				b.Fatal(err)
			}
			if i > 0 {
				times = append(times, time.Since(t0))
			}
		}
		slices.Sort(times)
		fmt.Printf("  %-18s %9d events: %8.1f ms (min %.1f, max %.1f)\n",
			c.sub, c.events, ms(times[1]), ms(times[0]), ms(times[2]))
	}
}
