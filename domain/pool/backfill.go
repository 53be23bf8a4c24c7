package pool

import (
	"slices"
	"time"
)

// shadow is when a head needing need units could start if every holder kept its units until
// its lease ends, and the spare units left at that moment once the head took its share. ok is
// false when the head cannot start even after every bounded lease ends (holders without a
// lease never end, as far as the pool can tell).
func (p *Pool) shadow(need int64, now time.Time) (at time.Time, spare int64, ok bool) {
	free := p.cfg.MaxUnits - p.active
	if free >= need {
		return now, free - need, true
	}
	type release struct {
		at    time.Time
		units int64
	}
	ends := make([]release, len(p.leases))
	for i, h := range p.leases {
		ends[i] = release{h.lease, h.accounted()}
	}
	slices.SortFunc(ends, func(a, b release) int { return a.at.Compare(b.at) })
	for i := 0; i < len(ends); {
		t := ends[i].at
		for ; i < len(ends) && ends[i].at.Equal(t); i++ {
			free += ends[i].units
		}
		if free >= need {
			if t.Before(now) {
				// An overdue lease has not been reclaimed yet; the earliest it can free is now.
				t = now
			}
			return t, free - need, true
		}
	}
	return time.Time{}, 0, false
}

// canBackfill is the EASY rule for a task of units and effective timeout arriving behind a
// blocked head: it fits now, and either its lease would end by the head's shadow time or its
// units fit in the spare units at that time.
func (p *Pool) canBackfill(head *entry, units int64, timeout time.Duration, now time.Time) bool {
	if !p.fits(units) {
		return false
	}
	at, spare, ok := p.shadow(head.units, now)
	if !ok {
		return false
	}
	if end, bounded := p.leaseEnd(timeout, now); bounded && !end.After(at) {
		return true
	}
	return units <= spare
}

// backfill starts tasks behind the blocked head, in scheduling order, by the EASY rule. The
// shadow time is computed once: a task started because it ends by then leaves it unchanged,
// and one started into spare units only lowers the spare.
func (p *Pool) backfill(head *entry, now time.Time, grants []Grant) []Grant {
	free := p.cfg.MaxUnits - p.active
	if free <= 0 {
		return grants
	}
	at, spare, ok := p.shadow(head.units, now)
	if !ok {
		return grants
	}
	var picks []*entry
	p.walk(func(e *entry) bool {
		if e == head || e.units > free {
			return true
		}
		if end, bounded := p.leaseEnd(p.effectiveTimeout(e.timeout), now); bounded && !end.After(at) {
			picks = append(picks, e)
			free -= e.units
		} else if e.units <= spare {
			picks = append(picks, e)
			free -= e.units
			spare -= e.units
		}
		return free > 0
	})
	for _, e := range picks {
		grants = append(grants, p.grant(e, now, true))
	}
	return grants
}
