package bench

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// TestBenchSmoke runs the whole bench, baselines included, on an in-process
// server: a burst of 200 zero-length tasks into 4 units. It asserts what
// must always hold and that every figure is filled in, never a timing.
func TestBenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an in-process Temporal server; run without -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	o := Options{
		Tasks: 200, Pools: LocalPools(1, 4), TaskUnits: UnitRange{1, 1}, Priorities: PrioritiesNormal, Tenants: 2,
		Baselines: []string{BaselineBare, BaselineSlots, BaselineMinimal}, Concurrency: 32, Timeout: 5 * time.Minute, Seed: 1, HistorySample: 5,
	}
	local, err := StartLocal(ctx, LocalOptions{Pools: o.Pools, QueueDepth: o.Tasks, DefaultTimeout: TaskTimeout(o)})
	if err != nil {
		t.Fatalf("start the server and node: %v", err)
	}
	defer local.Stop()
	r, err := Run(ctx, local.Target(), o)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	var text bytes.Buffer
	_ = r.WriteText(&text)
	t.Logf("report:\n%s", text.String())

	if r.Failed() || r.CapacityViolations != 0 || r.Lost != 0 || r.Duplicates != 0 || r.Inconsistent != 0 {
		t.Errorf("violations %d, lost %d, duplicates %d, inconsistent %d %v: want none",
			r.CapacityViolations, r.Lost, r.Duplicates, r.Inconsistent, r.InconsistentExamples)
	}
	if r.Statuses["completed"] != o.Tasks || r.Parklot.Ran != o.Tasks {
		t.Errorf("final statuses %v, %d ran: want all %d completed", r.Statuses, r.Parklot.Ran, o.Tasks)
	}
	if r.Decisions["running"]+r.Decisions["queued"] != o.Tasks || r.Decisions["queued"] == 0 {
		t.Errorf("submission answers %v: want every task running or queued, some queued", r.Decisions)
	}
	if r.MaxUnits != 4 || r.MaxActiveUnits < 1 || r.MaxActiveUnits > 4 {
		t.Errorf("max active units %d of %d", r.MaxActiveUnits, r.MaxUnits)
	}
	populated := map[string]bool{
		"throughput":         r.Throughput > 0,
		"bareThroughput":     r.BareThroughput != nil && *r.BareThroughput > 0,
		"slotsThroughput":    r.SlotsThroughput != nil && *r.SlotsThroughput > 0,
		"parklotToBare":      r.ParklotToBare != nil,
		"parklotToSlots":     r.ParklotToSlots != nil,
		"minimalThroughput":  r.MinimalThroughput != nil && *r.MinimalThroughput > 0,
		"parklotToMinimal":   r.ParklotToMinimal != nil,
		"submitToDecisionMs": r.SubmitToDecisionMs.Count == o.Tasks,
		"releaseToStartMs":   r.ReleaseToStartMs.Count > 0 && r.ReleaseToStartMs.Count == r.Decisions["queued"],
		"startedWithin1s":    r.StartedWithin1s != nil,
		"targets":            r.Targets.ReleaseToStartP95Under250ms != nil && r.Targets.StartedWithin1sAtLeast95 != nil && r.Targets.ThroughputAtLeast07Bare != nil,
		"manager history":    len(r.Pools) == 1 && r.Pools[0].Manager.WorkflowTasks > 0 && r.Pools[0].Manager.SignalsReceived["acquire"] >= o.Tasks,
		"manager counters":   len(r.Pools) == 1 && r.Pools[0].Counters.Admitted+r.Pools[0].Counters.Granted == int64(o.Tasks),
		// Manager and tasks share the process, so decisions are handed over.
		"decisions handed over": len(r.Pools) == 1 && r.Pools[0].Manager.DecisionsHandedOver > 0,
		"task histories":        r.TaskHistory.Sampled == 5 && r.TaskHistory.WorkflowTasksPerTask > 0,
		"load":                  r.Load.Before != "" && r.Load.After != "",
	}
	for name, ok := range populated {
		if !ok {
			t.Errorf("%s is not populated", name)
		}
	}
	for _, b := range []string{BaselineBare, BaselineSlots, BaselineMinimal} {
		// For bare, Failed also counts an outcome its mailbox never got.
		if br := r.Baselines[b]; br == nil || br.Ran != o.Tasks || br.Lost != 0 || br.Failed != 0 || br.SubmitErrors != 0 {
			t.Errorf("baseline %s: %+v, want all %d ran and succeeded", b, br, o.Tasks)
		}
	}
	// bare is Parklot's lifecycle without the pool: its tasks upsert their
	// status and write audit events from local activities, as Parklot's do.
	if h := r.Baselines[BaselineBare].History; h.LocalActivitiesPerTask == 0 || h.EventsPerTask <= r.Baselines[BaselineMinimal].History.EventsPerTask {
		t.Errorf("bare baseline history %+v: want the task lifecycle, longer than minimal's %+v", h, r.Baselines[BaselineMinimal].History)
	}
}
