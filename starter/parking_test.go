package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/parklot/parklot/config"
	"github.com/parklot/parklot/internal/testenv"
	"github.com/parklot/parklot/workers/node"
)

func TestParkFlagsAreCheckedBeforeAnythingIsSent(t *testing.T) {
	cases := map[string][]string{
		"--size":   {"park", "--lot", "x", "--plate", "AB1", "--size", "huge"},
		"--type":   {"park", "--lot", "x", "--plate", "AB1", "--type", "bus"},
		"--plate":  {"park", "--lot", "x", "--plate", "A_1"},
		"--ticket": {"exit"},
		"--lot":    {"exit", "--lost", "--plate", "AB1"},
	}
	for flag, args := range cases {
		_, stderr, code := run(t, append([]string{"--address", "127.0.0.1:1"}, args...)...)
		if code != 1 || !strings.Contains(stderr, flag) {
			t.Errorf("%s: exit %d, stderr %q; want 1 and the flag named", flag, code, stderr)
		}
	}
}

func TestMoneyIsShownInMajorUnitsForPeople(t *testing.T) {
	for _, tc := range []struct {
		minor    int64
		currency string
		want     string
	}{
		{1250, "EUR", "12.50 EUR"},
		{5, "USD", "0.05 USD"},
		{-300, "EUR", "-3.00 EUR"},
		{1500, "JPY", "1500 JPY"},
		{1234, "KWD", "1.234 KWD"},
	} {
		if got := money(tc.minor, tc.currency); got != tc.want {
			t.Errorf("money(%d, %s) = %q, want %q", tc.minor, tc.currency, got, tc.want)
		}
	}
}

// smallLot is one regular and one compact spot; the first four seconds
// cost 1.00, any longer stay up to an hour 3.00, so a test sees the quote
// move.
const smallLot = `
defaults:
  mailbox: {backend: memory}
  audit: {backend: memory}
lots:
  corner:
    timezone: UTC
    currency: EUR
    levels:
      - name: G
        rows:
          - {name: A, kind: regular, count: 1}
          - {name: B, kind: compact, count: 1}
    pricing:
      tiers:
        - {up_to: 4s, fee: 100}
        - {up_to: 1h, fee: 300}
      lost_ticket_fee: 2000
`

func TestParkQuoteAndExitThroughTheCLIAgainstARealServer(t *testing.T) {
	cfg, err := config.Parse([]byte(smallLot), config.FormatYAML)
	if err != nil {
		t.Fatal(err)
	}
	env := testenv.Start(t, cfg, testenv.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := node.EnsureLots(ctx, env.API, env.Config); err != nil {
		t.Fatal(err)
	}
	base := []string{"--address", env.Server.GetFrontendHostPort(), "--namespace", env.Config.Temporal.Namespace, "-o", "json"}
	cmd := func(args ...string) (map[string]any, int) {
		t.Helper()
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

	doc, code := cmd("lot", "status", "corner")
	free, _ := doc["free"].(map[string]any)
	if code != 0 || doc["spots"] != float64(2) || doc["occupied"] != float64(0) || free["regular"] != float64(1) || free["compact"] != float64(1) {
		t.Fatalf("lot status: %d %v", code, doc)
	}
	doc, code = cmd("park", "--lot", "corner", "--plate", "b-ab 123")
	if code != 0 || doc["ticketId"] != "corner-000001" || doc["entryTime"] == nil {
		t.Fatalf("park: %d %v", code, doc)
	}
	if spots, _ := doc["spots"].([]any); len(spots) != 1 || spots[0] != "L0-A-00" {
		t.Fatalf("park spots: %v", doc["spots"])
	}
	doc, code = cmd("park", "--lot", "corner", "--plate", "XY 2")
	if code != 3 || doc["reason"] != "no_compatible_spot" {
		t.Fatalf("a car with only a compact spot free: %d %v, want exit 3 no_compatible_spot", code, doc)
	}
	if doc, code = cmd("park", "--lot", "corner", "--plate", "M1", "--type", "motorcycle"); code != 0 || doc["ticketId"] != "corner-000002" {
		t.Fatalf("park a motorcycle: %d %v", code, doc)
	}
	doc, code = cmd("park", "--lot", "corner", "--plate", "M2", "--type", "motorcycle")
	if code != 3 || doc["reason"] != "lot_full" || doc["message"] == "" {
		t.Fatalf("a full lot: %d %v, want exit 3 lot_full", code, doc)
	}

	// The quote moves on the ticket's own timer: 1.00 at first, 3.00 once
	// the stay is longer than four seconds.
	deadline := time.Now().Add(20 * time.Second)
	var seen []any
	for {
		doc, code = cmd("ticket", "corner-000001")
		if code != 0 || doc["status"] != "open" || doc["plate"] != "BAB123" {
			t.Fatalf("ticket: %d %v", code, doc)
		}
		if len(seen) == 0 || seen[len(seen)-1] != doc["amountSoFar"] {
			seen = append(seen, doc["amountSoFar"])
		}
		if doc["amountSoFar"] == float64(300) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the quote never reached 300: saw %v", seen)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if seen[0] != float64(100) {
		// A machine so loaded that four seconds passed since the park.
		t.Logf("the first look came after the boundary, so the move itself was not seen: %v", seen)
	}

	doc, code = cmd("exit", "--ticket", "corner-000001")
	breakdown, _ := doc["breakdown"].([]any)
	if code != 0 || doc["amount"] != float64(300) || doc["currency"] != "EUR" || doc["status"] != "closed" || len(breakdown) != 2 || doc["duration"] == "" {
		t.Fatalf("exit: %d %v", code, doc)
	}
	first := doc
	if doc, code = cmd("exit", "--ticket", "corner-000001"); code != 0 || doc["amount"] != first["amount"] || doc["exitTime"] != first["exitTime"] {
		t.Fatalf("exiting again: %d %v, want the first answer", code, doc)
	}
	if doc, code = cmd("ticket", "corner-000001"); code != 0 || doc["status"] != "closed" || doc["amountSoFar"] != float64(300) {
		t.Fatalf("closed ticket: %d %v", code, doc)
	}
	doc, code = cmd("exit", "--lost", "--lot", "corner", "--plate", "m 1")
	if code != 0 || doc["status"] != "lost" || doc["ticketId"] != "corner-000002" || doc["amount"].(float64) < 2100 {
		t.Fatalf("lost ticket: %d %v", code, doc)
	}
	if doc, code = cmd("exit", "--lost", "--lot", "corner", "--plate", "m 1"); code != 3 || doc["reason"] != "unknown_plate" {
		t.Fatalf("a plate no longer parked: %d %v, want exit 3 unknown_plate", code, doc)
	}
	if doc, code = cmd("lot", "status", "corner"); code != 0 || doc["occupied"] != float64(0) || doc["vehicles"] != float64(0) {
		t.Fatalf("lot status after the exits: %d %v", code, doc)
	}
	if _, code = cmd("ticket", "corner-000099"); code != 1 {
		t.Fatalf("an unknown ticket: exit %d, want 1", code)
	}
	if _, code = cmd("lot", "status", "nowhere"); code != 1 {
		t.Fatalf("an unknown lot: exit %d, want 1", code)
	}

	// Text output for people.
	out, _, code := run(t, "--address", env.Server.GetFrontendHostPort(), "--namespace", env.Config.Temporal.Namespace, "ticket", "corner-000001")
	if code != 0 || !strings.Contains(out, "3.00 EUR") || !strings.Contains(out, "tier_2") {
		t.Fatalf("text ticket: %d %q", code, out)
	}
}
