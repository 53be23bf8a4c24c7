package parking

// freeIndex keeps the free spots of a lot in indexed binary min-heaps, one per
// (kind, flag set, level), ordered by a per-strategy key that is unique per
// spot (it ends in the spot's location order). Because keys are unique the
// minimum of a heap does not depend on the order of pushes, so a lot rebuilt
// from JSON chooses exactly as the original. Push, remove and min are
// O(log n), O(log n) and O(1).
type freeIndex struct {
	heaps [][]int32
	pos   []int32 // spot -> index in its heap, -1 when not free
	home  []int32 // spot -> its heap
	key   []int64 // spot -> ordering key
}

func newFreeIndex(numHeaps int, home []int32, key []int64) freeIndex {
	pos := make([]int32, len(home))
	for i := range pos {
		pos[i] = -1
	}
	return freeIndex{heaps: make([][]int32, numHeaps), pos: pos, home: home, key: key}
}

// min returns the free spot with the smallest key in heap h, or -1.
func (f *freeIndex) min(h int) int {
	if len(f.heaps[h]) == 0 {
		return -1
	}
	return int(f.heaps[h][0])
}

func (f *freeIndex) contains(s int) bool { return f.pos[s] >= 0 }

func (f *freeIndex) push(s int) {
	h := f.home[s]
	f.heaps[h] = append(f.heaps[h], int32(s))
	f.pos[s] = int32(len(f.heaps[h]) - 1)
	f.up(h, len(f.heaps[h])-1)
}

func (f *freeIndex) remove(s int) {
	h, i := f.home[s], int(f.pos[s])
	heap := f.heaps[h]
	last := len(heap) - 1
	if i != last {
		f.swap(h, i, last)
	}
	f.heaps[h] = heap[:last]
	f.pos[s] = -1
	if i != last {
		if !f.down(h, i) {
			f.up(h, i)
		}
	}
}

func (f *freeIndex) less(h int32, i, j int) bool {
	return f.key[f.heaps[h][i]] < f.key[f.heaps[h][j]]
}

func (f *freeIndex) swap(h int32, i, j int) {
	heap := f.heaps[h]
	heap[i], heap[j] = heap[j], heap[i]
	f.pos[heap[i]] = int32(i)
	f.pos[heap[j]] = int32(j)
}

func (f *freeIndex) up(h int32, i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !f.less(h, i, parent) {
			return
		}
		f.swap(h, i, parent)
		i = parent
	}
}

// down sifts element i down and reports whether it moved.
func (f *freeIndex) down(h int32, i int) bool {
	start, n := i, len(f.heaps[h])
	for {
		child := 2*i + 1
		if child >= n {
			break
		}
		if r := child + 1; r < n && f.less(h, r, child) {
			child = r
		}
		if !f.less(h, child, i) {
			break
		}
		f.swap(h, i, child)
		i = child
	}
	return i > start
}
