package pool

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"
)

// This file holds the machinery shared by the property tests and the fuzz target: a
// data-only operation, two ways to generate one (seeded math/rand, fuzz bytes), and a harness
// that applies operations to a Pool while checking it against a model of every task's life.

type opKind uint8

const (
	opAcquire opKind = iota
	opRelease
	opReclaim
	opCancel
	opUsage
	opExpire
	opAdmit
	opReconfigure
	opRenew
	opQuery
	opRoundTrip
)

// op is replayable: it names tasks from a fixed set instead of "some holder", so the same
// sequence can run against two pools.
type op struct {
	kind     opKind
	dt       time.Duration // the clock moves by dt first
	id       string
	tenant   string
	prio     Priority
	units    int64
	deadline time.Duration // relative to now; 0 means none
	timeout  time.Duration
	used     int64
	renew    time.Duration
	cfg      Config
}

func (o op) String() string {
	switch o.kind {
	case opAcquire:
		return fmt.Sprintf("+%s acquire %s tenant=%s prio=%s units=%d deadline=%s timeout=%s", o.dt, o.id, o.tenant, o.prio, o.units, o.deadline, o.timeout)
	case opRelease:
		return fmt.Sprintf("+%s release %s", o.dt, o.id)
	case opReclaim:
		return fmt.Sprintf("+%s reclaim %s", o.dt, o.id)
	case opCancel:
		return fmt.Sprintf("+%s cancel %s", o.dt, o.id)
	case opUsage:
		return fmt.Sprintf("+%s usage %s used=%d", o.dt, o.id, o.used)
	case opExpire:
		return fmt.Sprintf("+%s expire", o.dt)
	case opAdmit:
		return fmt.Sprintf("+%s admit", o.dt)
	case opReconfigure:
		return fmt.Sprintf("+%s reconfigure %+v", o.dt, o.cfg)
	case opRenew:
		return fmt.Sprintf("+%s renew %s +%s", o.dt, o.id, o.renew)
	case opQuery:
		return fmt.Sprintf("+%s query", o.dt)
	default:
		return fmt.Sprintf("+%s json round trip", o.dt)
	}
}

type source interface{ intn(n int) int }

type randSource struct{ r *rand.Rand }

func (s randSource) intn(n int) int { return s.r.Intn(n) }

// byteSource reads fuzz input; exhausted input reads as zeros, and done tells the loop to stop.
type byteSource struct {
	b []byte
	i int
}

func (s *byteSource) intn(n int) int {
	if s.i >= len(s.b) {
		return 0
	}
	v := int(s.b[s.i])
	s.i++
	return v % n
}

func (s *byteSource) done() bool { return s.i >= len(s.b) }

const (
	numIDs     = 24
	genMaxUnit = 10
)

var (
	testIDs = func() []string {
		ids := make([]string, numIDs)
		for i := range ids {
			ids[i] = fmt.Sprintf("t%02d", i)
		}
		return ids
	}()
	testTenants = []string{"ann", "bob", "cat", "dan"}
)

func genConfig(s source) Config {
	cfg := Config{
		MaxUnits:       int64(s.intn(13)),
		MaxQueueDepth:  s.intn(10),
		Policy:         []Policy{PolicyStrict, PolicyFair}[s.intn(2)],
		Backfill:       s.intn(2) == 0,
		State:          []State{StateActive, StateActive, StateActive, StateActive, StateDraining, StateDisabled}[s.intn(6)],
		DefaultTimeout: time.Duration(s.intn(20)) * time.Second, // 0 now and then: holders without a lease
		LeaseGrace:     time.Duration(s.intn(4)) * time.Second,
	}
	return cfg
}

func genOp(s source) op {
	o := op{dt: time.Duration(s.intn(4)) * time.Second / 2, id: testIDs[s.intn(numIDs)]}
	switch k := s.intn(100); {
	case k < 38:
		o.kind = opAcquire
		o.tenant = testTenants[s.intn(len(testTenants))]
		o.prio = PriorityLow + Priority(s.intn(numPriorities))
		o.units = 1 + int64(s.intn(genMaxUnit+2))
		switch s.intn(50) {
		case 0:
			o.units = 0
		case 1:
			o.prio = 9
		case 2:
			o.tenant = ""
		}
		if s.intn(3) == 0 {
			o.deadline = time.Duration(s.intn(40)-2) * time.Second
		}
		if s.intn(2) == 0 {
			o.timeout = time.Duration(1+s.intn(30)) * time.Second
		}
	case k < 56:
		o.kind = opRelease
	case k < 59:
		o.kind = opReclaim
	case k < 68:
		o.kind = opCancel
	case k < 74:
		o.kind = opUsage
		o.used = int64(s.intn(genMaxUnit + 4))
	case k < 82:
		o.kind = opExpire
	case k < 85:
		o.kind = opAdmit
	case k < 90:
		o.kind = opReconfigure
		o.cfg = genConfig(s)
	case k < 93:
		o.kind = opRenew
		o.renew = time.Duration(s.intn(30)) * time.Second
	case k < 98:
		o.kind = opQuery
	default:
		o.kind = opRoundTrip
	}
	return o
}

