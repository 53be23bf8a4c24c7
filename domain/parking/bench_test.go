package parking

import (
	"fmt"
	"math/rand"
	"testing"
	"time"
)

// benchSpec is a 3,000-spot garage: three levels of ten rows of 100 spots,
// each row 20 compact, 65 regular and 15 oversized, with accessible and EV
// bays near the entrance.
func benchSpec(st Strategy) LotSpec {
	s := LotSpec{Name: "bench", Currency: "EUR", Strategy: st}
	kindsOf := make([]SpotKind, 100)
	for p := range kindsOf {
		switch {
		case p < 20:
			kindsOf[p] = KindCompact
		case p < 85:
			kindsOf[p] = KindRegular
		default:
			kindsOf[p] = KindOversized
		}
	}
	for range 3 {
		var lv LevelSpec
		for r := range 10 {
			row := RowSpec{Kinds: kindsOf}
			if r == 0 {
				row.Accessible, row.EV = []int{20, 21, 22, 85}, []int{23, 24, 25, 26, 27}
			}
			lv.Rows = append(lv.Rows, row)
		}
		s.Levels = append(s.Levels, lv)
	}
	s.Entrance = Location{Level: 0, Row: 4, Position: 50}
	return s
}

// benchFleet is a pool of distinct vehicles: 15 % motorcycles, 65 % cars,
// 15 % trucks (large), 5 % EV cars; a few ask for accessible spots.
func benchFleet(rng *rand.Rand, n int, trucks int) ([]Vehicle, []string) {
	vs, tickets := make([]Vehicle, n), make([]string, n)
	for i := range vs {
		v := Vehicle{Plate: fmt.Sprintf("B%06d", i)}
		switch x := rng.Intn(100); {
		case x < 15:
			v.Type = TypeMotorcycle
		case x < 100-trucks-5:
			v.Type = TypeCar
		case x < 100-trucks:
			v.Type, v.WantsEV = TypeCar, true
		default:
			v.Type = TypeTruck
		}
		v.WantsAccessible = rng.Intn(50) == 0
		vs[i], tickets[i] = v, fmt.Sprintf("T%06d", i)
	}
	return vs, tickets
}

// BenchmarkParkExit measures one exit of a random parked vehicle plus one
// park, on a 3,000-spot lot kept about 85 % full.
//
//	go test -run XXX -bench ParkExit -benchmem ./domain/parking/
func BenchmarkParkExit(b *testing.B) {
	for _, tc := range []struct {
		name     string
		trucks   int
		runsOnly bool // reserve every oversized spot so trucks need runs
	}{{"mixed", 15, false}, {"trucks_on_runs", 30, true}} {
		for _, st := range Strategies() {
			b.Run(tc.name+"/"+string(st), func(b *testing.B) {
				l, err := NewLot(benchSpec(st))
				if err != nil {
					b.Fatal(err)
				}
				if tc.runsOnly {
					for _, s := range l.Spots() {
						if s.Kind == KindOversized {
							if err := l.SetSpotState(s.ID, SpotReserved); err != nil {
								b.Fatal(err)
							}
						}
					}
				}
				rng := rand.New(rand.NewSource(1))
				const pool = 1 << 16
				fleet, tickets := benchFleet(rng, pool, tc.trucks)
				held := make([]string, 0, 3000)
				next := 0
				park := func() {
					i := next % pool
					next++
					if _, err := l.Park(fleet[i], t0, tickets[i]); err == nil {
						held = append(held, tickets[i])
					}
				}
				for l.Occupancy().RatioPerMille < 850 && next < pool {
					park()
				}
				now := t0
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					k := rng.Intn(len(held))
					l.Exit(held[k])
					held[k] = held[len(held)-1]
					held = held[:len(held)-1]
					now = now.Add(time.Second)
					park()
				}
			})
		}
	}
}

// BenchmarkQuote prices a three-day stay with tiers, weekday peaks, a daily
// cap and a surge: 70 started hours, about 80 segments.
func BenchmarkQuote(b *testing.B) {
	r := tiered(b)
	r.DailyCap = 2500
	r.Surge = Surge{ThresholdPerMille: 900, Multiplier: 1200}
	r.Peaks = []PeakWindow{{Days: []time.Weekday{1, 2, 3, 4, 5}, Start: 7 * time.Hour, End: 10 * time.Hour, Multiplier: 1500},
		{Start: 16*time.Hour + 30*time.Minute, End: 19 * time.Hour, Multiplier: 1250}}
	entry := time.Date(2026, 3, 2, 6, 40, 0, 0, r.TimeZone)
	exit := entry.Add(73*time.Hour + 5*time.Minute)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Quote(entry, exit, 950, false); err != nil {
			b.Fatal(err)
		}
	}
}

// TestFullLotStateFitsATemporalPayload: the lot workflow carries the lot's
// JSON across continue-as-new, and Temporal refuses payloads over 2 MB.
func TestFullLotStateFitsATemporalPayload(t *testing.T) {
	s := benchSpec(Nearest)
	s.AllowOverflow = true
	l, err := NewLot(s)
	if err != nil {
		t.Fatal(err)
	}
	fleet, tickets := benchFleet(rand.New(rand.NewSource(1)), 10000, 0)
	for i := range fleet {
		l.Park(fleet[i], t0, tickets[i])
	}
	if o := l.Occupancy(); o.Free != 0 {
		t.Fatalf("the lot is not full: %+v", o.Counts)
	}
	size := len(mustJSON(t, l))
	t.Logf("a full 3,000-spot lot is %d bytes of JSON", size)
	if size > 2<<20 {
		t.Errorf("a full lot's state is %d bytes, over Temporal's 2 MB payload limit", size)
	}
}
