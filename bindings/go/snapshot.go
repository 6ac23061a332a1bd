package toykv

// #include "shim.h"
import "C"

import (
	"runtime"
	"unsafe"
)

// Snapshot is a read-only view of the database as it was when [DB.Snapshot] took it. It is
// safe for concurrent use; Close waits for the reads in flight.
type Snapshot struct {
	h       *handle[*C.toykv_snapshot]
	db      *DB // kept reachable while the snapshot is
	cleanup runtime.Cleanup
}

func newSnapshot(ptr *C.toykv_snapshot, db *DB) *Snapshot {
	s := &Snapshot{h: newHandle(ptr, "snapshot"), db: db}
	s.cleanup = runtime.AddCleanup(s, closeLeakedSnapshot, s.h)
	return s
}

// closeLeakedSnapshot is the safety net for a snapshot that became unreachable unclosed.
func closeLeakedSnapshot(h *handle[*C.toykv_snapshot]) {
	C.toykv_snapshot_close(h.take())
}

// Get returns a copy of the value key had when the snapshot was taken, or an error matching
// [ErrNotFound]. After the database is closed it returns an error matching [ErrClosed].
// One cgo call for values of up to 1 KiB (the library's API has no snapshot read into a
// caller's buffer, so a longer value takes a second call to free the library's copy).
func (s *Snapshot) Get(key []byte) ([]byte, error) {
	ptr, err := s.h.acquire()
	if err != nil {
		return nil, err
	}
	defer s.h.release()
	k, klen := cbytes(key)
	var buf [inlineValueBytes]byte
	var heap unsafe.Pointer
	var n C.size_t
	var msg *C.char
	rc := C.tkvgo_snapshot_get(ptr, k, klen, (*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)),
		&heap, &n, &msg)
	switch rc {
	case C.TOYKV_OK:
		if heap == nil {
			return append(make([]byte, 0, n), buf[:n]...), nil
		}
		defer C.toykv_free(heap)
		return append(make([]byte, 0, n), unsafe.Slice((*byte)(heap), n)...), nil
	case C.TOYKV_NOT_FOUND:
		return nil, ErrNotFound
	default:
		return nil, statusError(rc, msg)
	}
}

// NewCursor opens a cursor over [start, end) as of the snapshot; bounds as for
// [DB.NewCursor]. The cursor stays valid after the snapshot is closed.
func (s *Snapshot) NewCursor(start, end []byte) (*Cursor, error) {
	ptr, err := s.h.acquire()
	if err != nil {
		return nil, err
	}
	defer s.h.release()
	return openCursor(nil, ptr, start, end, s)
}

// Close releases the snapshot, letting compaction drop what only it could see. It always
// returns nil (it is an io.Closer); closing twice is harmless, and so is closing after the
// database.
func (s *Snapshot) Close() error {
	if ptr := s.h.take(); ptr != nil {
		s.cleanup.Stop()
		C.toykv_snapshot_close(ptr)
	}
	return nil
}
