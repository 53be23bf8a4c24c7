package audit

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kind is the kind of thing an event is about.
type Kind string

// Subject kinds of the scheduler and of the parking domain.
const (
	KindTask    Kind = "task"
	KindTenant  Kind = "tenant"
	KindPool    Kind = "pool"
	KindMailbox Kind = "mailbox"
	KindVehicle Kind = "vehicle"
	KindSpot    Kind = "spot"
	KindTicket  Kind = "ticket"
	KindLot     Kind = "lot"
)

// Kinds lists every valid kind, in a stable order for help texts.
func Kinds() []Kind {
	return []Kind{KindTask, KindTenant, KindPool, KindMailbox, KindVehicle, KindSpot, KindTicket, KindLot}
}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool {
	for _, known := range Kinds() {
		if k == known {
			return true
		}
	}
	return false
}

// MaxSubjectIDBytes bounds subject ids; a mailbox subject id is a mailbox key
// (tenant/user/session), the longest id the project produces.
const MaxSubjectIDBytes = 512

// Subject names one thing an event is about, such as task t-42 or pool gpu.
type Subject struct {
	Kind Kind   `json:"kind"`
	ID   string `json:"id"`
}

// Task, Tenant, Pool and Mailbox build the subjects most scheduler events
// carry.
func Task(id string) Subject    { return Subject{Kind: KindTask, ID: id} }
func Tenant(id string) Subject  { return Subject{Kind: KindTenant, ID: id} }
func Pool(id string) Subject    { return Subject{Kind: KindPool, ID: id} }
func Mailbox(id string) Subject { return Subject{Kind: KindMailbox, ID: id} }

// ParseSubject parses the CLI form kind:id. The id may itself contain ':'.
func ParseSubject(s string) (Subject, error) {
	kind, id, ok := strings.Cut(s, ":")
	if !ok {
		return Subject{}, invalidf("subject %q: want kind:id such as task:t-42, with kind one of %s", s, joinKinds())
	}
	sub := Subject{Kind: Kind(kind), ID: id}
	if err := sub.Validate(); err != nil {
		return Subject{}, err
	}
	return sub, nil
}

// Validate reports why s cannot be stored or queried.
func (s Subject) Validate() error {
	if !s.Kind.Valid() {
		return invalidf("subject kind %q: want one of %s", s.Kind, joinKinds())
	}
	if s.ID == "" {
		return invalidf("subject %s: id is required (kind:id)", s.Kind)
	}
	if err := checkID(s.ID, MaxSubjectIDBytes); err != nil {
		return invalidf("subject %s id %q %v", s.Kind, s.ID, err)
	}
	return nil
}

// String returns the CLI form kind:id.
func (s Subject) String() string { return string(s.Kind) + ":" + s.ID }

// checkID keeps ids printable and storable by every backend (PostgreSQL text
// refuses NUL and invalid UTF-8).
func checkID(s string, maxBytes int) error {
	if len(s) > maxBytes {
		return fmt.Errorf("is %d bytes long: the maximum is %d", len(s), maxBytes)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("is not valid UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) {
			return fmt.Errorf("contains the control or invisible character %U", r)
		}
	}
	return nil
}

func joinKinds() string {
	names := make([]string, 0, 8)
	for _, k := range Kinds() {
		names = append(names, string(k))
	}
	return strings.Join(names, ", ")
}
