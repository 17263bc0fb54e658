package hookwatch

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one HTTP status in one place (see the http
// handlers' error writer) and to one exit code in the CLI.
const (
	ECONFLICT     = "conflict"     // the action conflicts with the current state
	EINTERNAL     = "internal"     // a bug or an unexpected failure: reported to the error tracker
	EINVALID      = "invalid"      // the input is wrong; the message says what to fix
	ENOTFOUND     = "not_found"    // the thing asked for does not exist
	EUNAUTHORIZED = "unauthorized" // missing or wrong credentials or signature
	ETOOLARGE     = "too_large"    // a body over its size limit
	EUNAVAILABLE  = "unavailable"  // temporarily unable (store cannot commit): retry later
	EFORBIDDEN    = "forbidden"    // authenticated but not allowed
	EMETHOD       = "method"       // wrong HTTP method
)

// Error is Hookwatch's coded error. Message is safe to show to a caller;
// the wrapped Err (if any) is for logs and the error tracker.
type Error struct {
	Code    string
	Message string
	Err     error
}

func (e *Error) Error() string {
	switch {
	case e.Err != nil && e.Message != "":
		return e.Message + ": " + e.Err.Error()
	case e.Err != nil:
		return e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the caller-safe message of err: the Message of the
// first *Error in its chain, or "internal error" for anything else.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return "internal error"
}