var harnessStart = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

type harness struct {
	t         testing.TB
	p         *Pool
	now       time.Time
	life      map[string]Status // queued or running; absent means no live task
	lastHead  [numPriorities]string
	unsettled bool // a usage report lowered accounting and nothing admitted since
	want      Counters
	started   int
	ended     int
	out       []any
	step      int
	log       []op
}

func newHarness(t testing.TB, cfg Config) *harness {
	return &harness{t: t, p: New(cfg), now: harnessStart, life: make(map[string]Status), want: Counters{}}
}

func (h *harness) fail(format string, args ...any) {
	h.t.Helper()
	start := max(0, len(h.log)-25)
	trail := ""
	for i := start; i < len(h.log); i++ {
		trail += fmt.Sprintf("\n  %4d %s", i, h.log[i])
	}
	h.t.Fatalf("step %d: %s\nlast operations:%s", h.step, fmt.Sprintf(format, args...), trail)
}

func (h *harness) end(id string) {
	delete(h.life, id)
	h.ended++
}

func (h *harness) rejected(r Reason) {
	if h.want.Rejected == nil {
		h.want.Rejected = make(map[Reason]int64)
	}
	h.want.Rejected[r]++
}

// waitingTask is a queued task that fits in max_units, as the order checks see it.
type waitingTask struct {
	prio   Priority
	tenant string
}

func (h *harness) eligibleWaiting() []waitingTask {
	var w []waitingTask
	h.p.walk(func(e *entry) bool {
		if e.units <= h.p.cfg.MaxUnits {
			w = append(w, waitingTask{e.prio, e.tenant})
		}
		return true
	})
	return w
}

// headGrant checks a start in scheduling order (not backfill) against the tasks waiting at
// that moment: none of higher priority, and under the fair policy no second grant in a row
// to the same tenant at a priority while another tenant waits there with a task that fits.
func (h *harness) headGrant(id, tenant string, prio Priority, waiting []waitingTask) {
	h.t.Helper()
	for _, w := range waiting {
		if w.prio > prio {
			h.fail("%s (%s) started while a %s task of %s waited", id, prio, w.prio, w.tenant)
		}
		if h.p.fair && w.prio == prio && w.tenant != tenant && h.lastHead[prio.index()] == tenant {
			h.fail("%s gave %s two grants in a row at %s while %s waited", id, tenant, prio, w.tenant)
		}
	}
	h.lastHead[prio.index()] = tenant
}

func (h *harness) grants(gs []Grant) {
	h.t.Helper()
	if len(gs) == 0 {
		return
	}
	if h.p.cfg.State == StateDisabled {
		h.fail("a disabled pool started %d tasks", len(gs))
	}
	if h.p.active > h.p.cfg.MaxUnits {
		h.fail("active units %d exceed max_units %d after grants", h.p.active, h.p.cfg.MaxUnits)
	}
	waiting := h.eligibleWaiting()
	var backfilled []string
	for i, g := range gs {
		if h.life[g.TaskID] != StatusQueued {
			h.fail("grant for %s, which was %q", g.TaskID, h.life[g.TaskID])
		}
		h.life[g.TaskID] = StatusRunning
		h.want.Granted++
		if g.Backfill {
			h.want.Backfilled++
			backfilled = append(backfilled, g.TaskID)
			continue
		}
		at := slices.Clone(waiting)
		for _, later := range gs[i+1:] {
			at = append(at, waitingTask{later.Priority, later.Tenant})
		}
		h.headGrant(g.TaskID, g.Tenant, g.Priority, at)
	}
	h.backfillKeepsShadow(backfilled)
}

