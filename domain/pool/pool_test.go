package pool

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func at(seconds int) time.Time { return t0.Add(time.Duration(seconds) * time.Second) }

func conf(maxUnits int64, depth int) Config {
	return Config{MaxUnits: maxUnits, MaxQueueDepth: depth, DefaultTimeout: 10 * time.Minute}
}

func task(id, tenant string, units int64) Request {
	return Request{TaskID: id, Tenant: tenant, Units: units}
}

func (r Request) with(f func(*Request)) Request {
	f(&r)
	return r
}

// mustStatus acquires and fails unless the decision has the wanted status.
func mustStatus(t *testing.T, p *Pool, r Request, now time.Time, want Status) Decision {
	t.Helper()
	d := p.Acquire(r, now)
	if d.Status != want {
		t.Fatalf("Acquire(%s) = %+v, want status %s", r.TaskID, d, want)
	}
	return d
}

func grantIDs(gs []Grant) []string {
	ids := make([]string, len(gs))
	for i, g := range gs {
		ids[i] = g.TaskID
	}
	return ids
}

func TestAcquireChecksInOrder(t *testing.T) {
	full := func(p *Pool) { mustStatus(t, p, task("holder", "z", 10), at(0), StatusRunning) }
	tests := []struct {
		name   string
		cfg    Config
		setup  func(p *Pool)
		req    Request
		want   Decision // Status, Reason, Field and Position are compared
		msgHas string
	}{
		{name: "an empty task id is an invalid request naming taskId", cfg: conf(10, 5),
			req: task("", "a", 1), want: Decision{Status: StatusRejected, Reason: ReasonInvalidRequest, Field: "taskId"}},
		{name: "an empty tenant is an invalid request naming tenant", cfg: conf(10, 5),
			req: task("t1", "", 1), want: Decision{Status: StatusRejected, Reason: ReasonInvalidRequest, Field: "tenant"}},
		{name: "zero units is an invalid request naming units", cfg: conf(10, 5),
			req: task("t1", "a", 0), want: Decision{Status: StatusRejected, Reason: ReasonInvalidRequest, Field: "units"}},
		{name: "an out-of-range priority is an invalid request naming priority", cfg: conf(10, 5),
			req:  task("t1", "a", 1).with(func(r *Request) { r.Priority = 7 }),
			want: Decision{Status: StatusRejected, Reason: ReasonInvalidRequest, Field: "priority"}},
		{name: "a negative timeout is an invalid request naming timeout", cfg: conf(10, 5),
			req:  task("t1", "a", 1).with(func(r *Request) { r.Timeout = -time.Second }),
			want: Decision{Status: StatusRejected, Reason: ReasonInvalidRequest, Field: "timeout"}},
		{name: "an invalid request is refused before the pool state is looked at",
			cfg: Config{State: StateDisabled}, req: task("t1", "a", 0),
			want: Decision{Status: StatusRejected, Reason: ReasonInvalidRequest, Field: "units"}},
		{name: "a repeated acquire of a running task returns running, even once the pool is disabled",
			cfg: conf(10, 5),
			setup: func(p *Pool) {
				mustStatus(t, p, task("t1", "a", 3), at(0), StatusRunning)
				p.Reconfigure(Config{MaxUnits: 10, State: StateDisabled}, at(1))
			},
			req: task("t1", "a", 3), want: Decision{Status: StatusRunning, Reason: ReasonDuplicate}},
		{name: "a repeated acquire of a queued task returns its position, not a second entry",
			cfg: conf(10, 5),
			setup: func(p *Pool) {
				full(p)
				mustStatus(t, p, task("t1", "a", 1), at(1), StatusQueued)
				mustStatus(t, p, task("t2", "a", 1), at(1), StatusQueued)
			},
			req: task("t2", "a", 1), want: Decision{Status: StatusQueued, Reason: ReasonDuplicate, Position: 2}},
		{name: "a disabled pool refuses before draining or capacity checks",
			cfg: Config{State: StateDisabled}, req: task("t1", "a", 5),
			want: Decision{Status: StatusRejected, Reason: ReasonPoolDisabled}, msgHas: "disabled"},
		{name: "a draining pool refuses before capacity checks",
			cfg: Config{State: StateDraining}, req: task("t1", "a", 5),
			want: Decision{Status: StatusRejected, Reason: ReasonPoolDraining}, msgHas: "draining"},
		{name: "a pool without units refuses with capacity_zero before comparing sizes",
			cfg: conf(0, 5), req: task("t1", "a", 5),
			want: Decision{Status: StatusRejected, Reason: ReasonCapacityZero, Field: "units"}, msgHas: "raise max_units"},
		{name: "more units than max_units is exceeds_capacity and the message names the fix",
			cfg: conf(24, 5), req: task("t1", "a", 30),
			want:   Decision{Status: StatusRejected, Reason: ReasonExceedsCapacity, Field: "units"},
			msgHas: "units 30 exceed the pool's max_units 24; ask for at most 24 units or raise max_units"},
		{name: "exceeds_capacity is reported before a passed deadline",
			cfg: conf(24, 5), req: task("t1", "a", 30).with(func(r *Request) { r.Deadline = at(-5) }),
			want: Decision{Status: StatusRejected, Reason: ReasonExceedsCapacity, Field: "units"}},
		{name: "a deadline equal to now expires at once",
			cfg: conf(10, 5), req: task("t1", "a", 1).with(func(r *Request) { r.Deadline = at(0) }),
			want: Decision{Status: StatusExpired, Reason: ReasonDeadlinePassed, Field: "deadline"}, msgHas: "later deadline"},
		{name: "a past deadline expires even when the task would fit",
			cfg: conf(10, 5), req: task("t1", "a", 1).with(func(r *Request) { r.Deadline = at(-1) }),
			want: Decision{Status: StatusExpired, Reason: ReasonDeadlinePassed, Field: "deadline"}},
		{name: "a task that fits starts at once",
			cfg: conf(10, 5), req: task("t1", "a", 10), want: Decision{Status: StatusRunning}},
		{name: "a task that fits still waits when a queued task comes before it",
			cfg: conf(10, 5),
			setup: func(p *Pool) {
				mustStatus(t, p, task("holder", "z", 8), at(0), StatusRunning)
				mustStatus(t, p, task("big", "a", 5), at(1), StatusQueued)
			},
			req: task("t1", "b", 2), want: Decision{Status: StatusQueued, Position: 2}},
		{name: "a higher priority task is queued ahead of waiting normal ones",
			cfg: conf(10, 5),
			setup: func(p *Pool) {
				full(p)
				mustStatus(t, p, task("n1", "a", 1), at(1), StatusQueued)
				mustStatus(t, p, task("n2", "a", 1), at(1), StatusQueued)
			},
			req:  task("h1", "a", 1).with(func(r *Request) { r.Priority = PriorityHigh }),
			want: Decision{Status: StatusQueued, Position: 1}},
		{name: "a full queue rejects with queue_full",
			cfg: conf(10, 1),
			setup: func(p *Pool) {
				full(p)
				mustStatus(t, p, task("q1", "a", 1), at(1), StatusQueued)
			},
			req: task("t1", "a", 1), want: Decision{Status: StatusRejected, Reason: ReasonQueueFull}, msgHas: "raise max_queue_depth"},
		{name: "a depth of zero rejects whatever cannot start at once",
			cfg: conf(10, 0), setup: full,
			req: task("t1", "a", 1), want: Decision{Status: StatusRejected, Reason: ReasonQueueFull}},
		{name: "a full queue still admits a task that fits when nothing waits before it",
			cfg: conf(10, 0), req: task("t1", "a", 1), want: Decision{Status: StatusRunning}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := New(tc.cfg)
			if tc.setup != nil {
				tc.setup(p)
			}
			d := p.Acquire(tc.req, at(2))
			if d.Status != tc.want.Status || d.Reason != tc.want.Reason || d.Field != tc.want.Field || d.Position != tc.want.Position {
				t.Fatalf("Acquire = %+v\nwant status %s reason %q field %q position %d",
					d, tc.want.Status, tc.want.Reason, tc.want.Field, tc.want.Position)
			}
			if !strings.Contains(d.Message, tc.msgHas) {
				t.Errorf("message %q does not contain %q", d.Message, tc.msgHas)
			}
			if (d.Status == StatusRejected || d.Status == StatusExpired) && d.Reason != ReasonDuplicate {
				var e *Error
				if !errors.As(d.Err(), &e) || e.Reason != d.Reason || d.Message == "" {
					t.Errorf("Err() = %v, want an *Error with reason %s and a message", d.Err(), d.Reason)
				}
			} else if d.Err() != nil {
				t.Errorf("Err() = %v for %s", d.Err(), d.Status)
			}
			if err := checkStructure(p); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestAcquireStartsWithTheEffectiveTimeoutAndLease(t *testing.T) {
	p := New(Config{MaxUnits: 10, MaxQueueDepth: 5, DefaultTimeout: time.Minute, LeaseGrace: 5 * time.Second})
	d := mustStatus(t, p, task("t1", "a", 2), at(0), StatusRunning)
	if d.Timeout != time.Minute || !d.GrantedAt.Equal(at(0)) || !d.LeaseUntil.Equal(at(65)) {
		t.Errorf("default timeout: %+v", d)
	}
	d = mustStatus(t, p, task("t2", "a", 2).with(func(r *Request) { r.Timeout = 10 * time.Second }), at(1), StatusRunning)
	if d.Timeout != 10*time.Second || !d.LeaseUntil.Equal(at(16)) {
		t.Errorf("own timeout: %+v", d)
	}
	if p.ActiveUnits() != 4 {
		t.Errorf("ActiveUnits = %d, want 4", p.ActiveUnits())
	}
}

func TestQueueFullLeavesNoTrace(t *testing.T) {
	p := New(conf(4, 2))
	mustStatus(t, p, task("holder", "z", 4), at(0), StatusRunning)
	mustStatus(t, p, task("q1", "a", 1).with(func(r *Request) { r.Deadline = at(50) }), at(1), StatusQueued)
	mustStatus(t, p, task("q2", "b", 1), at(1), StatusQueued)
	before := p.Snapshot()
	beforeJSON := mustJSON(t, p)
	d := mustStatus(t, p, task("late", "c", 1).with(func(r *Request) { r.Priority = PriorityCritical }), at(2), StatusRejected)
	if d.Reason != ReasonQueueFull || !errors.Is(d.Err(), ErrQueueFull) {
		t.Fatalf("decision %+v, want queue_full", d)
	}
	after := p.Snapshot()
	if after.Counters.Rejected[ReasonQueueFull] != 1 {
		t.Errorf("rejections counted %v", after.Counters.Rejected)
	}
	after.Counters = before.Counters
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("snapshot changed:\n%+v\n%+v", before, after)
	}
	var s1, s2 poolState
	_ = json.Unmarshal(beforeJSON, &s1)
	_ = json.Unmarshal(mustJSON(t, p), &s2)
	s1.Counters, s2.Counters = Counters{}, Counters{}
	if fmt.Sprint(s1) != fmt.Sprint(s2) {
		t.Errorf("state changed:\n%+v\n%+v", s1, s2)
	}
}

// drain releases whatever holds units, one at a time, and returns the order tasks started in.
func drain(t *testing.T, p *Pool, first string) []string {
	t.Helper()
	var order []string
	next := []string{first}
	for now := 10; len(next) > 0; now++ {
		id := next[0]
		next = next[1:]
		ok, gs := p.Release(id, at(now))
		if !ok {
			t.Fatalf("release of %s failed", id)
		}
		order = append(order, grantIDs(gs)...)
		next = append(next, grantIDs(gs)...)
	}
	if p.QueueLen() != 0 {
		t.Fatalf("queue not drained: %+v", p.Snapshot().Queue)
	}
	return order
}

func TestQueueOrder(t *testing.T) {
	type q struct {
		id, tenant string
		prio       Priority
	}
	tests := []struct {
		name   string
		policy Policy
		queue  []q
		want   []string
	}{
		{name: "higher priority starts first whatever the arrival order", policy: PolicyStrict,
			queue: []q{{"n1", "a", PriorityNormal}, {"l1", "a", PriorityLow}, {"c1", "a", PriorityCritical}, {"h1", "a", PriorityHigh}},
			want:  []string{"c1", "h1", "n1", "l1"}},
		{name: "strict is FIFO by arrival within a priority, across tenants", policy: PolicyStrict,
			queue: []q{{"a1", "a", 0}, {"a2", "a", 0}, {"b1", "b", 0}, {"a3", "a", 0}},
			want:  []string{"a1", "a2", "b1", "a3"}},
		{name: "fair alternates between tenants, each tenant FIFO", policy: PolicyFair,
			queue: []q{{"a1", "a", 0}, {"a2", "a", 0}, {"a3", "a", 0}, {"b1", "b", 0}, {"b2", "b", 0}},
			want:  []string{"a1", "b1", "a2", "b2", "a3"}},
		{name: "fair takes turns among three tenants in the order they started waiting", policy: PolicyFair,
			queue: []q{{"c1", "c", 0}, {"a1", "a", 0}, {"a2", "a", 0}, {"b1", "b", 0}, {"c2", "c", 0}},
			want:  []string{"c1", "a1", "b1", "c2", "a2"}},
		{name: "fair still serves higher priority first", policy: PolicyFair,
			queue: []q{{"a1", "a", 0}, {"b1", "b", 0}, {"a2", "a", PriorityHigh}, {"a3", "a", PriorityHigh}},
			want:  []string{"a2", "a3", "a1", "b1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := New(Config{MaxUnits: 1, MaxQueueDepth: 100, Policy: tc.policy, DefaultTimeout: time.Minute})
			mustStatus(t, p, task("blocker", "z", 1).with(func(r *Request) { r.Priority = PriorityCritical }), at(0), StatusRunning)
			for i, e := range tc.queue {
				mustStatus(t, p, task(e.id, e.tenant, 1).with(func(r *Request) { r.Priority = e.prio }), at(i), StatusQueued)
			}
			var positions []string
			for _, v := range p.Snapshot().Queue {
				positions = append(positions, v.TaskID)
				if p.Position(v.TaskID) != v.Position {
					t.Errorf("Position(%s) = %d, snapshot says %d", v.TaskID, p.Position(v.TaskID), v.Position)
				}
			}
			if !slices.Equal(positions, tc.want) {
				t.Errorf("positions %v, want %v", positions, tc.want)
			}
			if got := drain(t, p, "blocker"); !slices.Equal(got, tc.want) {
				t.Errorf("start order %v, want %v", got, tc.want)
			}
		})
	}
}

func TestFairNewcomerIsAtMostSecondBehindABurstOfAThousand(t *testing.T) {
	p := New(Config{MaxUnits: 1, MaxQueueDepth: 2000, Policy: PolicyFair, DefaultTimeout: time.Minute})
	mustStatus(t, p, task("blocker", "z", 1), at(0), StatusRunning)
	for i := range 1000 {
		mustStatus(t, p, task(fmt.Sprintf("a%04d", i), "a", 1), at(1), StatusQueued)
	}
	d := mustStatus(t, p, task("b1", "b", 1), at(2), StatusQueued)
	if d.Position != 2 {
		t.Fatalf("newcomer position %d, want 2", d.Position)
	}
	order := drain(t, p, "blocker")
	if !slices.Equal(order[:3], []string{"a0000", "b1", "a0001"}) {
		t.Errorf("start order begins %v", order[:3])
	}
}

func TestFairNeverServesATenantTwiceInARowWhileAnotherWaits(t *testing.T) {
	p := New(Config{MaxUnits: 1, MaxQueueDepth: 10, Policy: PolicyFair, DefaultTimeout: time.Minute})
	mustStatus(t, p, task("a1", "a", 1), at(0), StatusRunning)
	mustStatus(t, p, task("a2", "a", 1), at(1), StatusQueued)
	// b arrives after a was served and while a waits again: b goes first.
	d := mustStatus(t, p, task("b1", "b", 1), at(2), StatusQueued)
	if d.Position != 1 {
		t.Fatalf("b1 position %d, want 1 (a was served last)", d.Position)
	}
	if got := drain(t, p, "a1"); !slices.Equal(got, []string{"b1", "a2"}) {
		t.Errorf("start order %v, want [b1 a2]", got)
	}
}

func TestHeadOfLineAndBackfill(t *testing.T) {
	// max 10; "holder" keeps 6 units until its lease at t0+10m; "head" needs 8 and is blocked,
	// so its shadow time is t0+10m, when 10 are free and 2 are spare.
	tests := []struct {
		name     string
		backfill bool
		req      Request
		want     Status
	}{
		{name: "without backfill a small task waits behind the blocked head", backfill: false,
			req: task("small", "b", 2).with(func(r *Request) { r.Timeout = time.Minute }), want: StatusQueued},
		{name: "backfill starts a task whose lease ends before the head's shadow time", backfill: true,
			req: task("small", "b", 4).with(func(r *Request) { r.Timeout = 5 * time.Minute }), want: StatusRunning},
		{name: "backfill starts a task whose lease ends exactly at the shadow time", backfill: true,
			req: task("small", "b", 4).with(func(r *Request) { r.Timeout = 10 * time.Minute }), want: StatusRunning},
		{name: "backfill starts a long task that fits in the spare units at shadow time", backfill: true,
			req: task("small", "b", 2).with(func(r *Request) { r.Timeout = time.Hour }), want: StatusRunning},
		{name: "backfill refuses a long task that would take units the head needs", backfill: true,
			req: task("small", "b", 3).with(func(r *Request) { r.Timeout = time.Hour }), want: StatusQueued},
		{name: "backfill refuses a task that does not fit now", backfill: true,
			req: task("small", "b", 5).with(func(r *Request) { r.Timeout = time.Second }), want: StatusQueued},
		{name: "backfill refuses a lower priority task that would delay a higher one", backfill: true,
			req: task("small", "b", 3).with(func(r *Request) { r.Timeout = time.Hour; r.Priority = PriorityLow }), want: StatusQueued},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := New(Config{MaxUnits: 10, MaxQueueDepth: 10, Backfill: tc.backfill, DefaultTimeout: 10 * time.Minute})
			mustStatus(t, p, task("holder", "z", 6), at(0), StatusRunning)
			mustStatus(t, p, task("head", "a", 8), at(0), StatusQueued)
			d := mustStatus(t, p, tc.req, at(0), tc.want)
			if d.Backfill != (tc.want == StatusRunning) {
				t.Errorf("Backfill = %v", d.Backfill)
			}
			if tc.want == StatusRunning {
				at1, _, _ := p.shadow(8, at(0))
				if !at1.Equal(t0.Add(10 * time.Minute)) {
					t.Errorf("head's shadow moved to %v", at1)
				}
			}
		})
	}
}

