package executor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// decodePayload decodes a task payload into dst, refusing unknown fields and
// trailing data. An empty or null payload leaves dst at its zero value. Every
// error is a permanent CodeInvalidPayload *Error whose message names the field
// and what it should hold.
func decodePayload(kind string, raw json.RawMessage, dst any) error {
	data := bytes.TrimSpace(raw)
	if len(data) == 0 || string(data) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return payloadErrorf(kind, "%s", describeDecodeError(dst, err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return payloadErrorf(kind, "has data after the JSON object: send exactly one JSON object")
	}
	return nil
}

// payloadErrorf builds "<kind> payload<msg>", where msg starts with ": " or
// a space, as the callers below format it.
func payloadErrorf(kind, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if !strings.HasPrefix(msg, ":") {
		msg = " " + msg
	}
	return permanentf(CodeInvalidPayload, kind, kind+" payload"+msg)
}

// fieldErrorf builds `<kind> payload: "<field>" <msg>`.
func fieldErrorf(kind, field, format string, args ...any) error {
	return payloadErrorf(kind, ": %q %s", field, fmt.Sprintf(format, args...))
}

func describeDecodeError(dst any, err error) string {
	fields := jsonFields(dst)
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("is not valid JSON (%v at byte %d): send one JSON object with the fields %s",
			syntaxErr, syntaxErr.Offset, strings.Join(fields, ", "))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Sprintf("is truncated JSON: send one complete JSON object with the fields %s", strings.Join(fields, ", "))
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return fmt.Sprintf("must be a JSON object with the fields %s, got %s", strings.Join(fields, ", "), typeErr.Value)
		}
		if outer := fieldType(dst, typeErr.Field); outer != nil && outer != typeErr.Type {
			// The value is an element of an array or object field.
			return fmt.Sprintf(": %q must be %s, got %s among its values", typeErr.Field, describeType(outer), typeErr.Value)
		}
		return fmt.Sprintf(": %q must be %s, got %s", typeErr.Field, describeType(typeErr.Type), typeErr.Value)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return fmt.Sprintf(": unknown field %s: the allowed fields are %s", name, strings.Join(fields, ", "))
	}
	return ": " + err.Error()
}

// jsonFields lists the quoted JSON names of dst's fields, in declaration order.
func jsonFields(dst any) []string {
	t := reflect.TypeOf(dst)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var names []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		names = append(names, fmt.Sprintf("%q", name))
	}
	return names
}

// fieldType is the type of dst's field with the given JSON name, or nil.
func fieldType(dst any, name string) reflect.Type {
	t := reflect.TypeOf(dst)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	for f := range t.Fields() {
		if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag == name {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			return ft
		}
	}
	return nil
}

func describeType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Pointer:
		return describeType(t.Elem())
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array of " + strings.TrimPrefix(strings.TrimPrefix(describeType(t.Elem()), "a "), "an ") + "s"
	case reflect.Map:
		return "an object whose values are " + strings.TrimPrefix(strings.TrimPrefix(describeType(t.Elem()), "a "), "an ") + "s"
	}
	return t.String()
}
