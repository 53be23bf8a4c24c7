package executor

import "errors"

// Code classifies an Error for machines (the activity uses it as the Temporal
// application error type); Error.Message is for people.
type Code string

// Error codes. They are stable: callers may switch on them.
const (
	// CodeInvalidKind: Register was given a kind that is not [a-z0-9][a-z0-9_-]*.
	CodeInvalidKind Code = "invalid_kind"
	// CodeDuplicateKind: Register was given a kind that is already registered.
	CodeDuplicateKind Code = "duplicate_kind"
	// CodeNilExecutor: Register was given a nil Executor.
	CodeNilExecutor Code = "nil_executor"
	// CodeUnknownKind: no executor is registered for the task's kind.
	CodeUnknownKind Code = "unknown_kind"
	// CodeInvalidPayload: the task's payload cannot be used as given.
	CodeInvalidPayload Code = "invalid_payload"
	// CodeNotAllowed: the pool's policy forbids what the task asks for.
	CodeNotAllowed Code = "not_allowed"
	// CodeNotConfigured: the pool's policy lacks a setting the executor needs.
	CodeNotConfigured Code = "not_configured"
	// CodeStartFailed: exec could not start the command.
	CodeStartFailed Code = "start_failed"
	// CodeExitStatus: exec's command exited non-zero or was killed by a signal.
	CodeExitStatus Code = "exit_status"
	// CodeHTTPStatus: http's endpoint answered with a non-2xx status.
	CodeHTTPStatus Code = "http_status"
	// CodeResponseTooLarge: http's response body exceeds MaxResponseBytes.
	CodeResponseTooLarge Code = "response_too_large"
	// CodeInvalidUsage: http's endpoint sent an X-Parklot-Usage header that
	// is not a non-negative integer.
	CodeInvalidUsage Code = "invalid_usage"
	// CodeTimeout: http's request exceeded the pool's HTTP timeout.
	CodeTimeout Code = "timeout"
	// CodeRequestFailed: http's request failed before a response arrived.
	CodeRequestFailed Code = "request_failed"
	// CodeFailed: any other failure (sleep's "fail", Permanent on a plain error).
	CodeFailed Code = "failed"
)

// Error is a failure with a code and a message that names the problem and its
// fix.
type Error struct {
	Code Code
	// Kind is the executor kind involved, when there is one.
	Kind    string
	Message string
	// Permanent is true when retrying the same task cannot succeed.
	Permanent bool
	// Err is the underlying cause, if any.
	Err error
}

func (e *Error) Error() string {
	switch {
	case e.Message != "":
		return e.Message
	case e.Err != nil:
		return e.Err.Error()
	default:
		return string(e.Code)
	}
}

func (e *Error) Unwrap() error { return e.Err }

// Permanent marks err as a failure that a retry cannot fix, so that the caller
// does not retry it. It returns nil for nil and err itself when it is already
// permanent. The result keeps err in its chain (errors.Is and errors.As still
// see it) and keeps its Code when err carries an *Error.
func Permanent(err error) error {
	if err == nil || IsPermanent(err) {
		return err
	}
	p := &Error{Code: CodeFailed, Permanent: true, Err: err}
	var e *Error
	if errors.As(err, &e) {
		p.Code, p.Kind = e.Code, e.Kind
	}
	return p
}

// IsPermanent reports whether any *Error in err's chain is marked permanent.
func IsPermanent(err error) bool {
	var e *Error
	for err != nil && errors.As(err, &e) {
		if e.Permanent {
			return true
		}
		err = e.Err
	}
	return false
}

func permanentf(code Code, kind, msg string) *Error {
	return &Error{Code: code, Kind: kind, Message: msg, Permanent: true}
}
