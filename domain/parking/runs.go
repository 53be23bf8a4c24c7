package parking

// runTree is a segment tree over the positions of one row. For every flag
// mask m it knows the longest run of consecutive positions usable under m
// (free regular spots whose flags all lie in m), so a large vehicle's search
// skips rows that cannot fit it, and a spot changing state costs
// O(log row length).
type runTree struct {
	size  int // leaves, a power of two; leaves past the row are never usable
	nodes []runNode
}

// runNode summarises the positions under it, per flag mask: the usable run
// at its left end (pre), at its right end (suf) and anywhere (best).
type runNode struct {
	pre, suf, best [numMasks]int16
	length         int16
}

func newRunTree(n int) *runTree {
	size := 1
	for size < n {
		size <<= 1
	}
	t := &runTree{size: size, nodes: make([]runNode, 2*size)}
	for i := size; i < 2*size; i++ {
		t.nodes[i].length = 1
	}
	for i := size - 1; i >= 1; i-- {
		t.pull(i)
	}
	return t
}

// set records for which masks position p is usable (bit m set: usable
// under mask m).
func (t *runTree) set(p int, usable uint8) {
	i := t.size + p
	leaf := &t.nodes[i]
	for m := range numMasks {
		v := int16(usable >> m & 1)
		leaf.pre[m], leaf.suf[m], leaf.best[m] = v, v, v
	}
	for i >>= 1; i >= 1; i >>= 1 {
		t.pull(i)
	}
}

func (t *runTree) pull(i int) {
	l, r, n := &t.nodes[2*i], &t.nodes[2*i+1], &t.nodes[i]
	n.length = l.length + r.length
	for m := range numMasks {
		n.pre[m] = l.pre[m]
		if l.pre[m] == l.length {
			n.pre[m] += r.pre[m]
		}
		n.suf[m] = r.suf[m]
		if r.suf[m] == r.length {
			n.suf[m] += l.suf[m]
		}
		n.best[m] = max(l.best[m], r.best[m], l.suf[m]+r.pre[m])
	}
}

// longest is the longest usable run under mask m.
func (t *runTree) longest(m flagMask) int { return int(t.nodes[1].best[m]) }

// supersets[f] has bit m set for every mask m that contains all of f: the
// masks under which a spot with flags f is usable.
var supersets = func() (s [numMasks]uint8) {
	for f := range flagMask(numMasks) {
		for m := range flagMask(numMasks) {
			if f&^m == 0 {
				s[f] |= 1 << m
			}
		}
	}
	return s
}()
