package parking

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Size is how much room a vehicle needs.
type Size string

// Vehicle sizes, smallest first.
const (
	SizeSmall  Size = "small"
	SizeMedium Size = "medium"
	SizeLarge  Size = "large"
)

// Valid reports whether s is one of the known sizes.
func (s Size) Valid() bool {
	switch s {
	case SizeSmall, SizeMedium, SizeLarge:
		return true
	}
	return false
}

// VehicleType is what a vehicle is; it implies a default size.
type VehicleType string

// Vehicle types.
const (
	TypeCar        VehicleType = "car"
	TypeTruck      VehicleType = "truck"
	TypeVan        VehicleType = "van"
	TypeMotorcycle VehicleType = "motorcycle"
)

// Valid reports whether t is one of the known types.
func (t VehicleType) Valid() bool {
	switch t {
	case TypeCar, TypeTruck, TypeVan, TypeMotorcycle:
		return true
	}
	return false
}

// DefaultSize is the size a vehicle of this type gets when it does not state
// one: motorcycles are small, cars and vans medium (a van fits a regular
// bay; a high-roof van declares SizeLarge), trucks large. It returns "" for an
// unknown type.
func (t VehicleType) DefaultSize() Size {
	switch t {
	case TypeMotorcycle:
		return SizeSmall
	case TypeCar, TypeVan:
		return SizeMedium
	case TypeTruck:
		return SizeLarge
	}
	return ""
}

// MaxPlateLength is the longest normalised plate accepted, in characters.
const MaxPlateLength = 16

// Vehicle is what arrives at a gate. Use Normalize (Park does it) to get the
// canonical form: plate normalised, type and size filled in.
type Vehicle struct {
	// ID is the caller's identifier; it defaults to the normalised plate.
	ID    string `json:"id,omitempty"`
	Plate string `json:"plate"`
	// Type defaults to car.
	Type VehicleType `json:"type,omitempty"`
	// Size defaults to Type.DefaultSize(); an explicit size wins over the type.
	Size Size `json:"size,omitempty"`
	// WantsAccessible and WantsEV both entitle the vehicle to spots with that
	// flag and make it prefer them; see the package documentation.
	WantsAccessible bool `json:"wantsAccessible,omitempty"`
	WantsEV         bool `json:"wantsEv,omitempty"`
}

// NormalizePlate returns the canonical form of a licence plate: upper case,
// with every space (any Unicode white space) and dash removed, so
// "b-ab 123" and "BAB123" are the same plate.
func NormalizePlate(plate string) string {
	var b strings.Builder
	b.Grow(len(plate))
	for _, r := range plate {
		if unicode.IsSpace(r) || unicode.Is(unicode.Pd, r) {
			continue
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

// Normalize returns the vehicle in canonical form, or an invalid_vehicle
// error when the plate is empty, too long or holds anything but letters and
// digits once normalised, or the type or size is unknown.
func (v Vehicle) Normalize() (Vehicle, error) {
	v.Plate = NormalizePlate(v.Plate)
	if v.Plate == "" {
		return Vehicle{}, &Error{Code: CodeInvalidVehicle, Field: "plate", Message: "must not be empty"}
	}
	if n := utf8.RuneCountInString(v.Plate); n > MaxPlateLength {
		return Vehicle{}, &Error{Code: CodeInvalidVehicle, Field: "plate",
			Message: fmt.Sprintf("is %d characters long, at most %d are allowed", n, MaxPlateLength)}
	}
	for _, r := range v.Plate {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			return Vehicle{}, &Error{Code: CodeInvalidVehicle, Field: "plate",
				Message: fmt.Sprintf("may hold only letters and digits (spaces and dashes are dropped), found %q", r)}
		}
	}
	if v.Type == "" {
		v.Type = TypeCar
	}
	if !v.Type.Valid() {
		return Vehicle{}, &Error{Code: CodeInvalidVehicle, Field: "type",
			Message: fmt.Sprintf("unknown vehicle type %q, use car, truck, van or motorcycle", v.Type)}
	}
	if v.Size == "" {
		v.Size = v.Type.DefaultSize()
	}
	if !v.Size.Valid() {
		return Vehicle{}, &Error{Code: CodeInvalidVehicle, Field: "size",
			Message: fmt.Sprintf("unknown size %q, use small, medium or large", v.Size)}
	}
	if v.ID == "" {
		v.ID = v.Plate
	}
	return v, nil
}

// wants is the vehicle's flag request as a mask.
func (v Vehicle) wants() flagMask {
	var m flagMask
	if v.WantsAccessible {
		m |= flagAccessible
	}
	if v.WantsEV {
		m |= flagEV
	}
	return m
}
