package parking

import (
	"testing"
	"time"
)

// fuzzRules builds pricing rules from fuzzer bytes; the second result is
// false when they are not valid (the fuzzer then moves on).
func fuzzRules(t testing.TB, tier1Min, tier2Min uint16, tier1Fee, tier2Fee, hourly, cap uint16, graceMin uint8,
	peakStartMin, peakEndMin, peakMult uint16, peakDays uint8, surgeThreshold, surgeMult uint16, lostFee uint16) (PricingRules, bool) {
	r := PricingRules{Currency: "EUR", TimeZone: berlin(t), HourlyRate: int64(hourly), DailyCap: int64(cap),
		Grace: time.Duration(graceMin) * time.Minute, LostTicketFee: int64(lostFee)}
	if tier1Min > 0 {
		r.Tiers = append(r.Tiers, Tier{UpTo: time.Duration(tier1Min) * time.Minute, Fee: int64(tier1Fee)})
		if tier2Min > tier1Min {
			r.Tiers = append(r.Tiers, Tier{UpTo: time.Duration(tier2Min) * time.Minute, Fee: int64(tier1Fee) + int64(tier2Fee)})
		}
	}
	if peakMult > 0 {
		w := PeakWindow{Start: time.Duration(peakStartMin%1440) * time.Minute, End: time.Duration(peakEndMin%1440+1) * time.Minute,
			Multiplier: int(peakMult)}
		for d := range 7 {
			if peakDays&(1<<d) != 0 {
				w.Days = append(w.Days, time.Weekday(d))
			}
		}
		r.Peaks = append(r.Peaks, w)
	}
	if surgeMult > 0 {
		r.Surge = Surge{ThresholdPerMille: int(surgeThreshold%1000) + 1, Multiplier: int(surgeMult)}
	}
	return r, r.Validate() == nil
}

// FuzzQuote checks the invariants of every quote: the amount is never
// negative, the segments add up to it, no cap window charges more than the
// cap, the amount never falls as the exit moves later, and it holds still
// from just after any instant until the NextBoundary after it.
//
//	go test -fuzz=FuzzQuote -fuzztime=60s ./domain/parking/
func FuzzQuote(f *testing.F) {
	spring := time.Date(2026, 3, 28, 21, 0, 0, 0, time.UTC).Unix()
	autumn := time.Date(2026, 10, 24, 21, 0, 0, 0, time.UTC).Unix()
	f.Add(spring, uint32(6*3600), uint32(1800), uint16(950), false, uint16(60), uint16(180), uint16(300), uint16(500),
		uint16(200), uint16(2500), uint8(10), uint16(60), uint16(240), uint16(2000), uint8(0), uint16(900), uint16(1200), uint16(5000))
	f.Add(autumn, uint32(30*3600), uint32(7200), uint16(100), true, uint16(30), uint16(0), uint16(100), uint16(0),
		uint16(150), uint16(1000), uint8(0), uint16(1320), uint16(120), uint16(1500), uint8(0x3e), uint16(0), uint16(0), uint16(0))
	f.Add(int64(1767225600), uint32(600), uint32(1), uint16(0), false, uint16(0), uint16(0), uint16(0), uint16(0),
		uint16(1), uint16(0), uint8(0), uint16(420), uint16(600), uint16(1500), uint8(0x7f), uint16(0), uint16(0), uint16(0))
	f.Fuzz(func(t *testing.T, entryUnix int64, staySec, laterSec uint32, occupancy uint16, lost bool,
		tier1Min, tier2Min, tier1Fee, tier2Fee, hourly, cap uint16, graceMin uint8,
		peakStartMin, peakEndMin, peakMult uint16, peakDays uint8, surgeThreshold, surgeMult, lostFee uint16) {
		r, ok := fuzzRules(t, tier1Min, tier2Min, tier1Fee, tier2Fee, hourly, cap, graceMin,
			peakStartMin, peakEndMin, peakMult, peakDays, surgeThreshold, surgeMult, lostFee)
		if !ok {
			return
		}
		// Entries between 2020 and 2040; stays up to about 30 days.
		entry := time.Unix(1577836800+int64(uint64(entryUnix)%(20*365*86400)), 0)
		exit := entry.Add(time.Duration(staySec%(30*86400)) * time.Second)
		later := exit.Add(time.Duration(laterSec%(3*86400)) * time.Second)
		occ := int(occupancy % 1001)

		q1, err := r.Quote(entry, exit, occ, lost)
		if err != nil {
			t.Fatalf("Quote: %v", err)
		}
		checkQuote(t, r, q1)
		q2, err := r.Quote(entry, later, occ, lost)
		if err != nil {
			t.Fatalf("Quote: %v", err)
		}
		checkQuote(t, r, q2)
		if q2.Amount < q1.Amount {
			t.Fatalf("leaving later costs less: %d at %v, %d at %v", q1.Amount, exit, q2.Amount, later)
		}

		b, ok := r.NextBoundary(entry, exit)
		start, _ := r.Quote(entry, exit.Add(time.Nanosecond), occ, lost)
		if !ok {
			if q2.Amount != start.Amount && later.After(exit) {
				t.Fatalf("no boundary after %v, yet the amount moves from %d to %d by %v", exit, start.Amount, q2.Amount, later)
			}
			return
		}
		if !b.After(exit) {
			t.Fatalf("NextBoundary(%v) = %v, not after it", exit, b)
		}
		for _, probe := range []time.Time{b, exit.Add(b.Sub(exit) / 2)} {
			if p, _ := r.Quote(entry, probe, occ, lost); p.Amount != start.Amount {
				t.Fatalf("the amount moved before the boundary %v: %d just after %v, %d at %v", b, start.Amount, exit, p.Amount, probe)
			}
		}
	})
}
