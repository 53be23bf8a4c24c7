package parking

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
	"unicode"
)

// Strategy chooses among the spots a vehicle may take.
type Strategy string

// Allocation strategies; see the package documentation for the exact order
// each one uses.
const (
	// FirstAvailable takes the lowest level, then row, then position.
	FirstAvailable Strategy = "first_available"
	// Nearest takes the spot nearest to the entrance (Location.Distance).
	Nearest Strategy = "nearest"
	// BestFit takes the smallest compatible kind first, then the lowest
	// location, so small cars keep off oversized bays while smaller ones are free.
	BestFit Strategy = "best_fit"
	// FillLevel fills the level nearest to the entrance before opening the
	// next one, nearest spot first within a level.
	FillLevel Strategy = "fill_level"
)

// Strategies lists every strategy, in a fixed order.
func Strategies() []Strategy { return []Strategy{FirstAvailable, Nearest, BestFit, FillLevel} }

// Valid reports whether s is a known strategy.
func (s Strategy) Valid() bool { return slices.Contains(Strategies(), s) }

// Defaults and limits of a LotSpec.
const (
	DefaultContiguous = 2
	MaxContiguous     = 16
	MaxLevels         = 100
	MaxRowsPerLevel   = 100
	MaxRowLength      = 1000
	MaxSpots          = 1 << 20
	maxRowNameLength  = 8
)

// LotSpec describes a lot: the plain data a configuration file turns into
// (NewLot validates it and builds the inventory). Zero values mean defaults
// where a default is documented.
type LotSpec struct {
	// Name identifies the lot, e.g. "downtown".
	Name   string      `json:"name"`
	Levels []LevelSpec `json:"levels"`
	// Entrance is where vehicles come in; the nearest and fill_level
	// strategies measure from it. Row and position may lie outside the rows
	// (an entrance at the head of the aisles is position 0).
	Entrance Location `json:"entrance"`
	// Strategy defaults to first_available.
	Strategy Strategy `json:"strategy,omitempty"`
	// Contiguous is how many adjacent regular spots a large vehicle takes
	// when no oversized spot is free; default 2. 1 keeps large vehicles on
	// oversized spots only.
	Contiguous int `json:"contiguous,omitempty"`
	// AllowOverflow lets vehicles that did not ask for them take accessible
	// and EV spots, as a last resort.
	AllowOverflow bool `json:"allowOverflow,omitempty"`
	// MaxStay auto-closes tickets whose exit was never read; 0 means never.
	MaxStay time.Duration `json:"maxStay,omitempty"`
	// Pricing is the lot's tariff. Its TimeZone and Currency may be left
	// empty: NewLot fills them from the fields below.
	Pricing PricingRules `json:"pricing"`
	// TimeZone is where peak windows are read on the wall clock; nil means
	// UTC. It must be UTC or an IANA name (not Local) so the lot state
	// decodes the same on every machine.
	TimeZone *time.Location `json:"-"`
	// Currency is the ISO 4217 code of every amount, e.g. "EUR".
	Currency string `json:"currency"`
}

// LevelSpec is one level (floor) of a lot; levels are numbered from 0 in the
// order given.
type LevelSpec struct {
	Rows []RowSpec `json:"rows"`
}

// RowSpec is one row of spots. The simple form is a kind and a count
// ("regular", 20); Kinds lists the kind of every position instead when they
// differ, an empty entry meaning Kind. Positions are zero-based.
type RowSpec struct {
	// Name appears in spot ids; default "A", "B", ... "Z", "AA", ... by
	// position in the level. Letters and digits only.
	Name  string     `json:"name,omitempty"`
	Kind  SpotKind   `json:"kind,omitempty"`
	Count int        `json:"count,omitempty"`
	Kinds []SpotKind `json:"kinds,omitempty"`
	// Accessible and EV list the positions that carry the flag.
	Accessible []int `json:"accessible,omitempty"`
	EV         []int `json:"ev,omitempty"`
}

// length is the number of positions of the row as specified.
func (r RowSpec) length() int {
	if len(r.Kinds) > 0 {
		return len(r.Kinds)
	}
	return r.Count
}

