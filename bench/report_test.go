package bench

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/parklot/parklot/workflows"
)

// outcome is a finished task of pool "p" with the given timeline.
func outcome(id, decision string, units int64, submitted, started, completed int) *taskOutcome {
	o := &taskOutcome{spec: Spec{Pool: "p", Units: units}, id: id, latency: time.Millisecond,
		decision: workflows.TaskStatus{Status: decision}}
	o.final = workflows.TaskStatus{TaskID: id, Status: workflows.StatusCompleted, Units: units,
		SubmittedAt: at(submitted), StartedAt: at(started), CompletedAt: at(completed)}
	return o
}

// reportOf reports outs of a 2-unit pool whose manager counted admitted
// and granted starts.
func reportOf(outs []*taskOutcome, admitted, granted int64) *Report {
	r := newReport(Target{}, Options{})
	r.addPool(PoolSpec{Name: "p", MaxUnits: 2}, workflows.PoolState{}, poolState(2, admitted, granted), ManagerHistory{})
	r.addTasks(outs)
	r.finish()
	return r
}

func poolState(units, admitted, granted int64) workflows.PoolState {
	var st workflows.PoolState
	st.Config.MaxUnits = units
	st.Counters.Admitted, st.Counters.Granted = admitted, granted
	return st
}

func TestAReportOfAHealthyRunPasses(t *testing.T) {
	r := reportOf([]*taskOutcome{
		outcome("a", workflows.StatusRunning, 1, 0, 1, 100),
		outcome("b", workflows.StatusRunning, 1, 0, 1, 100),
		outcome("c", workflows.StatusQueued, 2, 0, 120, 200),
	}, 2, 1)
	if r.Failed() || r.MaxActiveUnits != 2 || r.MaxUnits != 2 || r.Duplicates != 0 || r.Inconsistent != 0 {
		t.Fatalf("healthy run reported %+v", r)
	}
	if r.ReleaseToStartMs.Count != 1 || r.ReleaseToStartMs.P95 != 20 || r.StartedWithin1s == nil || *r.StartedWithin1s != 1 {
		t.Errorf("release→start %+v within 1 s %v, want one of 20 ms, 100 %%", r.ReleaseToStartMs, r.StartedWithin1s)
	}
	if r.Throughput != 15 { // 3 tasks in 200 ms
		t.Errorf("throughput %v, want 15", r.Throughput)
	}
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("report is not one JSON document: %v", err)
	}
	for _, key := range []string{"throughput", "bareThroughput", "slotsThroughput", "releaseToStartMs", "startedWithin1s", "maxActiveUnits", "maxUnits", "lost", "duplicates"} {
		if _, ok := doc[key]; !ok {
			t.Errorf("JSON report lacks %q", key)
		}
	}
	for _, key := range []string{"p50", "p95", "p99"} {
		if _, ok := doc["releaseToStartMs"].(map[string]any)[key]; !ok {
			t.Errorf("releaseToStartMs lacks %q", key)
		}
	}
	buf.Reset()
	if err := r.WriteText(&buf); err != nil || !strings.Contains(buf.String(), "RESULT                OK") {
		t.Errorf("text report (err %v):\n%s", err, buf.String())
	}
}

func TestAReportFailsOnWhatMustNeverHappen(t *testing.T) {
	overCapacity := reportOf([]*taskOutcome{
		outcome("a", workflows.StatusRunning, 2, 0, 1, 100),
		outcome("b", workflows.StatusRunning, 1, 0, 50, 150),
	}, 2, 0)
	if !overCapacity.Failed() || overCapacity.CapacityViolations != 1 || overCapacity.MaxActiveUnits != 3 {
		t.Errorf("3 units held in a 2-unit pool: violations %d max %d failed %v", overCapacity.CapacityViolations, overCapacity.MaxActiveUnits, overCapacity.Failed())
	}

	lost := outcome("l", workflows.StatusQueued, 1, 0, 0, 0)
	lost.state = outcomeLost
	r := reportOf([]*taskOutcome{outcome("a", workflows.StatusRunning, 1, 0, 1, 100), lost}, 1, 0)
	if !r.Failed() || r.Lost != 1 {
		t.Errorf("a lost task: lost %d failed %v", r.Lost, r.Failed())
	}

	// The manager counted two starts for one task that saw itself start.
	r = reportOf([]*taskOutcome{outcome("a", workflows.StatusRunning, 1, 0, 1, 100)}, 1, 1)
	if !r.Failed() || r.Duplicates != 1 {
		t.Errorf("two starts counted for one task: duplicates %d failed %v", r.Duplicates, r.Failed())
	}

	backwards := outcome("x", workflows.StatusRunning, 1, 0, 100, 50)
	r = reportOf([]*taskOutcome{backwards}, 1, 0)
	if !r.Failed() || r.Inconsistent != 1 {
		t.Errorf("completed before it started: inconsistent %d failed %v", r.Inconsistent, r.Failed())
	}
}

func TestBucketLatencyReadsTheRunOutOfTheManagersHistogram(t *testing.T) {
	var before, after workflows.Histogram
	before.Observe(3 * time.Second) // before the run: must not count
	after = before
	after.Counts = append([]uint64(nil), before.Counts...)
	for range 90 {
		after.Observe(20 * time.Millisecond) // bucket ≤ 25 ms
	}
	for range 9 {
		after.Observe(400 * time.Millisecond) // bucket ≤ 500 ms
	}
	after.Observe(time.Hour) // above every bound
	got := bucketLatency(before, after)
	want := BucketLatency{Count: 100, P50LE: 25, P95LE: 500, P99LE: 500}
	if got != want {
		t.Errorf("bucketLatency = %+v, want %+v", got, want)
	}
	after.Observe(time.Hour)
	if got := bucketLatency(before, after); got.P99LE != -1 {
		t.Errorf("p99 above every bound = %v, want -1", got.P99LE)
	}
}