// backfillKeepsShadow checks the EASY promise: the tasks backfilled by this operation do not
// move the blocked head's shadow time.
func (h *harness) backfillKeepsShadow(ids []string) {
	h.t.Helper()
	if len(ids) == 0 {
		return
	}
	hd := h.p.head()
	if hd == nil || (h.p.fits(hd.units) && !h.unsettled) {
		h.fail("backfilled %v without a blocked head", ids)
	}
	at1, _, ok1 := h.p.shadow(hd.units, h.now)
	without := roundTrip(h.t, h.p)
	for _, id := range ids {
		without.unhold(without.holders[id])
	}
	at2, _, ok2 := without.shadow(hd.units, h.now)
	if ok1 != ok2 || !at1.Equal(at2) {
		h.fail("backfilling %v moved head %s's shadow from %v (%v) to %v (%v)", ids, hd.id, at2, ok2, at1, ok1)
	}
}

func (h *harness) apply(o op) any {
	h.t.Helper()
	h.step++
	h.log = append(h.log, o)
	h.now = h.now.Add(o.dt)
	var out any
	switch o.kind {
	case opAcquire:
		out = h.acquire(o)
	case opRelease, opReclaim:
		wasRunning := h.life[o.id] == StatusRunning
		var ok bool
		var gs []Grant
		if o.kind == opRelease {
			ok, gs = h.p.Release(o.id, h.now)
		} else {
			ok, gs = h.p.Reclaim(o.id, h.now)
		}
		if ok != wasRunning {
			h.fail("release of %s returned %v, model says running=%v", o.id, ok, wasRunning)
		}
		if ok {
			h.end(o.id)
			if o.kind == opRelease {
				h.want.Released++
			} else {
				h.want.Reclaimed++
			}
			h.unsettled = false
		} else if gs != nil {
			h.fail("a release of nothing started %d tasks", len(gs))
		}
		h.grants(gs)
		out = []any{ok, gs}
	case opCancel:
		before := h.life[o.id]
		res := h.p.Cancel(o.id, h.now)
		switch {
		case before == StatusRunning && res.Status == StatusRunning && res.Grants == nil:
		case before == StatusQueued && res.Status == StatusDropped && res.Reason == ReasonCancelled:
			h.end(o.id)
			h.want.Dropped++
		case before == StatusQueued && res.Status == StatusExpired:
		case before == "" && res.Status == StatusUnknown:
		default:
			h.fail("cancel of %s (model %q) answered %+v", o.id, before, res)
		}
		if res.Status != StatusRunning {
			h.unsettled = false
		}
		h.grants(res.Grants)
		out = res
	case opUsage:
		hv, holding := h.p.Holder(o.id)
		before := h.p.active
		ex := h.p.ReportUsage(o.id, o.used, h.now)
		if ex != (holding && o.used > hv.Units) {
			h.fail("usage %d for %s (holding %v, declared %d) reported exceeded=%v", o.used, o.id, holding, hv.Units, ex)
		}
		if ex {
			h.want.UsageExceeded++
		}
		if h.p.active < before {
			h.unsettled = true
		}
		out = ex
	case opExpire:
		res := h.p.Expire(h.now)
		for _, x := range res.Expired {
			if h.life[x.TaskID] != StatusQueued || x.Deadline.After(h.now) || x.Reason != ReasonDeadlinePassed {
				h.fail("expired %+v at %v, model says %q", x, h.now, h.life[x.TaskID])
			}
			h.end(x.TaskID)
			h.want.Expired++
		}
		if next, ok := h.p.NextDeadline(); ok && !next.After(h.now) {
			h.fail("after Expire a deadline %v is still due at %v", next, h.now)
		}
		h.unsettled = false
		h.grants(res.Grants)
		out = res
	case opAdmit:
		gs := h.p.Admit(h.now)
		h.unsettled = false
		h.grants(gs)
		out = gs
	case opReconfigure:
		gs := h.p.Reconfigure(o.cfg, h.now)
		h.unsettled = false
		h.grants(gs)
		out = gs
	case opRenew:
		ok := h.p.RenewLease(o.id, h.now.Add(o.renew))
		if ok != (h.life[o.id] == StatusRunning) {
			h.fail("renew of %s returned %v", o.id, ok)
		}
		out = ok
	case opQuery:
		out = h.query()
	case opRoundTrip:
		before := mustJSON(h.t, h.p)
		h.p = roundTrip(h.t, h.p)
		if after := mustJSON(h.t, h.p); string(before) != string(after) {
			h.fail("JSON round trip changed the state:\n%s\n%s", before, after)
		}
		out = nil
	}
	h.check()
	h.out = append(h.out, out)
	return out
}

