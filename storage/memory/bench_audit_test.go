package memory

import (
	"context"
	"testing"
	"time"

	"github.com/parklot/parklot/domain/audit"
)

// BenchmarkAuditAppendToALongSubject appends events, in time order, to a
// subject that already holds 1,000 events and to one that holds 50,000, and
// reports the second's cost per append as a ratio of the first's: about 1
// when an append does not depend on the subject's length, about 50 when it
// shifts the whole list.
//
//	go test -run '^$' -bench AuditAppendToALongSubject ./storage/memory/
func BenchmarkAuditAppendToALongSubject(b *testing.B) {
	ctx := context.Background()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	filled := func(n int) (*Audit, time.Time) {
		s := NewAudit()
		at := base
		for range n {
			at = at.Add(time.Millisecond)
			if err := s.Append(ctx, audit.Event{Type: audit.TypeQueued, At: at, Subjects: []audit.Subject{audit.Pool("p")}}); err != nil {
				b.Fatal(err)
			}
		}
		return s, at
	}
	const appends = 2000
	perAppend := func(s *Audit, at time.Time) time.Duration {
		start := time.Now()
		for range appends {
			at = at.Add(time.Millisecond)
			if err := s.Append(ctx, audit.Event{Type: audit.TypeQueued, At: at, Subjects: []audit.Subject{audit.Pool("p")}}); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start) / appends
	}
	var short, long time.Duration
	for range b.N {
		b.StopTimer()
		s1, at1 := filled(1000)
		s2, at2 := filled(50000)
		b.StartTimer()
		short += perAppend(s1, at1)
		long += perAppend(s2, at2)
	}
	b.ReportMetric(float64(short.Nanoseconds())/float64(b.N), "ns/append@1k")
	b.ReportMetric(float64(long.Nanoseconds())/float64(b.N), "ns/append@50k")
	b.ReportMetric(float64(long)/float64(short), "ratio-50k/1k")
}
