package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunPhaseSubmitsAndAwaitsEveryItemOnce(t *testing.T) {
	const n = 500
	o := Options{Concurrency: 8, Timeout: time.Minute}
	var mu sync.Mutex
	submitted, awaited := map[int]int{}, map[int]int{}
	var inFlight, peak atomic.Int64
	ph := runPhase(context.Background(), o, newProgress(nil, "test", n), n,
		func(_ context.Context, i int) error {
			cur := inFlight.Add(1)
			for {
				p := peak.Load()
				if cur <= p || peak.CompareAndSwap(p, cur) {
					break
				}
			}
			time.Sleep(100 * time.Microsecond)
			inFlight.Add(-1)
			mu.Lock()
			submitted[i]++
			mu.Unlock()
			return nil
		},
		func(_ context.Context, i int) bool {
			mu.Lock()
			awaited[i]++
			mu.Unlock()
			return true
		})
	if len(submitted) != n || len(awaited) != n {
		t.Fatalf("submitted %d, awaited %d distinct items, want %d", len(submitted), len(awaited), n)
	}
	for i := range n {
		if submitted[i] != 1 || awaited[i] != 1 {
			t.Errorf("item %d submitted %d and awaited %d times, want once each", i, submitted[i], awaited[i])
		}
	}
	if p := peak.Load(); p > int64(o.Concurrency) {
		t.Errorf("%d submissions in flight at once, want at most %d", p, o.Concurrency)
	}
	if ph.wall < ph.submitWall {
		t.Errorf("phase ended (%s) before its submissions did (%s)", ph.wall, ph.submitWall)
	}
}

func TestRunPhaseGivesUpOnTasksAfterTheTimeout(t *testing.T) {
	o := Options{Concurrency: 2, Timeout: 50 * time.Millisecond}
	var gaveUp atomic.Int64
	runPhase(context.Background(), o, newProgress(nil, "test", 3), 3,
		func(context.Context, int) error { return nil },
		func(ctx context.Context, i int) bool {
			if i != 1 {
				return true
			}
			<-ctx.Done() // a task that never finishes
			gaveUp.Add(1)
			return false
		})
	if gaveUp.Load() != 1 {
		t.Errorf("gave up on %d tasks, want the one that never finished", gaveUp.Load())
	}
}
