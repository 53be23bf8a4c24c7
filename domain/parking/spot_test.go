package parking

import (
	"slices"
	"testing"
)

func TestSpotKindFits(t *testing.T) {
	tests := []struct {
		kind SpotKind
		size Size
		want bool
	}{
		{KindCompact, SizeSmall, true},
		{KindCompact, SizeMedium, false},
		{KindCompact, SizeLarge, false},
		{KindRegular, SizeSmall, true},
		{KindRegular, SizeMedium, true},
		{KindRegular, SizeLarge, false},
		{KindOversized, SizeSmall, true},
		{KindOversized, SizeMedium, true},
		{KindOversized, SizeLarge, true},
		{"tiny", SizeSmall, false},
		{KindOversized, "huge", false},
	}
	for _, tt := range tests {
		name := "a " + string(tt.size) + " vehicle does not fit a " + string(tt.kind) + " spot"
		if tt.want {
			name = "a " + string(tt.size) + " vehicle fits a " + string(tt.kind) + " spot"
		}
		t.Run(name, func(t *testing.T) {
			if got := tt.kind.Fits(tt.size); got != tt.want {
				t.Errorf("%s.Fits(%s) = %v, want %v", tt.kind, tt.size, got, tt.want)
			}
		})
	}
}

func TestLocationDistance(t *testing.T) {
	entrance := Location{Level: 0, Row: 0, Position: 0}
	tests := []struct {
		name string
		loc  Location
		want int
	}{
		{"the entrance itself is at distance zero", entrance, 0},
		{"each position away costs one", Location{0, 0, 7}, 7},
		{"each row away costs the row weight", Location{0, 2, 0}, 2 * RowWeight},
		{"each level away costs the level weight", Location{3, 0, 0}, 3 * LevelWeight},
		{"the parts add up", Location{1, 2, 3}, LevelWeight + 2*RowWeight + 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.loc.Distance(entrance); got != tt.want {
				t.Errorf("Distance = %d, want %d", got, tt.want)
			}
			if got := entrance.Distance(tt.loc); got != tt.want {
				t.Errorf("Distance is not symmetric: %d, want %d", got, tt.want)
			}
		})
	}
}

func TestFlagPreferenceOrder(t *testing.T) {
	const (
		none = flagMask(0)
		a    = flagAccessible
		e    = flagEV
		ae   = flagAccessible | flagEV
	)
	tests := []struct {
		name          string
		wants         flagMask
		strict, loose []flagMask
	}{
		{"a vehicle asking for nothing takes plain spots, and under overflow EV before accessible", none,
			[]flagMask{none}, []flagMask{e, a, ae}},
		{"a vehicle asking for accessible prefers accessible, then plain", a,
			[]flagMask{a, none}, []flagMask{ae, e}},
		{"a vehicle asking for EV prefers EV, then plain", e,
			[]flagMask{e, none}, []flagMask{ae, a}},
		{"a vehicle asking for both prefers both, then accessible, then EV, then plain", ae,
			[]flagMask{ae, a, e, none}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := flagOrder[tt.wants]
			if !slices.Equal(got.strict, tt.strict) || !slices.Equal(got.loose, tt.loose) {
				t.Errorf("flagOrder[%d] = %v / %v, want %v / %v", tt.wants, got.strict, got.loose, tt.strict, tt.loose)
			}
		})
	}
}
