package migrate

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoadOrdersMigrationsAndRefusesGaps(t *testing.T) {
	ok := fstest.MapFS{
		"m/0002_b.sql": {Data: []byte("B")},
		"m/0001_a.sql": {Data: []byte("A")},
	}
	got, err := Load(ok, "m")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "a" || got[1].SQL != "B" {
		t.Fatalf("Load() = %+v, want a then b", got)
	}

	for name, fsys := range map[string]fstest.MapFS{
		"a gap in the versions":  {"m/0001_a.sql": {}, "m/0003_c.sql": {}},
		"a file with a bad name": {"m/0001_a.sql": {}, "m/2_b.sql": {}},
		"a duplicated version":   {"m/0001_a.sql": {}, "m/0001_b.sql": {}},
	} {
		if _, err := Load(fsys, "m"); err == nil || !strings.Contains(err.Error(), "migration") {
			t.Errorf("%s: Load() = %v, want an error naming the migration", name, err)
		}
	}
}
