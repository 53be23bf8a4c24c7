package mailbox

import (
	"errors"
	"strings"
	"testing"
)

func TestKeyValidate(t *testing.T) {
	tests := []struct {
		name    string
		key     Key
		wantErr string // substring; empty means valid
	}{
		{"a tenant alone is a mailbox", Key{Tenant: "acme"}, ""},
		{"user and session are optional parts of the key", Key{Tenant: "acme", User: "u-1", Session: "s:9"}, ""},
		{"a session without a user is allowed", Key{Tenant: "acme", Session: "s"}, ""},
		{"unicode letters and punctuation are allowed", Key{Tenant: "Zürich AG", User: "ana@example.com"}, ""},
		{"the tenant is required", Key{User: "u"}, "tenant is required"},
		{"a slash in the tenant would split the workflow id", Key{Tenant: "a/b"}, "tenant \"a/b\" contains '/'"},
		{"a slash in the user is refused", Key{Tenant: "a", User: "x/y"}, "user"},
		{"a slash in the session is refused", Key{Tenant: "a", Session: "/"}, "session"},
		{"control characters are refused", Key{Tenant: "a\nb"}, "U+000A"},
		{"invisible bidi overrides are refused", Key{Tenant: "a\u202eb"}, "U+202E"},
		{"invalid UTF-8 is refused", Key{Tenant: "a\xffb"}, "UTF-8"},
		{"128 bytes is the longest field", Key{Tenant: strings.Repeat("t", 128)}, ""},
		{"129 bytes is too long", Key{Tenant: "a", User: strings.Repeat("u", 129)}, "user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.key.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.wantErr)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Validate() error does not wrap ErrInvalid: %v", err)
			}
		})
	}
}

func TestKeyStringKeepsEmptyFieldsDistinct(t *testing.T) {
	keys := []Key{
		{Tenant: "a"},
		{Tenant: "a", User: "u"},
		{Tenant: "a", Session: "u"},
		{Tenant: "a", User: "u", Session: "s"},
	}
	seen := map[string]Key{}
	for _, k := range keys {
		if other, dup := seen[k.String()]; dup {
			t.Fatalf("%+v and %+v both print as %q", k, other, k.String())
		}
		seen[k.String()] = k
	}
	if got, want := (Key{Tenant: "a", User: "u"}).WorkflowID(), "mailbox/a/u/"; got != want {
		t.Errorf("WorkflowID() = %q, want %q", got, want)
	}
}
