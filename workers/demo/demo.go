// Package demo owns the small workload `parklot-worker dev --demo` submits:
// more work than the demo pool holds, across tenants and priorities, so a
// newcomer sees tasks start, queue and finish in the Temporal UI.
package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/parklot/parklot/api"
	"github.com/parklot/parklot/domain/pool"
	"github.com/parklot/parklot/workflows"
)

// Task is one task of the workload.
type Task struct {
	Tenant   string
	Priority pool.Priority
	Units    int64
	Sleep    time.Duration
}

// Workload is the default demo: 12 tasks asking for 17 units in all against
// a 4-unit pool, so most of them queue.
func Workload() []Task {
	tenants := []string{"acme", "globex", "initech"}
	prios := []pool.Priority{pool.PriorityNormal, pool.PriorityNormal, pool.PriorityHigh, pool.PriorityLow}
	var out []Task
	for i := range 12 {
		out = append(out, Task{
			Tenant:   tenants[i%len(tenants)],
			Priority: prios[i%len(prios)],
			Units:    int64(1 + i%3/2),
			Sleep:    time.Duration(1+i%4) * time.Second,
		})
	}
	return out
}

// Result summarises a finished demo.
type Result struct {
	Submitted int
	ByStatus  map[string]int
	Elapsed   time.Duration
}

// Run submits tasks to poolName and reports progress on out until every
// task has reached a terminal status. Task ids carry prefix so that runs on
// the same data directory never collide.
func Run(ctx context.Context, c *api.Client, poolName, prefix string, tasks []Task, out io.Writer) (Result, error) {
	start := time.Now()
	ids := make([]string, len(tasks))
	for i, t := range tasks {
		ids[i] = fmt.Sprintf("%s-%02d", prefix, i+1)
		payload, _ := json.Marshal(map[string]string{"duration": t.Sleep.String()})
		st, err := c.Submit(ctx, workflows.TaskInput{
			TaskID: ids[i], Pool: poolName, Tenant: t.Tenant, User: "demo", Priority: t.Priority,
			Units: t.Units, Kind: "sleep", Payload: payload,
		})
		if err != nil {
			return Result{}, fmt.Errorf("demo: %w", err)
		}
		line := fmt.Sprintf("demo: submitted %s (tenant %s, %s, %d unit(s), %s) -> %s", ids[i], t.Tenant, t.Priority, t.Units, t.Sleep, st.Status)
		if st.Position > 0 {
			line += fmt.Sprintf(" at position %d", st.Position)
		}
		if st.Reason != "" {
			line += " (" + string(st.Reason) + ")"
		}
		fmt.Fprintln(out, line)
	}

	last := ""
	for {
		counts := map[string]int{}
		for _, id := range ids {
			st, err := c.Status(ctx, id)
			if err != nil {
				return Result{}, fmt.Errorf("demo: %w", err)
			}
			counts[st.Status]++
		}
		finished := 0
		for s, n := range counts {
			if workflows.IsTerminal(s) {
				finished += n
			}
		}
		ps, err := c.Pool(ctx, poolName)
		line := fmt.Sprintf("demo: %s %d/%d finished · %d running · %d queued",
			bar(finished, len(ids), 20), finished, len(ids), counts[workflows.StatusRunning], counts[workflows.StatusQueued])
		if err == nil {
			line += fmt.Sprintf(" · pool %s %d/%d units", poolName, ps.ActiveUnits, ps.Config.MaxUnits)
		}
		if line != last {
			fmt.Fprintln(out, line)
			last = line
		}
		if finished == len(ids) {
			res := Result{Submitted: len(ids), ByStatus: counts, Elapsed: time.Since(start)}
			fmt.Fprintf(out, "demo: done in %s: %s\n", res.Elapsed.Round(100*time.Millisecond), summary(counts))
			return res, nil
		}
		select {
		case <-ctx.Done():
			return Result{}, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func bar(done, total, width int) string {
	if total == 0 {
		return "[" + strings.Repeat(".", width) + "]"
	}
	n := done * width / total
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "]"
}

func summary(counts map[string]int) string {
	var parts []string
	for _, s := range []string{workflows.StatusCompleted, workflows.StatusFailed, workflows.StatusExpired, workflows.StatusRejected, workflows.StatusDropped} {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	return strings.Join(parts, ", ")
}