func (h *harness) acquire(o op) Decision {
	h.t.Helper()
	req := Request{TaskID: o.id, Tenant: o.tenant, Priority: o.prio, Units: o.units, Timeout: o.timeout}
	if o.deadline != 0 {
		req.Deadline = h.now.Add(o.deadline)
	}
	p := h.p
	qlen, seq, active, nw := p.qlen, p.seq, p.active, len(p.waiting)
	d := p.Acquire(req, h.now)
	if d.TaskID != o.id {
		h.fail("decision for %q names %q", o.id, d.TaskID)
	}
	if err := req.Validate(); err != nil {
		if d.Status != StatusRejected || d.Reason != ReasonInvalidRequest || d.Field != err.Field {
			h.fail("invalid request %+v answered %+v", req, d)
		}
		h.rejected(ReasonInvalidRequest)
		return d
	}
	prior := h.life[o.id]
	if prior != "" {
		ok := d.Reason == ReasonDuplicate &&
			(d.Status == prior || (prior == StatusQueued && d.Status == StatusExpired))
		if !ok {
			h.fail("repeated acquire of %s (model %q) answered %+v", o.id, prior, d)
		}
		h.want.Duplicates++
		return d
	}
	cfg := p.cfg
	var want Reason
	switch {
	case cfg.State == StateDisabled:
		want = ReasonPoolDisabled
	case cfg.State == StateDraining:
		want = ReasonPoolDraining
	case cfg.MaxUnits == 0:
		want = ReasonCapacityZero
	case req.Units > cfg.MaxUnits:
		want = ReasonExceedsCapacity
	case !req.Deadline.IsZero() && !req.Deadline.After(h.now):
		want = ReasonDeadlinePassed
	}
	switch d.Status {
	case StatusRejected:
		if want == "" && d.Reason == ReasonQueueFull && qlen >= cfg.MaxQueueDepth {
			want = ReasonQueueFull
		}
		if d.Reason != want || want == ReasonDeadlinePassed {
			h.fail("acquire %+v rejected with %s, want %q", req, d.Reason, want)
		}
		if d.Message == "" || d.Err() == nil {
			h.fail("rejection without message or error: %+v", d)
		}
		if p.qlen != qlen || p.seq != seq || p.active != active || len(p.waiting) != nw {
			h.fail("rejected acquire %s left a trace", o.id)
		}
		h.rejected(want)
	case StatusExpired:
		if want != ReasonDeadlinePassed || d.Reason != want {
			h.fail("acquire %+v expired with %s, want %q", req, d.Reason, want)
		}
		h.want.Expired++
	case StatusRunning:
		if want != "" {
			h.fail("acquire %+v started, want rejection %s", req, want)
		}
		if p.active > cfg.MaxUnits {
			h.fail("admitting %s took active units to %d over max_units %d", o.id, p.active, cfg.MaxUnits)
		}
		h.life[o.id] = StatusRunning
		h.started++
		h.want.Admitted++
		if d.Backfill {
			h.want.Backfilled++
			h.backfillKeepsShadow([]string{o.id})
		} else {
			h.headGrant(o.id, o.tenant, o.prio, h.eligibleWaiting())
		}
	case StatusQueued:
		if want != "" {
			h.fail("acquire %+v queued, want rejection %s", req, want)
		}
		if p.qlen > cfg.MaxQueueDepth {
			h.fail("queueing %s took the queue to %d over max_queue_depth %d", o.id, p.qlen, cfg.MaxQueueDepth)
		}
		if d.Position < 1 || d.Position > p.qlen || d.Position != p.Position(o.id) {
			h.fail("queued %s at position %d, Position says %d, queue %d", o.id, d.Position, p.Position(o.id), p.qlen)
		}
		h.life[o.id] = StatusQueued
		h.started++
		h.want.Queued++
	default:
		h.fail("acquire answered %+v", d)
	}
	return d
}

