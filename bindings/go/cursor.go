package toykv

// #include "shim.h"
import "C"

import (
	"runtime"
	"sync"
	"unsafe"
)

// Cursor walks the keys of a range in unsigned byte order over the snapshot taken when it
// was opened: later writes, flushes and compactions do not change what it returns.
//
//	c, err := db.NewCursor(start, end)
//	if err != nil { ... }
//	defer c.Close()
//	for c.Next() {
//		use(c.Key(), c.Value())
//	}
//	if err := c.Err(); err != nil { ... }
//
// A cursor is for one goroutine at a time, except that Close may come from any goroutine: it
// waits for the step in flight. Each step is one cgo call that returns key and value together.
type Cursor struct {
	h       *cursorHandle
	owner   any // the DB or Snapshot it reads, kept reachable while the cursor is
	cleanup runtime.Cleanup
	// Guarded by h.mu, so that a Close from another goroutine does not race with a step.
	key   []byte // the current entry, copied into buffers the cursor reuses
	value []byte
	valid bool
	err   error
}

// cursorHandle is the cursor's C pointer and the mutex its calls hold (libtoykv lets one
// thread at a time use a cursor). Close and the leak cleanup take the pointer under the
// mutex. It lives apart from Cursor for the same reason as handle.
type cursorHandle struct {
	mu  sync.Mutex
	ptr *C.toykv_cursor // nil once closed
}

// take waits for the call in flight, detaches the pointer and returns it (nil when already
// taken) for the caller to free.
func (h *cursorHandle) take() *C.toykv_cursor {
	h.mu.Lock()
	defer h.mu.Unlock()
	ptr := h.ptr
	h.ptr = nil
	return ptr
}

// openCursor opens a cursor over [start, end) on the database db or, when db is nil, on the
// snapshot snap; owner is the Go object of the one used. The caller holds its handle.
func openCursor(db *C.toykv_db, snap *C.toykv_snapshot, start, end []byte,
	owner any) (*Cursor, error) {
	s, slen := cbytes(start)
	e, elen := cbytes(end)
	var ptr *C.toykv_cursor
	var msg *C.char
	rc := C.tkvgo_cursor_open(db, snap, s, slen, e, elen, &ptr, &msg)
	if err := statusError(rc, msg); err != nil {
		return nil, err
	}
	// Non-nil empty buffers: an empty key or value is a non-nil empty slice, as from Get.
	c := &Cursor{h: &cursorHandle{ptr: ptr}, owner: owner, key: []byte{}, value: []byte{}}
	c.cleanup = runtime.AddCleanup(c, closeLeakedCursor, c.h)
	return c, nil
}

// closeLeakedCursor is the safety net for a cursor that became unreachable unclosed.
func closeLeakedCursor(h *cursorHandle) {
	C.toykv_cursor_close(h.take())
}

// Next moves to the next entry and reports whether there is one. It returns false at the end
// of the range and on an error (see [Cursor.Err]), and keeps returning false until a Seek.
func (c *Cursor) Next() bool {
	return c.advance(c.keep)
}

// keep copies the current entry, which lives in the library's memory until the next call.
func (c *Cursor) keep(key, value []byte) {
	c.key = append(c.key[:0], key...)
	c.value = append(c.value[:0], value...)
}

// advance makes one toykv_cursor_next call and, on an entry, passes take views of its key
// and value in the library's memory, valid only during take (which runs under the mutex).
// false at the end or on an error, which it records.
func (c *Cursor) advance(take func(key, value []byte)) bool {
	c.h.mu.Lock()
	defer c.h.mu.Unlock()
	c.valid = false
	if c.err != nil {
		return false
	}
	if c.h.ptr == nil {
		c.err = closedError("cursor")
		return false
	}
	var e C.tkvgo_entry
	switch rc := C.tkvgo_cursor_next(c.h.ptr, &e); rc {
	case C.TOYKV_OK:
		take(unsafe.Slice((*byte)(e.key), e.key_len), unsafe.Slice((*byte)(e.value), e.value_len))
		c.valid = true
	case C.TOYKV_END:
	default:
		c.err = statusError(rc, e.err)
	}
	return c.valid
}

// Key is the current entry's key, or nil when Next has not returned true. It is valid until
// the next call of Next, Seek or Close: copy it to keep it.
func (c *Cursor) Key() []byte {
	if !c.valid {
		return nil
	}
	return c.key
}

// Value is the current entry's value, valid as long as [Cursor.Key].
func (c *Cursor) Value() []byte {
	if !c.valid {
		return nil
	}
	return c.value
}

// Err is the error that ended the iteration, nil when it reached the end of the range. A
// database closed under the cursor gives an error matching [ErrClosed]; a damaged sstable
// [ErrCorruption] or [ErrIO] (the cursor then stays failed).
func (c *Cursor) Err() error { return c.err }

// Seek repositions the cursor so that the next entry is the first key >= key within its
// range (a key before the range's start means the start). It also revives a cursor that
// reached the end, and clears a previous error if the library accepts the seek.
func (c *Cursor) Seek(key []byte) error {
	c.h.mu.Lock()
	defer c.h.mu.Unlock()
	c.valid = false
	if c.h.ptr == nil {
		c.err = closedError("cursor")
		return c.err
	}
	k, klen := cbytes(key)
	var msg *C.char
	c.err = statusError(C.tkvgo_cursor_seek(c.h.ptr, k, klen, &msg), msg)
	return c.err
}

// Close frees the cursor and returns the error that ended the iteration, as [Cursor.Err]
// does (nil for one that ran to the end or was stopped early). Closing twice is harmless:
// the second Close returns nil. A cursor may be closed after its database, and from another
// goroutine than the one stepping it (it waits for the step in flight; the next step then
// reports ErrClosed).
func (c *Cursor) Close() error {
	c.h.mu.Lock()
	ptr, err := c.h.ptr, c.err
	c.h.ptr, c.valid = nil, false
	c.h.mu.Unlock()
	if ptr == nil {
		return nil
	}
	c.cleanup.Stop()
	C.toykv_cursor_close(ptr)
	return err
}
