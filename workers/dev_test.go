package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parklot/parklot/config"
	"github.com/parklot/parklot/internal/testenv"
	"github.com/parklot/parklot/workers/demo"
	"github.com/parklot/parklot/workflows"
)

func devConfig(t *testing.T, dataDir string) *config.Config {
	t.Helper()
	cfg, err := config.Default(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestTheDevRuntimeServesHealthMetricsTheUIAndRunsTheDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	ctx := context.Background()
	rt, err := startDev(ctx, devOptions{Config: devConfig(t, t.TempDir()), Ephemeral: true, IP: "127.0.0.1"}, testenv.Logger())
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	defer rt.Stop(testenv.Logger())

	code, body := get(t, rt.node.HTTPAddress()+"/health")
	var h struct {
		Status string
		Checks map[string]struct{ OK bool }
	}
	if err := json.Unmarshal([]byte(body), &h); err != nil || code != http.StatusOK || h.Status != "ok" || !h.Checks["temporal"].OK {
		t.Fatalf("/health: %d %s", code, body)
	}
	if code, body := get(t, rt.server.UIAddress()+"/"); code != http.StatusOK || !strings.Contains(strings.ToLower(body), "<html") {
		t.Fatalf("UI: %d %.200s", code, body)
	}

	// The first task holds 3 of 4 units long enough that the second (2 units)
	// must queue however slow the machine is.
	tasks := []demo.Task{{Tenant: "acme", Units: 3, Sleep: 3 * time.Second}, {Tenant: "globex", Units: 2, Sleep: 100 * time.Millisecond}, {Tenant: "acme", Units: 1}}
	var out strings.Builder
	res, err := demo.Run(ctx, rt.node.API, "demo", "t", tasks, &out)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	if res.ByStatus[workflows.StatusCompleted] != len(tasks) {
		t.Fatalf("demo finished with %v, want every task completed\n%s", res.ByStatus, out.String())
	}
	if !strings.Contains(out.String(), "queued at position") {
		t.Fatalf("demo output never showed a queued task:\n%s", out.String())
	}

	ps, err := rt.node.API.Pool(ctx, "demo")
	if err != nil || ps.Counters.Granted < 1 {
		t.Fatalf("pool after the demo: %+v %v, want tasks granted from the queue", ps.Counters, err)
	}
	_, metrics := get(t, rt.node.HTTPAddress()+"/metrics")
	for _, want := range []string{
		`parklot_pool_max_units{pool="demo"} 4`,
		fmt.Sprintf(`parklot_pool_admissions_total{how="queued",pool="demo"} %d`, ps.Counters.Granted),
		fmt.Sprintf(`parklot_pool_wait_seconds_count{pool="demo"} %d`, ps.Counters.Granted),
		"go_goroutines",
	} {
		if !strings.Contains(metrics, want) {
			t.Fatalf("/metrics lacks %q", want)
		}
	}
}

func TestRestartingOnTheSameDataDirFindsEveryWorkflowWhereItWas(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server twice")
	}
	dir := t.TempDir()
	ctx := context.Background()
	opts := devOptions{Config: devConfig(t, dir), DataDir: dir, IP: "127.0.0.1", UIPort: -1}
	rt, err := startDev(ctx, opts, testenv.Logger())
	if err != nil {
		t.Fatalf("first start: %v", err)
	}
	submit := func(id string, units int64, d string) workflows.TaskStatus {
		st, err := rt.node.API.Submit(ctx, workflows.TaskInput{TaskID: id, Pool: "demo", Tenant: "acme", Units: units, Kind: "sleep", Payload: json.RawMessage(`{"duration":"` + d + `"}`)})
		if err != nil {
			t.Fatalf("submit %s: %v", id, err)
		}
		return st
	}
	submit("before", 1, "10ms")
	if st, err := rt.node.API.Wait(ctx, "before", 50*time.Millisecond, nil); err != nil || st.Status != workflows.StatusCompleted {
		t.Fatalf("before: %+v %v", st, err)
	}
	if st := submit("holder", 4, "3s"); st.Status != workflows.StatusRunning {
		t.Fatalf("holder: %s", st.Status)
	}
	if st := submit("parked", 2, "10ms"); st.Status != workflows.StatusQueued {
		t.Fatalf("parked: %s, want queued before the restart", st.Status)
	}
	rt.Stop(testenv.Logger())

	opts.Config = devConfig(t, dir)
	rt, err = startDev(ctx, opts, testenv.Logger())
	if err != nil {
		t.Fatalf("second start: %v", err)
	}
	defer rt.Stop(testenv.Logger())
	for _, id := range []string{"before", "holder", "parked"} {
		st, err := rt.node.API.Wait(ctx, id, 100*time.Millisecond, nil)
		if err != nil || st.Status != workflows.StatusCompleted {
			t.Fatalf("%s after restart: %+v %v", id, st, err)
		}
	}
	ps, err := rt.node.API.Pool(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if ps.Counters.Admitted+ps.Counters.Granted != 3 || ps.ActiveUnits != 0 {
		t.Fatalf("pool after restart: %+v", ps.Snapshot)
	}
}
