package pool

import "time"

// entry is one queued task. It is linked into exactly one FIFO: its level's under the strict
// policy, its tenant's under the fair policy, so removal from the middle is O(1).
type entry struct {
	id       string
	tenant   string
	prio     Priority
	units    int64
	deadline time.Time
	timeout  time.Duration // as requested; the pool default applies at grant time
	seq      uint64
	queuedAt time.Time

	prev, next  *entry
	tq          *tenantQueue // fair policy only
	slot        int          // index in the deadline heap, -1 when absent
	deadlineKey timeKey      // deadline, cached for the heap
	overdue     bool         // deadline passed; set aside for Expire to report
}

type entryList struct {
	head, tail *entry
	n          int
}

func (l *entryList) pushBack(e *entry) {
	e.prev, e.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = e
	} else {
		l.head = e
	}
	l.tail = e
	l.n++
}

func (l *entryList) remove(e *entry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		l.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		l.tail = e.prev
	}
	e.prev, e.next = nil, nil
	l.n--
}

// rank is e's 1-based place in l. Appends are the common case, so the tail is O(1).
func (l *entryList) rank(e *entry) int {
	if e == l.tail {
		return l.n
	}
	n := 1
	for x := l.head; x != e; x = x.next {
		n++
	}
	return n
}

// tenantQueue is one tenant's FIFO at one priority level, and its place in the turn order.
type tenantQueue struct {
	tenant     string
	entries    entryList
	prev, next *tenantQueue
}

// turnList is the fair policy's turn order: the front tenant goes next.
type turnList struct {
	head, tail *tenantQueue
	n          int
}

func (l *turnList) pushBack(q *tenantQueue) {
	q.prev, q.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = q
	} else {
		l.head = q
	}
	l.tail = q
	l.n++
}

func (l *turnList) insertBefore(at, q *tenantQueue) {
	q.prev, q.next = at.prev, at
	if at.prev != nil {
		at.prev.next = q
	} else {
		l.head = q
	}
	at.prev = q
	l.n++
}

func (l *turnList) remove(q *tenantQueue) {
	if q.prev != nil {
		q.prev.next = q.next
	} else {
		l.head = q.next
	}
	if q.next != nil {
		q.next.prev = q.prev
	} else {
		l.tail = q.prev
	}
	q.prev, q.next = nil, nil
	l.n--
}

func (l *turnList) moveToBack(q *tenantQueue) {
	if l.tail == q {
		return
	}
	l.remove(q)
	l.pushBack(q)
}

// level holds one priority's queued tasks.
type level struct {
	n       int
	fifo    entryList               // strict policy
	tenants map[string]*tenantQueue // fair policy
	turns   turnList                // fair policy
	// lastServed is the tenant of the last grant in order (not backfill) at this level. It is
	// kept under both policies so that switching to fair stays fair.
	lastServed string
}

// link puts e at the end of its place in scheduling order. Under the fair policy a tenant that
// starts waiting is placed just before the tenant served last (kept at the back), so that
// tenant cannot be served twice in a row while the newcomer waits.
func (p *Pool) link(e *entry) {
	lv := &p.levels[e.prio.index()]
	lv.n++
	p.qlen++
	if e.units > p.cfg.MaxUnits {
		p.oversize++
	}
	if !p.fair {
		lv.fifo.pushBack(e)
		return
	}
	q := lv.tenants[e.tenant]
	if q == nil {
		q = &tenantQueue{tenant: e.tenant}
		if last := lv.tenants[lv.lastServed]; last != nil {
			lv.turns.insertBefore(last, q)
		} else {
			lv.turns.pushBack(q)
		}
		if lv.tenants == nil {
			lv.tenants = make(map[string]*tenantQueue)
		}
		lv.tenants[e.tenant] = q
	}
	q.entries.pushBack(e)
	e.tq = q
}

