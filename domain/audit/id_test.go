package audit

import (
	"testing"
	"time"
)

func TestEventIDForIsStableTimeOrderedAndDistinctPerKey(t *testing.T) {
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	a, b := EventIDFor(at, "task/x#1"), EventIDFor(at, "task/x#1")
	if a != b {
		t.Fatalf("same key and time gave %s and %s", a, b)
	}
	if c := EventIDFor(at, "task/x#2"); c == a {
		t.Fatalf("different keys gave the same id %s", a)
	}
	if later := EventIDFor(at.Add(time.Millisecond), "task/x#0"); later <= a {
		t.Fatalf("id %s of a later event does not sort after %s", later, a)
	}
	if _, err := canonicalID(a); err != nil || a[14] != '7' {
		t.Fatalf("%s is not a UUIDv7: %v", a, err)
	}
}
