package pool

import "time"

// The two heaps below order leases and deadlines. They are written out for their element
// types rather than generic, because the lease heap sits on the admission fast path and a
// generic method call through a dictionary cannot be inlined. Keys are cached as integers
// (seconds, nanoseconds) so a comparison does not decode a time.Time. Every comparison breaks
// ties on a unique key (task id, arrival sequence), so the pop order is a total order that
// does not depend on the heap's layout, which differs after a JSON round trip.

type timeKey struct {
	sec  int64
	nsec int32
}

func keyOf(t time.Time) timeKey { return timeKey{t.Unix(), int32(t.Nanosecond())} }

func (a timeKey) before(b timeKey) bool {
	return a.sec < b.sec || (a.sec == b.sec && a.nsec < b.nsec)
}

// leaseHeap holds the holders that have a lease, earliest lease first.
type leaseHeap []*holder

func (h leaseHeap) less(i, j int) bool {
	a, b := h[i], h[j]
	if a.leaseKey != b.leaseKey {
		return a.leaseKey.before(b.leaseKey)
	}
	return a.id < b.id
}

func (h leaseHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].slot = i
	h[j].slot = j
}

func (h *leaseHeap) push(x *holder) {
	x.slot = len(*h)
	*h = append(*h, x)
	h.up(x.slot)
}

func (h *leaseHeap) remove(i int) {
	s := *h
	n := len(s) - 1
	x := s[i]
	if i != n {
		s.swap(i, n)
	}
	s[n] = nil
	s = s[:n]
	*h = s
	if i != n && !s.down(i) {
		s.up(i)
	}
	x.slot = -1
}

func (h leaseHeap) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h leaseHeap) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !h.less(j, i) {
			break
		}
		h.swap(i, j)
		j = i
	}
}

func (h leaseHeap) down(i0 int) bool {
	i, n := i0, len(h)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		j := l
		if r := l + 1; r < n && h.less(r, l) {
			j = r
		}
		if !h.less(j, i) {
			break
		}
		h.swap(i, j)
		i = j
	}
	return i > i0
}

// deadlineHeap holds the queued tasks that have a deadline, earliest first.
type deadlineHeap []*entry

func (h deadlineHeap) less(i, j int) bool {
	a, b := h[i], h[j]
	if a.deadlineKey != b.deadlineKey {
		return a.deadlineKey.before(b.deadlineKey)
	}
	return a.seq < b.seq
}

func (h deadlineHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].slot = i
	h[j].slot = j
}

func (h *deadlineHeap) push(x *entry) {
	x.deadlineKey = keyOf(x.deadline)
	x.slot = len(*h)
	*h = append(*h, x)
	h.up(x.slot)
}

func (h *deadlineHeap) remove(i int) *entry {
	s := *h
	n := len(s) - 1
	x := s[i]
	if i != n {
		s.swap(i, n)
	}
	s[n] = nil
	s = s[:n]
	*h = s
	if i != n && !s.down(i) {
		s.up(i)
	}
	x.slot = -1
	return x
}

func (h deadlineHeap) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !h.less(j, i) {
			break
		}
		h.swap(i, j)
		j = i
	}
}

func (h deadlineHeap) down(i0 int) bool {
	i, n := i0, len(h)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		j := l
		if r := l + 1; r < n && h.less(r, l) {
			j = r
		}
		if !h.less(j, i) {
			break
		}
		h.swap(i, j)
		i = j
	}
	return i > i0
}
