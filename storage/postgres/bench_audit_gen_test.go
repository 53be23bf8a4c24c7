package postgres_test

// The synthetic day of audit events behind BenchmarkAuditRetrieval.
//
// Every value of the data set is a pure function of the task number n, so
// the same events come out of two implementations of one model: SQL (which
// generates 99% of them inside the server, INSERT ... SELECT from
// generate_series, far faster than shipping rows over the wire) and Go
// (which writes the other 1% through the store's Append, and which the
// benchmark checks query results against). Both read their randomness from
// md5 of a salted key and use integer arithmetic only, so they agree to
// the byte and the microsecond.

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/parklot/parklot/domain/audit"
)

const (
	// benchSalt versions the generator: change it whenever the model below
	// changes, so that a schema loaded by an older model is not reused.
	benchSalt = "parklot-audit-bench-v1:"
	// benchAppendEvery: tasks with n%benchAppendEvery == benchAppendEvery-1
	// (1%) are written through Store.Append, the others by SQL
	// (benchGenSQL spells the 100 out).
	benchAppendEvery = 100
	benchDayUS       = int64(24 * time.Hour / time.Microsecond)
	// Bucket tables turn hash bits into skewed choices.
	benchTenantBuckets  = 1 << 16
	benchPoolBuckets    = 1 << 12
	benchVariantBuckets = 1 << 12
	benchTenants        = 200
)

// benchDay0 is the start of the simulated day (a Monday).
var benchDay0 = time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)

// Delays between two events of a task, in the lifecycle: none (the first
// event), small (1-21 ms: bookkeeping such as queued after submitted, or a
// delivery), wait (0-120 s in the queue) and run (0.5-600 s of work).
const (
	delayNone = iota
	delaySmall
	delayWait
	delayRun
)

// Placeholders of the data templates: the same %N$s syntax works in Go
// (benchFormat) and in PostgreSQL's format().
//
//	%1$s units  %2$s priority  %3$s queue position  %4$s worker
//	%5$s queue wait in ms  %6$s run time in ms
type benchStep struct {
	typ   audit.Type
	delay int
	data  string
}

type benchVariant struct {
	name   string
	weight float64
	steps  []benchStep
}

var (
	stepSubmitted = benchStep{audit.TypeSubmitted, delayNone, `{"units":%1$s,"priority":%2$s}`}
	stepQueued    = benchStep{audit.TypeQueued, delaySmall, `{"position":%3$s}`}
	stepStarted   = benchStep{audit.TypeStarted, delayWait, `{"worker":"w-%4$s","waitMs":%5$s}`}
)

func stepDelivered(status string) benchStep {
	return benchStep{audit.TypeDelivered, delaySmall, `{"status":"` + status + `"}`}
}

// benchVariants are the task lifecycles of the day and their shares. The
// mean is a little over 5 events per task: submitted, queued, started, the
// outcome and its delivery, plus retries after a lost worker.
var benchVariants = []benchVariant{
	{"completed", 0.74, []benchStep{stepSubmitted, stepQueued, stepStarted,
		{audit.TypeCompleted, delayRun, `{"runMs":%6$s}`}, stepDelivered("completed")}},
	{"failed", 0.08, []benchStep{stepSubmitted, stepQueued, stepStarted,
		{audit.TypeFailed, delayRun, `{"error":"exit status 1","runMs":%6$s}`}, stepDelivered("failed")}},
	{"reclaimed", 0.06, []benchStep{stepSubmitted, stepQueued, stepStarted,
		{audit.TypeReclaimed, delayRun, `{"reason":"lease_expired","worker":"w-%4$s"}`},
		{audit.TypeQueued, delaySmall, `{"position":0}`}, stepStarted,
		{audit.TypeCompleted, delayRun, `{"runMs":%6$s}`}, stepDelivered("completed")}},
	{"usage_exceeded", 0.03, []benchStep{stepSubmitted, stepQueued, stepStarted,
		{audit.TypeUsageExceeded, delayRun, `{"units":%1$s,"usedMs":%6$s}`},
		{audit.TypeFailed, delaySmall, `{"error":"usage limit exceeded"}`}, stepDelivered("failed")}},
	{"expired", 0.04, []benchStep{stepSubmitted, stepQueued,
		{audit.TypeExpired, delayWait, `{"reason":"deadline_passed","waitMs":%5$s}`}, stepDelivered("expired")}},
	{"rejected", 0.02, []benchStep{stepSubmitted,
		{audit.TypeRejected, delaySmall, `{"reason":"exceeds_capacity","units":%1$s}`}, stepDelivered("rejected")}},
	{"cancelled", 0.02, []benchStep{stepSubmitted, stepQueued,
		{audit.TypeCancelled, delayWait, `{"reason":"cancelled_by_client"}`}, stepDelivered("cancelled")}},
	{"dropped", 0.01, []benchStep{stepSubmitted, stepQueued,
		{audit.TypeDropped, delayWait, `{"reason":"pool_disabled"}`}, stepDelivered("dropped")}},
}

