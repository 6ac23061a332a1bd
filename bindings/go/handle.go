package toykv

import "sync"

// handle guards a pointer to a C handle that many threads may use at once (a database or a
// snapshot) against being freed while a call uses it. Calls hold the lock shared; take, used
// by Close and by the leak cleanup, holds it exclusively, so it waits for the calls in
// flight, and the calls after it find the pointer gone. (A cursor, which one thread at a
// time may use, has a plain mutex instead: see cursorHandle.)
//
// A handle lives apart from the Go object (DB, Snapshot) that owns it so that the object's
// cleanup (runtime.AddCleanup) can receive it without keeping the object alive.
//
// P is the C pointer type (*C.toykv_db, ...): the C structs themselves are incomplete types,
// which cannot be type arguments.
type handle[P comparable] struct {
	mu   sync.RWMutex
	ptr  P      // the zero value (NULL) once taken
	what string // "database", "snapshot", "cursor": named in the closed error
}

func newHandle[P comparable](ptr P, what string) *handle[P] {
	return &handle[P]{ptr: ptr, what: what}
}

// acquire read-locks the handle and returns its pointer, or an error matching ErrClosed once
// it is closed. A nil error must be paired with release.
func (h *handle[P]) acquire() (P, error) {
	h.mu.RLock()
	var null P
	if h.ptr == null {
		h.mu.RUnlock()
		return null, closedError(h.what)
	}
	return h.ptr, nil
}

func (h *handle[P]) release() { h.mu.RUnlock() }

// take waits for the calls in flight, detaches the pointer and returns it (nil when already
// taken). The caller frees it; nobody else can reach it any more.
func (h *handle[P]) take() P {
	h.mu.Lock()
	defer h.mu.Unlock()
	ptr := h.ptr
	var null P
	h.ptr = null
	return ptr
}