func (h *harness) query() any {
	h.t.Helper()
	p := h.p
	due := p.DueLeases(h.now)
	var wantDue []string
	var earliest time.Time
	for id, hd := range p.holders {
		if hd.lease.IsZero() {
			continue
		}
		if !hd.lease.After(h.now) {
			wantDue = append(wantDue, id)
		}
		if earliest.IsZero() || hd.lease.Before(earliest) {
			earliest = hd.lease
		}
	}
	sort.Strings(wantDue)
	if !slices.Equal(due, wantDue) {
		h.fail("DueLeases = %v, want %v", due, wantDue)
	}
	nl, ok := p.NextLease()
	if ok != !earliest.IsZero() || !nl.Equal(earliest) {
		h.fail("NextLease = %v %v, want %v", nl, ok, earliest)
	}
	var dl time.Time
	for _, e := range p.waiting {
		if !e.deadline.IsZero() && (dl.IsZero() || e.deadline.Before(dl)) {
			dl = e.deadline
		}
	}
	nd, ok := p.NextDeadline()
	if ok != !dl.IsZero() || !nd.Equal(dl) {
		h.fail("NextDeadline = %v %v, want %v", nd, ok, dl)
	}
	return []any{due, nl, nd, p.Snapshot()}
}

// check runs after every operation.
func (h *harness) check() {
	h.t.Helper()
	if err := checkStructure(h.p); err != nil {
		h.fail("%v", err)
	}
	for _, id := range testIDs {
		st := h.p.Status(id)
		switch h.life[id] {
		case StatusRunning:
			if st != StatusRunning {
				h.fail("%s is running in the model, %s in the pool", id, st)
			}
		case StatusQueued:
			if st != StatusQueued && st != StatusExpired {
				h.fail("%s is queued in the model, %s in the pool", id, st)
			}
		default:
			if st != StatusUnknown {
				h.fail("%s is unknown to the model, %s in the pool", id, st)
			}
		}
	}
	if !h.unsettled && h.p.cfg.State != StateDisabled {
		if hd := h.p.head(); hd != nil && h.p.fits(hd.units) {
			h.fail("head %s (%d units) fits (active %d of %d) but waits", hd.id, hd.units, h.p.active, h.p.cfg.MaxUnits)
		}
	}
	for i := range h.lastHead {
		if h.p.levels[i].lastServed != h.lastHead[i] {
			h.fail("level %d last served %q, model %q", i, h.p.levels[i].lastServed, h.lastHead[i])
		}
	}
	got := h.p.Counters()
	if !reflect.DeepEqual(got, h.want) {
		h.fail("counters %+v, want %+v", got, h.want)
	}
	c := got
	if c.Admitted+c.Granted != c.Released+c.Reclaimed+int64(len(h.p.holders)) {
		h.fail("counters do not balance for holders: %+v with %d holders", c, len(h.p.holders))
	}
}

