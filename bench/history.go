package bench

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/parklot/parklot/workflows"
)

// Counting workflow task failures across every workflow of a run would mean
// reading every history. The bench reads the whole history of each pool
// manager over the run (every run it continued into), which also tells
// where the manager's time went, and a sample of task histories; it does not
// read the server's metrics, so the figures are the same in-process and
// against a cluster.

// managerMark is where a manager's history stood before the run.
type managerMark struct {
	RunID  string
	Events int64
}

func markManager(ctx context.Context, c client.Client, poolName string) (managerMark, error) {
	d, err := c.DescribeWorkflowExecution(ctx, workflows.PoolWorkflowID(poolName), "")
	if err != nil {
		return managerMark{}, fmt.Errorf("describe the manager of pool %s: %w", poolName, err)
	}
	info := d.GetWorkflowExecutionInfo()
	return managerMark{RunID: info.GetExecution().GetRunId(), Events: info.GetHistoryLength()}, nil
}

// ManagerHistory is what a pool manager's history says about the run.
type ManagerHistory struct {
	// Runs is how many runs recorded events during the bench.
	Runs   int `json:"runs"`
	Events int `json:"events"`
	// WorkflowTasks counts completed workflow tasks; failures counts the
	// failed and timed-out ones, by cause.
	WorkflowTasks        int            `json:"workflowTasks"`
	WorkflowTaskFailures int            `json:"workflowTaskFailures"`
	FailureCauses        map[string]int `json:"failureCauses,omitempty"`
	// SignalsReceived by signal name; SignalsSent are the decisions the
	// manager sent, SignalAcks the acknowledgements of those sent as signal
	// commands (each one an event that wakes the manager again).
	// LocalSignalBatches counts the SignalWorkflows local activities that
	// sent the others, one per workflow task at most.
	SignalsReceived    map[string]int `json:"signalsReceived"`
	SignalsSent        int            `json:"signalsSent"`
	LocalSignalBatches int            `json:"localSignalBatches"`
	// DecisionsHandedOver are the SignalsSent that went in memory to a
	// task waiting in SendAcquire in the same process, with no signal.
	DecisionsHandedOver int `json:"decisionsHandedOver"`
	SignalAcks          int `json:"signalAcks"`
	SignalsFailed       int `json:"signalsFailed"`
	// SignalFailures are the failed decisions, by cause and target.
	SignalFailures []string `json:"signalFailures,omitempty"`
	Activities     int      `json:"activities"`
	Timers         int      `json:"timers"`
	// SignalsPerWorkflowTask is how many incoming signals each completed
	// workflow task applied; IdleWorkflowTasks applied none (woken by
	// acknowledgements, timers or activities only).
	SignalsPerWorkflowTask Spread `json:"signalsPerWorkflowTask"`
	DecisionsPerTask       Spread `json:"decisionsPerWorkflowTask"`
	IdleWorkflowTasks      int    `json:"idleWorkflowTasks"`
	// ScheduleToStartMs is how long workflow tasks waited for the worker;
	// StartToCompleteMs how long the worker took, round trip included.
	ScheduleToStartMs Latency `json:"scheduleToStartMs"`
	StartToCompleteMs Latency `json:"startToCompleteMs"`
	// TurnaroundMs is, per incoming signal, the time from its arrival in
	// history to the completion of the workflow task that applied it: the
	// manager's share of every decision's latency.
	TurnaroundMs Latency `json:"turnaroundMs"`
	// ContinueAsNewPauseMs is, per continue-as-new, the time from the old
	// run's last event to the new run's first completed workflow task.
	ContinueAsNewPauseMs Latency `json:"continueAsNewPauseMs"`
	// ContinueAsNewWaitMs is the part of each pause the new run's first
	// workflow task spent waiting for a worker (scheduled to started).
	ContinueAsNewWaitMs Latency `json:"continueAsNewWaitMs"`
	// ContinueAsNewGapMs is, per continue-as-new, the time from the
	// completion of the old run's last workflow task before the one that
	// continued as new to the new run's first completed workflow task: the
	// whole stretch in which no decision left, failed attempts to continue
	// as new (and the replays after them) included.
	ContinueAsNewGapMs Latency `json:"continueAsNewGapMs"`
	// SpanSeconds is the first to the last event of the run; BusyShare the
	// part of it a workflow task was in flight (started, not completed),
	// QueuedShare the part one waited for a worker.
	SpanSeconds float64 `json:"spanSeconds"`
	BusyShare   float64 `json:"busyShare"`
	QueuedShare float64 `json:"queuedShare"`
}