func (r RowSpec) kindAt(pos int) SpotKind {
	if pos < len(r.Kinds) && r.Kinds[pos] != "" {
		return r.Kinds[pos]
	}
	return r.Kind
}

// defaultRowName is the spreadsheet-style name of row i: A..Z, AA..AZ, BA...
func defaultRowName(i int) string {
	name := ""
	for i++; i > 0; i = (i - 1) / 26 {
		name = string(rune('A'+(i-1)%26)) + name
	}
	return name
}

// normalize validates the spec and returns a deep copy with every default
// applied, so the lot never aliases the caller's slices.
func (s LotSpec) normalize() (LotSpec, error) {
	p := &problems{code: CodeInvalidLotSpec}
	n := s
	n.Levels = make([]LevelSpec, len(s.Levels))
	if s.Name == "" {
		p.add("name", "must not be empty")
	}
	if len(s.Levels) == 0 {
		p.add("levels", "a lot needs at least one level")
	}
	if len(s.Levels) > MaxLevels {
		p.add("levels", "%d levels, at most %d are allowed", len(s.Levels), MaxLevels)
	}
	total := 0
	for li, lv := range s.Levels {
		field := fmt.Sprintf("levels[%d]", li)
		if len(lv.Rows) == 0 {
			p.add(field+".rows", "a level needs at least one row")
		}
		if len(lv.Rows) > MaxRowsPerLevel {
			p.add(field+".rows", "%d rows, at most %d are allowed", len(lv.Rows), MaxRowsPerLevel)
		}
		names := map[string]int{}
		rows := make([]RowSpec, len(lv.Rows))
		for ri, r := range lv.Rows {
			field := fmt.Sprintf("%s.rows[%d]", field, ri)
			r.Kinds = slices.Clone(r.Kinds)
			r.Accessible = slices.Clone(r.Accessible)
			r.EV = slices.Clone(r.EV)
			if r.Name == "" {
				r.Name = defaultRowName(ri)
			}
			if !validRowName(r.Name) {
				p.add(field+".name", "%q: use 1 to %d letters or digits", r.Name, maxRowNameLength)
			} else if prev, dup := names[r.Name]; dup {
				p.add(field+".name", "%q is already the name of row %d of this level", r.Name, prev)
			} else {
				names[r.Name] = ri
			}
			length := r.length()
			switch {
			case len(r.Kinds) > 0 && r.Count != 0 && r.Count != len(r.Kinds):
				p.add(field+".count", "is %d but kinds lists %d positions; give one or make them agree", r.Count, len(r.Kinds))
			case length <= 0:
				p.add(field+".count", "a row needs at least one spot: set count > 0 or list kinds")
			case length > MaxRowLength:
				p.add(field+".count", "%d spots, at most %d are allowed in a row", length, MaxRowLength)
			}
			if r.Kind != "" && !r.Kind.Valid() {
				p.add(field+".kind", "unknown kind %q, use compact, regular or oversized", r.Kind)
			}
			if r.Kind == "" && len(r.Kinds) == 0 {
				p.add(field+".kind", "must be set: compact, regular or oversized")
			}
			for pos, k := range r.Kinds {
				switch {
				case k == "" && r.Kind == "":
					p.add(fmt.Sprintf("%s.kinds[%d]", field, pos), "is empty and the row has no default kind")
				case k != "" && !k.Valid():
					p.add(fmt.Sprintf("%s.kinds[%d]", field, pos), "unknown kind %q, use compact, regular or oversized", k)
				}
			}
			checkPositions(p, field+".accessible", r.Accessible, length)
			checkPositions(p, field+".ev", r.EV, length)
			if len(r.Kinds) > 0 {
				r.Count = len(r.Kinds)
			}
			total += max(length, 0)
			rows[ri] = r
		}
		n.Levels[li] = LevelSpec{Rows: rows}
	}
	if total > MaxSpots {
		p.add("levels", "%d spots, at most %d are allowed", total, MaxSpots)
	}
	if s.Entrance.Level < 0 || s.Entrance.Level >= max(len(s.Levels), 1) ||
		s.Entrance.Row < 0 || s.Entrance.Position < 0 {
		p.add("entrance", "must be on an existing level with row and position >= 0, got %+v", s.Entrance)
	}
	if n.Strategy == "" {
		n.Strategy = FirstAvailable
	}
	if !n.Strategy.Valid() {
		p.add("strategy", "unknown strategy %q, use first_available, nearest, best_fit or fill_level", s.Strategy)
	}
	if n.Contiguous == 0 {
		n.Contiguous = DefaultContiguous
	}
	if n.Contiguous < 1 || n.Contiguous > MaxContiguous {
		p.add("contiguous", "is %d, must be between 1 (large vehicles on oversized spots only) and %d", s.Contiguous, MaxContiguous)
	}
	if s.MaxStay < 0 || s.MaxStay > MaxQuotedStay {
		p.add("maxStay", "is %v, must be between 0 (never) and %v", s.MaxStay, MaxQuotedStay)
	}

	// The time zone and currency live on the spec for the configuration's
	// sake and on the pricing rules for Quote's; they must agree.
	n.Pricing = s.Pricing.clone()
	switch {
	case s.TimeZone == nil && s.Pricing.TimeZone == nil:
		n.TimeZone = time.UTC
	case s.TimeZone == nil:
		n.TimeZone = s.Pricing.TimeZone
	case s.Pricing.TimeZone != nil && s.Pricing.TimeZone.String() != s.TimeZone.String():
		p.add("pricing.timeZone", "%q differs from the lot's time zone %q; leave it empty", s.Pricing.TimeZone, s.TimeZone)
	}
	n.Pricing.TimeZone = n.TimeZone
	if n.TimeZone.String() == "Local" {
		p.add("timeZone", "must be UTC or an IANA name such as Europe/Berlin, not Local, so every machine prices alike")
	}
	switch {
	case s.Currency == "":
		n.Currency = s.Pricing.Currency
	case s.Pricing.Currency != "" && s.Pricing.Currency != s.Currency:
		p.add("pricing.currency", "%q differs from the lot's currency %q; leave it empty", s.Pricing.Currency, s.Currency)
	}
	n.Pricing.Currency = n.Currency
	n.Pricing.validate(p, "pricing.")
	if err := p.err(); err != nil {
		return LotSpec{}, err
	}
	return n, nil
}