// finish ends every live task and checks each reached exactly one terminal state.
func (h *harness) finish() {
	h.t.Helper()
	for round := 0; len(h.life) > 0; round++ {
		if round > 2*numIDs+2 {
			h.fail("tasks never finish: %v", h.life)
		}
		ids := make([]string, 0, len(h.life))
		for id := range h.life {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			switch h.life[id] {
			case StatusRunning:
				h.apply(op{kind: opRelease, id: id})
			case StatusQueued:
				h.apply(op{kind: opCancel, id: id})
			}
		}
		h.apply(op{kind: opExpire, dt: 24 * time.Hour})
	}
	p := h.p
	if h.started != h.ended || p.qlen != 0 || len(p.holders) != 0 || p.active != 0 || len(p.waiting) != 0 ||
		len(p.overdue) != 0 || len(p.deadlines) != 0 || len(p.leases) != 0 {
		h.fail("not empty after finishing: started %d ended %d, snapshot %+v", h.started, h.ended, p.Snapshot())
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return b
}

func roundTrip(t testing.TB, p *Pool) *Pool {
	t.Helper()
	var q Pool
	if err := json.Unmarshal(mustJSON(t, p), &q); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	return &q
}

// checkStructure verifies every internal index against the others.
func checkStructure(p *Pool) error {
	var active int64
	withLease := 0
	for id, h := range p.holders {
		if h.id != id {
			return fmt.Errorf("holder %q filed under %q", h.id, id)
		}
		active += h.accounted()
		if h.lease.IsZero() != (h.slot < 0) {
			return fmt.Errorf("holder %s lease %v slot %d", id, h.lease, h.slot)
		}
		if h.slot >= 0 {
			withLease++
			if h.slot >= len(p.leases) || p.leases[h.slot] != h {
				return fmt.Errorf("holder %s not at its lease slot %d", id, h.slot)
			}
		}
		if _, queued := p.waiting[id]; queued {
			return fmt.Errorf("%s both holds and waits", id)
		}
	}
	if active != p.active {
		return fmt.Errorf("active %d, holders sum to %d", p.active, active)
	}
	if withLease != len(p.leases) {
		return fmt.Errorf("lease heap has %d, holders with lease %d", len(p.leases), withLease)
	}
	for i := 1; i < len(p.leases); i++ {
		if p.leases.less(i, (i-1)/2) {
			return fmt.Errorf("lease heap order broken at %d", i)
		}
	}
	for i := 1; i < len(p.deadlines); i++ {
		if p.deadlines.less(i, (i-1)/2) {
			return fmt.Errorf("deadline heap order broken at %d", i)
		}
	}
	linked := map[*entry]bool{}
	oversize := 0
	total := 0
	for i := range p.levels {
		lv := &p.levels[i]
		prio := PriorityLow + Priority(i)
		count := 0
		visit := func(l *entryList, tenant string, q *tenantQueue) error {
			n := 0
			var prev *entry
			for e := l.head; e != nil; e = e.next {
				n++
				if e.prev != prev {
					return fmt.Errorf("broken prev link at %s", e.id)
				}
				if prev != nil && prev.seq >= e.seq {
					return fmt.Errorf("%s out of arrival order", e.id)
				}
				if e.prio != prio || (tenant != "" && e.tenant != tenant) || e.tq != q || e.overdue {
					return fmt.Errorf("%s misfiled", e.id)
				}
				if p.waiting[e.id] != e || linked[e] {
					return fmt.Errorf("%s not indexed or linked twice", e.id)
				}
				if e.deadline.IsZero() != (e.slot < 0) || (e.slot >= 0 && p.deadlines[e.slot] != e) {
					return fmt.Errorf("%s deadline slot %d", e.id, e.slot)
				}
				if e.seq > p.seq {
					return fmt.Errorf("%s has seq %d past %d", e.id, e.seq, p.seq)
				}
				linked[e] = true
				if e.units > p.cfg.MaxUnits {
					oversize++
				}
				prev = e
			}
			if prev != l.tail || n != l.n {
				return fmt.Errorf("list tail or count wrong (%d vs %d)", n, l.n)
			}
			count += n
			return nil
		}
		if p.fair {
			if lv.fifo.n != 0 {
				return fmt.Errorf("fair pool has a strict FIFO at %s", prio)
			}
			n := 0
			var prev *tenantQueue
			for q := lv.turns.head; q != nil; q = q.next {
				n++
				if q.prev != prev || lv.tenants[q.tenant] != q || q.entries.n == 0 {
					return fmt.Errorf("turn of %s at %s broken", q.tenant, prio)
				}
				if err := visit(&q.entries, q.tenant, q); err != nil {
					return err
				}
				prev = q
			}
			if prev != lv.turns.tail || n != lv.turns.n || n != len(lv.tenants) {
				return fmt.Errorf("turn list at %s inconsistent", prio)
			}
			if last := lv.tenants[lv.lastServed]; last != nil && last != lv.turns.tail {
				return fmt.Errorf("tenant served last at %s is not at the back", prio)
			}
		} else {
			if lv.turns.n != 0 || len(lv.tenants) != 0 {
				return fmt.Errorf("strict pool has turns at %s", prio)
			}
			if err := visit(&lv.fifo, "", nil); err != nil {
				return err
			}
		}
		if count != lv.n {
			return fmt.Errorf("level %s counts %d, holds %d", prio, lv.n, count)
		}
		total += count
	}
	if total != p.qlen || oversize != p.oversize {
		return fmt.Errorf("qlen %d oversize %d, found %d and %d", p.qlen, p.oversize, total, oversize)
	}
	for _, e := range p.overdue {
		if !e.overdue || p.waiting[e.id] != e || e.slot >= 0 {
			return fmt.Errorf("overdue %s misfiled", e.id)
		}
	}
	if len(p.waiting) != total+len(p.overdue) {
		return fmt.Errorf("index holds %d, queue %d + overdue %d", len(p.waiting), total, len(p.overdue))
	}
	withDeadline := 0
	for _, e := range p.waiting {
		if !e.overdue && !e.deadline.IsZero() {
			withDeadline++
		}
	}
	if withDeadline != len(p.deadlines) {
		return fmt.Errorf("deadline heap has %d, queued with deadline %d", len(p.deadlines), withDeadline)
	}
	pos := 0
	var err error
	p.walk(func(e *entry) bool {
		pos++
		if got := p.positionOf(e); got != pos {
			err = fmt.Errorf("%s is %d-th in order, positionOf says %d", e.id, pos, got)
			return false
		}
		return true
	})
	return err
}