func TestBackfillFromTheQueueWhenUnitsAreFreed(t *testing.T) {
	p := New(Config{MaxUnits: 10, MaxQueueDepth: 10, Backfill: true, DefaultTimeout: 10 * time.Minute})
	mustStatus(t, p, task("long", "z", 6), at(0), StatusRunning)
	mustStatus(t, p, task("short", "z", 4).with(func(r *Request) { r.Timeout = time.Minute }), at(0), StatusRunning)
	mustStatus(t, p, task("head", "a", 8), at(1), StatusQueued)
	mustStatus(t, p, task("quick", "b", 3).with(func(r *Request) { r.Timeout = time.Minute }), at(1), StatusQueued)
	mustStatus(t, p, task("slow", "c", 3).with(func(r *Request) { r.Timeout = time.Hour }), at(1), StatusQueued)
	_, gs := p.Release("short", at(30))
	if len(gs) != 1 || gs[0].TaskID != "quick" || !gs[0].Backfill || gs[0].Wait != 29*time.Second {
		t.Fatalf("grants %+v, want quick by backfill after 29s", gs)
	}
	if p.Position("head") != 1 || p.Status("slow") != StatusQueued {
		t.Errorf("head at %d, slow %s", p.Position("head"), p.Status("slow"))
	}
	if c := p.Counters(); c.Backfilled != 1 || c.Granted != 1 {
		t.Errorf("counters %+v", c)
	}
}

