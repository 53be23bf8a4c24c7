package executor

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The package is adapted to Temporal by an activity elsewhere; importing
// Temporal or another Parklot package here would invert the dependencies.
func TestPackageImportsNeitherTemporalNorTheProject(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, "go.temporal.io/") || strings.HasPrefix(path, "github.com/parklot/parklot") {
				t.Errorf("%s imports %s", name, path)
			}
		}
	}
}
