package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/parklot/parklot/internal/testenv"
)

// run executes the CLI in-process and returns stdout, stderr and the exit
// code main would use.
func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	err := newApp(&out, &errb).RunContext(context.Background(), append([]string{"parklot"}, args...))
	code := 0
	if err != nil {
		code = 1
		var ec cli.ExitCoder
		if errors.As(err, &ec) {
			code = ec.ExitCode()
		}
		errb.WriteString(err.Error())
	}
	return out.String(), errb.String(), code
}

func TestConfigValidateAcceptsTheExamplesAndListsEveryProblem(t *testing.T) {
	t.Setenv("PARKLOT_POSTGRES_DSN", "postgres://x@127.0.0.1/db")
	t.Setenv("PARKLOT_AUDIT_DSN", "postgres://x@127.0.0.1/db")
	t.Setenv("PARKLOT_WEBHOOK_SECRET", "test-webhook-secret")
	for _, f := range []string{"desktop.yaml", "desktop.json", "cloud.yaml", "garage.yaml"} {
		out, stderr, code := run(t, "config", "validate", filepath.Join("..", "config", "examples", f))
		if code != 0 || !strings.Contains(out, "valid") {
			t.Fatalf("%s: exit %d, out %q, err %q", f, code, out, stderr)
		}
	}

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("pools:\n  gpu:\n    max_unit: 3\n    default_timeout: soon\n  cpu:\n    max_units: -1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, code := run(t, "-o", "json", "config", "validate", bad)
	if code != 1 {
		t.Fatalf("exit %d for a bad file, want 1", code)
	}
	var doc struct {
		Valid    bool
		Problems []struct{ Path, Message string }
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("json output %q: %v", out, err)
	}
	paths := map[string]bool{}
	for _, p := range doc.Problems {
		paths[p.Path] = true
	}
	for _, want := range []string{"pools.gpu.max_unit", "pools.gpu.default_timeout", "pools.cpu.max_units"} {
		if !paths[want] {
			t.Fatalf("problems %v lack %s", doc.Problems, want)
		}
	}
}

func TestBadFlagsAreRefusedBeforeAnythingIsSent(t *testing.T) {
	cases := map[string][]string{
		"--units":    {"submit", "--pool", "p", "--id", "x", "--tenant", "t", "--units", "0"},
		"--payload":  {"submit", "--pool", "p", "--id", "x", "--tenant", "t", "--payload", "{nope"},
		"--deadline": {"submit", "--pool", "p", "--id", "x", "--tenant", "t", "--deadline", "tomorrow"},
		"--priority": {"submit", "--pool", "p", "--id", "x", "--tenant", "t", "--priority", "urgent"},
		"-o":         {"-o", "yaml", "pools"},
	}
	for flag, args := range cases {
		_, stderr, code := run(t, append([]string{"--address", "127.0.0.1:1"}, args...)...)
		if code != 1 || !strings.Contains(stderr, flag) {
			t.Errorf("%s: exit %d, stderr %q; want 1 and the flag named", flag, code, stderr)
		}
	}
}

func TestSubmitStatusCancelAndPoolsAgainstARealServer(t *testing.T) {
	env := testenv.Start(t, testenv.PoolConfig(t, "gpu", 2, 1), testenv.Options{})
	base := []string{"--address", env.Server.GetFrontendHostPort(), "--namespace", env.Config.Temporal.Namespace, "-o", "json"}
	cmd := func(args ...string) (map[string]any, int) {
		out, stderr, code := run(t, append(base, args...)...)
		var doc map[string]any
		if out != "" {
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatalf("%v: output is not one JSON document: %q (%v)", args, out, err)
			}
		}
		if code == 1 {
			t.Logf("%v: stderr %s", args, stderr)
		}
		return doc, code
	}

	doc, code := cmd("submit", "--pool", "gpu", "--id", "a", "--tenant", "acme", "--units", "2", "--payload", `{"duration":"3s"}`)
	if code != 0 || doc["status"] != "running" {
		t.Fatalf("submit a: %d %v", code, doc)
	}
	doc, code = cmd("submit", "--pool", "gpu", "--id", "b", "--tenant", "acme", "--payload", `{"duration":"10ms"}`)
	if code != 0 || doc["status"] != "queued" || doc["position"] != float64(1) {
		t.Fatalf("submit b: %d %v", code, doc)
	}
	doc, code = cmd("submit", "--pool", "gpu", "--id", "c", "--tenant", "acme")
	if code != 3 || doc["reason"] != "queue_full" {
		t.Fatalf("submit c: %d %v, want exit 3 queue_full", code, doc)
	}
	doc, code = cmd("pools")
	pools, _ := doc["pools"].([]any)
	if code != 0 || len(pools) != 1 {
		t.Fatalf("pools: %d %v", code, doc)
	}
	p := pools[0].(map[string]any)
	if p["pool"] != "gpu" || p["maxUnits"] != float64(2) || p["activeUnits"] != float64(2) || p["queued"] != float64(1) {
		t.Fatalf("pool: %v", p)
	}
	doc, code = cmd("submit", "--pool", "gpu", "--id", "b", "--tenant", "acme", "--wait")
	if code != 0 || doc["status"] != "completed" || doc["startedAt"] == nil || doc["completedAt"] == nil {
		t.Fatalf("submit b --wait: %d %v", code, doc)
	}
	doc, code = cmd("status", "a")
	if code != 0 || doc["status"] != "completed" || doc["tenant"] != "acme" || doc["units"] != float64(2) {
		t.Fatalf("status a: %d %v", code, doc)
	}
	if _, code = cmd("status", "nope"); code != 1 {
		t.Fatalf("status of an unknown task: exit %d, want 1", code)
	}
	cmd("submit", "--pool", "gpu", "--id", "long", "--tenant", "acme", "--payload", `{"duration":"1h"}`)
	if _, code = cmd("cancel", "long"); code != 0 {
		t.Fatalf("cancel: exit %d", code)
	}
	st := env.WaitStatus(t, "long", 20*time.Second, "failed")
	if st.Reason != "cancelled" {
		t.Fatalf("cancelled task: %+v", st)
	}
	if _, code = cmd("pools", "drain", "gpu"); code != 0 {
		t.Fatalf("drain: exit %d", code)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		doc, code = cmd("submit", "--pool", "gpu", "--id", "late", "--tenant", "acme")
		if code == 3 && doc["reason"] == "pool_draining" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("submit to a drained pool: %d %v", code, doc)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
