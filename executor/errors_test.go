package executor

import (
	"errors"
	"fmt"
	"io"
	"testing"
)

func TestPermanentOfNilIsNil(t *testing.T) {
	if err := Permanent(nil); err != nil {
		t.Fatalf("Permanent(nil) = %v, want nil", err)
	}
}

func TestPermanentMarksAPlainErrorAndKeepsItInTheChain(t *testing.T) {
	err := Permanent(io.ErrUnexpectedEOF)
	if !IsPermanent(err) {
		t.Error("IsPermanent(Permanent(err)) = false")
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Error("errors.Is lost the wrapped error")
	}
	if err.Error() != io.ErrUnexpectedEOF.Error() {
		t.Errorf("message = %q, want the wrapped error's", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeFailed {
		t.Errorf("code = %v, want %s", e, CodeFailed)
	}
}

func TestPermanentKeepsTheCodeOfAnError(t *testing.T) {
	inner := &Error{Code: CodeExitStatus, Kind: KindExec, Message: "exited with code 2"}
	err := Permanent(fmt.Errorf("step 1: %w", inner))
	wantError(t, err, CodeExitStatus, true, "step 1: exited with code 2")
}

func TestPermanentOfAPermanentErrorReturnsItAsIs(t *testing.T) {
	err := Permanent(io.EOF)
	if again := Permanent(err); again != err {
		t.Errorf("Permanent(permanent) = %v, want the same error", again)
	}
}

func TestIsPermanent(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"a plain error", io.EOF, false},
		{"a non-permanent Error", &Error{Code: CodeHTTPStatus}, false},
		{"a permanent Error", &Error{Code: CodeInvalidPayload, Permanent: true}, true},
		{"a permanent Error wrapped by fmt", fmt.Errorf("ctx: %w", &Error{Permanent: true}), true},
		{"a permanent Error inside a non-permanent one", &Error{Err: &Error{Permanent: true}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsPermanent(tt.err); got != tt.want {
				t.Errorf("IsPermanent(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
