package activities

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"

	"github.com/parklot/parklot/executor"
	"github.com/parklot/parklot/workflows"
)

// completingClient is a signalClient that also records activity
// completions, in one log with the signals so their order shows.
type completingClient struct {
	signalClient
	mu          sync.Mutex
	log         []string
	completed   []workflows.ExecuteResult
	completeErr error
	// pending and describeErr answer DescribeWorkflowExecution.
	pending     []*workflowpb.PendingActivityInfo
	describeErr error
}

func (c *completingClient) DescribeWorkflowExecution(context.Context, string, string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.log = append(c.log, "describe")
	return &workflowservice.DescribeWorkflowExecutionResponse{PendingActivities: c.pending}, c.describeErr
}

func (c *completingClient) CompleteActivity(_ context.Context, _ []byte, result any, err error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.log = append(c.log, "complete")
	if err == nil {
		c.completed = append(c.completed, result.(workflows.ExecuteResult))
	}
	return c.completeErr
}

func (c *completingClient) SignalWorkflow(ctx context.Context, workflowID, runID string, name string, arg any) error {
	c.mu.Lock()
	c.log = append(c.log, "signal "+name+" "+workflowID)
	c.mu.Unlock()
	return c.signalClient.SignalWorkflow(ctx, workflowID, runID, name, arg)
}

func execute(t *testing.T, a *Activities, in workflows.ExecuteInput) (workflows.ExecuteResult, error) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	v, err := env.ExecuteActivity(workflows.ActivityExecute, in)
	var res workflows.ExecuteResult
	if err == nil {
		err = v.Get(&res)
	}
	return res, err
}

func sleepInput(release bool) workflows.ExecuteInput {
	return workflows.ExecuteInput{TaskID: "t1", Pool: "gpu", Kind: executor.KindSleep, Units: 1,
		Payload: json.RawMessage(`{"duration":"1ms"}`), ReleaseOnCompletion: release}
}

// Asked to, a successful run records its result with ReleasedAt and only
// then signals the release.
func TestASuccessfulRunRecordsItsResultAndThenReleases(t *testing.T) {
	c := &completingClient{}
	a := &Activities{Executors: executor.Builtins(nil), Client: c}
	if res, err := execute(t, a, sleepInput(true)); err != nil || res.ReleasedAt.IsZero() {
		t.Fatalf("returned %+v, %v; want the recorded result again", res, err)
	}
	if len(c.log) != 2 || c.log[0] != "complete" || c.log[1] != "signal "+workflows.SignalRelease+" pool/gpu" {
		t.Fatalf("calls %v; want the completion, then the release to pool/gpu", c.log)
	}
	got := c.completed[0]
	if got.ReleasedAt.IsZero() || string(got.Output) != `{"slept":"1ms"}` {
		t.Errorf("recorded %+v; want the output and a release time", got)
	}
	rel := c.signals()[0].Arg.(workflows.ReleaseRequest)
	if rel.TaskID != "t1" || rel.Outcome != workflows.StatusCompleted || !rel.ReleasedAt.Equal(got.ReleasedAt) {
		t.Errorf("release %+v; want t1 completed at the recorded release time", rel)
	}
}

// CompleteActivity may fail after the server recorded the result. The
// activity then asks the workflow: no longer pending means recorded, and
// the release is sent; still pending, or no answer, means it may run again,
// and nothing is released.
func TestAnAmbiguousRecordingReleasesOnlyWhenTheActivityIsNoLongerPending(t *testing.T) {
	c := &completingClient{completeErr: errors.New("connection reset")}
	a := &Activities{Executors: executor.Builtins(nil), Client: c}
	if res, err := execute(t, a, sleepInput(true)); err != nil || res.ReleasedAt.IsZero() {
		t.Errorf("recorded after all: %+v, %v; want the recorded result, with its release time", res, err)
	}
	if len(c.log) != 3 || c.log[1] != "describe" || c.log[2] != "signal "+workflows.SignalRelease+" pool/gpu" {
		t.Errorf("calls %v; want complete, describe, then the release", c.log)
	}

	c = &completingClient{completeErr: errors.New("connection reset"), describeErr: serviceerror.NewUnavailable("try later")}
	a = &Activities{Executors: executor.Builtins(nil), Client: c}
	if res, err := execute(t, a, sleepInput(true)); err != nil || !res.ReleasedAt.IsZero() || len(c.signals()) != 0 {
		t.Errorf("unknown: %+v, %v, signals %v; want the plain result and no release", res, err, c.signals())
	}

	info := activity.Info{ActivityID: "7"}
	info.WorkflowExecution.ID = "task/t1"
	c = &completingClient{pending: []*workflowpb.PendingActivityInfo{{ActivityId: "3"}, {ActivityId: "7", Attempt: 2}}}
	if (&Activities{Client: c}).resultRecorded(context.Background(), info) {
		t.Error("an activity still pending (retried) was taken as recorded")
	}
	c.pending = c.pending[:1]
	if !(&Activities{Client: c}).resultRecorded(context.Background(), info) {
		t.Error("an activity no longer pending was not taken as recorded")
	}
}

// If the result cannot be recorded first, nothing is released: the result
// goes back the ordinary way, without ReleasedAt, and the task releases.
// Without the request, and when the run fails, the activity never
// releases either.
func TestARunReleasesNothingUnlessItsResultWasRecordedFirst(t *testing.T) {
	// The test environment's activity id is not known here, so an
	// unanswered describe stands for "still pending" (resultRecorded is
	// tested on its own above).
	c := &completingClient{completeErr: serviceerror.NewUnavailable("try later"), describeErr: serviceerror.NewUnavailable("try later")}
	a := &Activities{Executors: executor.Builtins(nil), Client: c}
	res, err := execute(t, a, sleepInput(true))
	if err != nil || !res.ReleasedAt.IsZero() || len(c.signals()) != 0 {
		t.Errorf("failed recording: %+v, %v, signals %v; want the plain result and no release", res, err, c.signals())
	}

	c = &completingClient{}
	a = &Activities{Executors: executor.Builtins(nil), Client: c}
	if res, err := execute(t, a, sleepInput(false)); err != nil || !res.ReleasedAt.IsZero() || len(c.log) != 0 {
		t.Errorf("not asked: %+v, %v, calls %v; want the plain result and no call", res, err, c.log)
	}
	failing := sleepInput(true)
	failing.Payload = json.RawMessage(`{"duration":"not a duration"}`)
	if _, err := execute(t, a, failing); err == nil || len(c.log) != 0 {
		t.Errorf("failed run: %v, calls %v; want its error and no call", err, c.log)
	}
}
