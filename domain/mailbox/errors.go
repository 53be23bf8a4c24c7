package mailbox

import (
	"errors"
	"fmt"
)

var (
	// ErrInvalid marks every error caused by the caller's input: a retry with
	// the same input cannot succeed, so callers map it to a non-retryable
	// failure (CLI usage error, HTTP 400, non-retryable application error).
	ErrInvalid = errors.New("invalid mailbox input")

	// ErrCursorNotFound means a --since message id does not exist in the
	// mailbox being read. It also wraps ErrInvalid. The error deliberately
	// does not say whether the id exists in another mailbox.
	ErrCursorNotFound = errors.New("cursor message not found in this mailbox")

	// ErrConflict means a message id is already used by a different message
	// (another key or task). It also wraps ErrInvalid.
	ErrConflict = errors.New("message id already used by another message")
)

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// CursorNotFoundError builds the error stores return when a message-id cursor
// is not part of key's mailbox.
func CursorNotFoundError(key Key, messageID string) error {
	return fmt.Errorf("%w: %w: %s in mailbox %s: pass a messageId returned by a read of this mailbox, or an RFC3339 time",
		ErrInvalid, ErrCursorNotFound, messageID, key)
}

// ConflictError builds the error stores return when msg reuses the id of a
// message that belongs to another key or task.
func ConflictError(msg Message) error {
	return fmt.Errorf("%w: %w: %s (task %s, mailbox %s): leave messageId empty to let the store assign one",
		ErrInvalid, ErrConflict, msg.MessageID, msg.TaskID, msg.Key)
}
