package workflows_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	historypb "go.temporal.io/api/history/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/parklot/parklot/config"
	"github.com/parklot/parklot/domain/parking"
	"github.com/parklot/parklot/internal/testenv"
	"github.com/parklot/parklot/workers/node"
	"github.com/parklot/parklot/workflows"
)

// lotConfig is a config with one memory-audited lot named name.
func lotConfig(t *testing.T, name, lot string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(`
defaults:
  mailbox: {backend: memory}
  audit: {backend: memory}
lots:
  `+name+`:
`+lot), config.FormatYAML)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// sixSpotLot is a lot of six regular spots at 2.00 an hour, for tests about
// spots and ticket numbers rather than prices.
const sixSpotLot = `
    timezone: UTC
    currency: EUR
    levels: [{name: G, rows: [{name: A, kind: regular, count: 6}]}]
    pricing: {hourly_rate: 200}
`

// TestConcurrentGatesNeverDoubleBookASpotAcrossContinueAsNew parks twelve
// cars at once in six spots while the lot continues as new every five
// updates, then lets them all out.
func TestConcurrentGatesNeverDoubleBookASpotAcrossContinueAsNew(t *testing.T) {
	env := testenv.Start(t, lotConfig(t, "gates", sixSpotLot), testenv.Options{LotMaxUpdates: 5})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	const cars = 12
	results := make([]workflows.ParkResult, cars)
	errs := make([]error, cars)
	var wg sync.WaitGroup
	for i := range cars {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = env.API.Park(ctx, "gates", parking.Vehicle{Plate: fmt.Sprintf("GATE%02d", i)})
		}()
	}
	wg.Wait()
	spots := map[string]string{}
	var tickets []string
	for i, r := range results {
		switch {
		case errs[i] != nil:
			t.Fatalf("park %d: %v", i, errs[i])
		case r.Refused():
			if r.Reason != parking.CodeLotFull {
				t.Fatalf("park %d refused with %s, want lot_full", i, r.Reason)
			}
		default:
			for _, s := range r.Spots {
				if other, taken := spots[s]; taken {
					t.Fatalf("spot %s given to %s and %s", s, other, r.TicketID)
				}
				spots[s] = r.TicketID
			}
			tickets = append(tickets, r.TicketID)
		}
	}
	if len(tickets) != 6 {
		t.Fatalf("%d vehicles parked in 6 spots", len(tickets))
	}

	for _, id := range tickets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := env.API.Exit(ctx, "", workflows.ExitRequest{TicketID: id})
			if err != nil || res.Status != parking.TicketClosed || res.Amount != 200 {
				t.Errorf("exit %s: %+v %v", id, res, err)
			}
		}()
	}
	wg.Wait()
	st, err := env.API.LotStatus(ctx, "gates")
	if err != nil {
		t.Fatal(err)
	}
	if st.Occupied != 0 || st.Vehicles != 0 || st.Runs == 0 || st.LastTicket != 6 {
		t.Fatalf("lot after every exit: %+v (want it empty, continued as new at least once)", st)
	}
	for _, id := range tickets {
		tv, err := env.API.Ticket(ctx, id)
		if err != nil || tv.Status != parking.TicketClosed || tv.AmountSoFar != 200 {
			t.Fatalf("ticket %s after exit: %+v %v", id, tv, err)
		}
	}
}

