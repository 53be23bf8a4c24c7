package parking

import (
	"testing"
	"time"
	_ "time/tzdata" // zone data must not depend on the machine running the tests
)

// berlin is the lot time zone of the DST tests.
func berlin(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// row builds a uniform row spec.
func rowSpec(kind SpotKind, count int) RowSpec { return RowSpec{Kind: kind, Count: count} }

// kindsRow builds a row spec listing every position's kind.
func kindsRow(ks ...SpotKind) RowSpec { return RowSpec{Kinds: ks} }

// spec builds a valid lot spec from levels of rows.
func spec(levels ...[]RowSpec) LotSpec {
	s := LotSpec{Name: "test", Currency: "EUR"}
	for _, rows := range levels {
		s.Levels = append(s.Levels, LevelSpec{Rows: rows})
	}
	return s
}

func mustLot(t testing.TB, s LotSpec) *Lot {
	t.Helper()
	l, err := NewLot(s)
	if err != nil {
		t.Fatalf("NewLot: %v", err)
	}
	return l
}

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC) // a Monday

func car(plate string) Vehicle        { return Vehicle{Plate: plate, Size: SizeMedium} }
func motorcycle(plate string) Vehicle { return Vehicle{Plate: plate, Type: TypeMotorcycle} }
func truck(plate string) Vehicle      { return Vehicle{Plate: plate, Type: TypeTruck} }
