package toykv

// #include "shim.h"
import "C"

import (
	"fmt"
	"runtime"
)

// DB is an open database. It is safe for concurrent use; see the package documentation for
// what Close does to calls in flight.
type DB struct {
	h       *handle[*C.toykv_db]
	cleanup runtime.Cleanup
}

// Open opens (by default creating) the database in directory path. opts may be nil for the
// defaults. The directory is locked until Close: a second Open of it, in this process or
// another, fails with an error matching [ErrLocked].
func Open(path string, opts *Options) (*DB, error) {
	if opts == nil {
		opts = &Options{}
	}
	cpath, err := cstring(path, "path")
	if err != nil {
		return nil, err
	}
	copts, err := opts.toC()
	if err != nil {
		return nil, err
	}
	defer C.toykv_options_free(copts)
	var ptr *C.toykv_db
	var msg *C.char
	if err := statusError(C.toykv_open(cpath, copts, &ptr, &msg), msg); err != nil {
		return nil, err
	}
	db := &DB{h: newHandle(ptr, "database")}
	db.cleanup = runtime.AddCleanup(db, closeLeakedDB, db.h)
	return db, nil
}

// closeLeakedDB is the safety net for a DB that became unreachable unclosed.
func closeLeakedDB(h *handle[*C.toykv_db]) {
	C.toykv_close(h.take(), nil)
}

// Close waits for the calls in flight on other goroutines, makes every acknowledged write
// durable, releases the directory and frees the handle. Later calls on the DB return an
// error matching [ErrClosed]; a second Close returns nil. The handle is freed even when
// Close returns an error (some writes may then not be durable). Cursors and snapshots of
// the DB stay valid to close.
func (db *DB) Close() error {
	ptr := db.h.take()
	if ptr == nil {
		return nil
	}
	db.cleanup.Stop()
	var msg *C.char
	return statusError(C.toykv_close(ptr, &msg), msg)
}

// Destroy deletes the files of the closed database in path, and the directory when it is
// then empty. A missing directory is not an error; an open database is [ErrLocked].
func Destroy(path string) error {
	cpath, err := cstring(path, "path")
	if err != nil {
		return err
	}
	var msg *C.char
	return statusError(C.toykv_destroy(cpath, &msg), msg)
}

// Get returns a copy of the value of key, or an error matching [ErrNotFound] when the key
// is absent. An empty value is returned as a non-nil empty slice.
//
// A value of up to 1 KiB costs one cgo call; a longer one a second call into a buffer of
// its exact size. [DB.GetInto] reads into a buffer the caller provides.
func (db *DB) Get(key []byte) ([]byte, error) {
	ptr, err := db.h.acquire()
	if err != nil {
		return nil, err
	}
	defer db.h.release()
	var buf [inlineValueBytes]byte
	n, err := getInto(ptr, key, buf[:])
	switch {
	case err == nil:
		return append(make([]byte, 0, n), buf[:n]...), nil
	case err != errTooSmall:
		return nil, err
	}
	// Longer than the stack buffer: read it into one of its size. A concurrent write may
	// make it longer again in between, hence the loop.
	for {
		value := make([]byte, n)
		n, err = getInto(ptr, key, value)
		if err != errTooSmall {
			return value[:n], err
		}
	}
}

// GetInto reads the value of key into buf and returns its length. When the value is longer
// than buf, it returns the length needed and an error matching [ErrBufferTooSmall] (buf is
// then untouched); an absent key is [ErrNotFound]. One cgo call, no allocation: the
// library copies the value straight into buf.
func (db *DB) GetInto(key, buf []byte) (int, error) {
	ptr, err := db.h.acquire()
	if err != nil {
		return 0, err
	}
	defer db.h.release()
	n, err := getInto(ptr, key, buf)
	if err == errTooSmall {
		return n, &Error{Code: CodeBufferTooSmall, Message: fmt.Sprintf(
			"the value is %d bytes, the buffer %d", n, len(buf))}
	}
	return n, err
}

// errTooSmall is getInto's internal "buffer too small" answer, turned into a full error
// only where it reaches the caller.
var errTooSmall error = &Error{Code: CodeBufferTooSmall}

// getInto is toykv_get_into: the value's length and nil, or the length needed and
// errTooSmall, or ErrNotFound or the library's error.
func getInto(ptr *C.toykv_db, key, buf []byte) (int, error) {
	k, klen := cbytes(key)
	b, blen := cbytes(buf)
	var n C.size_t
	var msg *C.char
	switch rc := C.tkvgo_get_into(ptr, k, klen, b, blen, &n, &msg); rc {
	case C.TOYKV_OK:
		return int(n), nil
	case C.TOYKV_NOT_FOUND:
		return 0, ErrNotFound
	case C.TOYKV_BUFFER_TOO_SMALL:
		return int(n), errTooSmall
	default:
		return 0, statusError(rc, msg)
	}
}

// Put sets key to value (both copied). Once it returns, the write is visible to every later
// read; it is durable as [Options.SyncWrites] and [DB.Sync] describe.
func (db *DB) Put(key, value []byte) error {
	ptr, err := db.h.acquire()
	if err != nil {
		return err
	}
	defer db.h.release()
	k, klen := cbytes(key)
	v, vlen := cbytes(value)
	var msg *C.char
	return statusError(C.tkvgo_put(ptr, k, klen, v, vlen, &msg), msg)
}