// benchPools and their shares of the traffic.
var (
	// In id order, so that pool batches insert in primary-key order.
	benchPools       = []string{"batch", "cpu-large", "cpu-small", "etl", "gpu-a100", "gpu-h100", "interactive", "ml-train"}
	benchPoolWeights = []float64{10, 20, 30, 4, 15, 10, 8, 3}
)

// benchTenantWeights: Zipf (s=1) over 200 tenants, so tenant-000 has about
// 17% of the traffic, the top 10 about half, and tenant-199 under 0.1%.
func benchTenantWeights() []float64 {
	w := make([]float64, benchTenants)
	for i := range w {
		w[i] = 1 / float64(i+1)
	}
	return w
}

func benchTenantID(k int) string { return fmt.Sprintf("tenant-%03d", k) }
func benchTaskID(n int) string   { return fmt.Sprintf("t-%08d", n) }

// buckets spreads size slots over the weights by largest remainder, at
// least one slot per choice; slot i holds the choice it stands for.
func buckets(weights []float64, size int) []int {
	var sum float64
	for _, w := range weights {
		sum += w
	}
	counts := make([]int, len(weights))
	rem := make([]float64, len(weights))
	total := 0
	for i, w := range weights {
		exact := w / sum * float64(size)
		counts[i] = max(1, int(math.Floor(exact)))
		rem[i] = exact - math.Floor(exact)
		total += counts[i]
	}
	for total < size {
		best := 0
		for i := range rem {
			if rem[i] > rem[best] {
				best = i
			}
		}
		counts[best]++
		rem[best] = -1
		total++
	}
	for total > size { // only when the minimum of 1 overshot: take from the biggest
		big := 0
		for i := range counts {
			if counts[i] > counts[big] {
				big = i
			}
		}
		counts[big]--
		total--
	}
	out := make([]int, 0, size)
	for i, c := range counts {
		for range c {
			out = append(out, i)
		}
	}
	return out
}

// benchModel is the day: how many tasks, and everything needed to derive
// any of their events.
type benchModel struct {
	events  int // exactly the number asked for
	tasks   int // T
	lastLen int // events of the last task (it is cut to make the count exact)

	tenantTable, poolTable, variantTable []int
	tasksInfo                            []benchTask // index n

	// Flattened steps of all variants, for the SQL side.
	stepVariant, stepIndex, stepCS, stepCW, stepCR []int
	stepType, stepData                             []string
	// coefficients[v][s] = how many small/wait/run delays precede step s.
	coefficients [][][3]int
}

type benchTask struct {
	tenant, pool, variant uint8
	small, wait, run      int32
	t0                    int64 // epoch microseconds
}

