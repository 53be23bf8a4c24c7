package main

import (
	"context"
	"encoding/json"
	"testing"

	"go.temporal.io/sdk/client"

	"github.com/parklot/parklot/config"
	"github.com/parklot/parklot/internal/testenv"
	"github.com/parklot/parklot/workers/devserver"
	"github.com/parklot/parklot/workers/node"
)

// The README's parking tour, against what `parklot-worker dev` runs: the
// embedded server and a node with the built-in desktop config.
func TestTheParkingTourAgainstTheDesktopRuntime(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	ctx := context.Background()
	cfg, err := config.Default(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := devserver.Start(ctx, devserver.Options{Ephemeral: true, UIPort: -1, SearchAttributes: node.SearchAttributes, Logger: testenv.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	tc, err := client.Dial(client.Options{HostPort: srv.FrontendAddress(), Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	n, err := node.Start(ctx, node.Options{Config: cfg, Client: tc, Logger: testenv.Logger(), HTTPAddress: "-"})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop(ctx)

	cli := func(args ...string) map[string]any {
		t.Helper()
		out, stderr, code := run(t, append([]string{"--address", srv.FrontendAddress(), "-o", "json"}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("%v: %q: %v", args, out, err)
		}
		return doc
	}
	lot := cli("lot", "status", "demo")
	if lot["spots"] != float64(22) {
		t.Fatalf("demo garage: %v", lot)
	}
	parked := cli("park", "--lot", "demo", "--plate", "AB-123")
	ticket, _ := parked["ticketId"].(string)
	if ticket == "" {
		t.Fatalf("park: %v", parked)
	}
	if q := cli("ticket", ticket); q["status"] != "open" || q["plate"] != "AB123" {
		t.Fatalf("ticket: %v", q)
	}
	exit := cli("exit", "--ticket", ticket)
	if exit["currency"] != "EUR" || exit["amount"] != float64(0) || exit["breakdown"] == nil {
		t.Fatalf("exit within the grace period: %v", exit)
	}
}
