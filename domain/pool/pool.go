package pool

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"time"
)

// Pool is the state of one resource pool. It is not safe for concurrent use: a workflow is
// single-threaded, and locking would only cost the hot path. Hold it by pointer.
type Pool struct {
	cfg  Config
	fair bool
	seq  uint64 // arrival order of queued tasks

	active  int64 // sum over holders of max(declared, used)
	holders map[string]*holder
	leases  leaseHeap
	spare   []*holder // released holders kept for reuse, sparing the GC on the fast path

	waiting   map[string]*entry // queued and overdue tasks
	levels    [numPriorities]level
	qlen      int // queued tasks, overdue ones excluded
	oversize  int // queued tasks larger than max_units
	deadlines deadlineHeap
	overdue   []*entry // deadline passed, not yet reported by Expire

	counters Counters
}

type holder struct {
	id        string
	tenant    string
	prio      Priority
	units     int64
	used      int64
	usageAt   time.Time
	grantedAt time.Time
	timeout   time.Duration // effective
	lease     time.Time     // zero: no lease
	leaseKey  timeKey       // lease, cached for the heap
	slot      int           // index in the lease heap, -1 when absent
}

func (h *holder) accounted() int64 { return max(h.units, h.used) }

// maxSpareHolders bounds the reuse list so a burst does not pin memory afterwards.
const maxSpareHolders = 1024

// New returns an empty pool. cfg should have passed Validate; New reads invalid values
// conservatively (see Config) because it cannot fail.
func New(cfg Config) *Pool {
	cfg = cfg.normalized()
	return &Pool{
		cfg:     cfg,
		fair:    cfg.Policy == PolicyFair,
		holders: make(map[string]*holder),
		waiting: make(map[string]*entry),
	}
}

// Acquire decides a request: running at once, queued with its position, rejected with a
// reason, or expired when its deadline is not after now. See the package doc for the order of
// checks. Acquire returns no grants, so it never starts a queued task, and it does not set
// overdue tasks aside either (it could not report them): until the expiry timer fires, an
// overdue head still counts as waiting ahead of a new task.
func (p *Pool) Acquire(req Request, now time.Time) Decision {
	now = now.UTC()
	if err := req.Validate(); err != nil {
		return p.reject(req.TaskID, err.Reason, err.Field, err.Message)
	}
	if d, known := p.known(req.TaskID); known {
		return d
	}
	switch p.cfg.State {
	case StateDisabled:
		return p.reject(req.TaskID, ReasonPoolDisabled, "",
			"the pool is disabled and accepts no tasks; retry once an operator sets it active, or use another pool")
	case StateDraining:
		return p.reject(req.TaskID, ReasonPoolDraining, "",
			"the pool is draining and accepts no new tasks; retry once it is active again, or use another pool")
	}
	if p.cfg.MaxUnits == 0 {
		return p.reject(req.TaskID, ReasonCapacityZero, "units",
			"the pool's max_units is 0, so it can run nothing; raise max_units or use another pool")
	}
	if req.Units > p.cfg.MaxUnits {
		return p.reject(req.TaskID, ReasonExceedsCapacity, "units", fmt.Sprintf(
			"units %d exceed the pool's max_units %d; ask for at most %d units or raise max_units",
			req.Units, p.cfg.MaxUnits, p.cfg.MaxUnits))
	}
	deadline := req.Deadline
	if !deadline.IsZero() {
		deadline = deadline.UTC()
		if !deadline.After(now) {
			p.counters.Expired++
			return Decision{TaskID: req.TaskID, Status: StatusExpired, Reason: ReasonDeadlinePassed, Field: "deadline",
				Message: fmt.Sprintf("deadline %s is not after now (%s); set a later deadline or none",
					deadline.Format(time.RFC3339Nano), now.Format(time.RFC3339Nano))}
		}
	}
	timeout := p.effectiveTimeout(req.Timeout)

	if p.qlen == 0 {
		// Fast path: nothing waits, so the task starts if it fits.
		if p.fits(req.Units) {
			p.levels[req.Priority.index()].lastServed = req.Tenant
			h := p.hold(req.TaskID, req.Tenant, req.Priority, req.Units, timeout, now)
			p.counters.Admitted++
			return Decision{TaskID: req.TaskID, Status: StatusRunning, Timeout: timeout, GrantedAt: now, LeaseUntil: h.lease}
		}
		if p.cfg.MaxQueueDepth <= 0 {
			return p.queueFull(req.TaskID)
		}
	}

	// Link the task where it belongs, then look at the order with it in place: that answers
	// "does any queued task come before it" for both policies, and is undone if it must leave.
	p.seq++
	e := &entry{
		id: req.TaskID, tenant: req.Tenant, prio: req.Priority, units: req.Units,
		deadline: deadline, timeout: req.Timeout, seq: p.seq, queuedAt: now, slot: -1,
	}
	p.link(e)
	head := p.head()
	if head == e {
		if p.fits(e.units) {
			p.take(e, true)
			p.seq--
			h := p.hold(req.TaskID, req.Tenant, req.Priority, req.Units, timeout, now)
			p.counters.Admitted++
			return Decision{TaskID: req.TaskID, Status: StatusRunning, Timeout: timeout, GrantedAt: now, LeaseUntil: h.lease}
		}
	} else if p.cfg.Backfill && p.canBackfill(head, e.units, timeout, now) {
		p.take(e, false)
		p.seq--
		h := p.hold(req.TaskID, req.Tenant, req.Priority, req.Units, timeout, now)
		p.counters.Admitted++
		p.counters.Backfilled++
		return Decision{TaskID: req.TaskID, Status: StatusRunning, Timeout: timeout, GrantedAt: now, LeaseUntil: h.lease, Backfill: true}
	}
	if p.qlen-1 >= p.cfg.MaxQueueDepth {
		p.take(e, false)
		p.seq--
		return p.queueFull(req.TaskID)
	}
	p.waiting[e.id] = e
	if !deadline.IsZero() {
		p.deadlines.push(e)
	}
	p.counters.Queued++
	return Decision{TaskID: req.TaskID, Status: StatusQueued, Position: p.positionOf(e)}
}