func newBenchModel(events int) *benchModel {
	m := &benchModel{
		events:       events,
		tenantTable:  buckets(benchTenantWeights(), benchTenantBuckets),
		poolTable:    buckets(benchPoolWeights, benchPoolBuckets),
		variantTable: buckets(variantWeights(), benchVariantBuckets),
	}
	for v, variant := range benchVariants {
		var cum [3]int
		coeffs := make([][3]int, len(variant.steps))
		for s, st := range variant.steps {
			if st.delay != delayNone {
				cum[st.delay-1]++
			}
			coeffs[s] = cum
			m.stepVariant = append(m.stepVariant, v)
			m.stepIndex = append(m.stepIndex, s)
			m.stepCS = append(m.stepCS, cum[0])
			m.stepCW = append(m.stepCW, cum[1])
			m.stepCR = append(m.stepCR, cum[2])
			m.stepType = append(m.stepType, string(st.typ))
			m.stepData = append(m.stepData, st.data)
		}
		m.coefficients = append(m.coefficients, coeffs)
	}
	// T is only known after walking the tasks (lifecycles differ in
	// length); the times need T. So: variants first, then the rest.
	cum := 0
	var variants []uint8
	for n := 0; cum < events; n++ {
		h := benchHash(benchSalt + strconv.Itoa(n))
		v := m.variantTable[hexField(h, 7, 3)]
		variants = append(variants, uint8(v))
		l := len(benchVariants[v].steps)
		if cum+l >= events {
			m.lastLen = events - cum
		}
		cum += l
	}
	m.tasks = len(variants)
	m.tasksInfo = make([]benchTask, m.tasks)
	for n := range m.tasksInfo {
		m.tasksInfo[n] = m.deriveTask(n)
	}
	return m
}

func variantWeights() []float64 {
	w := make([]float64, len(benchVariants))
	for i, v := range benchVariants {
		w[i] = v.weight
	}
	return w
}

func benchHash(key string) string {
	sum := md5.Sum([]byte(key))
	return hex.EncodeToString(sum[:])
}

// hexField is SQL's ('x' || substr(h, off+1, n))::bit(4n)::int.
func hexField(h string, off, n int) int {
	v, err := strconv.ParseInt(h[off:off+n], 16, 64)
	if err != nil {
		panic(err)
	}
	return int(v)
}

func (m *benchModel) slotUS() int64 { return benchDayUS / int64(m.tasks) }

// deriveTask mirrors the CTE "t" of benchGenSQL.
func (m *benchModel) deriveTask(n int) benchTask {
	h := benchHash(benchSalt + strconv.Itoa(n))
	return benchTask{
		tenant:  uint8(m.tenantTable[hexField(h, 0, 4)]),
		pool:    uint8(m.poolTable[hexField(h, 4, 3)]),
		variant: uint8(m.variantTable[hexField(h, 7, 3)]),
		t0:      benchDay0.UnixMicro() + int64(n)*benchDayUS/int64(m.tasks) + int64(hexField(h, 10, 6))%m.slotUS(),
		wait:    int32(hexField(h, 16, 7) % 120_000_000),
		run:     int32(500_000 + hexField(h, 23, 7)%600_000_000),
		small:   int32(1000 + hexField(h, 30, 2)*80),
	}
}

// byAppend reports whether task n is written through Store.Append.
func byAppend(n int) bool { return n%benchAppendEvery == benchAppendEvery-1 }

// taskEvents mirrors the CTE "e" and the SELECT lists of benchGenSQL.
func (m *benchModel) taskEvents(n int) []audit.Event {
	t := m.tasksInfo[n]
	steps := benchVariants[t.variant].steps
	if n == m.tasks-1 {
		steps = steps[:m.lastLen]
	}
	subjects := []audit.Subject{audit.Task(benchTaskID(n)), audit.Tenant(benchTenantID(int(t.tenant))), audit.Pool(benchPools[t.pool])}
	r := strings.NewReplacer(
		"%1$s", strconv.Itoa(n%4+1), "%2$s", strconv.Itoa(n%10), "%3$s", strconv.Itoa(n%50),
		"%4$s", strconv.Itoa(n%64), "%5$s", strconv.Itoa(int(t.wait/1000)), "%6$s", strconv.Itoa(int(t.run/1000)))
	out := make([]audit.Event, len(steps))
	for s, st := range steps {
		c := m.coefficients[t.variant][s]
		atUS := t.t0 + int64(c[0])*int64(t.small) + int64(c[1])*int64(t.wait) + int64(c[2])*int64(t.run) + int64(s)
		eh := benchHash(benchSalt + strconv.Itoa(n) + ":" + strconv.Itoa(s))
		id := fmt.Sprintf("%012x7%03x%x%s", atUS/1000, (atUS%1000)*4096/1000, 8+hexField(eh, 0, 1)&3, eh[1:16])
		out[s] = audit.Event{
			EventID:  id[0:8] + "-" + id[8:12] + "-" + id[12:16] + "-" + id[16:20] + "-" + id[20:32],
			Type:     st.typ,
			At:       time.UnixMicro(atUS).UTC(),
			Subjects: subjects,
			Data:     []byte(r.Replace(st.data)),
		}
	}
	return out
}

