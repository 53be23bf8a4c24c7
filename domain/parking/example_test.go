package parking_test

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata"

	"github.com/parklot/parklot/domain/parking"
)

func ExampleLot_Park() {
	lot, err := parking.NewLot(parking.LotSpec{
		Name:     "downtown",
		Currency: "EUR",
		Strategy: parking.Nearest,
		Entrance: parking.Location{Level: 0, Row: 0, Position: 5},
		Levels: []parking.LevelSpec{{Rows: []parking.RowSpec{
			{Kind: parking.KindRegular, Count: 6, EV: []int{0}},
			{Kind: parking.KindOversized, Count: 1},
		}}},
	})
	if err != nil {
		panic(err)
	}
	now := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	for i, v := range []parking.Vehicle{
		{Plate: "b-ab 123"},
		{Plate: "ev 1", WantsEV: true},
		{Plate: "HGV 7", Type: parking.TypeTruck},
		{Plate: "HGV 8", Type: parking.TypeTruck},
		{Plate: "BAB123"},
	} {
		a, err := lot.Park(v, now, fmt.Sprintf("T%d", i+1))
		if err != nil {
			fmt.Println(parking.CodeOf(err))
			continue
		}
		fmt.Println(a.TicketID, a.Vehicle.Plate, a.SpotIDs)
	}
	o := lot.Occupancy()
	fmt.Printf("occupied %d of %d (%d‰)\n", o.Occupied, o.Total, o.RatioPerMille)
	// Output:
	// T1 BAB123 [L0-A-05]
	// T2 EV1 [L0-A-00]
	// T3 HGV7 [L0-B-00]
	// T4 HGV8 [L0-A-03 L0-A-04]
	// duplicate_plate
	// occupied 5 of 7 (714‰)
}

func ExamplePricingRules_Quote() {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	rules := parking.PricingRules{
		Currency:   "EUR",
		TimeZone:   berlin,
		Tiers:      []parking.Tier{{UpTo: time.Hour, Fee: 300}, {UpTo: 3 * time.Hour, Fee: 800}},
		HourlyRate: 200,
		Grace:      10 * time.Minute,
		Peaks: []parking.PeakWindow{{Name: "evening", Start: 17 * time.Hour, End: 19 * time.Hour,
			Multiplier: 1500}},
	}
	entry := time.Date(2026, 3, 2, 15, 30, 0, 0, berlin)
	q, err := rules.Quote(entry, entry.Add(3*time.Hour+20*time.Minute), 0, false)
	if err != nil {
		panic(err)
	}
	for _, s := range q.Breakdown {
		line := fmt.Sprintf("%s-%s %-7s x%d %4d %s", s.From.Format("15:04"), s.To.Format("15:04"), s.Rule, s.Multiplier, s.Amount, s.Peak)
		fmt.Println(strings.TrimSpace(line))
	}
	fmt.Println("total", q.Amount, q.Currency)
	next, _ := rules.NextBoundary(entry, entry.Add(3*time.Hour+20*time.Minute))
	fmt.Println("next change after", next.Format("15:04"))
	// Output:
	// 15:30-16:30 tier_1  x1000  300
	// 16:30-17:00 tier_2  x1000  125
	// 17:00-18:30 tier_2  x1500  563 evening
	// 18:30-19:00 hourly  x1500  150 evening
	// 19:00-19:30 hourly  x1000  100
	// total 1238 EUR
	// next change after 19:30
}
