package mailbox

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// MaxKeyFieldBytes bounds each key field so that the mailbox workflow id
// stays far below Temporal's workflow id limit.
const MaxKeyFieldBytes = 128

// Key identifies one mailbox. Keys are matched exactly: a message delivered
// to {Tenant: "a", User: "u"} is never visible through {Tenant: "a"}.
type Key struct {
	Tenant  string `json:"tenant"`
	User    string `json:"user,omitempty"`
	Session string `json:"session,omitempty"`
}

// Validate reports the first field that cannot be part of a mailbox key.
// The rules keep the key usable as the workflow id
// mailbox/<tenant>/<user>/<session>, which must be unambiguous: a '/' inside
// a field would let two different keys share one workflow.
func (k Key) Validate() error {
	if k.Tenant == "" {
		return invalidf("mailbox key: tenant is required")
	}
	for _, f := range []struct{ name, value string }{
		{"tenant", k.Tenant}, {"user", k.User}, {"session", k.Session},
	} {
		if err := checkKeyField(f.value); err != nil {
			return invalidf("mailbox key: %s %q %s", f.name, f.value, err)
		}
	}
	return nil
}

func checkKeyField(s string) error {
	if len(s) > MaxKeyFieldBytes {
		return fmt.Errorf("is %d bytes long: the maximum is %d", len(s), MaxKeyFieldBytes)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("is not valid UTF-8")
	}
	for _, r := range s {
		switch {
		case r == '/':
			return fmt.Errorf("contains '/': it separates the fields of the mailbox workflow id")
		case unsafeRune(r):
			return fmt.Errorf("contains the control or invisible character %U", r)
		}
	}
	return nil
}

// unsafeRune rejects characters that make ids unprintable or let two
// different-looking ids render the same (bidi overrides, zero-width marks,
// line separators).
func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
}

// String returns tenant/user/session. Empty optional fields stay as empty
// segments, so {a, "", ""} and {a, u, ""} print differently.
func (k Key) String() string {
	return k.Tenant + "/" + k.User + "/" + k.Session
}

// WorkflowID is the id of the Temporal workflow that holds this mailbox
// (see DESIGN.md §3).
func (k Key) WorkflowID() string {
	return "mailbox/" + k.String()
}
