package parking

import "testing"

func TestNormalizePlate(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"an already normal plate is unchanged", "BAB123", "BAB123"},
		{"lower case becomes upper case", "bab123", "BAB123"},
		{"spaces and dashes are dropped", " b-ab 12-3 ", "BAB123"},
		{"tabs and non-breaking spaces are spaces too", "B\tAB\u00a0123", "BAB123"},
		{"typographic dashes are dashes too", "B–AB—123", "BAB123"},
		{"letters outside ASCII are upper-cased", "mü-ö 1", "MÜÖ1"},
		{"a plate of only separators becomes empty", " - ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NormalizePlate(tt.in); got != tt.want {
				t.Errorf("NormalizePlate(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestVehicleNormalize(t *testing.T) {
	tests := []struct {
		name     string
		in       Vehicle
		want     Vehicle
		wantCode Code
	}{
		{"a bare plate is a medium car identified by its plate",
			Vehicle{Plate: "b ab 1"}, Vehicle{ID: "BAB1", Plate: "BAB1", Type: TypeCar, Size: SizeMedium}, ""},
		{"a motorcycle is small by default",
			Vehicle{Plate: "M1", Type: TypeMotorcycle}, Vehicle{ID: "M1", Plate: "M1", Type: TypeMotorcycle, Size: SizeSmall}, ""},
		{"a van is medium by default",
			Vehicle{Plate: "V1", Type: TypeVan}, Vehicle{ID: "V1", Plate: "V1", Type: TypeVan, Size: SizeMedium}, ""},
		{"a truck is large by default",
			Vehicle{Plate: "T1", Type: TypeTruck}, Vehicle{ID: "T1", Plate: "T1", Type: TypeTruck, Size: SizeLarge}, ""},
		{"an explicit size wins over the type's default",
			Vehicle{Plate: "V2", Type: TypeVan, Size: SizeLarge}, Vehicle{ID: "V2", Plate: "V2", Type: TypeVan, Size: SizeLarge}, ""},
		{"a given id and the wishes are kept",
			Vehicle{ID: "fleet-7", Plate: "x1", WantsAccessible: true, WantsEV: true},
			Vehicle{ID: "fleet-7", Plate: "X1", Type: TypeCar, Size: SizeMedium, WantsAccessible: true, WantsEV: true}, ""},
		{"an empty plate is refused", Vehicle{Plate: " - "}, Vehicle{}, CodeInvalidVehicle},
		{"a plate with punctuation is refused", Vehicle{Plate: "B.AB1"}, Vehicle{}, CodeInvalidVehicle},
		{"a plate longer than the limit is refused", Vehicle{Plate: "ABCDEFGHIJKLMNOPQ"}, Vehicle{}, CodeInvalidVehicle},
		{"a plate exactly at the limit is accepted", Vehicle{Plate: "ABCDEFGHIJKLMNOP"},
			Vehicle{ID: "ABCDEFGHIJKLMNOP", Plate: "ABCDEFGHIJKLMNOP", Type: TypeCar, Size: SizeMedium}, ""},
		{"an unknown type is refused", Vehicle{Plate: "A1", Type: "bus"}, Vehicle{}, CodeInvalidVehicle},
		{"an unknown size is refused", Vehicle{Plate: "A1", Size: "huge"}, Vehicle{}, CodeInvalidVehicle},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.in.Normalize()
			if code := CodeOf(err); code != tt.wantCode {
				t.Fatalf("Normalize() error = %v, want code %q", err, tt.wantCode)
			}
			if got != tt.want {
				t.Errorf("Normalize() = %+v, want %+v", got, tt.want)
			}
		})
	}
}
