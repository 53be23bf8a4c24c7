package bench

import (
	"slices"
	"testing"
	"time"

	"github.com/parklot/parklot/domain/pool"
)

func TestParseFlags(t *testing.T) {
	if r, err := ParseUnits("1-4"); err != nil || r != (UnitRange{1, 4}) {
		t.Errorf("ParseUnits(1-4) = %v, %v", r, err)
	}
	if r, err := ParseUnits("2"); err != nil || r != (UnitRange{2, 2}) {
		t.Errorf("ParseUnits(2) = %v, %v", r, err)
	}
	for _, bad := range []string{"0", "4-1", "x", "1-"} {
		if _, err := ParseUnits(bad); err == nil {
			t.Errorf("ParseUnits(%q) accepted", bad)
		}
	}
	if r, err := ParseHold("10ms-200ms"); err != nil || r != (HoldRange{10 * time.Millisecond, 200 * time.Millisecond}) {
		t.Errorf("ParseHold(10ms-200ms) = %v, %v", r, err)
	}
	if r, err := ParseHold("0"); err != nil || r != (HoldRange{}) {
		t.Errorf("ParseHold(0) = %v, %v", r, err)
	}
	for _, bad := range []string{"50", "200ms-10ms", "soon"} {
		if _, err := ParseHold(bad); err == nil {
			t.Errorf("ParseHold(%q) accepted", bad)
		}
	}
	if a, err := ParseArrival("burst"); err != nil || a.Rate != 0 {
		t.Errorf("ParseArrival(burst) = %v, %v", a, err)
	}
	if a, err := ParseArrival("250"); err != nil || a.Rate != 250 {
		t.Errorf("ParseArrival(250) = %v, %v", a, err)
	}
	if _, err := ParseArrival("-3"); err == nil {
		t.Error("ParseArrival(-3) accepted")
	}
	if b, err := ParseBaselines("bare,slots"); err != nil || len(b) != 2 {
		t.Errorf("ParseBaselines(bare,slots) = %v, %v", b, err)
	}
	if b, err := ParseBaselines("bare, minimal,slots,bare"); err != nil || !slices.Equal(b, []string{BaselineBare, BaselineMinimal, BaselineSlots}) {
		t.Errorf("ParseBaselines(bare, minimal,slots,bare) = %v, %v", b, err)
	}
	if b, err := ParseBaselines("none"); err != nil || b != nil {
		t.Errorf("ParseBaselines(none) = %v, %v", b, err)
	}
	if _, err := ParseBaselines("bare,semaphore"); err == nil {
		t.Error("ParseBaselines(bare,semaphore) accepted")
	}
}

func TestPlanIsRepeatableAndStaysInItsRanges(t *testing.T) {
	o := Options{
		Tasks: 400, Pools: LocalPools(2, 8), TaskUnits: UnitRange{1, 4},
		Hold: HoldRange{10 * time.Millisecond, 200 * time.Millisecond}, Priorities: PrioritiesMixed, Tenants: 3, Seed: 7,
	}
	a, b := Plan(o), Plan(o)
	prios := map[pool.Priority]int{}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("spec %d differs between two plans with one seed: %+v vs %+v", i, a[i], b[i])
		}
		s := a[i]
		if s.Units < 1 || s.Units > 4 || s.Hold < 10*time.Millisecond || s.Hold > 200*time.Millisecond {
			t.Errorf("spec %d out of range: %+v", i, s)
		}
		if want := o.Pools[i%2].Name; s.Pool != want {
			t.Errorf("spec %d in pool %s, want %s", i, s.Pool, want)
		}
		prios[s.Priority]++
	}
	if len(prios) != 4 {
		t.Errorf("mixed priorities drew %v, want all four", prios)
	}
	o.Seed = 8
	if c := Plan(o); c[0] == a[0] && c[1] == a[1] && c[2] == a[2] {
		t.Error("another seed drew the same workload")
	}
}