// benchGenSQL generates the events of the SQL-loaded tasks with n in
// [$16, $17) whose %[1]s (tenant or pool index) is in [$18, $19], as the
// CTE "e"; %[2]s is the statement that consumes it. Parameters $1..$15
// are benchModel.sqlArgs. The OFFSET 0 fences keep the planner from
// pulling the subqueries up, which would copy each md5() into every
// expression that uses its result and compute it there again, per event.
const benchGenSQL = `
WITH t AS (
    SELECT n,
        ($5::int[])[1 + ('x' || substr(h, 1, 4))::bit(16)::int] AS tenant,
        ($6::int[])[1 + ('x' || substr(h, 5, 3))::bit(12)::int] AS pool,
        ($7::int[])[1 + ('x' || substr(h, 8, 3))::bit(12)::int] AS v,
        $3::bigint + n * 86400000000 / $1::bigint + ('x' || substr(h, 11, 6))::bit(24)::int %% (86400000000 / $1::bigint) AS t0,
        ('x' || substr(h, 17, 7))::bit(28)::int %% 120000000 AS wait,
        500000 + ('x' || substr(h, 24, 7))::bit(28)::int %% 600000000 AS run,
        1000 + ('x' || substr(h, 31, 2))::bit(8)::int * 80 AS small
    FROM (SELECT n, md5($4::text || n) AS h
          FROM generate_series($16::bigint, $17::bigint - 1) AS n
          WHERE n %% 100 <> 99 -- benchAppendEvery: those go through Append
          OFFSET 0) AS g
    OFFSET 0
), e AS (
    SELECT t.n, t.tenant, t.pool, p.type,
        'tenant-' || lpad(t.tenant::text, 3, '0') AS tenant_id,
        ($15::text[])[t.pool + 1] AS pool_id,
        't-' || lpad(t.n::text, 8, '0') AS task_id,
        t.t0 + p.cs::bigint * t.small + p.cw::bigint * t.wait + p.cr::bigint * t.run + p.s AS at_us,
        md5($4::text || t.n || ':' || p.s) AS eh,
        format(p.tmpl, t.n %% 4 + 1, t.n %% 10, t.n %% 50, t.n %% 64, t.wait / 1000, t.run / 1000) AS data
    FROM t
    JOIN unnest($8::int[], $9::int[], $10::text[], $11::int[], $12::int[], $13::int[], $14::text[])
        AS p(v, s, type, cs, cw, cr, tmpl) ON p.v = t.v
    WHERE t.%[1]s BETWEEN $18::int AND $19::int
      AND (t.n < $1::bigint - 1 OR p.s < $2::int)
    OFFSET 0
), x AS (
    SELECT e.*,
        (lpad(to_hex(at_us / 1000), 12, '0') || '7' || lpad(to_hex((at_us %% 1000) * 4096 / 1000), 3, '0')
            || to_hex(8 + (('x' || substr(eh, 1, 1))::bit(4)::int & 3)) || substr(eh, 2, 15))::uuid AS event_id,
        timestamptz 'epoch' + at_us * interval '1 microsecond' AS at
    FROM e
)
%[2]s`

