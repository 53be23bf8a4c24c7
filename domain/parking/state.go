package parking

import (
	"encoding/json"
	"slices"
)

// stateVersion is the version of the lot's JSON state; bump it (and keep
// decoding the old one) when the format changes.
const stateVersion = 1

// lotState is the JSON form of a lot: the specification it was built from
// and the dynamic state on top. Indexes are not stored; they are rebuilt
// from spot states, and since every choice depends only on spot states the
// decoded lot allocates exactly as the original would have.
type lotState struct {
	Version int     `json:"version"`
	Spec    LotSpec `json:"spec"`
	// Spots lists the reserved and out-of-service spots in location order;
	// occupied spots are known from the assignments.
	Spots []spotRef `json:"spots,omitempty"`
	// Assignments are ordered by ticket id.
	Assignments []Assignment `json:"assignments,omitempty"`
}

type spotRef struct {
	ID    string    `json:"id"`
	State SpotState `json:"state"`
}

// MarshalJSON encodes the whole lot (specification, spot states, parked
// vehicles) deterministically: equal lots give equal bytes.
func (l *Lot) MarshalJSON() ([]byte, error) {
	s := lotState{Version: stateVersion, Spec: l.spec, Assignments: l.Assignments()}
	for _, sp := range l.spots {
		if sp.State == SpotReserved || sp.State == SpotOutOfService {
			s.Spots = append(s.Spots, spotRef{ID: sp.ID, State: sp.State})
		}
	}
	return json.Marshal(s)
}

// UnmarshalJSON restores a lot written by MarshalJSON. It checks that the
// state is consistent (no spot is taken twice, ticket ids and plates are
// unique, vehicles are in normal form, placements obey the compatibility
// rules) and fails with invalid_state otherwise.
func (l *Lot) UnmarshalJSON(b []byte) error {
	var s lotState
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if s.Version != stateVersion {
		return newError(CodeInvalidState, "lot state version %d, this build reads version %d", s.Version, stateVersion)
	}
	n, err := NewLot(s.Spec)
	if err != nil {
		return err
	}
	for _, ref := range s.Spots {
		i, ok := n.byID[ref.ID]
		switch {
		case !ok:
			return newError(CodeInvalidState, "unknown spot %q", ref.ID)
		case ref.State != SpotReserved && ref.State != SpotOutOfService:
			return newError(CodeInvalidState, "spot %q: state %q cannot be listed, only reserved or out_of_service", ref.ID, ref.State)
		case n.spots[i].State != SpotFree:
			return newError(CodeInvalidState, "spot %q is listed twice", ref.ID)
		}
		n.setState(i, ref.State, "")
	}
	for _, a := range s.Assignments {
		if err := n.restore(a); err != nil {
			return err
		}
	}
	*l = *n
	return nil
}

// restore records a decoded assignment after checking it against the spots.
func (l *Lot) restore(a Assignment) error {
	v, err := a.Vehicle.Normalize()
	switch {
	case a.TicketID == "":
		return newError(CodeInvalidState, "a parked vehicle has no ticket id")
	case l.tickets[a.TicketID] != nil:
		return newError(CodeInvalidState, "ticket %q is listed twice", a.TicketID)
	case err != nil || v != a.Vehicle:
		return newError(CodeInvalidState, "ticket %q: vehicle %+v is not in normal form", a.TicketID, a.Vehicle)
	case l.plates[v.Plate] != "":
		return newError(CodeInvalidState, "plate %q is parked twice", v.Plate)
	}
	idx := make([]int, 0, len(a.SpotIDs))
	for _, id := range a.SpotIDs {
		i, ok := l.byID[id]
		switch {
		case !ok:
			return newError(CodeInvalidState, "ticket %q: unknown spot %q", a.TicketID, id)
		case l.spots[i].State != SpotFree || slices.Contains(idx, i):
			return newError(CodeInvalidState, "ticket %q: spot %q is %s", a.TicketID, id, l.spots[i].State)
		}
		idx = append(idx, i)
	}
	if !l.validPlacement(v.Size, idx) {
		return newError(CodeInvalidState, "ticket %q: spots %v do not fit a %s vehicle", a.TicketID, a.SpotIDs, v.Size)
	}
	for _, i := range idx {
		l.setState(i, SpotOccupied, a.TicketID)
	}
	a.SpotIDs = slices.Clone(a.SpotIDs)
	l.tickets[a.TicketID] = &parked{Assignment: a, spots: idx}
	l.plates[v.Plate] = a.TicketID
	return nil
}

// validPlacement reports whether the spots are one spot that fits size, or
// Contiguous adjacent regular spots of one row, in order, for a large
// vehicle. (Flag entitlements are not checked: the operator may have
// changed AllowOverflow since.)
func (l *Lot) validPlacement(size Size, idx []int) bool {
	if len(idx) == 1 {
		return l.spots[idx[0]].Kind.Fits(size)
	}
	if size != SizeLarge || len(idx) != l.spec.Contiguous {
		return false
	}
	for k, i := range idx {
		if l.spots[i].Kind != KindRegular || (k > 0 && (i != idx[k-1]+1 || l.rowOf[i] != l.rowOf[idx[0]])) {
			return false
		}
	}
	return true
}
