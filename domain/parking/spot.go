package parking

import (
	"cmp"
	"slices"
)

// SpotKind is the physical size class of a spot.
type SpotKind string

// Spot kinds, smallest first.
const (
	KindCompact   SpotKind = "compact"
	KindRegular   SpotKind = "regular"
	KindOversized SpotKind = "oversized"
)

// kinds lists the spot kinds smallest first; its order is the order of every
// per-kind output.
var kinds = [...]SpotKind{KindCompact, KindRegular, KindOversized}

const numKinds = len(kinds)

// Valid reports whether k is one of the known kinds.
func (k SpotKind) Valid() bool { return k.rank() >= 0 }

// rank is the kind's place in kinds (smallest first), or -1.
func (k SpotKind) rank() int {
	switch k {
	case KindCompact:
		return 0
	case KindRegular:
		return 1
	case KindOversized:
		return 2
	}
	return -1
}

// Fits reports whether a vehicle of size s fits a single spot of kind k:
// compact takes small vehicles, regular small and medium, oversized all.
// (A large vehicle may also take several contiguous regular spots; that is a
// rule of the lot, see Lot.Park.)
func (k SpotKind) Fits(s Size) bool {
	switch k {
	case KindCompact:
		return s == SizeSmall
	case KindRegular:
		return s == SizeSmall || s == SizeMedium
	case KindOversized:
		return s.Valid()
	}
	return false
}

// SpotState is what a spot is doing now.
type SpotState string

// Spot states. Only Park sets occupied and only Exit clears it; operators set
// the others with Lot.SetSpotState.
const (
	SpotFree         SpotState = "free"
	SpotOccupied     SpotState = "occupied"
	SpotReserved     SpotState = "reserved"
	SpotOutOfService SpotState = "out_of_service"
)

// states lists the spot states in the order of every per-state output.
var states = [...]SpotState{SpotFree, SpotOccupied, SpotReserved, SpotOutOfService}

// Valid reports whether s is one of the known states.
func (s SpotState) Valid() bool { return s.index() >= 0 }

func (s SpotState) index() int {
	switch s {
	case SpotFree:
		return 0
	case SpotOccupied:
		return 1
	case SpotReserved:
		return 2
	case SpotOutOfService:
		return 3
	}
	return -1
}

// Location is where a spot (or the entrance) is: zero-based level, row within
// the level and position within the row.
type Location struct {
	Level    int `json:"level"`
	Row      int `json:"row"`
	Position int `json:"position"`
}

// Distance weights. Walking past one spot costs 1; changing row costs
// RowWeight and changing level (a ramp or a staircase) LevelWeight. The
// weights are deliberately modest, so a spot right by the entrance one level
// up can beat the far end of the entrance level under the nearest strategy.
const (
	LevelWeight = 20
	RowWeight   = 3
)

// Distance is the walking distance between two locations:
// |Δlevel|*LevelWeight + |Δrow|*RowWeight + |Δposition|. Rows are taken as
// parallel aisles that all start at the same end, so positions line up across
// rows and levels.
func (l Location) Distance(to Location) int {
	return abs(l.Level-to.Level)*LevelWeight + abs(l.Row-to.Row)*RowWeight + abs(l.Position-to.Position)
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// Spot is one parking bay. Its ID encodes its location as
// "L<level>-<row name>-<position>", position zero-padded to two digits (more
// in rows longer than 100), e.g. "L0-A-03".
type Spot struct {
	ID         string    `json:"id"`
	Kind       SpotKind  `json:"kind"`
	Accessible bool      `json:"accessible,omitempty"`
	EVCharging bool      `json:"evCharging,omitempty"`
	Location   Location  `json:"location"`
	State      SpotState `json:"state"`
	// TicketID is the ticket of the vehicle on the spot, set while occupied.
	TicketID string `json:"ticketId,omitempty"`
}

// flagMask is the set of special flags of a spot, or the flags a vehicle
// asks for.
type flagMask uint8

const (
	flagAccessible flagMask = 1 << iota
	flagEV
	numMasks = 4
)

func (s *Spot) flags() flagMask {
	var m flagMask
	if s.Accessible {
		m |= flagAccessible
	}
	if s.EVCharging {
		m |= flagEV
	}
	return m
}

// flagOrder gives, for a vehicle's wanted flags, the spot flag sets it may
// take in order of preference: strict are the sets it asked for (all of the
// spot's flags wanted), best match first, accessible weighing more than EV;
// loose are the sets that need overflow, least intrusive first (taking an EV
// bay from drivers who need it costs less than taking an accessible one).
var flagOrder = func() (t [numMasks]struct{ strict, loose []flagMask }) {
	score := func(m flagMask) int { // accessible 2, EV 1
		s := 0
		if m&flagAccessible != 0 {
			s += 2
		}
		if m&flagEV != 0 {
			s++
		}
		return s
	}
	for w := flagMask(0); w < numMasks; w++ {
		var strict, loose []flagMask
		for m := flagMask(0); m < numMasks; m++ {
			if m&^w == 0 {
				strict = append(strict, m)
			} else {
				loose = append(loose, m)
			}
		}
		slices.SortStableFunc(strict, func(a, b flagMask) int { return cmp.Compare(score(b&w), score(a&w)) })
		slices.SortStableFunc(loose, func(a, b flagMask) int {
			if c := cmp.Compare(score(a&^w), score(b&^w)); c != 0 {
				return c
			}
			return cmp.Compare(score(b&w), score(a&w))
		})
		t[w].strict, t[w].loose = strict, loose
	}
	return t
}()
