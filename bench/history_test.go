package bench

import (
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/parklot/parklot/workflows"
)

// ev builds a history event at t0 + ms.
func ev(id int64, ms int, typ enumspb.EventType) *historypb.HistoryEvent {
	return &historypb.HistoryEvent{EventId: id, EventTime: timestamppb.New(at(ms)), EventType: typ}
}

func signaled(id int64, ms int, name string) *historypb.HistoryEvent {
	e := ev(id, ms, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
	e.Attributes = &historypb.HistoryEvent_WorkflowExecutionSignaledEventAttributes{
		WorkflowExecutionSignaledEventAttributes: &historypb.WorkflowExecutionSignaledEventAttributes{SignalName: name},
	}
	return e
}

func initiated(id int64, ms int, byTask int64) *historypb.HistoryEvent {
	e := ev(id, ms, enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED)
	e.Attributes = &historypb.HistoryEvent_SignalExternalWorkflowExecutionInitiatedEventAttributes{
		SignalExternalWorkflowExecutionInitiatedEventAttributes: &historypb.SignalExternalWorkflowExecutionInitiatedEventAttributes{WorkflowTaskCompletedEventId: byTask},
	}
	return e
}

func TestAnalyseManagerFollowsSignalsThroughWorkflowTasks(t *testing.T) {
	const (
		scheduled = enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED
		started   = enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED
		completed = enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
	)
	run1 := []*historypb.HistoryEvent{
		ev(1, 0, scheduled), ev(2, 1, started), ev(3, 3, completed), // woken by nothing
		signaled(4, 10, "acquire"), signaled(5, 11, "acquire"),
		ev(6, 10, scheduled), ev(7, 12, started), ev(8, 15, completed), // applies both acquires
		initiated(9, 15, 8), initiated(10, 15, 8),
		ev(11, 16, enumspb.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED),
		ev(12, 16, enumspb.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED),
		ev(13, 16, scheduled), ev(14, 17, started), ev(15, 18, enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED),
		signaled(16, 19, "release"),
		ev(17, 19, scheduled), ev(18, 20, started), ev(19, 22, completed), // applies the release
		ev(20, 22, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW),
	}
	run2 := []*historypb.HistoryEvent{
		ev(1, 23, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED),
		ev(2, 23, scheduled), ev(3, 24, started), ev(4, 30, completed),
		initiated(5, 30, 4),
	}
	h := analyseManager([][]*historypb.HistoryEvent{run1, run2})

	if h.Runs != 2 || h.Events != 25 {
		t.Errorf("runs %d events %d, want 2 and 25", h.Runs, h.Events)
	}
	if h.WorkflowTasks != 4 || h.WorkflowTaskFailures != 1 || h.IdleWorkflowTasks != 2 {
		t.Errorf("workflow tasks %d failures %d idle %d, want 4, 1, 2", h.WorkflowTasks, h.WorkflowTaskFailures, h.IdleWorkflowTasks)
	}
	if h.SignalsReceived["acquire"] != 2 || h.SignalsReceived["release"] != 1 || h.SignalsSent != 3 || h.SignalAcks != 2 {
		t.Errorf("signals %v sent %d acks %d, want acquire 2 release 1, 3 sent, 2 acks", h.SignalsReceived, h.SignalsSent, h.SignalAcks)
	}
	if want := (Spread{Mean: 0.75, P50: 0, P95: 2, Max: 2}); h.SignalsPerWorkflowTask != want {
		t.Errorf("signals per workflow task %+v, want %+v", h.SignalsPerWorkflowTask, want)
	}
	// Decisions: 0 (wft 3), 2 (wft 8), 0 (wft 19) in run 1; 1 (wft 4) in run 2.
	if want := (Spread{Mean: 0.75, P50: 0, P95: 2, Max: 2}); h.DecisionsPerTask != want {
		t.Errorf("decisions per workflow task %+v, want %+v", h.DecisionsPerTask, want)
	}
	// Turnarounds 5, 4 and 3 ms; the continue-as-new pause 8 ms.
	if want := (Latency{Count: 3, P50: 4, P95: 5, P99: 5, Max: 5}); h.TurnaroundMs != want {
		t.Errorf("turnaround %+v, want %+v", h.TurnaroundMs, want)
	}
	if want := (Latency{Count: 1, P50: 8, P95: 8, P99: 8, Max: 8}); h.ContinueAsNewPauseMs != want {
		t.Errorf("continue-as-new pause %+v, want %+v", h.ContinueAsNewPauseMs, want)
	}
	// The gap runs from the completion at 15 ms, the last before the one
	// that continued as new, over the failed attempt and its retry, to the
	// new run's first completion at 30 ms.
	if want := (Latency{Count: 1, P50: 15, P95: 15, P99: 15, Max: 15}); h.ContinueAsNewGapMs != want {
		t.Errorf("continue-as-new gap %+v, want %+v", h.ContinueAsNewGapMs, want)
	}
	// Schedule-to-start 1, 2, 1, 1, 1 ms; start-to-complete 2, 3, 2, 6 ms
	// (the failed attempt is not a completion).
	if h.ScheduleToStartMs.Count != 5 || h.StartToCompleteMs.Count != 4 || h.StartToCompleteMs.Max != 6 {
		t.Errorf("schedule→start %+v start→complete %+v", h.ScheduleToStartMs, h.StartToCompleteMs)
	}
	if h.SpanSeconds != 0.03 {
		t.Errorf("span %v s, want 0.03", h.SpanSeconds)
	}
}

// marker builds the marker the SDK records for a local activity's result.
func marker(t *testing.T, activityType string, result any) *historypb.HistoryEvent {
	t.Helper()
	dc := converter.GetDefaultDataConverter()
	data, err := dc.ToPayloads(struct{ ActivityType string }{activityType})
	if err != nil {
		t.Fatal(err)
	}
	res, err := dc.ToPayloads(result)
	if err != nil {
		t.Fatal(err)
	}
	e := ev(1, 0, enumspb.EVENT_TYPE_MARKER_RECORDED)
	e.Attributes = &historypb.HistoryEvent_MarkerRecordedEventAttributes{MarkerRecordedEventAttributes: &historypb.MarkerRecordedEventAttributes{
		MarkerName: localActivityMarker, Details: map[string]*commonpb.Payloads{"data": data, "result": res},
	}}
	return e
}

func TestMarkersAreReadByTheirActivityType(t *testing.T) {
	batch := marker(t, workflows.ActivitySignalWorkflows, workflows.SignalBatchResult{Sent: 3, HandedOver: 2})
	acquire := marker(t, workflows.ActivitySendAcquire, workflows.SendAcquireResult{Decision: &workflows.Decision{Kind: workflows.DecisionQueued, Position: 2}})
	if res, ok := signalBatchMarker(batch); !ok || res.Sent != 3 || res.HandedOver != 2 {
		t.Errorf("SignalWorkflows marker read as %+v, %v", res, ok)
	}
	if res, ok := sendAcquireMarker(acquire); !ok || res.Decision == nil || res.Decision.Position != 2 {
		t.Errorf("SendAcquire marker read as %+v, %v", res, ok)
	}
	if _, ok := signalBatchMarker(acquire); ok {
		t.Error("a SendAcquire marker was read as a SignalWorkflows one")
	}
	if _, ok := sendAcquireMarker(batch); ok {
		t.Error("a SignalWorkflows marker was read as a SendAcquire one")
	}
}