func TestBackfillIsRefusedWhenTheShadowTimeIsUnknown(t *testing.T) {
	p := New(Config{MaxUnits: 10, MaxQueueDepth: 10, Backfill: true}) // no default timeout: holders never end
	mustStatus(t, p, task("forever", "z", 6), at(0), StatusRunning)
	mustStatus(t, p, task("head", "a", 8), at(0), StatusQueued)
	mustStatus(t, p, task("small", "b", 1).with(func(r *Request) { r.Timeout = time.Second }), at(0), StatusQueued)
}

func TestStrictHeadOfLineBlocksSmallerTasks(t *testing.T) {
	p := New(conf(10, 10))
	mustStatus(t, p, task("h1", "z", 5), at(0), StatusRunning)
	mustStatus(t, p, task("h2", "z", 3), at(0), StatusRunning)
	mustStatus(t, p, task("big", "a", 6), at(1), StatusQueued)
	mustStatus(t, p, task("small", "b", 1), at(2), StatusQueued)
	if _, gs := p.Release("h2", at(3)); len(gs) != 0 {
		t.Fatalf("grants %v while the head is blocked", grantIDs(gs))
	}
	if _, gs := p.Release("h1", at(4)); !slices.Equal(grantIDs(gs), []string{"big", "small"}) {
		t.Fatalf("grants %v, want big then small", grantIDs(gs))
	}
}

