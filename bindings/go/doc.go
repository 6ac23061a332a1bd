// Package toykv is the Go binding of libtoykv, a log-structured merge-tree key-value store,
// over its C API (toykv.h) through cgo.
//
// A [DB] is safe for concurrent use by many goroutines. [DB.Close] waits for the calls in
// flight on other goroutines, and every later call returns an error matching [ErrClosed]:
// using a closed handle is an error, never a crash. A [Cursor] belongs to one goroutine at a
// time; a [Snapshot] may be read from many at once. Cursors and snapshots may be closed
// before or after their database; one whose database was closed returns [ErrClosed] (or
// finishes from the view it holds).
//
// Close what you open. A handle that becomes unreachable unclosed is closed by a cleanup
// when the garbage collector notices, but that is only a safety net: it may come late or
// never, and a leaked DB keeps its directory locked until then.
//
// Keys and values are byte slices; an empty key and an empty value are valid (an empty value
// is present, not absent). Values returned by [DB.Get], [Snapshot.Get] and the range
// functions are fresh copies the caller owns; [Cursor.Key] and [Cursor.Value] are valid only
// until the cursor's next call.
//
// Errors are *[Error] values carrying the library's status [Code] and message; compare them
// with [errors.Is] against the sentinels ([ErrNotFound], [ErrCorruption], [ErrClosed], ...).
//
// The build finds libtoykv with pkg-config (`#cgo pkg-config: toykv`): install the library
// (`make install` in the toykv repository) or point PKG_CONFIG_PATH at a toykv.pc.
package toykv
