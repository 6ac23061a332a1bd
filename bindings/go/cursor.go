package toykv

// #include "shim.h"
import "C"

import (
	"runtime"
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
// A cursor is used by one goroutine at a time (a call from a second one waits rather than
// crashing). Each step is one cgo call that returns key and value together.
type Cursor struct {
	h       *handle[*C.toykv_cursor]
	owner   any    // the DB or Snapshot it reads, kept reachable while the cursor is
	key     []byte // the current entry, copied into buffers the cursor reuses
	value   []byte
	valid   bool
	err     error
	cleanup runtime.Cleanup
}

func newCursor(ptr *C.toykv_cursor, owner any) *Cursor {
	c := &Cursor{h: newHandle(ptr, "cursor"), owner: owner}
	c.cleanup = runtime.AddCleanup(c, closeLeakedCursor, c.h)
	return c
}

// closeLeakedCursor is the safety net for a cursor that became unreachable unclosed.
func closeLeakedCursor(h *handle[*C.toykv_cursor]) {
	C.toykv_cursor_close(h.take())
}

// Next moves to the next entry and reports whether there is one. It returns false at the end
// of the range and on an error (see [Cursor.Err]), and keeps returning false until a Seek.
func (c *Cursor) Next() bool {
	c.valid = c.err == nil && c.advance(c.keep)
	return c.valid
}

// keep copies the current entry, which lives in the library's memory until the next call.
func (c *Cursor) keep(key, value []byte) {
	c.key = append(c.key[:0], key...)
	c.value = append(c.value[:0], value...)
}

// advance makes one toykv_cursor_next call and, on an entry, passes take views of its key
// and value in the library's memory, valid only during take. false at the end or on an
// error, which it records.
func (c *Cursor) advance(take func(key, value []byte)) bool {
	ptr, err := c.h.acquireExclusive()
	if err != nil {
		c.err = err
		return false
	}
	defer c.h.releaseExclusive()
	var key, value unsafe.Pointer
	var keyLen, valueLen C.size_t
	var msg *C.char
	switch rc := C.toykv_cursor_next(ptr, &key, &keyLen, &value, &valueLen, &msg); rc {
	case C.TOYKV_OK:
		take(unsafe.Slice((*byte)(key), keyLen), unsafe.Slice((*byte)(value), valueLen))
		return true
	case C.TOYKV_END:
		return false
	default:
		c.err = statusError(rc, msg)
		return false
	}
}

// Key is the current entry's key, or nil when Next has not returned true. It is valid until
// the next call of Next, Seek or Close: copy it to keep it.
func (c *Cursor) Key() []byte {
	if !c.valid {
		return nil
	}
	if c.key == nil {
		return []byte{}
	}
	return c.key
}

// Value is the current entry's value, valid as long as [Cursor.Key].
func (c *Cursor) Value() []byte {
	if !c.valid {
		return nil
	}
	if c.value == nil {
		return []byte{}
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
	c.valid = false
	ptr, err := c.h.acquireExclusive()
	if err != nil {
		c.err = err
		return err
	}
	defer c.h.releaseExclusive()
	k, klen := cbytes(key)
	var msg *C.char
	c.err = statusError(C.toykv_cursor_seek(ptr, k, klen, &msg), msg)
	return c.err
}

// Close frees the cursor and returns the error that ended the iteration, as [Cursor.Err]
// does (nil for one that ran to the end or was stopped early). Closing twice is harmless:
// the second Close returns nil. A cursor may be closed after its database.
func (c *Cursor) Close() error {
	ptr := c.h.take()
	if ptr == nil {
		return nil
	}
	c.cleanup.Stop()
	C.toykv_cursor_close(ptr)
	c.valid = false
	return c.err
}
