package main

import (
	"io"
	"strings"
	"testing"
)

func TestBenchRefusesBadFlagsBeforeStartingAnything(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--rounds", "0"}, "--rounds 0: run at least 1 round"},
		{[]string{"--output", "yaml"}, `--output "yaml": use text or json`},
	} {
		app := newApp()
		app.Writer, app.ErrWriter = io.Discard, io.Discard
		err := app.Run(append([]string{"parklot-worker", "bench"}, tt.args...))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("bench %v = %v, want an error containing %q", tt.args, err, tt.want)
		}
	}
}