// Delete removes key; deleting an absent key is not an error.
func (db *DB) Delete(key []byte) error {
	ptr, err := db.h.acquire()
	if err != nil {
		return err
	}
	defer db.h.release()
	k, klen := cbytes(key)
	var msg *C.char
	return statusError(C.tkvgo_delete(ptr, k, klen, &msg), msg)
}

// NewBatch returns an empty batch for [DB.Write]. A batch belongs to no database and can be
// written to any, and reused.
func (db *DB) NewBatch() *Batch {
	return new(Batch)
}

// Write applies every operation of b atomically (also across a crash), in one cgo call.
// b is not changed.
func (db *DB) Write(b *Batch) error {
	if b == nil {
		return &Error{Code: CodeInvalidArgument, Message: "batch is nil"}
	}
	ptr, err := db.h.acquire()
	if err != nil {
		return err
	}
	defer db.h.release()
	ops, n := cbytes(b.ops)
	var failed C.size_t
	var msg *C.char
	rc := C.tkvgo_write_ops(ptr, ops, n, &failed, &msg)
	switch {
	case rc == C.TOYKV_OK:
		return nil
	case msg != nil:
		return statusError(rc, msg)
	case rc == C.TOYKV_INTERNAL:
		return &Error{Code: CodeInternal, Message: "the batch could not be built (out of memory)"}
	default:
		return &Error{Code: Code(rc), Message: b.describe(int(failed))}
	}
}

// Sync makes every write that returned before it durable (fsyncs the write-ahead log).
func (db *DB) Sync() error {
	return db.call(func(ptr *C.toykv_db, msg **C.char) C.int { return C.toykv_sync(ptr, msg) })
}

// Flush writes the memtable to an sstable and returns once it is installed.
func (db *DB) Flush() error {
	return db.call(func(ptr *C.toykv_db, msg **C.char) C.int { return C.toykv_flush(ptr, msg) })
}

// Compact flushes, then rewrites every sstable into one sorted run, dropping overwritten and
// deleted data no snapshot or cursor can see. It returns when done; a Close meanwhile waits
// for it.
func (db *DB) Compact() error {
	return db.call(func(ptr *C.toykv_db, msg **C.char) C.int { return C.toykv_compact(ptr, msg) })
}

// Checkpoint writes into dir, a directory that must not exist yet (missing parents are
// created), a complete copy of the database that [Open] opens on its own: every write that
// returned before the call, as of one moment (never part of a batch), taken while reads and
// writes on other goroutines go on. The sstables are hard-linked where dir is on the
// database's file system and copied otherwise; everything is fsynced before Checkpoint
// returns. Afterwards the two databases are independent. An existing dir is
// [ErrInvalidArgument]; a failure to read or write ([ErrIO]) leaves no dir behind.
func (db *DB) Checkpoint(dir string) error {
	cdir, err := cstring(dir, "checkpoint directory")
	if err != nil {
		return err
	}
	return db.call(func(ptr *C.toykv_db, msg **C.char) C.int {
		return C.toykv_checkpoint(ptr, cdir, msg)
	})
}

// Property returns a database property: "toykv.stats" (a human-readable summary),
// "toykv.sstables" (one line per live sstable), "toykv.num-files-at-level<N>",
// "toykv.compaction-pending" (the bytes flushes and compactions must still write, "0" when
// none is due). An unknown name is [ErrInvalidArgument].
func (db *DB) Property(name string) (string, error) {
	cname, err := cstring(name, "property name")
	if err != nil {
		return "", err
	}
	var value *C.char
	err = db.call(func(ptr *C.toykv_db, msg **C.char) C.int {
		return C.toykv_property(ptr, cname, &value, msg)
	})
	if err != nil {
		return "", err
	}
	return takeString(value), nil
}

// call runs one status-returning C function on the handle.
func (db *DB) call(f func(ptr *C.toykv_db, msg **C.char) C.int) error {
	ptr, err := db.h.acquire()
	if err != nil {
		return err
	}
	defer db.h.release()
	var msg *C.char
	return statusError(f(ptr, &msg), msg)
}

// NewCursor opens a cursor over the keys in [start, end) in unsigned byte order, reading a
// consistent snapshot taken now. A nil bound is unbounded; a non-nil empty slice is the
// empty key (so an empty, non-nil end is an empty range). Close the cursor when done.
func (db *DB) NewCursor(start, end []byte) (*Cursor, error) {
	ptr, err := db.h.acquire()
	if err != nil {
		return nil, err
	}
	defer db.h.release()
	return openCursor(ptr, nil, start, end, db)
}

// Snapshot takes a snapshot of the database as it is now. Close it when done: an open
// snapshot keeps the data it sees from being compacted away.
func (db *DB) Snapshot() (*Snapshot, error) {
	ptr, err := db.h.acquire()
	if err != nil {
		return nil, err
	}
	defer db.h.release()
	var snap *C.toykv_snapshot
	var msg *C.char
	if err := statusError(C.toykv_snapshot_open(ptr, &snap, &msg), msg); err != nil {
		return nil, err
	}
	return newSnapshot(snap, db), nil
}
