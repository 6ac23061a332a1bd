package toykv

import "unsafe"

// RawHandle exposes the toykv_db pointer to the benchmarks' C loops (internal/cbench). The
// caller must not use it past Close.
func RawHandle(db *DB) unsafe.Pointer {
	return unsafe.Pointer(db.h.ptr)
}
