package audit

import (
	"errors"
	"fmt"
)

// ErrInvalid marks every error caused by the caller's input: a retry with the
// same input cannot succeed, so callers map it to a non-retryable failure.
var ErrInvalid = errors.New("invalid audit input")

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}