// Spread summarises small counts.
type Spread struct {
	Mean float64 `json:"mean"`
	P50  int     `json:"p50"`
	P95  int     `json:"p95"`
	Max  int     `json:"max"`
}

func spreadOf(xs []int) Spread {
	if len(xs) == 0 {
		return Spread{}
	}
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	at := func(p float64) int {
		rank := int(math.Ceil(p / 100 * float64(len(sorted))))
		return sorted[min(max(rank, 1), len(sorted))-1]
	}
	sum := 0
	for _, x := range xs {
		sum += x
	}
	return Spread{
		Mean: math.Round(float64(sum)/float64(len(xs))*100) / 100,
		P50:  at(50),
		P95:  at(95),
		Max:  sorted[len(sorted)-1],
	}
}

// scanManager reads the manager's runs from the current one back to the run
// marked before the bench, and analyses the events recorded since the mark.
func scanManager(ctx context.Context, c client.Client, poolName string, from managerMark) (ManagerHistory, error) {
	wid := workflows.PoolWorkflowID(poolName)
	d, err := c.DescribeWorkflowExecution(ctx, wid, "")
	if err != nil {
		return ManagerHistory{}, fmt.Errorf("describe the manager of pool %s: %w", poolName, err)
	}
	var runs [][]*historypb.HistoryEvent // newest first
	runID := d.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	for len(runs) < 100000 {
		var events []*historypb.HistoryEvent
		it := c.GetWorkflowHistory(ctx, wid, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				return ManagerHistory{}, fmt.Errorf("read the history of %s run %s: %w", wid, runID, err)
			}
			events = append(events, e)
		}
		if runID == from.RunID {
			kept := events[:0]
			for _, e := range events {
				if e.GetEventId() > from.Events {
					kept = append(kept, e)
				}
			}
			runs = append(runs, kept)
			break
		}
		runs = append(runs, events)
		prev := ""
		if len(events) > 0 {
			prev = events[0].GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId()
		}
		if prev == "" {
			break // started afresh during the run: nothing older belongs to it
		}
		runID = prev
	}
	for i, j := 0, len(runs)-1; i < j; i, j = i+1, j-1 {
		runs[i], runs[j] = runs[j], runs[i]
	}
	return analyseManager(runs), nil
}

