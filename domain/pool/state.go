package pool

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// stateVersion is bumped whenever the JSON form changes incompatibly, so a workflow carrying
// an old form across continue-as-new fails loudly instead of misreading it.
const stateVersion = 1

type poolState struct {
	Version  int           `json:"version"`
	Config   Config        `json:"config"`
	Seq      uint64        `json:"seq"`
	Holders  []holderState `json:"holders,omitempty"`
	Queue    []entryState  `json:"queue,omitempty"`
	Overdue  []entryState  `json:"overdue,omitempty"`
	Levels   []levelState  `json:"levels,omitempty"`
	Counters Counters      `json:"counters"`
}

type holderState struct {
	TaskID    string        `json:"taskId"`
	Tenant    string        `json:"tenant"`
	Priority  Priority      `json:"priority"`
	Units     int64         `json:"units"`
	Used      int64         `json:"used,omitempty"`
	UsageAt   time.Time     `json:"usageAt,omitzero"`
	GrantedAt time.Time     `json:"grantedAt"`
	Timeout   time.Duration `json:"timeout,omitempty"`
	Lease     time.Time     `json:"lease,omitzero"`
}

type entryState struct {
	TaskID   string        `json:"taskId"`
	Tenant   string        `json:"tenant"`
	Priority Priority      `json:"priority"`
	Units    int64         `json:"units"`
	Deadline time.Time     `json:"deadline,omitzero"`
	Timeout  time.Duration `json:"timeout,omitempty"`
	Seq      uint64        `json:"seq"`
	QueuedAt time.Time     `json:"queuedAt"`
}

// levelState keeps what arrival order alone cannot rebuild: the fair turn order and the
// tenant served last.
type levelState struct {
	Priority   Priority `json:"priority"`
	LastServed string   `json:"lastServed,omitempty"`
	Turns      []string `json:"turns,omitempty"`
}

// MarshalJSON writes the pool's whole state, in a form independent of map order.
func (p *Pool) MarshalJSON() ([]byte, error) {
	s := poolState{Version: stateVersion, Config: p.cfg, Seq: p.seq, Counters: p.counters}
	for _, h := range p.holders {
		s.Holders = append(s.Holders, holderState{TaskID: h.id, Tenant: h.tenant, Priority: h.prio, Units: h.units,
			Used: h.used, UsageAt: h.usageAt, GrantedAt: h.grantedAt, Timeout: h.timeout, Lease: h.lease})
	}
	slices.SortFunc(s.Holders, func(a, b holderState) int { return cmp.Compare(a.TaskID, b.TaskID) })
	for _, e := range p.queuedInSeqOrder() {
		s.Queue = append(s.Queue, e.state())
	}
	for _, e := range p.overdue {
		s.Overdue = append(s.Overdue, e.state())
	}
	for i := numPriorities - 1; i >= 0; i-- {
		lv := &p.levels[i]
		ls := levelState{Priority: PriorityLow + Priority(i), LastServed: lv.lastServed}
		if p.fair {
			for q := lv.turns.head; q != nil; q = q.next {
				ls.Turns = append(ls.Turns, q.tenant)
			}
		}
		if ls.LastServed != "" || len(ls.Turns) > 0 {
			s.Levels = append(s.Levels, ls)
		}
	}
	return json.Marshal(s)
}

func (e *entry) state() entryState {
	return entryState{TaskID: e.id, Tenant: e.tenant, Priority: e.prio, Units: e.units, Deadline: e.deadline,
		Timeout: e.timeout, Seq: e.seq, QueuedAt: e.queuedAt}
}

// UnmarshalJSON replaces the pool with the state MarshalJSON wrote. It checks the state's
// consistency, since a corrupt state would otherwise surface as wrong decisions much later.
func (p *Pool) UnmarshalJSON(data []byte) error {
	var s poolState
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	if s.Version != stateVersion {
		return fmt.Errorf("pool state version %d is not supported; this build reads version %d", s.Version, stateVersion)
	}
	q := New(s.Config)
	q.seq = s.Seq
	q.counters = s.Counters
	seen := make(map[string]bool, len(s.Holders)+len(s.Queue)+len(s.Overdue))
	check := func(id, tenant string, prio Priority, units int64) error {
		switch {
		case id == "" || tenant == "":
			return fmt.Errorf("pool state: task %q has an empty id or tenant", id)
		case seen[id]:
			return fmt.Errorf("pool state: task %q appears twice", id)
		case !prio.valid() || units < 1:
			return fmt.Errorf("pool state: task %q has priority %d and units %d", id, int(prio), units)
		}
		seen[id] = true
		return nil
	}
	for _, hs := range s.Holders {
		if err := check(hs.TaskID, hs.Tenant, hs.Priority, hs.Units); err != nil {
			return err
		}
		h := &holder{id: hs.TaskID, tenant: hs.Tenant, prio: hs.Priority, units: hs.Units, used: hs.Used,
			usageAt: hs.UsageAt.UTC(), grantedAt: hs.GrantedAt.UTC(), timeout: hs.Timeout, slot: -1}
		q.holders[h.id] = h
		q.active += h.accounted()
		if !hs.Lease.IsZero() {
			h.setLease(hs.Lease.UTC())
			q.leases.push(h)
		}
	}
	toEntry := func(es entryState) (*entry, error) {
		if err := check(es.TaskID, es.Tenant, es.Priority, es.Units); err != nil {
			return nil, err
		}
		if es.Seq == 0 || es.Seq > s.Seq {
			return nil, fmt.Errorf("pool state: task %q has sequence %d outside 1..%d", es.TaskID, es.Seq, s.Seq)
		}
		return &entry{id: es.TaskID, tenant: es.Tenant, prio: es.Priority, units: es.Units, deadline: es.Deadline.UTC(),
			timeout: es.Timeout, seq: es.Seq, queuedAt: es.QueuedAt.UTC(), slot: -1}, nil
	}
	for i := range s.Levels {
		ls := &s.Levels[i]
		if !ls.Priority.valid() {
			return fmt.Errorf("pool state: level priority %d is out of range", int(ls.Priority))
		}
		lv := &q.levels[ls.Priority.index()]
		lv.lastServed = ls.LastServed
		if !q.fair {
			continue
		}
		for _, t := range ls.Turns {
			if lv.tenants[t] != nil {
				return fmt.Errorf("pool state: tenant %q has two turns at priority %s", t, ls.Priority)
			}
			tq := &tenantQueue{tenant: t}
			if lv.tenants == nil {
				lv.tenants = make(map[string]*tenantQueue)
			}
			lv.tenants[t] = tq
			lv.turns.pushBack(tq)
		}
	}
	prev := uint64(0)
	for _, es := range s.Queue {
		e, err := toEntry(es)
		if err != nil {
			return err
		}
		if e.seq <= prev {
			return fmt.Errorf("pool state: queue is not in arrival order at task %q", e.id)
		}
		prev = e.seq
		q.link(e)
		q.waiting[e.id] = e
		if !e.deadline.IsZero() {
			q.deadlines.push(e)
		}
	}
	for i := range q.levels {
		for tq := q.levels[i].turns.head; tq != nil; tq = tq.next {
			if tq.entries.n == 0 {
				return fmt.Errorf("pool state: tenant %q has a turn but no queued task", tq.tenant)
			}
		}
	}
	for _, es := range s.Overdue {
		e, err := toEntry(es)
		if err != nil {
			return err
		}
		e.overdue = true
		q.waiting[e.id] = e
		q.overdue = append(q.overdue, e)
	}
	*p = *q
	return nil
}