// known answers a repeated Acquire with the task's current status.
func (p *Pool) known(id string) (Decision, bool) {
	if h := p.holders[id]; h != nil {
		p.counters.Duplicates++
		return Decision{TaskID: id, Status: StatusRunning, Reason: ReasonDuplicate, Timeout: h.timeout,
			GrantedAt: h.grantedAt, LeaseUntil: h.lease, Message: "the task already holds its units"}, true
	}
	e := p.waiting[id]
	if e == nil {
		return Decision{}, false
	}
	p.counters.Duplicates++
	if e.overdue {
		return Decision{TaskID: id, Status: StatusExpired, Reason: ReasonDuplicate,
			Message: "the task's deadline passed while it was queued"}, true
	}
	return Decision{TaskID: id, Status: StatusQueued, Reason: ReasonDuplicate, Position: p.positionOf(e),
		Message: "the task is already queued"}, true
}

func (p *Pool) reject(id string, reason Reason, field, msg string) Decision {
	if p.counters.Rejected == nil {
		p.counters.Rejected = make(map[Reason]int64)
	}
	p.counters.Rejected[reason]++
	return Decision{TaskID: id, Status: StatusRejected, Reason: reason, Field: field, Message: msg}
}

func (p *Pool) queueFull(id string) Decision {
	return p.reject(id, ReasonQueueFull, "", fmt.Sprintf(
		"the queue holds %d tasks and max_queue_depth is %d; retry later, or raise max_queue_depth or max_units",
		p.qlen, p.cfg.MaxQueueDepth))
}

func (p *Pool) fits(units int64) bool { return p.active+units <= p.cfg.MaxUnits }

func (p *Pool) effectiveTimeout(requested time.Duration) time.Duration {
	if requested > 0 {
		return requested
	}
	return p.cfg.DefaultTimeout
}

// leaseEnd is when a task granted now with this effective timeout would lose its lease.
func (p *Pool) leaseEnd(timeout time.Duration, now time.Time) (time.Time, bool) {
	if timeout <= 0 {
		return time.Time{}, false
	}
	return now.Add(timeout + p.cfg.LeaseGrace), true
}

func (p *Pool) hold(id, tenant string, prio Priority, units int64, timeout time.Duration, now time.Time) *holder {
	var h *holder
	if n := len(p.spare); n > 0 {
		h = p.spare[n-1]
		p.spare = p.spare[:n-1]
	} else {
		h = new(holder)
	}
	*h = holder{id: id, tenant: tenant, prio: prio, units: units, grantedAt: now, timeout: timeout, slot: -1}
	if end, ok := p.leaseEnd(timeout, now); ok {
		h.setLease(end)
		p.leases.push(h)
	}
	p.holders[id] = h
	p.active += units
	return h
}