// analyseManager computes ManagerHistory from runs in order, oldest first.
func analyseManager(runs [][]*historypb.HistoryEvent) ManagerHistory {
	h := ManagerHistory{SignalsReceived: map[string]int{}, FailureCauses: map[string]int{}}
	var sched2start, start2done, turnaround, canPause, canWait, canGap []time.Duration
	var perWFT, decisions []int
	var first, last time.Time
	var busy, queued time.Duration
	var canAt, gapFrom time.Time
	for _, events := range runs {
		if len(events) > 0 {
			h.Runs++
		}
		var scheduledAt, startedAt time.Time
		var pending, batch []time.Time // arrival times of signals
		firstWFT := true
		var prevDone, lastDone time.Time // the run's last two workflow task completions
		var runFirst time.Time
		sentBy := map[int64]int{} // decisions by the workflow task that sent them
		for _, e := range events {
			h.Events++
			at := e.GetEventTime().AsTime()
			if first.IsZero() {
				first = at
			}
			last = at
			if runFirst.IsZero() {
				runFirst = at
			}
			switch e.GetEventType() {
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
				scheduledAt = at
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
				startedAt = at
				batch, pending = pending, nil
				if !scheduledAt.IsZero() {
					sched2start = append(sched2start, at.Sub(scheduledAt))
					queued += at.Sub(scheduledAt)
				}
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
				h.WorkflowTasks++
				if !startedAt.IsZero() {
					start2done = append(start2done, at.Sub(startedAt))
					busy += at.Sub(startedAt)
				}
				perWFT = append(perWFT, len(batch))
				if len(batch) == 0 {
					h.IdleWorkflowTasks++
				}
				for _, s := range batch {
					turnaround = append(turnaround, at.Sub(s))
				}
				batch = nil
				prevDone, lastDone = lastDone, at
				if firstWFT && !gapFrom.IsZero() {
					canGap = append(canGap, at.Sub(gapFrom))
				}
				if firstWFT && !canAt.IsZero() {
					canPause = append(canPause, at.Sub(canAt))
					if !scheduledAt.IsZero() && !startedAt.IsZero() {
						canWait = append(canWait, startedAt.Sub(scheduledAt))
					}
				}
				firstWFT = false
				sentBy[e.GetEventId()] = 0
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED:
				h.WorkflowTaskFailures++
				h.FailureCauses[e.GetWorkflowTaskFailedEventAttributes().GetCause().String()]++
				pending = append(batch, pending...)
				batch = nil
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
				h.WorkflowTaskFailures++
				h.FailureCauses["TIMED_OUT_"+e.GetWorkflowTaskTimedOutEventAttributes().GetTimeoutType().String()]++
				pending = append(batch, pending...)
				batch = nil
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
				h.SignalsReceived[e.GetWorkflowExecutionSignaledEventAttributes().GetSignalName()]++
				pending = append(pending, at)
			case enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
				h.SignalsSent++
				sentBy[e.GetSignalExternalWorkflowExecutionInitiatedEventAttributes().GetWorkflowTaskCompletedEventId()]++
			case enumspb.EVENT_TYPE_MARKER_RECORDED:
				la, ok := signalBatchMarker(e)
				if !ok {
					break
				}
				h.LocalSignalBatches++
				h.SignalsSent += la.Sent
				h.DecisionsHandedOver += la.HandedOver
				h.SignalsFailed += len(la.NotFound) + len(la.Failed)
				sentBy[e.GetMarkerRecordedEventAttributes().GetWorkflowTaskCompletedEventId()] += la.Sent
			case enumspb.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED:
				h.SignalAcks++
			case enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED:
				h.SignalsFailed++
				if a := e.GetSignalExternalWorkflowExecutionFailedEventAttributes(); len(h.SignalFailures) < 20 {
					h.SignalFailures = append(h.SignalFailures, fmt.Sprintf("%s %s at %s",
						a.GetCause(), a.GetWorkflowExecution().GetWorkflowId(), at.Format(time.RFC3339Nano)))
				}
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
				h.Activities++
			case enumspb.EVENT_TYPE_TIMER_STARTED:
				h.Timers++
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
				canAt = at
				gapFrom = cmp.Or(prevDone, runFirst)
			}
		}
		for _, n := range sentBy {
			decisions = append(decisions, n)
		}
	}
	if len(h.FailureCauses) == 0 {
		h.FailureCauses = nil
	}
	h.SignalsPerWorkflowTask = spreadOf(perWFT)
	h.DecisionsPerTask = spreadOf(decisions)
	h.ScheduleToStartMs = Summarize(sched2start)
	h.StartToCompleteMs = Summarize(start2done)
	h.TurnaroundMs = Summarize(turnaround)
	h.ContinueAsNewPauseMs = Summarize(canPause)
	h.ContinueAsNewWaitMs = Summarize(canWait)
	h.ContinueAsNewGapMs = Summarize(canGap)
	if span := last.Sub(first); span > 0 {
		h.SpanSeconds = round3(span.Seconds())
		h.BusyShare = round3(busy.Seconds() / span.Seconds())
		h.QueuedShare = round3(queued.Seconds() / span.Seconds())
	}
	return h
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// TaskHistory is what a sample of task histories says about a task's
// lifecycle on Temporal.
type TaskHistory struct {
	Sampled              int     `json:"sampled"`
	EventsPerTask        float64 `json:"eventsPerTask"`
	WorkflowTasksPerTask float64 `json:"workflowTasksPerTask"`
	ActivitiesPerTask    float64 `json:"activitiesPerTask"`
	SignalsSentPerTask   float64 `json:"signalsSentPerTask"`
	// HandedOverShare is the share of sampled tasks whose first decision
	// came back with their acquire instead of as a signal.
	HandedOverShare float64 `json:"handedOverShare"`
	// LocalActivitiesPerTask counts local activities (signals to the pool,
	// audit writes, the first delivery attempt): a marker event each, run
	// inside a workflow task.
	LocalActivitiesPerTask float64 `json:"localActivitiesPerTask"`
	// WorkflowTaskFailures in the sampled histories (failed or timed out).
	WorkflowTaskFailures int `json:"workflowTaskFailures"`
	// Activities by type across the sample.
	ActivityTypes map[string]int `json:"activityTypes,omitempty"`
	// What a task's hold is made of, from the Execute activity's events:
	// waiting for an activity worker, running, and waiting for the workflow
	// task that records the completion (and then signals the release).
	ExecuteScheduleToStartMs   Latency `json:"executeScheduleToStartMs"`
	ExecuteRunMs               Latency `json:"executeRunMs"`
	CompletionToWorkflowTaskMs Latency `json:"completionToWorkflowTaskMs"`
	// ScheduleToStartMs is how long the sampled tasks' workflow tasks
	// waited for a worker.
	ScheduleToStartMs Latency `json:"scheduleToStartMs"`
}

// sampleHistories reads the histories of n of the workflows, spread evenly
// over the run ("" ids are skipped).
func sampleHistories(ctx context.Context, c client.Client, ids []string, n int) TaskHistory {
	th := TaskHistory{ActivityTypes: map[string]int{}}
	if n <= 0 || len(ids) == 0 {
		return th
	}
	n = min(n, len(ids))
	var events, wfts, acts, sent, locals, handedOver int
	var execWait, execRun, toWFT, wftWait []time.Duration
	for k := range n {
		id := ids[k*len(ids)/n]
		if id == "" {
			continue
		}
		var hist []*historypb.HistoryEvent
		it := c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				hist = nil
				break
			}
			hist = append(hist, e)
		}
		if len(hist) == 0 {
			continue
		}
		th.Sampled++
		var execID int64
		var execScheduled, execStarted, execDone, wftScheduled time.Time
		for _, e := range hist {
			at := e.GetEventTime().AsTime()
			events++
			switch e.GetEventType() {
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
				wftScheduled = at
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
				if !wftScheduled.IsZero() {
					wftWait = append(wftWait, at.Sub(wftScheduled))
				}
				if !execDone.IsZero() {
					toWFT = append(toWFT, at.Sub(execDone))
					execDone = time.Time{}
				}
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
				wfts++
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED, enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
				th.WorkflowTaskFailures++
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
				acts++
				name := e.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()
				th.ActivityTypes[name]++
				if name == workflows.ActivityExecute {
					execID, execScheduled = e.GetEventId(), at
				}
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
				if e.GetActivityTaskStartedEventAttributes().GetScheduledEventId() == execID {
					execStarted = at
					execWait = append(execWait, at.Sub(execScheduled))
				}
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
				if e.GetActivityTaskCompletedEventAttributes().GetScheduledEventId() == execID {
					execDone = at
					execRun = append(execRun, at.Sub(execStarted))
				}
			case enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
				sent++
			case enumspb.EVENT_TYPE_MARKER_RECORDED:
				if e.GetMarkerRecordedEventAttributes().GetMarkerName() == localActivityMarker {
					locals++
				}
				if la, ok := signalBatchMarker(e); ok {
					sent += la.Sent
				}
				if sa, ok := sendAcquireMarker(e); ok {
					if !sa.NotFound && !sa.Failed {
						sent++
					}
					if sa.Decision != nil {
						handedOver++
					}
				}
			}
		}
	}
	if th.Sampled > 0 {
		per := func(x int) float64 { return math.Round(float64(x)/float64(th.Sampled)*100) / 100 }
		th.EventsPerTask, th.WorkflowTasksPerTask, th.ActivitiesPerTask, th.SignalsSentPerTask = per(events), per(wfts), per(acts), per(sent)
		th.LocalActivitiesPerTask = per(locals)
		th.HandedOverShare = per(handedOver)
	}
	th.ExecuteScheduleToStartMs = Summarize(execWait)
	th.ExecuteRunMs = Summarize(execRun)
	th.CompletionToWorkflowTaskMs = Summarize(toWFT)
	th.ScheduleToStartMs = Summarize(wftWait)
	return th
}