// take unlinks e from scheduling order. served marks a grant in order, which moves the
// tenant's turn to the back; backfills, cancels and expiries leave the turn order alone.
func (p *Pool) take(e *entry, served bool) {
	lv := &p.levels[e.prio.index()]
	lv.n--
	p.qlen--
	if e.units > p.cfg.MaxUnits {
		p.oversize--
	}
	if served {
		lv.lastServed = e.tenant
	}
	if !p.fair {
		lv.fifo.remove(e)
		return
	}
	q := e.tq
	e.tq = nil
	q.entries.remove(e)
	switch {
	case q.entries.n == 0:
		lv.turns.remove(q)
		delete(lv.tenants, q.tenant)
	case served:
		lv.turns.moveToBack(q)
	}
}

// head is the first task in scheduling order that fits in max_units. Tasks larger than
// max_units exist only after a shrink; skipping them keeps them from blocking forever.
func (p *Pool) head() *entry {
	for i := numPriorities - 1; i >= 0; i-- {
		lv := &p.levels[i]
		if lv.n == 0 {
			continue
		}
		if p.fair {
			for q := lv.turns.head; q != nil; q = q.next {
				for e := q.entries.head; e != nil; e = e.next {
					if e.units <= p.cfg.MaxUnits {
						return e
					}
				}
			}
			continue
		}
		for e := lv.fifo.head; e != nil; e = e.next {
			if e.units <= p.cfg.MaxUnits {
				return e
			}
		}
	}
	return nil
}

// walk visits queued tasks in scheduling order until visit returns false.
func (p *Pool) walk(visit func(*entry) bool) {
	for i := numPriorities - 1; i >= 0; i-- {
		if !p.walkLevel(&p.levels[i], visit) {
			return
		}
	}
}

func (p *Pool) walkLevel(lv *level, visit func(*entry) bool) bool {
	if lv.n == 0 {
		return true
	}
	if !p.fair {
		for e := lv.fifo.head; e != nil; e = e.next {
			if !visit(e) {
				return false
			}
		}
		return true
	}
	// Round r visits the r-th task of every tenant that has one, in turn order.
	cursors := make([]*entry, 0, lv.turns.n)
	for q := lv.turns.head; q != nil; q = q.next {
		cursors = append(cursors, q.entries.head)
	}
	for len(cursors) > 0 {
		live := cursors[:0]
		for _, e := range cursors {
			if !visit(e) {
				return false
			}
			if e.next != nil {
				live = append(live, e.next)
			}
		}
		cursors = live
	}
	return true
}

// positionOf is e's 1-based place in scheduling order, in O(priorities + tenants) plus e's
// rank in its own FIFO (O(1) for the task just queued).
func (p *Pool) positionOf(e *entry) int {
	pos := 0
	for i := numPriorities - 1; i > e.prio.index(); i-- {
		pos += p.levels[i].n
	}
	lv := &p.levels[e.prio.index()]
	if !p.fair {
		return pos + lv.fifo.rank(e)
	}
	// e is its tenant's k-th task, so it comes in round k: every tenant ahead in turn order
	// contributes up to k tasks before it, every tenant behind up to k-1.
	k := e.tq.entries.rank(e)
	pos += k
	limit := k
	for q := lv.turns.head; q != nil; q = q.next {
		if q == e.tq {
			limit = k - 1
			continue
		}
		pos += min(q.entries.n, limit)
	}
	return pos
}

// queuedInSeqOrder lists every queued task (overdue ones excluded) by arrival.
func (p *Pool) queuedInSeqOrder() []*entry {
	all := make([]*entry, 0, p.qlen)
	p.walk(func(e *entry) bool {
		all = append(all, e)
		return true
	})
	sortEntriesBySeq(all)
	return all
}

// relinkAll rebuilds scheduling order after a policy change, by arrival, keeping each level's
// last-served tenant at the back.
func (p *Pool) relinkAll(all []*entry) {
	for i := range p.levels {
		p.levels[i] = level{lastServed: p.levels[i].lastServed}
	}
	p.qlen, p.oversize = 0, 0
	for _, e := range all {
		e.prev, e.next, e.tq = nil, nil, nil
		p.link(e)
	}
}

func (p *Pool) recountOversize() {
	p.oversize = 0
	for _, e := range p.waiting {
		if !e.overdue && e.units > p.cfg.MaxUnits {
			p.oversize++
		}
	}
}