func (m *benchModel) sqlArgs() []any {
	return []any{
		m.tasks, m.lastLen, benchDay0.UnixMicro(), benchSalt,
		pq.Array(m.tenantTable), pq.Array(m.poolTable), pq.Array(m.variantTable),
		pq.Array(m.stepVariant), pq.Array(m.stepIndex), pq.Array(m.stepType),
		pq.Array(m.stepCS), pq.Array(m.stepCW), pq.Array(m.stepCR), pq.Array(m.stepData),
		pq.Array(benchPools),
	}
}

// benchPass is one INSERT ... SELECT of the load, for a range of tasks and
// of tenant or pool indexes.
type benchPass struct {
	name      string
	filterCol string // tenant or pool
	stmt      string
}

var (
	passEvents = benchPass{"audit_events", "tenant", `
INSERT INTO audit_events (event_id, type, at, subjects, data)
SELECT event_id, type, at,
    ('[{"kind":"task","id":"' || task_id || '"},{"kind":"tenant","id":"' || tenant_id || '"},{"kind":"pool","id":"' || pool_id || '"}]')::json,
    data::json
FROM x ORDER BY event_id`}
	passTask = benchPass{"subjects task", "tenant", `
INSERT INTO audit_event_subjects (kind, id, at, event_id, type)
SELECT 'task', task_id, at, event_id, type FROM x ORDER BY n, at_us, event_id`}
	passTenant = benchPass{"subjects tenant", "tenant", `
INSERT INTO audit_event_subjects (kind, id, at, event_id, type)
SELECT 'tenant', tenant_id, at, event_id, type FROM x ORDER BY tenant, at_us, event_id`}
	passPool = benchPass{"subjects pool", "pool", `
INSERT INTO audit_event_subjects (kind, id, at, event_id, type)
SELECT 'pool', pool_id, at, event_id, type FROM x ORDER BY pool_id COLLATE "C", at_us, event_id`}
)

func (p benchPass) sql() string { return fmt.Sprintf(benchGenSQL, p.filterCol, p.stmt) }

// benchBatch selects tasks [nLo, nHi) and subject indexes [sLo, sHi].
type benchBatch struct{ nLo, nHi, sLo, sHi int }

// byTasks splits the tasks into ranges of about perBatch events.
func (m *benchModel) byTasks(perBatch int) []benchBatch {
	k := max(1, (m.events+perBatch-1)/perBatch)
	size := (m.tasks + k - 1) / k
	var out []benchBatch
	for lo := 0; lo < m.tasks; lo += size {
		out = append(out, benchBatch{lo, min(lo+size, m.tasks), 0, math.MaxInt32})
	}
	return out
}

// bySubject makes batches of about perBatch events in subject order: a
// subject with more events gets task ranges of its own, smaller ones are
// grouped. Each batch then inserts keys above those of the batch before,
// so the primary key grows at its right edge.
func (m *benchModel) bySubject(perBatch int, count []int) []benchBatch {
	var out []benchBatch
	groupStart, groupSum := -1, 0
	flush := func(end int) {
		if groupStart >= 0 {
			out = append(out, benchBatch{0, m.tasks, groupStart, end})
			groupStart, groupSum = -1, 0
		}
	}
	for k, c := range count {
		if c > perBatch {
			flush(k - 1)
			parts := (c + perBatch - 1) / perBatch
			size := (m.tasks + parts - 1) / parts
			for lo := 0; lo < m.tasks; lo += size {
				out = append(out, benchBatch{lo, min(lo+size, m.tasks), k, k})
			}
			continue
		}
		if groupStart < 0 {
			groupStart = k
		}
		groupSum += c
		if groupSum >= perBatch {
			flush(k)
		}
	}
	flush(len(count) - 1)
	return out
}

// eventCounts counts the events per tenant and per pool index.
func (m *benchModel) eventCounts() (tenants, pools []int) {
	tenants, pools = make([]int, benchTenants), make([]int, len(benchPools))
	for n, t := range m.tasksInfo {
		l := len(benchVariants[t.variant].steps)
		if n == m.tasks-1 {
			l = m.lastLen
		}
		tenants[t.tenant] += l
		pools[t.pool] += l
	}
	return tenants, pools
}