func (h *holder) setLease(t time.Time) {
	h.lease = t
	h.leaseKey = keyOf(t)
}

func (p *Pool) unhold(h *holder) {
	if h.slot >= 0 {
		p.leases.remove(h.slot)
	}
	delete(p.holders, h.id)
	p.active -= h.accounted()
	if len(p.spare) < maxSpareHolders {
		*h = holder{}
		p.spare = append(p.spare, h)
	}
}

// grant starts queued task e.
func (p *Pool) grant(e *entry, now time.Time, backfill bool) Grant {
	p.take(e, !backfill)
	p.forget(e)
	timeout := p.effectiveTimeout(e.timeout)
	h := p.hold(e.id, e.tenant, e.prio, e.units, timeout, now)
	p.counters.Granted++
	if backfill {
		p.counters.Backfilled++
	}
	return Grant{TaskID: e.id, Tenant: e.tenant, Priority: e.prio, Units: e.units, GrantedAt: now,
		Timeout: timeout, LeaseUntil: h.lease, Wait: now.Sub(e.queuedAt), Backfill: backfill}
}

// forget drops an unlinked entry from the index and the deadline heap.
func (p *Pool) forget(e *entry) {
	if e.slot >= 0 {
		p.deadlines.remove(e.slot)
	}
	delete(p.waiting, e.id)
}

// admit starts queued tasks in order while the head fits, then backfills if enabled. Every
// operation that frees units or removes queued tasks ends here.
func (p *Pool) admit(now time.Time) []Grant {
	if p.qlen == 0 || p.cfg.State == StateDisabled {
		return nil
	}
	var grants []Grant
	for {
		h := p.head()
		if h == nil {
			return grants
		}
		if !p.fits(h.units) {
			if p.cfg.Backfill {
				grants = p.backfill(h, now, grants)
			}
			return grants
		}
		grants = append(grants, p.grant(h, now, false))
	}
}

// expireDue sets aside queued tasks whose deadline is at or before now, so they can never
// start or block; Expire reports them.
func (p *Pool) expireDue(now time.Time) {
	for len(p.deadlines) > 0 && !p.deadlines[0].deadline.After(now) {
		e := p.deadlines.remove(0)
		p.take(e, false)
		e.overdue = true
		p.overdue = append(p.overdue, e)
	}
}

// Admit starts whatever queued tasks can start now. Operations that free units call it
// themselves; call it after a ReportUsage that lowered a holder's usage, which Admit alone
// turns into starts.
func (p *Pool) Admit(now time.Time) []Grant {
	now = now.UTC()
	p.expireDue(now)
	return p.admit(now)
}

// Release frees a holder's units and starts what can start. It is idempotent: an id that
// holds nothing returns false and no grants. A queued task is not released (it holds nothing);
// Cancel it instead.
func (p *Pool) Release(taskID string, now time.Time) (released bool, grants []Grant) {
	return p.release(taskID, now, &p.counters.Released)
}

// Reclaim is Release for a holder whose run is known to be dead (its lease passed and its
// workflow is closed); it is counted as reclaimed rather than released.
func (p *Pool) Reclaim(taskID string, now time.Time) (reclaimed bool, grants []Grant) {
	return p.release(taskID, now, &p.counters.Reclaimed)
}

func (p *Pool) release(id string, now time.Time, counter *int64) (bool, []Grant) {
	h := p.holders[id]
	if h == nil {
		return false, nil
	}
	now = now.UTC()
	p.unhold(h)
	*counter++
	p.expireDue(now)
	return true, p.admit(now)
}

