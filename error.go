package fairway

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one CLI exit code and one HTTP status, and only
// the adapters (cmd/fairwayd, http) know those mappings.
const (
	EINVALID      = "invalid"
	ENOTFOUND     = "not_found"
	ECONFLICT     = "conflict"
	EFORBIDDEN    = "forbidden"
	EUNAUTHORIZED = "unauthorized"
	EGATEFAILED   = "gate_failed"
	// ESTEPUP asks the caller to sign in again with a stronger or fresher
	// authentication (RFC 9470).
	ESTEPUP   = "step_up_required"
	EINTERNAL = "internal"
)

// Error is the one error type the domain returns. Message is written for the
// person at the terminal: it says what was wrong and what to do next. Field
// names the input at fault, when there is one.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	// StepUp says what authentication would satisfy an ESTEPUP error.
	StepUp *StepUp `json:"step_up,omitempty"`
}

// StepUp is the RFC 9470 challenge: the ACR values and the maximum age of
// authentication the request needs.
type StepUp struct {
	ACRValues []string `json:"acr_values,omitempty"`
	MaxAge    int      `json:"max_age,omitempty"`
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Message)
	}
	return e.Message
}

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError returns an EINVALID error about one input field.
func FieldError(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, EINTERNAL for errors that are not an
// *Error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the human message of err. Errors that are not an
// *Error are internal and their details are not shown to the caller.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Error()
	}
	return "internal error; see the server log"
}