func TestRepeatedAcquireNeverCreatesASecondEntry(t *testing.T) {
	p := New(conf(4, 10))
	mustStatus(t, p, task("run", "a", 4), at(0), StatusRunning)
	mustStatus(t, p, task("wait", "a", 2), at(0), StatusQueued)
	for i := range 3 {
		if d := p.Acquire(task("run", "a", 1), at(i)); d.Status != StatusRunning || d.Reason != ReasonDuplicate || !d.GrantedAt.Equal(at(0)) {
			t.Errorf("repeat of running: %+v", d)
		}
		if d := p.Acquire(task("wait", "b", 3), at(i)); d.Status != StatusQueued || d.Reason != ReasonDuplicate || d.Position != 1 {
			t.Errorf("repeat of queued: %+v", d)
		}
	}
	if p.ActiveUnits() != 4 || p.QueueLen() != 1 || p.Counters().Duplicates != 6 || p.Counters().Queued != 1 {
		t.Errorf("active %d queue %d counters %+v", p.ActiveUnits(), p.QueueLen(), p.Counters())
	}
}

func TestReleaseIsIdempotent(t *testing.T) {
	p := New(conf(4, 10))
	mustStatus(t, p, task("run", "a", 4), at(0), StatusRunning)
	mustStatus(t, p, task("wait", "a", 2), at(0), StatusQueued)
	if ok, gs := p.Release("wait", at(1)); ok || gs != nil || p.Status("wait") != StatusQueued {
		t.Errorf("releasing a queued task: %v %v, status %s", ok, gs, p.Status("wait"))
	}
	if ok, gs := p.Release("run", at(2)); !ok || !slices.Equal(grantIDs(gs), []string{"wait"}) {
		t.Errorf("first release: %v %v", ok, grantIDs(gs))
	}
	if ok, gs := p.Release("run", at(3)); ok || gs != nil {
		t.Errorf("second release: %v %v", ok, gs)
	}
	if ok, _ := p.Release("never", at(3)); ok {
		t.Error("release of an unknown id succeeded")
	}
	if c := p.Counters(); c.Released != 1 || p.ActiveUnits() != 2 {
		t.Errorf("released %d, active %d", c.Released, p.ActiveUnits())
	}
}

