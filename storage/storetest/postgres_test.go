package storetest

import "testing"

func TestWithSearchPathKeepsTheRestOfTheDSN(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:p@h:5432/db?sslmode=disable": "postgres://u:p@h:5432/db?search_path=s&sslmode=disable",
		"postgresql://h/db":                        "postgresql://h/db?search_path=s",
		"host=h dbname=db sslmode=disable":         "host=h dbname=db sslmode=disable search_path=s",
	} {
		if got := WithSearchPath(in, "s"); got != want {
			t.Errorf("WithSearchPath(%q) = %q, want %q", in, got, want)
		}
	}
}
