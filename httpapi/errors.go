package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"go.temporal.io/api/serviceerror"

	"github.com/parklot/parklot/api"
	"github.com/parklot/parklot/domain/audit"
	"github.com/parklot/parklot/domain/mailbox"
	"github.com/parklot/parklot/domain/parking"
	"github.com/parklot/parklot/domain/pool"
)

// Error codes of the HTTP API besides the pool.Reason values, which are
// used as codes as they are (queue_full, pool_draining, ...).
const (
	CodeInvalidRequest   = string(pool.ReasonInvalidRequest)
	CodeNotFound         = "not_found"
	CodeForbidden        = "forbidden"
	CodeMethodNotAllowed = "method_not_allowed"
	CodeTaskFinished     = "task_finished"
	CodeDuplicate        = string(pool.ReasonDuplicate)
	CodeBodyTooLarge     = "body_too_large"
	CodeUnsupportedMedia = "unsupported_media_type"
	CodeTimeout          = "timeout"
	CodeUnavailable      = "unavailable"
	CodeTooManyStreams   = "too_many_streams"
	CodeInternal         = "internal"
)

// ErrorBody is the body of every error answer: {"error":{"code","message","field?"}}.
type ErrorBody struct {
	Error Problem `json:"error"`
}

// Problem says what went wrong: a stable machine code, a message for humans
// that names the fix, and for invalid input the field at fault.
type Problem struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// httpError is an error that knows its answer.
type httpError struct {
	status int
	Problem
}

func (e *httpError) Error() string { return e.Code + ": " + e.Message }

func errorf(status int, code, field, format string, args ...any) *httpError {
	return &httpError{status: status, Problem: Problem{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}}
}

func invalid(field, format string, args ...any) *httpError {
	return errorf(http.StatusBadRequest, CodeInvalidRequest, field, format, args...)
}

// reasonStatus maps a pool's refusal to an HTTP status, once for the API.
func reasonStatus(r pool.Reason) int {
	switch r {
	case pool.ReasonInvalidRequest, pool.ReasonDeadlinePassed:
		return http.StatusBadRequest
	case pool.ReasonUnknownPool:
		return http.StatusNotFound
	case pool.ReasonQueueFull, pool.ReasonCapacityZero, pool.ReasonExceedsCapacity,
		pool.ReasonPoolDisabled, pool.ReasonPoolDraining, pool.ReasonDuplicate:
		return http.StatusConflict
	}
	return http.StatusConflict
}

// toHTTPError classifies any error a handler met.
func toHTTPError(err error) *httpError {
	var he *httpError
	var pe *pool.Error
	var maxBytes *http.MaxBytesError
	var unavailable *serviceerror.Unavailable
	var queryFailed *serviceerror.QueryFailed
	var parkErr *parking.Error
	switch {
	case errors.As(err, &he):
		return he
	case errors.As(err, &pe):
		return errorf(reasonStatus(pe.Reason), string(pe.Reason), pe.Field, "%s", pe.Message)
	case errors.As(err, &parkErr):
		return parkingError(parkErr, "").(*httpError)
	case errors.As(err, &maxBytes):
		return errorf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "", "the request body is larger than %d bytes", maxBytes.Limit)
	case errors.Is(err, api.ErrNotFound):
		return errorf(http.StatusNotFound, CodeNotFound, "", "%s", strings.TrimPrefix(err.Error(), api.ErrNotFound.Error()+": "))
	case errors.Is(err, mailbox.ErrInvalid), errors.Is(err, audit.ErrInvalid):
		return invalid("", "%s", err.Error())
	case errors.As(err, &queryFailed):
		// The mailbox query checks its since and limit; this package checks
		// both before asking, so what is left is a messageId the mailbox
		// does not hold.
		return invalid("since", "%s", queryFailed.Message)
	case errors.Is(err, context.Canceled):
		return errorf(http.StatusServiceUnavailable, CodeUnavailable, "", "the request was cancelled")
	case errors.Is(err, context.DeadlineExceeded):
		return errorf(http.StatusServiceUnavailable, CodeTimeout, "", "Temporal did not answer in time; retry later")
	case errors.As(err, &unavailable):
		return errorf(http.StatusServiceUnavailable, CodeUnavailable, "", "Temporal is unavailable: %s", unavailable.Message)
	}
	return errorf(http.StatusInternalServerError, CodeInternal, "", "internal error; the worker's log has the details")
}

// fail answers err in the error format, logging what is not the caller's fault.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	he := toHTTPError(err)
	if he.status >= 500 && r.Context().Err() == nil {
		h.o.Logger.Warn("http request failed", "method", r.Method, "path", r.URL.Path, "status", he.status, "err", err)
	}
	writeError(w, he.status, he.Problem)
}

func writeError(w http.ResponseWriter, status int, p Problem) {
	writeJSON(w, status, ErrorBody{Error: p})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// decodeJSON reads exactly one JSON object of the request into v: at most
// maxBytes, no field v does not know, nothing after it.
func decodeJSON(w http.ResponseWriter, r *http.Request, maxBytes int64, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return errorf(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "", "Content-Type %q: send application/json", ct)
		}
	}
	if r.ContentLength > maxBytes {
		return errorf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "", "the request body is %d bytes: the maximum is %d", r.ContentLength, maxBytes)
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bodyError(err)
	}
	if err := dec.Decode(&json.RawMessage{}); err != io.EOF {
		if err == nil {
			return invalid("", "the body holds more than one JSON value: send exactly one object")
		}
		return bodyError(err)
	}
	return nil
}

func bodyError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var maxBytes *http.MaxBytesError
	switch {
	case errors.As(err, &maxBytes):
		return err
	case errors.Is(err, io.EOF):
		return invalid("", "the body is empty: send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("", "the body ends in the middle of a JSON value")
	case errors.As(err, &syntax):
		return invalid("", "the body is not valid JSON (at byte %d): %v", syntax.Offset, err)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return invalid("", "the body must be a JSON object, not %s", typ.Value)
		}
		return invalid(typ.Field, "%s must not be a JSON %s", typ.Field, typ.Value)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return invalid(name, "unknown field %q: see docs/openapi.yaml for the fields this endpoint takes", name)
	}
	return invalid("", "the body cannot be read: %v", err)
}
