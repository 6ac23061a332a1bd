package toykv

// #include "toykv.h"
import "C"

// Code is a libtoykv status code (toykv_status in toykv.h).
type Code int

// The status codes. CodeOK, CodeNotFound and CodeEnd are answers rather than failures; the
// binding turns CodeNotFound into [ErrNotFound] and CodeEnd into the end of an iteration.
const (
	CodeOK              Code = C.TOYKV_OK
	CodeNotFound        Code = C.TOYKV_NOT_FOUND
	CodeEnd             Code = C.TOYKV_END
	CodeInvalidArgument Code = C.TOYKV_INVALID_ARGUMENT
	CodeIO              Code = C.TOYKV_IO
	CodeCorruption      Code = C.TOYKV_CORRUPTION
	CodeLocked          Code = C.TOYKV_LOCKED
	CodeBufferTooSmall  Code = C.TOYKV_BUFFER_TOO_SMALL
	CodeClosed          Code = C.TOYKV_CLOSED
	CodeInternal        Code = C.TOYKV_INTERNAL
)

// String is the library's description of the code (toykv_status_str).
func (c Code) String() string {
	return C.GoString(C.toykv_status_str(C.int(c)))
}

// Error is a failure reported by libtoykv (or by the binding on its behalf, such as a call
// on a closed handle): the status code and the library's message, which names the cause and,
// where one is involved, the file.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return "toykv: " + e.Code.String()
	}
	return "toykv: " + e.Message // the library's messages name their kind ("corruption in ...")
}

// Is reports whether target is an *Error with the same code, so that errors.Is(err,
// ErrCorruption) holds for every corruption error whatever its message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Sentinels for errors.Is, one per failure code.
var (
	ErrNotFound        error = &Error{Code: CodeNotFound}
	ErrInvalidArgument error = &Error{Code: CodeInvalidArgument}
	ErrIO              error = &Error{Code: CodeIO}
	ErrCorruption      error = &Error{Code: CodeCorruption}
	ErrLocked          error = &Error{Code: CodeLocked}
	ErrBufferTooSmall  error = &Error{Code: CodeBufferTooSmall}
	ErrClosed          error = &Error{Code: CodeClosed}
	ErrInternal        error = &Error{Code: CodeInternal}
)

// statusError turns a status and the message the library may have allocated into an error
// (nil for TOYKV_OK), freeing the message.
func statusError(rc C.int, msg *C.char) error {
	if rc == C.TOYKV_OK {
		return nil
	}
	e := &Error{Code: Code(rc)}
	if msg != nil {
		e.Message = takeString(msg)
	}
	return e
}

// closedError is what a call on a handle the binding has already closed returns.
func closedError(what string) error {
	return &Error{Code: CodeClosed, Message: what + " is closed"}
}
