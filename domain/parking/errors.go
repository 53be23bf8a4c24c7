package parking

import (
	"errors"
	"fmt"
)

// Code is a stable, machine-readable reason attached to every error this
// package returns. Codes are part of the public contract: the CLI maps them to
// exit codes, the HTTP API to statuses and the workflows to non-retryable
// application errors, so a code is never renamed once released.
type Code string

// Error codes. The set is closed: every error returned by this package carries
// one of them.
const (
	CodeLotFull           Code = "lot_full"           // no spot of the lot is free
	CodeNoCompatibleSpot  Code = "no_compatible_spot" // spots are free, none fits the vehicle
	CodeDuplicatePlate    Code = "duplicate_plate"    // the plate is already parked in the lot
	CodeDuplicateTicket   Code = "duplicate_ticket"   // the ticket id is already in use
	CodeUnknownTicket     Code = "unknown_ticket"     // no parked vehicle holds this ticket
	CodeUnknownSpot       Code = "unknown_spot"       // no spot has this id
	CodeUnknownPlate      Code = "unknown_plate"      // no parked vehicle has this plate
	CodeInvalidVehicle    Code = "invalid_vehicle"    // plate, type or size is not acceptable
	CodeInvalidTicket     Code = "invalid_ticket"     // the ticket id is empty or malformed
	CodeInvalidSpotState  Code = "invalid_spot_state" // the requested spot state cannot be set
	CodeSpotOccupied      Code = "spot_occupied"      // the spot holds a vehicle and cannot change state
	CodeInvalidLotSpec    Code = "invalid_lot_spec"   // the lot specification is not valid
	CodeInvalidPricing    Code = "invalid_pricing"    // the pricing rules are not valid
	CodeInvalidStay       Code = "invalid_stay"       // the stay cannot be priced (too long)
	CodeIllegalTransition Code = "illegal_transition" // the ticket cannot move to that status
	CodeInvalidState      Code = "invalid_state"      // a serialised lot is inconsistent
)

// Error is the error value of this package. Field names the offending input
// (for example "levels[1].rows[0].count") when the error is about a
// specification; it is empty otherwise.
type Error struct {
	Code    Code
	Field   string
	Message string
}

// Error renders "code: field: message", leaving out what is empty.
func (e *Error) Error() string {
	switch {
	case e.Field != "" && e.Message != "":
		return fmt.Sprintf("%s: %s: %s", e.Code, e.Field, e.Message)
	case e.Message != "":
		return fmt.Sprintf("%s: %s", e.Code, e.Message)
	default:
		return string(e.Code)
	}
}

// Is makes errors.Is match on the code alone, so errors.Is(err, ErrLotFull)
// holds for every lot_full error whatever its message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Sentinels for errors.Is. They carry a code and nothing else.
var (
	ErrLotFull           = &Error{Code: CodeLotFull}
	ErrNoCompatibleSpot  = &Error{Code: CodeNoCompatibleSpot}
	ErrDuplicatePlate    = &Error{Code: CodeDuplicatePlate}
	ErrDuplicateTicket   = &Error{Code: CodeDuplicateTicket}
	ErrUnknownTicket     = &Error{Code: CodeUnknownTicket}
	ErrUnknownSpot       = &Error{Code: CodeUnknownSpot}
	ErrUnknownPlate      = &Error{Code: CodeUnknownPlate}
	ErrInvalidVehicle    = &Error{Code: CodeInvalidVehicle}
	ErrInvalidTicket     = &Error{Code: CodeInvalidTicket}
	ErrInvalidSpotState  = &Error{Code: CodeInvalidSpotState}
	ErrSpotOccupied      = &Error{Code: CodeSpotOccupied}
	ErrInvalidLotSpec    = &Error{Code: CodeInvalidLotSpec}
	ErrInvalidPricing    = &Error{Code: CodeInvalidPricing}
	ErrInvalidStay       = &Error{Code: CodeInvalidStay}
	ErrIllegalTransition = &Error{Code: CodeIllegalTransition}
	ErrInvalidState      = &Error{Code: CodeInvalidState}
)

// CodeOf returns the code of the first *Error in err's chain, or "" when err
// is nil or did not come from this package.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func newError(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// problems collects validation failures of one specification so the caller
// sees all of them at once rather than fixing them one run at a time.
type problems struct {
	code Code
	errs []error
}

func (p *problems) add(field, format string, args ...any) {
	p.errs = append(p.errs, &Error{Code: p.code, Field: field, Message: fmt.Sprintf(format, args...)})
}

// err returns nil, the single problem, or all problems joined; errors.As and
// CodeOf find the first one either way.
func (p *problems) err() error {
	switch len(p.errs) {
	case 0:
		return nil
	case 1:
		return p.errs[0]
	default:
		return errors.Join(p.errs...)
	}
}
