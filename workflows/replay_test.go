package workflows_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/parklot/parklot/domain/pool"
	"github.com/parklot/parklot/internal/testenv"
	"github.com/parklot/parklot/workflows"
)

// Histories recorded from real runs live in testdata/. Replaying them with
// the current code fails when a change would break running workflows; such a
// change needs workflow.GetVersion. Record new ones, named after the change,
// with PARKLOT_RECORD_HISTORIES=<label> go test -run TestRecordHistories ./workflows/
// and keep the old files.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.history.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no recorded histories in testdata/: record them (see the comment above)")
	}
	r := worker.NewWorkflowReplayer()
	workflows.Register(r)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
}

func TestRecordHistories(t *testing.T) {
	if os.Getenv("PARKLOT_RECORD_HISTORIES") == "" {
		t.Skip("set PARKLOT_RECORD_HISTORIES=1 to record new histories into testdata/")
	}
	env := testenv.Start(t, testenv.PoolConfig(t, "rec", 2, 10), testenv.Options{PoolManagerMaxSignals: 30})
	ctx := context.Background()
	// A scenario that exercises every command the workflows issue: admit,
	// queue, grant, expire, cancel queued and running, timeout, unknown pool,
	// a repeated acquire. The warm-up task makes the manager's decisions
	// leave from this process, so the next ones are handed over.
	submit(t, env, sleepTask("rec-warm", "rec", "acme", 1, 0))
	env.WaitStatus(t, "rec-warm", 30*time.Second, workflows.StatusCompleted)
	submit(t, env, sleepTask("rec-run", "rec", "acme", 1, 300*time.Millisecond))
	submit(t, env, sleepTask("rec-hold", "rec", "acme", 1, 2*time.Second))
	// As a task whose first workflow task failed after a handover would.
	if err := env.Client.SignalWorkflow(ctx, workflows.PoolWorkflowID("rec"), "", workflows.SignalAcquire,
		workflows.AcquireRequest{Request: pool.Request{TaskID: "rec-hold", Tenant: "acme", Units: 1}}); err != nil {
		t.Fatal(err)
	}
	submit(t, env, sleepTask("rec-queued", "rec", "globex", 1, 100*time.Millisecond))
	late := sleepTask("rec-late", "rec", "acme", 2, 0)
	late.Deadline = time.Now().Add(500 * time.Millisecond)
	submit(t, env, late)
	submit(t, env, sleepTask("rec-cancel-queued", "rec", "acme", 2, 0))
	if _, err := env.API.Cancel(ctx, "rec-cancel-queued"); err != nil {
		t.Fatal(err)
	}
	slow := sleepTask("rec-timeout", "rec", "acme", 1, time.Minute)
	slow.Timeout = 500 * time.Millisecond
	submit(t, env, slow)
	submit(t, env, sleepTask("rec-unknown", "nope", "acme", 1, 0))
	for _, id := range []string{"rec-run", "rec-hold", "rec-queued", "rec-late", "rec-cancel-queued", "rec-timeout", "rec-unknown"} {
		env.WaitStatus(t, id, 30*time.Second, workflows.StatusCompleted, workflows.StatusExpired, workflows.StatusDropped, workflows.StatusRejected, workflows.StatusFailed)
	}
	for i := range 20 {
		submit(t, env, sleepTask(fmt.Sprintf("rec-burst-%02d", i), "rec", "acme", 1, 0))
	}
	for i := range 20 {
		env.WaitStatus(t, fmt.Sprintf("rec-burst-%02d", i), 30*time.Second, workflows.StatusCompleted)
	}

	for _, id := range []string{"task/rec-run", "task/rec-queued", "task/rec-late", "task/rec-cancel-queued", "task/rec-timeout", "task/rec-unknown", "pool/rec"} {
		writeHistory(t, env, id)
	}
}

func writeHistory(t *testing.T, env *testenv.Env, workflowID string) {
	t.Helper()
	// For the manager this is its first run, which ended in continue-as-new.
	resp, err := env.Client.WorkflowService().GetWorkflowExecutionHistory(context.Background(), historyRequest(env, workflowID))
	if err != nil {
		t.Fatal(err)
	}
	h := &historypb.History{Events: resp.GetHistory().GetEvents()}
	data, err := protojson.MarshalOptions{Indent: "  "}.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	var pretty json.RawMessage = data
	name := strings.ReplaceAll(workflowID, "/", "-") + "." + os.Getenv("PARKLOT_RECORD_HISTORIES") + ".history.json"
	if err := os.WriteFile(filepath.Join("testdata", name), pretty, 0o644); err != nil {
		t.Fatal(err)
	}
}

func historyRequest(env *testenv.Env, workflowID string) *workflowservice.GetWorkflowExecutionHistoryRequest {
	req := &workflowservice.GetWorkflowExecutionHistoryRequest{
		Namespace:       env.Config.Temporal.Namespace,
		Execution:       &commonpb.WorkflowExecution{WorkflowId: workflowID},
		MaximumPageSize: 10000,
	}
	if strings.HasPrefix(workflowID, "pool/") {
		// The first run of the manager, which closed with continue-as-new.
		resp, err := env.Client.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: env.Config.Temporal.Namespace,
			Query:     "WorkflowId = '" + workflowID + "' AND ExecutionStatus = 'ContinuedAsNew'",
		})
		if err == nil && len(resp.Executions) > 0 {
			req.Execution = resp.Executions[len(resp.Executions)-1].Execution
		}
	}
	return req
}
