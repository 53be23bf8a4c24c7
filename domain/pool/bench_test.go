package pool

import (
	"fmt"
	"testing"
	"time"
)

func benchIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("task-%06d", i)
	}
	return ids
}

// BenchmarkAcquireRelease is the common path: a task that fits starts at once, then releases.
// One op is one admission plus one release.
func BenchmarkAcquireRelease(b *testing.B) {
	for _, holders := range []int{0, 100, 10000} {
		b.Run(fmt.Sprintf("holders=%d", holders), func(b *testing.B) {
			p := New(Config{MaxUnits: 1 << 40, MaxQueueDepth: 1000, DefaultTimeout: time.Minute, LeaseGrace: time.Second})
			ids := benchIDs(holders + 4096)
			now := t0
			// Keep `holders` tasks in flight: each op admits one and releases the oldest.
			for i := range holders {
				p.Acquire(Request{TaskID: ids[i], Tenant: "a", Units: 1}, now)
			}
			n := len(ids)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				now = now.Add(time.Millisecond)
				if d := p.Acquire(Request{TaskID: ids[(i+holders)%n], Tenant: "a", Units: 1}, now); d.Status != StatusRunning {
					b.Fatal(d)
				}
				if ok, _ := p.Release(ids[i%n], now); !ok {
					b.Fatal("release failed")
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "admissions/s")
		})
	}
}

// BenchmarkQueuedAcquire is an Acquire that has to wait, with its position computed.
func BenchmarkQueuedAcquire(b *testing.B) {
	for _, policy := range []Policy{PolicyStrict, PolicyFair} {
		for _, tenants := range []int{1, 100} {
			b.Run(fmt.Sprintf("%s/tenants=%d", policy, tenants), func(b *testing.B) {
				const depth = 10000
				ids := benchIDs(depth)
				names := make([]string, tenants)
				for i := range names {
					names[i] = fmt.Sprintf("tenant-%03d", i)
				}
				cfg := Config{MaxUnits: 1, MaxQueueDepth: depth, Policy: policy, DefaultTimeout: time.Minute}
				var p *Pool
				reset := func() {
					p = New(cfg)
					p.Acquire(Request{TaskID: "blocker", Tenant: "z", Units: 1}, t0)
				}
				reset()
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if i == depth {
						b.StopTimer()
						reset()
						i = 0
						b.StartTimer()
					}
					d := p.Acquire(Request{TaskID: ids[i], Tenant: names[i%tenants], Units: 1, Priority: Priority(i%3 - 1)}, t0)
					if d.Status != StatusQueued {
						b.Fatal(d)
					}
					i++
				}
			})
		}
	}
}

// BenchmarkFairGrant is the fair queue at work: a holder releases, the next tenant in turn is
// granted, and a new task joins that tenant's queue. One op is release + grant + queued acquire.
func BenchmarkFairGrant(b *testing.B) {
	for _, tenants := range []int{10, 1000} {
		b.Run(fmt.Sprintf("tenants=%d", tenants), func(b *testing.B) {
			const perTenant = 10
			queued := tenants * perTenant
			ids := benchIDs(4 * queued)
			names := make([]string, tenants)
			for i := range names {
				names[i] = fmt.Sprintf("tenant-%04d", i)
			}
			p := New(Config{MaxUnits: 1, MaxQueueDepth: queued + 1, Policy: PolicyFair, DefaultTimeout: time.Minute})
			now := t0
			p.Acquire(Request{TaskID: "first", Tenant: "z", Units: 1}, now)
			next := 0
			for r := range perTenant {
				for tn := range tenants {
					_ = r
					p.Acquire(Request{TaskID: ids[next], Tenant: names[tn], Units: 1}, now)
					next++
				}
			}
			holder := "first"
			b.ReportAllocs()
			for b.Loop() {
				now = now.Add(time.Millisecond)
				_, gs := p.Release(holder, now)
				if len(gs) != 1 {
					b.Fatalf("grants %v", gs)
				}
				holder = gs[0].TaskID
				id := ids[next%len(ids)]
				next++
				if d := p.Acquire(Request{TaskID: id, Tenant: gs[0].Tenant, Units: 1}, now); d.Status != StatusQueued {
					b.Fatal(d)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "grants/s")
		})
	}
}

// BenchmarkBackfillRelease is a release under backfill with a blocked head and 1000 queued
// tasks behind it that cannot pass (they would take units the head needs): every release
// walks the queue, then a short task starts by the backfill rule. One op is release + backfill
// pass + backfilled acquire.
func BenchmarkBackfillRelease(b *testing.B) {
	p := New(Config{MaxUnits: 100, MaxQueueDepth: 2000, Backfill: true, DefaultTimeout: time.Minute})
	now := t0
	ids := benchIDs(1 << 16)
	next := 0
	var holding []string
	for range 50 {
		p.Acquire(Request{TaskID: ids[next], Tenant: "z", Units: 2}, now)
		holding = append(holding, ids[next])
		next++
	}
	p.Acquire(Request{TaskID: "head", Tenant: "a", Units: 100}, now)
	for range 1000 {
		p.Acquire(Request{TaskID: ids[next], Tenant: "b", Units: 3, Timeout: time.Hour}, now)
		next++
	}
	b.ReportAllocs()
	for b.Loop() {
		p.Release(holding[0], now)
		holding = holding[1:]
		id := ids[1050+(next-1050)%(len(ids)-1050)] // past the tasks queued above
		next++
		if d := p.Acquire(Request{TaskID: id, Tenant: "c", Units: 2, Timeout: time.Second}, now); d.Status != StatusRunning || !d.Backfill {
			b.Fatal(d)
		}
		holding = append(holding, id)
	}
}