// TestALotRestartedFromScratchNumbersTicketsAfterTheOldOnes: an operator
// terminates a lot's workflow and workers start it again with no state. Its
// ticket numbers start over, but the old tickets' workflows are still kept
// by the server (one closed, two open): the first park moves the numbering
// past them instead of being refused.
func TestALotRestartedFromScratchNumbersTicketsAfterTheOldOnes(t *testing.T) {
	env := testenv.Start(t, lotConfig(t, "fresh", sixSpotLot), testenv.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	park := func(plate string) workflows.ParkResult {
		t.Helper()
		r, err := env.API.Park(ctx, "fresh", parking.Vehicle{Plate: plate})
		if err != nil || r.Refused() {
			t.Fatalf("park %s: %+v, %v", plate, r, err)
		}
		return r
	}
	for i, plate := range []string{"OLD1", "OLD2", "OLD3"} {
		if r := park(plate); r.TicketID != workflows.TicketID("fresh", i+1) {
			t.Fatalf("ticket %s, want %s", r.TicketID, workflows.TicketID("fresh", i+1))
		}
	}
	// The lot runs ahead of tasks in the task queue; its tickets do not.
	for id, want := range map[string]int32{
		workflows.LotWorkflowID("fresh"):                           int32(node.CoordinatorPriority.PriorityKey),
		workflows.TicketWorkflowID(workflows.TicketID("fresh", 1)): workflows.TicketPriorityKey,
	} {
		desc, err := env.Client.DescribeWorkflowExecution(ctx, id, "")
		if err != nil {
			t.Fatal(err)
		}
		if got := desc.GetWorkflowExecutionInfo().GetPriority().GetPriorityKey(); got != want {
			t.Errorf("%s runs at priority %d, want %d", id, got, want)
		}
	}
	if _, err := env.API.Exit(ctx, "fresh", workflows.ExitRequest{TicketID: workflows.TicketID("fresh", 1)}); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.TerminateWorkflow(ctx, workflows.LotWorkflowID("fresh"), "", "test: restart the lot from scratch"); err != nil {
		t.Fatal(err)
	}
	if err := node.EnsureLots(ctx, env.API, env.Config); err != nil {
		t.Fatal(err)
	}
	if r := park("NEW1"); r.TicketID != workflows.TicketID("fresh", 4) {
		t.Errorf("first ticket after the restart %s, want %s", r.TicketID, workflows.TicketID("fresh", 4))
	}
	if r := park("NEW2"); r.TicketID != workflows.TicketID("fresh", 5) {
		t.Errorf("second ticket after the restart %s, want %s", r.TicketID, workflows.TicketID("fresh", 5))
	}
	if os.Getenv("PARKLOT_RECORD_HISTORIES") != "" {
		// The restarted run, with its refused child start and the skip
		// ahead, for TestReplayRecordedHistories:
		// PARKLOT_RECORD_HISTORIES=ticket-skip-ahead go test -run TestALotRestartedFromScratch ./workflows/
		writeHistory(t, env, workflows.LotWorkflowID("fresh"))
	}
}

// TestRecordParkingHistories records a lot's first run (ended by
// continue-as-new) and tickets that end every way a ticket can, for
// TestReplayRecordedHistories. Run it with
// PARKLOT_RECORD_PARKING_HISTORIES=1 go test -run TestRecordParkingHistories ./workflows/
// when the parking workflows change shape, and keep the old files.
func TestRecordParkingHistories(t *testing.T) {
	if os.Getenv("PARKLOT_RECORD_PARKING_HISTORIES") == "" {
		t.Skip("set PARKLOT_RECORD_PARKING_HISTORIES=1 to record parking histories into testdata/")
	}
	env := testenv.Start(t, lotConfig(t, "rec", `
    timezone: Europe/Berlin
    currency: EUR
    max_stay: 4s
    levels: [{name: G, rows: [{name: A, kind: regular, count: 4}, {name: B, kind: oversized, count: 1}]}]
    pricing:
      grace_period: 1s
      tiers: [{up_to: 2s, fee: 100}, {up_to: 3s, fee: 250}]
      hourly_rate: 400
      lost_ticket_fee: 2000
      surge: {threshold: 0.5, multiplier: 1.5}
`), testenv.Options{LotMaxUpdates: 8})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	park := func(v parking.Vehicle) workflows.ParkResult {
		t.Helper()
		r, err := env.API.Park(ctx, "rec", v)
		if err != nil {
			t.Fatalf("park %s: %v", v.Plate, err)
		}
		return r
	}
	exit := func(req workflows.ExitRequest) workflows.ExitResult {
		t.Helper()
		r, err := env.API.Exit(ctx, "rec", req)
		if err != nil {
			t.Fatalf("exit %+v: %v", req, err)
		}
		return r
	}
	closed := park(parking.Vehicle{Plate: "REC 1"})                        // 1: exits after its quote moved
	lost := park(parking.Vehicle{Plate: "REC 2", Type: parking.TypeTruck}) // 2: oversized, loses its ticket
	void := park(parking.Vehicle{Plate: "REC 3", WantsEV: true})           // 3: voided
	park(parking.Vehicle{Plate: "rec1"})                                   // refused: duplicate plate
	auto := park(parking.Vehicle{Plate: "REC 4", Type: parking.TypeVan})   // 4: surge, auto-closed
	time.Sleep(2500 * time.Millisecond)
	exit(workflows.ExitRequest{TicketID: closed.TicketID})
	exit(workflows.ExitRequest{Plate: "rec-2", Lost: true})
	if _, err := env.API.Void(ctx, void.TicketID, "recorded"); err != nil {
		t.Fatal(err)
	}
	// The void was the 8th update, which ended the first run; this refusal
	// goes to the second.
	exit(workflows.ExitRequest{TicketID: "rec-000042"})
	ids := []string{closed.TicketID, lost.TicketID, void.TicketID, auto.TicketID}
	deadline := time.Now().Add(30 * time.Second)
	for _, id := range ids {
		for {
			tv, err := env.API.Ticket(ctx, id)
			if err == nil && tv.Status != parking.TicketOpen {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("ticket %s still open: %+v %v", id, tv, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	st, err := env.API.LotStatus(ctx, "rec")
	if err != nil || st.Runs == 0 {
		t.Fatalf("the lot did not continue as new: %+v %v", st, err)
	}
	writeParkingHistory(t, env, workflows.LotWorkflowID("rec"), true)
	for _, id := range ids {
		writeParkingHistory(t, env, workflows.TicketWorkflowID(id), false)
	}
}

// writeParkingHistory writes a workflow's history as <id>.parking.history.json
// ("/" becomes "-"); firstRun picks the run that ended in continue-as-new.
func writeParkingHistory(t *testing.T, env *testenv.Env, workflowID string, firstRun bool) {
	t.Helper()
	ctx := context.Background()
	exec := &commonpb.WorkflowExecution{WorkflowId: workflowID}
	if firstRun {
		resp, err := env.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: env.Config.Temporal.Namespace,
			Query:     "WorkflowId = '" + workflowID + "' AND ExecutionStatus = 'ContinuedAsNew'",
		})
		if err != nil || len(resp.Executions) == 0 {
			t.Fatalf("no continued-as-new run of %s: %v", workflowID, err)
		}
		runs := resp.Executions
		slices.SortFunc(runs, func(a, b *workflowpb.WorkflowExecutionInfo) int {
			return a.GetStartTime().AsTime().Compare(b.GetStartTime().AsTime())
		})
		exec = runs[0].Execution
	}
	resp, err := env.Client.WorkflowService().GetWorkflowExecutionHistory(ctx, &workflowservice.GetWorkflowExecutionHistoryRequest{
		Namespace: env.Config.Temporal.Namespace, Execution: exec, MaximumPageSize: 10000,
	})
	if err != nil {
		t.Fatal(err)
	}
	data, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&historypb.History{Events: resp.GetHistory().GetEvents()})
	if err != nil {
		t.Fatal(err)
	}
	name := strings.ReplaceAll(workflowID, "/", "-") + ".parking.history.json"
	if err := os.WriteFile(filepath.Join("testdata", name), data, 0o644); err != nil {
		t.Fatal(err)
	}
}
