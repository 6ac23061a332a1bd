package toykv

// The cgo directives for the whole package. noescape: libtoykv never keeps a pointer it is
// passed beyond the call (it copies keys, values and bounds), so Go buffers handed to these
// functions may stay on the stack. nocallback: libtoykv never calls into Go.

/*
#cgo pkg-config: toykv
#cgo noescape toykv_open
#cgo noescape toykv_close
#cgo noescape toykv_destroy
#cgo noescape tkvgo_put
#cgo noescape tkvgo_delete
#cgo noescape tkvgo_get_into
#cgo noescape toykv_sync
#cgo noescape toykv_flush
#cgo noescape toykv_compact
#cgo noescape toykv_checkpoint
#cgo noescape toykv_property
#cgo noescape tkvgo_cursor_open
#cgo noescape tkvgo_cursor_next
#cgo noescape tkvgo_cursor_seek
#cgo noescape toykv_snapshot_open
#cgo noescape tkvgo_write_ops
#cgo noescape tkvgo_snapshot_get
#cgo nocallback tkvgo_put
#cgo nocallback tkvgo_delete
#cgo nocallback tkvgo_get_into
#cgo nocallback tkvgo_cursor_next
#cgo nocallback tkvgo_cursor_seek
#cgo nocallback tkvgo_write_ops
#cgo nocallback tkvgo_snapshot_get
#include "shim.h"
*/
import "C"

import "unsafe"

// Version is the version of the libtoykv the program runs against, e.g. "0.1.0".
func Version() string {
	return C.GoString(C.toykv_version())
}

// The library's limits; past them a call fails with an error matching [ErrInvalidArgument].
// MaxBatchBytes bounds what one [Batch] may charge: each operation counts its key and value
// plus a fixed overhead (what it costs in the memtable).
const (
	MaxKeyLen     = C.TOYKV_MAX_KEY_LEN
	MaxValueLen   = C.TOYKV_MAX_VALUE_LEN
	MaxBatchBytes = C.TOYKV_MAX_BATCH_BYTES
)

// inlineValueBytes is the size of the stack buffer a point read copies into: values up to
// this size take one cgo call; longer ones a second call into an exactly sized buffer.
const inlineValueBytes = 1024

// cbytes is the C view of b, as a char pointer (see shim.h for why not void *). A nil slice
// gives (NULL, 0), which the library reads as the empty key or, for a range bound, as
// unbounded; a non-nil empty slice gives a non-NULL pointer with length 0, the empty key.
func cbytes(b []byte) (*C.char, C.size_t) {
	return (*C.char)(unsafe.Pointer(unsafe.SliceData(b))), C.size_t(len(b))
}

// cstring is s as a NUL-terminated byte string in Go memory (the library copies what it
// keeps, so no C allocation is needed). A NUL inside s cannot be passed and is an error.
func cstring(s, what string) (*C.char, error) {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return nil, &Error{Code: CodeInvalidArgument, Message: what + " contains a NUL byte"}
		}
	}
	b := make([]byte, len(s)+1)
	copy(b, s)
	return (*C.char)(unsafe.Pointer(&b[0])), nil
}

// takeString copies a NUL-terminated string the library allocated and frees it.
func takeString(s *C.char) string {
	defer C.toykv_free(unsafe.Pointer(s))
	return C.GoString(s)
}