// Cancel removes a queued task (status dropped, reason cancelled) and starts what that made
// possible, such as smaller tasks it was blocking. A holder is reported as running: the caller
// cancels its run and calls Release when it ends. Cancel is idempotent.
func (p *Pool) Cancel(taskID string, now time.Time) CancelResult {
	res := CancelResult{TaskID: taskID}
	if p.holders[taskID] != nil {
		res.Status = StatusRunning
		res.Message = "the task is running; cancel its run, then Release its units"
		return res
	}
	now = now.UTC()
	p.expireDue(now)
	switch e := p.waiting[taskID]; {
	case e == nil:
		res.Status = StatusUnknown
		res.Message = "the task is neither queued nor running here; nothing to cancel"
	case e.overdue:
		res.Status = StatusExpired
		res.Reason = ReasonDeadlinePassed
		res.Message = "the task's deadline passed before it could start; Expire reports it"
	default:
		p.take(e, false)
		p.forget(e)
		p.counters.Dropped++
		res.Status = StatusDropped
		res.Reason = ReasonCancelled
		res.Message = "the task was cancelled while queued and never held units"
	}
	res.Grants = p.admit(now)
	return res
}

// ReportUsage records what a holder actually uses. Accounting counts max(declared, used), so
// a holder over its declaration keeps other tasks from starting until the pool is back at or
// under capacity; it is never preempted. exceeded reports usage above the declaration, for the
// caller to audit as usage_exceeded. A report below an earlier excess frees units: call Admit
// to start queued tasks into them. Unknown ids are ignored.
func (p *Pool) ReportUsage(taskID string, used int64, now time.Time) (exceeded bool) {
	h := p.holders[taskID]
	if h == nil {
		return false
	}
	before := h.accounted()
	h.used = max(used, 0)
	h.usageAt = now.UTC()
	p.active += h.accounted() - before
	if h.used > h.units {
		p.counters.UsageExceeded++
		return true
	}
	return false
}

// Reconfigure applies new settings and returns the grants they made possible. Nothing is
// preempted or lost: shrinking max_units below the active units makes admissions wait;
// a smaller max_queue_depth keeps every queued task but rejects new ones until the queue is
// under it; draining rejects new tasks but keeps serving the queue; disabling parks the queue
// until the pool is enabled again (tasks can still expire); a policy change re-orders the
// queue. Holders keep the timeout and lease they were granted with; queued tasks without a
// timeout of their own get the default_timeout in force when they start.
func (p *Pool) Reconfigure(cfg Config, now time.Time) []Grant {
	now = now.UTC()
	cfg = cfg.normalized()
	old := p.cfg
	if old.Policy != cfg.Policy {
		all := p.queuedInSeqOrder()
		p.cfg = cfg
		p.fair = cfg.Policy == PolicyFair
		p.relinkAll(all)
	} else {
		p.cfg = cfg
		if old.MaxUnits != cfg.MaxUnits {
			p.recountOversize()
		}
	}
	p.expireDue(now)
	return p.admit(now)
}

// Expire removes queued tasks whose deadline is at or before now, including any set aside
// earlier, and returns them (by deadline, then arrival) with what could start once they left.
func (p *Pool) Expire(now time.Time) ExpireResult {
	now = now.UTC()
	p.expireDue(now)
	var res ExpireResult
	if len(p.overdue) > 0 {
		sortEntriesByDeadline(p.overdue)
		res.Expired = make([]Expired, len(p.overdue))
		for i, e := range p.overdue {
			delete(p.waiting, e.id)
			res.Expired[i] = Expired{TaskID: e.id, Tenant: e.tenant, Priority: e.prio, Units: e.units,
				QueuedAt: e.queuedAt, Deadline: e.deadline, Wait: e.deadline.Sub(e.queuedAt),
				Reason: ReasonDeadlinePassed,
				Message: fmt.Sprintf("the deadline %s passed before %d units were free; set a later deadline, or ask for fewer units",
					e.deadline.Format(time.RFC3339Nano), e.units)}
		}
		p.counters.Expired += int64(len(p.overdue))
		p.overdue = nil
	}
	res.Grants = p.admit(now)
	return res
}

// NextDeadline is the earliest deadline among queued tasks, for the workflow's expiry timer.
// It can be in the past when tasks were set aside and not yet reported: fire at once.
func (p *Pool) NextDeadline() (time.Time, bool) {
	var next time.Time
	found := false
	for _, e := range p.overdue {
		if !found || e.deadline.Before(next) {
			next, found = e.deadline, true
		}
	}
	if len(p.deadlines) > 0 && (!found || p.deadlines[0].deadline.Before(next)) {
		next, found = p.deadlines[0].deadline, true
	}
	return next, found
}