func validRowName(name string) bool {
	if name == "" || len(name) > maxRowNameLength {
		return false
	}
	for _, r := range name {
		if r > unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return false
		}
	}
	return true
}

func checkPositions(p *problems, field string, positions []int, length int) {
	seen := map[int]bool{}
	for i, pos := range positions {
		switch {
		case pos < 0 || pos >= length:
			p.add(fmt.Sprintf("%s[%d]", field, i), "position %d is outside the row (0..%d)", pos, length-1)
		case seen[pos]:
			p.add(fmt.Sprintf("%s[%d]", field, i), "position %d is listed twice", pos)
		}
		seen[pos] = true
	}
}

// MarshalJSON encodes the spec with its time zone as a name.
func (s LotSpec) MarshalJSON() ([]byte, error) {
	type plain LotSpec
	return json.Marshal(struct {
		plain
		TimeZone string `json:"timeZone,omitempty"`
	}{plain(s), zoneName(s.TimeZone)})
}

// UnmarshalJSON decodes a spec written by MarshalJSON, loading its time zone
// by name (see the package documentation on time zone data).
func (s *LotSpec) UnmarshalJSON(b []byte) error {
	type plain LotSpec
	var aux struct {
		plain
		TimeZone string `json:"timeZone"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	loc, err := loadZone(aux.TimeZone)
	if err != nil {
		return err
	}
	*s = LotSpec(aux.plain)
	s.TimeZone = loc
	return nil
}

func zoneName(loc *time.Location) string {
	if loc == nil {
		return ""
	}
	return loc.String()
}

// loadZone resolves a zone name written by zoneName. It is the one place the
// package reads time zone data (through time.LoadLocation), only when
// decoding JSON.
func loadZone(name string) (*time.Location, error) {
	switch name {
	case "":
		return nil, nil
	case "UTC":
		return time.UTC, nil
	case "Local":
		return nil, newError(CodeInvalidState, "time zone Local is not portable, use an IANA name")
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, newError(CodeInvalidState, "time zone %q: %v", name, err)
	}
	return loc, nil
}
