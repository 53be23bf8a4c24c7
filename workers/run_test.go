package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/parklot/parklot/api"
	"github.com/parklot/parklot/internal/testenv"
	"github.com/parklot/parklot/workers/devserver"
	"github.com/parklot/parklot/workers/node"
	"github.com/parklot/parklot/workflows"
)

func TestTwoRunWorkersServeOneClusterFromAConfigFile(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := devserver.Start(ctx, devserver.Options{Ephemeral: true, UIPort: -1, SearchAttributes: node.SearchAttributes, Logger: testenv.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()

	cfgPath := filepath.Join(t.TempDir(), "cluster.yaml")
	cfg := "temporal: {address: 127.0.0.1:1}\ndefaults:\n  mailbox: {backend: memory}\n  audit: {backend: memory}\npools:\n  shared: {max_units: 2, max_queue_depth: 100}\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 2)
	for range 2 {
		go func() {
			// --address overrides the file, as an operator would on another machine.
			done <- newApp().RunContext(ctx, []string{"parklot-worker", "--log-level", "error", "run", "--config", cfgPath, "--address", srv.FrontendAddress(), "--http", "-"})
		}()
	}

	c, err := client.Dial(client.Options{HostPort: srv.FrontendAddress(), Logger: quietTestLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	a := api.New(c, "")
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := a.Pool(ctx, "shared"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the run workers never started the pool manager")
		}
		time.Sleep(100 * time.Millisecond)
	}
	for i := range 8 {
		id := fmt.Sprintf("r%d", i)
		if _, err := a.Submit(ctx, workflows.TaskInput{TaskID: id, Pool: "shared", Tenant: "acme", Units: 1, Kind: "sleep", Payload: []byte(`{"duration":"200ms"}`)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 8 {
		st, err := a.Wait(ctx, fmt.Sprintf("r%d", i), 50*time.Millisecond, nil)
		if err != nil || st.Status != workflows.StatusCompleted {
			t.Fatalf("r%d: %+v %v", i, st, err)
		}
	}
	select {
	case err := <-done:
		t.Fatalf("a run worker stopped while serving: %v", err)
	default:
	}
	cancel()
	for range 2 {
		if err := <-done; err != nil && !strings.Contains(err.Error(), "context canceled") {
			t.Fatalf("run worker ended with %v", err)
		}
	}
}