// DueLeases lists, sorted, the holders whose lease is at or before now.
func (p *Pool) DueLeases(now time.Time) []string {
	var ids []string
	stack := []int{0}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if i >= len(p.leases) || p.leases[i].lease.After(now) {
			continue
		}
		ids = append(ids, p.leases[i].id)
		stack = append(stack, 2*i+1, 2*i+2)
	}
	sort.Strings(ids)
	return ids
}

// RenewLease moves a holder's lease to until, typically after the workflow found its run
// alive. A zero until is ignored. It reports whether the task holds units.
func (p *Pool) RenewLease(taskID string, until time.Time) bool {
	h := p.holders[taskID]
	if h == nil || until.IsZero() {
		return false
	}
	h.setLease(until.UTC())
	if h.slot >= 0 {
		p.leases.fix(h.slot)
	} else {
		p.leases.push(h)
	}
	return true
}

// NextLease is the earliest holder lease, for the workflow's lease timer.
func (p *Pool) NextLease() (time.Time, bool) {
	if len(p.leases) == 0 {
		return time.Time{}, false
	}
	return p.leases[0].lease, true
}

// Position is a queued task's 1-based place in scheduling order, 0 when it is not queued.
func (p *Pool) Position(taskID string) int {
	e := p.waiting[taskID]
	if e == nil || e.overdue {
		return 0
	}
	return p.positionOf(e)
}

// Status is where the task stands: running, queued, expired (deadline passed, not yet
// reported by Expire) or unknown.
func (p *Pool) Status(taskID string) Status {
	if p.holders[taskID] != nil {
		return StatusRunning
	}
	if e := p.waiting[taskID]; e != nil {
		if e.overdue {
			return StatusExpired
		}
		return StatusQueued
	}
	return StatusUnknown
}

// Holder describes a task holding units.
func (p *Pool) Holder(taskID string) (HolderView, bool) {
	h := p.holders[taskID]
	if h == nil {
		return HolderView{}, false
	}
	return h.view(), true
}

// ActiveUnits is the sum over holders of max(declared, used).
func (p *Pool) ActiveUnits() int64 { return p.active }

// QueueLen is the number of queued tasks that can still start.
func (p *Pool) QueueLen() int { return p.qlen }

// Config returns the settings in force, defaults filled in.
func (p *Pool) Config() Config { return p.cfg }

// Counters returns a copy of the outcome counters.
func (p *Pool) Counters() Counters { return p.counters.clone() }

// Snapshot returns the whole pool as a value.
func (p *Pool) Snapshot() Snapshot {
	s := Snapshot{
		Config:      p.cfg,
		State:       p.cfg.State,
		ActiveUnits: p.active,
		FreeUnits:   p.cfg.MaxUnits - p.active,
		Holders:     make([]HolderView, 0, len(p.holders)),
		Queue:       make([]QueuedView, 0, p.qlen),
		Counters:    p.counters.clone(),
	}
	for _, h := range p.holders {
		s.Holders = append(s.Holders, h.view())
	}
	slices.SortFunc(s.Holders, func(a, b HolderView) int {
		if c := a.GrantedAt.Compare(b.GrantedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.TaskID, b.TaskID)
	})
	p.walk(func(e *entry) bool {
		s.Queue = append(s.Queue, e.view(len(s.Queue)+1))
		return true
	})
	if len(p.overdue) > 0 {
		overdue := slices.Clone(p.overdue)
		sortEntriesByDeadline(overdue)
		for _, e := range overdue {
			s.Overdue = append(s.Overdue, e.view(0))
		}
	}
	return s
}

func (h *holder) view() HolderView {
	return HolderView{TaskID: h.id, Tenant: h.tenant, Priority: h.prio, Units: h.units, UsedUnits: h.used,
		UsageAt: h.usageAt, GrantedAt: h.grantedAt, Timeout: h.timeout, LeaseUntil: h.lease}
}

func (e *entry) view(position int) QueuedView {
	return QueuedView{TaskID: e.id, Tenant: e.tenant, Priority: e.prio, Units: e.units, Position: position,
		QueuedAt: e.queuedAt, Deadline: e.deadline, Timeout: e.timeout}
}

func sortEntriesBySeq(es []*entry) {
	slices.SortFunc(es, func(a, b *entry) int { return cmp.Compare(a.seq, b.seq) })
}

func sortEntriesByDeadline(es []*entry) {
	slices.SortFunc(es, func(a, b *entry) int {
		if c := a.deadline.Compare(b.deadline); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
}