func TestCancel(t *testing.T) {
	tests := []struct {
		name       string
		id         string
		twice      bool
		wantStatus Status
		wantReason Reason
		wantGrants []string
	}{
		{name: "a queued task is dropped as cancelled", id: "tail", wantStatus: StatusDropped, wantReason: ReasonCancelled},
		{name: "cancelling the blocking head starts the smaller tasks behind it", id: "head",
			wantStatus: StatusDropped, wantReason: ReasonCancelled, wantGrants: []string{"tail"}},
		{name: "a running task is reported running for the caller to stop", id: "run", wantStatus: StatusRunning},
		{name: "an unknown task is not found", id: "nope", wantStatus: StatusUnknown},
		{name: "cancelling twice finds nothing the second time", id: "tail", twice: true, wantStatus: StatusUnknown},
		{name: "a task whose deadline passed is reported expired, not dropped", id: "late", wantStatus: StatusExpired,
			wantReason: ReasonDeadlinePassed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := New(conf(10, 10))
			mustStatus(t, p, task("run", "z", 8), at(0), StatusRunning)
			mustStatus(t, p, task("late", "a", 9).with(func(r *Request) { r.Deadline = at(5); r.Priority = PriorityLow }), at(0), StatusQueued)
			mustStatus(t, p, task("head", "a", 5), at(0), StatusQueued)
			mustStatus(t, p, task("tail", "b", 2), at(0), StatusQueued)
			now := at(1)
			if tc.id == "late" {
				now = at(6)
			}
			res := p.Cancel(tc.id, now)
			if tc.twice {
				res = p.Cancel(tc.id, now)
			}
			if res.Status != tc.wantStatus || res.Reason != tc.wantReason || !slices.Equal(grantIDs(res.Grants), tc.wantGrants) {
				t.Errorf("Cancel = %+v, want %s %q grants %v", res, tc.wantStatus, tc.wantReason, tc.wantGrants)
			}
			if res.Message == "" {
				t.Error("no message")
			}
			if err := checkStructure(p); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestReconfigure(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, p *Pool)
	}{
		{name: "growing max_units starts queued tasks", run: func(t *testing.T, p *Pool) {
			mustStatus(t, p, task("q1", "a", 3), at(1), StatusQueued)
			mustStatus(t, p, task("q2", "a", 3), at(1), StatusQueued)
			if gs := p.Reconfigure(conf(16, 5), at(2)); !slices.Equal(grantIDs(gs), []string{"q1", "q2"}) {
				t.Errorf("grants %v", grantIDs(gs))
			}
		}},
		{name: "shrinking below the active units preempts nobody and admissions wait", run: func(t *testing.T, p *Pool) {
			if gs := p.Reconfigure(conf(4, 5), at(1)); gs != nil || p.ActiveUnits() != 10 || p.Status("holder") != StatusRunning {
				t.Fatalf("grants %v active %d", gs, p.ActiveUnits())
			}
			mustStatus(t, p, task("q1", "a", 4), at(2), StatusQueued)
			if _, gs := p.Release("holder", at(3)); !slices.Equal(grantIDs(gs), []string{"q1"}) {
				t.Errorf("grants %v", grantIDs(gs))
			}
		}},
		{name: "draining rejects new tasks but keeps serving the queue", run: func(t *testing.T, p *Pool) {
			mustStatus(t, p, task("q1", "a", 3), at(1), StatusQueued)
			p.Reconfigure(Config{MaxUnits: 10, MaxQueueDepth: 5, State: StateDraining}, at(2))
			if d := p.Acquire(task("new", "a", 1), at(3)); d.Reason != ReasonPoolDraining {
				t.Errorf("new task: %+v", d)
			}
			if _, gs := p.Release("holder", at(4)); !slices.Equal(grantIDs(gs), []string{"q1"}) {
				t.Errorf("grants %v", grantIDs(gs))
			}
		}},
		{name: "disabling parks the queue until enabled, while deadlines still apply", run: func(t *testing.T, p *Pool) {
			mustStatus(t, p, task("q1", "a", 3), at(1), StatusQueued)
			mustStatus(t, p, task("q2", "a", 3).with(func(r *Request) { r.Deadline = at(5) }), at(1), StatusQueued)
			disabled := conf(10, 5)
			disabled.State = StateDisabled
			p.Reconfigure(disabled, at(2))
			if d := p.Acquire(task("new", "a", 1), at(3)); d.Reason != ReasonPoolDisabled {
				t.Errorf("new task: %+v", d)
			}
			if _, gs := p.Release("holder", at(4)); gs != nil {
				t.Errorf("a disabled pool started %v", grantIDs(gs))
			}
			if ex := p.Expire(at(6)); len(ex.Expired) != 1 || ex.Expired[0].TaskID != "q2" || ex.Grants != nil {
				t.Errorf("expire %+v", ex)
			}
			if p.Status("q1") != StatusQueued {
				t.Errorf("q1 is %s", p.Status("q1"))
			}
			if gs := p.Reconfigure(conf(10, 5), at(7)); !slices.Equal(grantIDs(gs), []string{"q1"}) {
				t.Errorf("enabling started %v", grantIDs(gs))
			}
		}},
		{name: "a smaller max_queue_depth keeps every queued task but rejects new ones", run: func(t *testing.T, p *Pool) {
			for _, id := range []string{"q1", "q2", "q3"} {
				mustStatus(t, p, task(id, "a", 1), at(1), StatusQueued)
			}
			p.Reconfigure(conf(10, 1), at(2))
			if p.QueueLen() != 3 {
				t.Errorf("queue %d", p.QueueLen())
			}
			if d := p.Acquire(task("new", "a", 1), at(3)); d.Reason != ReasonQueueFull {
				t.Errorf("new task: %+v", d)
			}
		}},
		{name: "a policy change re-orders the queue", run: func(t *testing.T, p *Pool) {
			for _, id := range []string{"a1", "a2", "a3"} {
				mustStatus(t, p, task(id, "a", 1), at(1), StatusQueued)
			}
			mustStatus(t, p, task("b1", "b", 1), at(2), StatusQueued)
			if p.Position("b1") != 4 {
				t.Fatalf("strict position of b1: %d", p.Position("b1"))
			}
			fair := conf(10, 5)
			fair.Policy = PolicyFair
			p.Reconfigure(fair, at(3))
			if p.Position("b1") != 2 || p.Position("a2") != 3 {
				t.Errorf("fair positions: b1 %d a2 %d", p.Position("b1"), p.Position("a2"))
			}
			p.Reconfigure(conf(10, 5), at(4))
			if p.Position("b1") != 4 {
				t.Errorf("strict again: b1 %d", p.Position("b1"))
			}
		}},
		{name: "a task larger than a shrunk max_units is passed over, not blocking, until it grows back", run: func(t *testing.T, p *Pool) {
			mustStatus(t, p, task("big", "a", 8), at(1), StatusQueued)
			mustStatus(t, p, task("small", "b", 2), at(1), StatusQueued)
			p.Reconfigure(conf(5, 5), at(2))
			if _, gs := p.Release("holder", at(3)); !slices.Equal(grantIDs(gs), []string{"small"}) {
				t.Fatalf("grants %v", grantIDs(gs))
			}
			if p.Position("big") != 1 {
				t.Errorf("big lost its place: %d", p.Position("big"))
			}
			p.Release("small", at(4))
			if gs := p.Reconfigure(conf(10, 5), at(5)); !slices.Equal(grantIDs(gs), []string{"big"}) {
				t.Errorf("growing back started %v", grantIDs(gs))
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := New(conf(10, 5))
			mustStatus(t, p, task("holder", "z", 10), at(0), StatusRunning)
			tc.run(t, p)
			if err := checkStructure(p); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestExpiry(t *testing.T) {
	p := New(conf(10, 10))
	mustStatus(t, p, task("holder", "z", 10), at(0), StatusRunning)
	mustStatus(t, p, task("d20", "a", 4).with(func(r *Request) { r.Deadline = at(20) }), at(1), StatusQueued)
	mustStatus(t, p, task("d10", "a", 4).with(func(r *Request) { r.Deadline = at(10) }), at(2), StatusQueued)
	mustStatus(t, p, task("none", "b", 4), at(3), StatusQueued)
	if next, ok := p.NextDeadline(); !ok || !next.Equal(at(10)) {
		t.Fatalf("NextDeadline = %v %v, want %v", next, ok, at(10))
	}
	if res := p.Expire(at(9)); res.Expired != nil {
		t.Fatalf("expired early: %+v", res)
	}
	res := p.Expire(at(10))
	if len(res.Expired) != 1 || res.Expired[0].TaskID != "d10" || res.Expired[0].Reason != ReasonDeadlinePassed ||
		res.Expired[0].Wait != 8*time.Second || res.Expired[0].Message == "" {
		t.Fatalf("Expire = %+v", res)
	}
	if p.ActiveUnits() != 10 || p.Status("d10") != StatusUnknown || p.Counters().Expired != 1 {
		t.Errorf("active %d, status %s, counters %+v", p.ActiveUnits(), p.Status("d10"), p.Counters())
	}
	if next, ok := p.NextDeadline(); !ok || !next.Equal(at(20)) {
		t.Errorf("NextDeadline = %v %v, want %v", next, ok, at(20))
	}
	// A release after d20's deadline must not start it, even before Expire runs.
	_, gs := p.Release("holder", at(25))
	if !slices.Equal(grantIDs(gs), []string{"none"}) || p.Status("d20") != StatusExpired {
		t.Fatalf("grants %v, d20 %s", grantIDs(gs), p.Status("d20"))
	}
	if next, ok := p.NextDeadline(); !ok || !next.Equal(at(20)) {
		t.Errorf("an overdue task must keep the timer due: %v %v", next, ok)
	}
	if d := p.Acquire(task("d20", "a", 4), at(26)); d.Status != StatusExpired || d.Reason != ReasonDuplicate {
		t.Errorf("repeat of an overdue task: %+v", d)
	}
	if res := p.Expire(at(26)); len(res.Expired) != 1 || res.Expired[0].TaskID != "d20" {
		t.Errorf("Expire = %+v", res)
	}
	if _, ok := p.NextDeadline(); ok {
		t.Error("a deadline is left")
	}
}

func TestExpiringABlockingHeadStartsTheTasksBehindIt(t *testing.T) {
	p := New(conf(10, 10))
	mustStatus(t, p, task("holder", "z", 6), at(0), StatusRunning)
	mustStatus(t, p, task("head", "a", 8).with(func(r *Request) { r.Deadline = at(5) }), at(1), StatusQueued)
	mustStatus(t, p, task("small", "b", 4), at(1), StatusQueued)
	res := p.Expire(at(5))
	if len(res.Expired) != 1 || !slices.Equal(grantIDs(res.Grants), []string{"small"}) {
		t.Errorf("Expire = %+v", res)
	}
}

func TestUsageAboveTheDeclarationStopsAdmissionsUntilBackUnder(t *testing.T) {
	p := New(conf(10, 10))
	mustStatus(t, p, task("hog", "a", 4), at(0), StatusRunning)
	if !p.ReportUsage("hog", 9, at(1)) {
		t.Fatal("usage over the declaration not reported")
	}
	if p.ActiveUnits() != 9 {
		t.Fatalf("active %d, want 9", p.ActiveUnits())
	}
	mustStatus(t, p, task("t1", "b", 2), at(2), StatusQueued)
	if p.ReportUsage("hog", 12, at(3)) != true || p.ActiveUnits() != 12 {
		t.Fatalf("active %d", p.ActiveUnits())
	}
	if gs := p.Admit(at(4)); gs != nil {
		t.Fatalf("started %v over capacity", grantIDs(gs))
	}
	if p.ReportUsage("hog", 3, at(5)) || p.ActiveUnits() != 4 {
		t.Fatalf("back under: active %d", p.ActiveUnits())
	}
	if gs := p.Admit(at(6)); !slices.Equal(grantIDs(gs), []string{"t1"}) {
		t.Fatalf("grants %v", grantIDs(gs))
	}
	if p.ReportUsage("nobody", 100, at(7)) {
		t.Error("usage of an unknown task reported")
	}
	if hv, _ := p.Holder("hog"); hv.UsedUnits != 3 || !hv.UsageAt.Equal(at(5)) {
		t.Errorf("holder view %+v", hv)
	}
	p.ReportUsage("hog", 7, at(8))
	p.Release("hog", at(9))
	if p.ActiveUnits() != 2 || p.Counters().UsageExceeded != 3 {
		t.Errorf("active %d, counters %+v", p.ActiveUnits(), p.Counters())
	}
}

func TestLeases(t *testing.T) {
	p := New(Config{MaxUnits: 10, MaxQueueDepth: 5, DefaultTimeout: 10 * time.Second, LeaseGrace: 5 * time.Second})
	mustStatus(t, p, task("b", "a", 1), at(0), StatusRunning)
	mustStatus(t, p, task("a", "a", 1), at(0), StatusRunning)
	mustStatus(t, p, task("c", "a", 1).with(func(r *Request) { r.Timeout = time.Minute }), at(0), StatusRunning)
	if next, ok := p.NextLease(); !ok || !next.Equal(at(15)) {
		t.Fatalf("NextLease = %v %v", next, ok)
	}
	if due := p.DueLeases(at(14)); due != nil {
		t.Fatalf("due early: %v", due)
	}
	if due := p.DueLeases(at(15)); !slices.Equal(due, []string{"a", "b"}) {
		t.Fatalf("due %v, want sorted [a b]", due)
	}
	if !p.RenewLease("a", at(40)) || p.RenewLease("nobody", at(40)) || p.RenewLease("b", time.Time{}) {
		t.Fatal("RenewLease answers wrong")
	}
	if due := p.DueLeases(at(15)); !slices.Equal(due, []string{"b"}) {
		t.Fatalf("due after renewal %v", due)
	}
	if ok, _ := p.Reclaim("b", at(16)); !ok {
		t.Fatal("reclaim failed")
	}
	if next, _ := p.NextLease(); !next.Equal(at(40)) {
		t.Errorf("NextLease = %v, want %v", next, at(40))
	}
	if c := p.Counters(); c.Reclaimed != 1 || c.Released != 0 {
		t.Errorf("counters %+v", c)
	}
	if hv, _ := p.Holder("a"); !hv.LeaseUntil.Equal(at(40)) {
		t.Errorf("holder view %+v", hv)
	}
}

func TestSnapshotIsOrderedAndDeterministic(t *testing.T) {
	build := func() *Pool {
		p := New(Config{MaxUnits: 3, MaxQueueDepth: 10, Policy: PolicyFair, DefaultTimeout: time.Minute})
		for i, id := range []string{"r2", "r1", "r3"} {
			mustStatus(t, p, task(id, "z", 1), at(i%2), StatusRunning)
		}
		for i, tn := range []string{"a", "a", "b", "c", "b"} {
			mustStatus(t, p, task(fmt.Sprintf("q%d", i), tn, 1), at(5), StatusQueued)
		}
		p.Acquire(task("x", "a", 4), at(6))
		return p
	}
	s := build().Snapshot()
	var holders, queue []string
	for _, h := range s.Holders {
		holders = append(holders, h.TaskID)
	}
	for i, q := range s.Queue {
		queue = append(queue, q.TaskID)
		if q.Position != i+1 {
			t.Errorf("%s at position %d", q.TaskID, q.Position)
		}
	}
	if !slices.Equal(holders, []string{"r2", "r3", "r1"}) || !slices.Equal(queue, []string{"q0", "q2", "q3", "q1", "q4"}) {
		t.Errorf("holders %v queue %v", holders, queue)
	}
	if s.ActiveUnits != 3 || s.FreeUnits != 0 || s.State != StateActive || s.Counters.Rejected[ReasonExceedsCapacity] != 1 {
		t.Errorf("snapshot %+v", s)
	}
	for range 5 {
		if a, b := mustJSON(t, build().Snapshot()), mustJSON(t, s); string(a) != string(b) {
			t.Fatalf("snapshots differ:\n%s\n%s", a, b)
		}
	}
}

func TestPoolBehavesIdenticallyAfterAJSONRoundTrip(t *testing.T) {
	cfg := Config{MaxUnits: 6, MaxQueueDepth: 20, Policy: PolicyFair, Backfill: true, DefaultTimeout: time.Minute, LeaseGrace: time.Second}
	p := New(cfg)
	mustStatus(t, p, task("r1", "a", 4), at(0), StatusRunning)
	p.ReportUsage("r1", 5, at(1))
	mustStatus(t, p, task("late", "c", 3).with(func(r *Request) { r.Deadline = at(3) }), at(1), StatusQueued)
	for i, tn := range []string{"a", "a", "b", "b", "c"} {
		mustStatus(t, p, task(fmt.Sprintf("q%d", i), tn, int64(2+i%2)).with(func(r *Request) { r.Priority = Priority(i % 2) }), at(2), StatusQueued)
	}
	p.Acquire(task("bad", "a", 0), at(2))
	p.Cancel("nothing", at(4)) // sets "late" aside as overdue
	q := roundTrip(t, p)
	if a, b := mustJSON(t, p.Snapshot()), mustJSON(t, q.Snapshot()); string(a) != string(b) {
		t.Fatalf("snapshots differ:\n%s\n%s", a, b)
	}
	if err := checkStructure(q); err != nil {
		t.Fatal(err)
	}
	steps := []func(p *Pool) any{
		func(p *Pool) any { return p.Acquire(task("n1", "d", 1), at(5)) },
		func(p *Pool) any { return p.Expire(at(5)) },
		func(p *Pool) any { ok, gs := p.Release("r1", at(6)); return []any{ok, gs} },
		func(p *Pool) any { return p.Acquire(task("n2", "a", 2), at(7)) },
		func(p *Pool) any { return p.Snapshot() },
	}
	for i, step := range steps {
		a, b := step(p), step(q)
		if fmt.Sprintf("%#v", a) != fmt.Sprintf("%#v", b) {
			t.Fatalf("step %d: %#v\nafter round trip: %#v", i, a, b)
		}
	}
}

func TestUnmarshalRefusesACorruptState(t *testing.T) {
	p := New(conf(10, 10))
	mustStatus(t, p, task("r1", "a", 10), at(0), StatusRunning)
	mustStatus(t, p, task("q1", "a", 1), at(0), StatusQueued)
	good := string(mustJSON(t, p))
	for name, bad := range map[string]string{
		"an unknown version":      strings.Replace(good, `"version":1`, `"version":9`, 1),
		"a task twice":            strings.Replace(good, `"taskId":"q1"`, `"taskId":"r1"`, 1),
		"a sequence past the end": strings.Replace(good, `"seq":1,`, `"seq":0,`, 1),
		"not JSON":                "{",
	} {
		var q Pool
		if err := json.Unmarshal([]byte(bad), &q); err == nil {
			t.Errorf("%s: accepted %s", name, bad)
		}
	}
}

func TestParsePriority(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Priority
		ok   bool
	}{
		{"", PriorityNormal, true}, {"low", PriorityLow, true}, {"Normal", PriorityNormal, true},
		{" HIGH ", PriorityHigh, true}, {"critical", PriorityCritical, true}, {"urgent", 0, false},
	} {
		got, err := ParsePriority(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("ParsePriority(%q) = %v, %v", tc.in, got, err)
		}
		if !tc.ok && (!strings.Contains(err.Error(), "low, normal, high, critical") || !errors.Is(err, ErrInvalidRequest)) {
			t.Errorf("error %q does not list the valid values", err)
		}
	}
	if !(PriorityLow < PriorityNormal && PriorityNormal < PriorityHigh && PriorityHigh < PriorityCritical) {
		t.Error("priorities out of order")
	}
	if Priority(0) != PriorityNormal || Priority(9).String() != "priority(9)" {
		t.Error("zero value or String wrong")
	}
	b, err := json.Marshal(Request{TaskID: "t", Tenant: "a", Units: 1, Priority: PriorityHigh})
	if err != nil || !strings.Contains(string(b), `"priority":"high"`) {
		t.Errorf("marshal: %s %v", b, err)
	}
	var r Request
	if err := json.Unmarshal([]byte(`{"priority":"critical"}`), &r); err != nil || r.Priority != PriorityCritical {
		t.Errorf("unmarshal: %v %v", r.Priority, err)
	}
	if err := json.Unmarshal([]byte(`{"priority":"urgent"}`), &r); err == nil {
		t.Error("unknown name accepted")
	}
	if _, err := json.Marshal(Request{Priority: 9}); err == nil {
		t.Error("out-of-range priority marshalled")
	}
}

func TestConfigValidate(t *testing.T) {
	valid := Config{MaxUnits: 24, MaxQueueDepth: 100, DefaultTimeout: time.Minute}
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		fields []string
	}{
		{"a complete config is valid", func(*Config) {}, nil},
		{"zero units and zero depth are valid", func(c *Config) { c.MaxUnits, c.MaxQueueDepth = 0, 0 }, nil},
		{"negative max_units is named", func(c *Config) { c.MaxUnits = -1 }, []string{"max_units"}},
		{"negative max_queue_depth is named", func(c *Config) { c.MaxQueueDepth = -1 }, []string{"max_queue_depth"}},
		{"an unknown policy is named", func(c *Config) { c.Policy = "lifo" }, []string{"policy"}},
		{"an unknown state is named", func(c *Config) { c.State = "paused" }, []string{"state"}},
		{"a missing default_timeout is named", func(c *Config) { c.DefaultTimeout = 0 }, []string{"default_timeout"}},
		{"a negative lease_grace is named", func(c *Config) { c.LeaseGrace = -time.Second }, []string{"lease_grace"}},
		{"every problem is reported at once", func(c *Config) { c.MaxUnits, c.Policy = -1, "x" }, []string{"max_units", "policy"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := valid
			tc.mutate(&c)
			err := c.Validate()
			var fields []string
			if err != nil {
				for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
					var pe *Error
					if !errors.As(e, &pe) || pe.Reason != ReasonInvalidConfig || pe.Message == "" {
						t.Errorf("not an invalid_config *Error: %v", e)
					}
					fields = append(fields, pe.Field)
				}
				if !errors.Is(err, ErrInvalidConfig) {
					t.Error("errors.Is(err, ErrInvalidConfig) is false")
				}
			}
			if !slices.Equal(fields, tc.fields) {
				t.Errorf("fields %v, want %v (%v)", fields, tc.fields, err)
			}
		})
	}
	if p := New(Config{MaxUnits: 3}); p.Config().Policy != PolicyStrict || p.Config().State != StateActive {
		t.Errorf("defaults not filled: %+v", p.Config())
	}
	if p := New(Config{MaxUnits: 3, State: "paused"}); p.Config().State != StateDisabled {
		t.Errorf("an unknown state must read as disabled: %+v", p.Config())
	}
}
