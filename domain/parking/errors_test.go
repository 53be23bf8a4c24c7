package parking

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrorsMatchOnCode(t *testing.T) {
	err := fmt.Errorf("gate 3: %w", newError(CodeLotFull, "lot %q has no free spot", "downtown"))
	if !errors.Is(err, ErrLotFull) {
		t.Errorf("errors.Is(%v, ErrLotFull) = false, want true", err)
	}
	if errors.Is(err, ErrNoCompatibleSpot) {
		t.Errorf("errors.Is(%v, ErrNoCompatibleSpot) = true, want false", err)
	}
	if got := CodeOf(err); got != CodeLotFull {
		t.Errorf("CodeOf = %q, want lot_full", got)
	}
	if got := CodeOf(errors.New("other")); got != "" {
		t.Errorf("CodeOf(foreign error) = %q, want empty", got)
	}
	if got := CodeOf(nil); got != "" {
		t.Errorf("CodeOf(nil) = %q, want empty", got)
	}
}

func TestErrorMessagesNameCodeAndField(t *testing.T) {
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{"a bare code prints the code", &Error{Code: CodeLotFull}, "lot_full"},
		{"a message follows the code", &Error{Code: CodeLotFull, Message: "no room"}, "lot_full: no room"},
		{"a field comes between code and message", &Error{Code: CodeInvalidLotSpec, Field: "levels", Message: "empty"},
			"invalid_lot_spec: levels: empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}