// localActivityMarker is the marker name the Go SDK records a local
// activity's result under.
const localActivityMarker = "LocalActivity"

// signalBatchMarker reads the result of a SignalWorkflows local activity
// from its marker.
func signalBatchMarker(e *historypb.HistoryEvent) (workflows.SignalBatchResult, bool) {
	var res workflows.SignalBatchResult
	return res, localActivityResult(e, workflows.ActivitySignalWorkflows, &res)
}

// sendAcquireMarker reads the result of a task's SendAcquire local activity
// from its marker.
func sendAcquireMarker(e *historypb.HistoryEvent) (workflows.SendAcquireResult, bool) {
	var res workflows.SendAcquireResult
	return res, localActivityResult(e, workflows.ActivitySendAcquire, &res)
}

// localActivityResult decodes into out the result of a local activity of
// the given type recorded by the marker e, and reports whether e is one.
func localActivityResult(e *historypb.HistoryEvent, activityType string, out any) bool {
	a := e.GetMarkerRecordedEventAttributes()
	if a.GetMarkerName() != localActivityMarker {
		return false
	}
	var meta struct{ ActivityType string }
	dc := converter.GetDefaultDataConverter()
	if dc.FromPayloads(a.GetDetails()["data"], &meta) != nil || meta.ActivityType != activityType {
		return false
	}
	return dc.FromPayloads(a.GetDetails()["result"], out) == nil
}
