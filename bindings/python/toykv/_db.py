"""DB, Snapshot, Cursor and WriteBatch: the Python objects over libtoykv's handles.

ctypes releases the GIL during every C call, so several threads can be inside libtoykv at
once, as the library allows for a database and a snapshot. What it does not allow is freeing
a handle while a call is using it: each handle therefore sits in a ``_Gate`` that counts the
calls in flight, and ``close()`` waits for them before freeing. Calls after ``close()`` raise
``ClosedError``; closing twice does nothing. A cursor or batch (which the library lets only
one thread use at a time) serialises its calls instead.
"""

from __future__ import annotations

import os
import threading
from ctypes import byref, c_size_t, c_void_p, sizeof, string_at
from typing import Any, Callable, Iterator, Optional, Tuple, TypeVar, Union, cast

from ._errors import ClosedError, InternalError, InvalidArgumentError, Status, error_for
from ._native import lib

__all__ = ["DB", "Snapshot", "Cursor", "WriteBatch", "destroy", "version"]

BytesLike = Union[bytes, bytearray, memoryview]
PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]

_R = TypeVar("_R", bound="_Reader")

_OK = Status.OK
_NOT_FOUND = Status.NOT_FOUND
_END = Status.END


def version() -> str:
    """The version of the loaded libtoykv, e.g. ``"0.1.0"``."""
    return cast(bytes, lib.toykv_version()).decode()


def _check(rc: int, err: c_void_p) -> None:
    """Raises the exception for a failed status, freeing the library's message."""
    if rc == _OK:
        return
    if err.value:
        message = string_at(err.value).decode("utf-8", "replace")
        lib.toykv_free(err)
    else:
        message = lib.toykv_status_str(rc).decode()
    raise error_for(rc, message)


def _pointer(p: c_void_p, what: str) -> int:
    """The address in an out-parameter the library filled on success (never NULL then)."""
    if not p.value:
        raise InternalError(f"libtoykv returned a NULL {what}")
    return p.value


def _bytes(value: BytesLike, what: str) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"{what} must be bytes, bytearray or memoryview, not {type(value).__name__}")


def _bound(value: Optional[BytesLike], what: str) -> Tuple[Optional[bytes], int]:
    """A range bound for C: None is unbounded (NULL), b"" the empty key."""
    if value is None:
        return None, 0
    b = _bytes(value, what)
    return b, len(b)


def _cstring(value: Union[str, bytes], what: str) -> bytes:
    """A NUL-terminated string argument: ctypes would silently cut it at an inner NUL."""
    b = value.encode() if isinstance(value, str) else value
    if b"\0" in b:
        raise InvalidArgumentError(f"{what} contains a NUL byte")
    return b


class _Gate:
    """A handle pointer with a count of the calls using it; see the module docstring."""

    __slots__ = ("_ptr", "_users", "_cond", "_what")

    def __init__(self, ptr: int, what: str) -> None:
        self._ptr: Optional[int] = ptr
        self._users = 0
        self._cond = threading.Condition(threading.Lock())
        self._what = what

    def enter(self) -> int:
        with self._cond:
            if self._ptr is None:
                raise ClosedError(f"{self._what} is closed")
            self._users += 1
            return self._ptr

    def leave(self) -> None:
        with self._cond:
            self._users -= 1
            if self._users == 0:
                self._cond.notify_all()

    def take(self) -> Optional[int]:
        """Detaches the pointer (later ``enter`` calls fail), waits until no call uses it, and
        returns it for freeing; None when already taken."""
        with self._cond:
            ptr, self._ptr = self._ptr, None
            while self._users:
                self._cond.wait()
            return ptr

    @property
    def closed(self) -> bool:
        return self._ptr is None


class _Reader:
    """What DB and Snapshot share: a gated handle, point reads, range reads, ``with``."""

    _gate: _Gate
    # toykv_get / toykv_snapshot_get and toykv_cursor_open / toykv_snapshot_cursor_open.
    _GET: Callable[..., int]
    _CURSOR_OPEN: Callable[..., int]

    def get(self, key: BytesLike, default: Optional[bytes] = None) -> Optional[bytes]:
        """The value of ``key`` (as of the snapshot, for a snapshot), or ``default`` (None)
        when it is absent."""
        k = _bytes(key, "key")
        ptr = self._gate.enter()
        try:
            value, length, err = c_void_p(), c_size_t(), c_void_p()
            rc = self._GET(ptr, k, len(k), byref(value), byref(length), byref(err))
            if rc == _NOT_FOUND:
                return default
            _check(rc, err)
        finally:
            self._gate.leave()
        try:
            return string_at(_pointer(value, "value"), length.value)
        finally:
            lib.toykv_free(value)

    def range(
        self, start: Optional[BytesLike] = None, end: Optional[BytesLike] = None
    ) -> "Cursor":
        """An iterator of ``(key, value)`` over the keys in ``[start, end)`` in byte order,
        reading a snapshot taken now (later writes do not show). None is unbounded; ``b""``
        is the empty key, so ``end=b""`` is an empty range. The cursor is released when the
        iteration ends, on ``close()``, or at the end of a ``with`` block; it stays usable
        after the database or snapshot it reads is closed."""
        s, slen = _bound(start, "start")
        e, elen = _bound(end, "end")
        ptr = self._gate.enter()
        try:
            cursor, err = c_void_p(), c_void_p()
            _check(self._CURSOR_OPEN(ptr, s, slen, e, elen, byref(cursor), byref(err)), err)
        finally:
            self._gate.leave()
        return Cursor(_pointer(cursor, "cursor"), self)

    def __iter__(self) -> Iterator[Tuple[bytes, bytes]]:
        return self.range()

    def close(self) -> None:
        raise NotImplementedError

    @property
    def closed(self) -> bool:
        return self._gate.closed

    def __enter__(self: _R) -> _R:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class DB(_Reader):
    """An open database; usable from many threads at once, and as a context manager::

        with toykv.DB("/tmp/demo") as db:
            db.put(b"k", b"v")
            assert db.get(b"k") == b"v"

    Options (keyword-only; None keeps the library's default): ``create_if_missing`` (True),
    ``error_if_exists`` (False), ``sync_writes`` (False: fsync the log before each write
    returns), ``memtable_bytes`` (4 MiB), ``block_bytes`` (4096), ``bloom_bits_per_key`` (10;
    0 builds no filter), ``block_cache_bytes`` (8 MiB; 0 disables the cache).

    Compaction tuning (toykv.h documents each and its limits; a bad value or combination
    raises ``InvalidArgumentError`` naming the option): ``l0_compaction_trigger`` (4),
    ``l0_slowdown_trigger`` (8), ``l0_stop_trigger`` (12), ``level1_bytes`` (10 MiB),
    ``level_size_ratio`` (10), ``target_file_bytes`` (2 MiB), ``max_manifest_bytes``
    (4 MiB), ``soft_pending_compaction_bytes`` (256 MiB; 0 turns the slowdown off) and
    ``hard_pending_compaction_bytes`` (1 GiB; 0 turns the stop off); and ``max_open_files``
    (1,000: sstables kept open at once).
    """

    _GET = lib.toykv_get
    _CURSOR_OPEN = lib.toykv_cursor_open

    def __init__(
        self,
        path: PathLike,
        *,
        create_if_missing: bool = True,
        error_if_exists: bool = False,
        sync_writes: bool = False,
        memtable_bytes: Optional[int] = None,
        block_bytes: Optional[int] = None,
        bloom_bits_per_key: Optional[int] = None,
        block_cache_bytes: Optional[int] = None,
        l0_compaction_trigger: Optional[int] = None,
        l0_slowdown_trigger: Optional[int] = None,
        l0_stop_trigger: Optional[int] = None,
        level1_bytes: Optional[int] = None,
        level_size_ratio: Optional[int] = None,
        target_file_bytes: Optional[int] = None,
        max_manifest_bytes: Optional[int] = None,
        soft_pending_compaction_bytes: Optional[int] = None,
        hard_pending_compaction_bytes: Optional[int] = None,
        max_open_files: Optional[int] = None,
    ) -> None:
        cpath = _cstring(os.fsencode(path), "path")
        size_max = (1 << (8 * sizeof(c_size_t))) - 1
        u64_max = (1 << 64) - 1
        sizes = {  # name: (value, setter, largest value the C type holds)
            "memtable_bytes": (memtable_bytes, lib.toykv_options_set_memtable_bytes, size_max),
            "block_bytes": (block_bytes, lib.toykv_options_set_block_bytes, size_max),
            "bloom_bits_per_key": (
                bloom_bits_per_key, lib.toykv_options_set_bloom_bits_per_key, 0xFFFFFFFF),
            "block_cache_bytes": (
                block_cache_bytes, lib.toykv_options_set_block_cache_bytes, size_max),
            "l0_compaction_trigger": (
                l0_compaction_trigger, lib.toykv_options_set_l0_compaction_trigger, size_max),
            "l0_slowdown_trigger": (
                l0_slowdown_trigger, lib.toykv_options_set_l0_slowdown_trigger, size_max),
            "l0_stop_trigger": (l0_stop_trigger, lib.toykv_options_set_l0_stop_trigger, size_max),
            "level1_bytes": (level1_bytes, lib.toykv_options_set_level1_bytes, u64_max),
            "level_size_ratio": (
                level_size_ratio, lib.toykv_options_set_level_size_ratio, u64_max),
            "target_file_bytes": (
                target_file_bytes, lib.toykv_options_set_target_file_bytes, u64_max),
            "max_manifest_bytes": (
                max_manifest_bytes, lib.toykv_options_set_max_manifest_bytes, u64_max),
            "soft_pending_compaction_bytes": (
                soft_pending_compaction_bytes,
                lib.toykv_options_set_soft_pending_compaction_bytes, u64_max),
            "hard_pending_compaction_bytes": (
                hard_pending_compaction_bytes,
                lib.toykv_options_set_hard_pending_compaction_bytes, u64_max),
            "max_open_files": (max_open_files, lib.toykv_options_set_max_open_files, size_max),
        }
        # ctypes would silently wrap a negative or oversized int; the library checks the rest.
        for name, (value, _, largest) in sizes.items():
            if value is not None and (not isinstance(value, int) or not 0 <= value <= largest):
                raise InvalidArgumentError(f"option {name} must be an int from 0 to {largest}, "
                                           f"not {value!r}")
        opts = lib.toykv_options_new()
        if not opts:
            raise MemoryError("toykv_options_new failed")
        try:
            lib.toykv_options_set_create_if_missing(opts, bool(create_if_missing))
            lib.toykv_options_set_error_if_exists(opts, bool(error_if_exists))
            lib.toykv_options_set_sync_writes(opts, bool(sync_writes))
            for value, setter, _ in sizes.values():
                if value is not None:
                    setter(opts, value)
            handle, err = c_void_p(), c_void_p()
            _check(lib.toykv_open(cpath, opts, byref(handle), byref(err)), err)
        finally:
            lib.toykv_options_free(opts)
        self._gate = _Gate(_pointer(handle, "database handle"), "database")
        self.path = os.fsdecode(path)

    # -- lifetime ------------------------------------------------------------------------

    def close(self) -> None:
        """Waits for the calls in flight in other threads, makes every acknowledged write
        durable, releases the directory. Later calls raise ``ClosedError``; a second close
        does nothing. Open snapshots and cursors stay valid to close."""
        ptr = self._gate.take()
        if ptr is not None:
            err = c_void_p()
            _check(lib.toykv_close(ptr, byref(err)), err)

    # The __del__ methods are a safety net only: close explicitly (or use ``with``). The
    # C function is bound as a default argument so that it is still reachable while the
    # interpreter shuts down and module globals are cleared.
    def __del__(self, _close: Callable[..., int] = lib.toykv_close) -> None:
        if getattr(self, "_gate", None) is not None:
            ptr = self._gate.take()
            if ptr is not None:
                _close(ptr, None)

    def __repr__(self) -> str:
        return f"<toykv.DB {self.path!r}{' closed' if self.closed else ''}>"

    def _call(self, fn: Callable[..., int], *args: Any) -> None:
        ptr = self._gate.enter()
        try:
            err = c_void_p()
            _check(fn(ptr, *args, byref(err)), err)
        finally:
            self._gate.leave()

    # -- reads and writes ----------------------------------------------------------------

    def put(self, key: BytesLike, value: BytesLike) -> None:
        """Sets ``key`` to ``value``; visible to every later read once it returns."""
        k, v = _bytes(key, "key"), _bytes(value, "value")
        self._call(lib.toykv_put, k, len(k), v, len(v))

    def delete(self, key: BytesLike) -> None:
        """Removes ``key``; removing an absent key is not an error."""
        k = _bytes(key, "key")
        self._call(lib.toykv_delete, k, len(k))

    def write_batch(self) -> "WriteBatch":
        """A batch of puts and deletes applied atomically; as a context manager it is written
        when the block ends without an exception and discarded otherwise::

            with db.write_batch() as batch:
                batch.put(b"a", b"1")
                batch.delete(b"b")
        """
        return WriteBatch(self)

    def snapshot(self) -> "Snapshot":
        """A read-only view of the database as it is now; close it when done."""
        ptr = self._gate.enter()
        try:
            snap, err = c_void_p(), c_void_p()
            _check(lib.toykv_snapshot_open(ptr, byref(snap), byref(err)), err)
        finally:
            self._gate.leave()
        return Snapshot(_pointer(snap, "snapshot"), self)

    # -- maintenance ---------------------------------------------------------------------

    def sync(self) -> None:
        """Makes every write that returned before it durable (fsyncs the log)."""
        self._call(lib.toykv_sync)

    def flush(self) -> None:
        """Writes the memtable to an sstable."""
        self._call(lib.toykv_flush)

    def compact(self) -> None:
        """Full compaction into one sorted run; returns when done."""
        self._call(lib.toykv_compact)

    def checkpoint(self, path: PathLike) -> None:
        """Writes into ``path``, a directory that must not exist yet (missing parents are
        created), a complete copy of the database that ``DB(path)`` opens on its own: every
        write that returned before the call, as of one moment (never part of a batch), taken
        while other threads go on reading and writing. The sstables are hard-linked where
        ``path`` is on the database's file system and copied otherwise; everything is
        fsynced before this returns. An existing ``path`` raises ``InvalidArgumentError``;
        a failure to read or write raises ``IOError`` and leaves no ``path`` behind."""
        self._call(lib.toykv_checkpoint, _cstring(os.fsencode(path), "checkpoint path"))

    def property(self, name: str) -> str:
        """A database property: ``"toykv.stats"``, ``"toykv.sstables"``,
        ``"toykv.num-files-at-level<N>"``, ``"toykv.compaction-pending"`` (the bytes flushes
        and compactions must still write, ``"0"`` when none is due). An unknown name raises
        ``InvalidArgumentError``."""
        cname = _cstring(name, "property name")
        value = c_void_p()
        self._call(lib.toykv_property, cname, byref(value))
        try:
            return string_at(_pointer(value, "property")).decode("utf-8", "replace")
        finally:
            lib.toykv_free(value)


class Snapshot(_Reader):
    """The database exactly as it was when ``DB.snapshot()`` was called. Usable from many
    threads at once and as a context manager; ``close()`` releases it."""

    _GET = lib.toykv_snapshot_get
    _CURSOR_OPEN = lib.toykv_snapshot_cursor_open

    def __init__(self, ptr: int, db: DB) -> None:
        self._gate = _Gate(ptr, "snapshot")
        self._db = db  # keeps the database open while the snapshot is reachable

    def close(self) -> None:
        """Releases the snapshot (waiting for reads in flight); closing twice does nothing."""
        ptr = self._gate.take()
        if ptr is not None:
            lib.toykv_snapshot_close(ptr)

    def __del__(self, _close: Callable[..., None] = lib.toykv_snapshot_close) -> None:
        if getattr(self, "_gate", None) is not None:
            ptr = self._gate.take()
            if ptr is not None:
                _close(ptr)


class Cursor:
    """An iterator of ``(key, value)`` pairs over a range, reading the snapshot taken when
    it was opened (``DB.range``, ``Snapshot.range``). Each item is fresh ``bytes``. Its
    calls are serialised, so sharing it between threads is safe if pointless."""

    def __init__(self, ptr: int, owner: Any) -> None:
        self._ptr: Optional[int] = ptr
        self._lock = threading.Lock()
        self._owner = owner  # keeps the database or snapshot alive while the cursor is
        self._key, self._key_len = c_void_p(), c_size_t()
        self._value, self._value_len = c_void_p(), c_size_t()

    def __iter__(self) -> "Cursor":
        return self

    def __next__(self) -> Tuple[bytes, bytes]:
        with self._lock:
            if self._ptr is None:
                raise StopIteration
            err = c_void_p()
            rc = lib.toykv_cursor_next(
                self._ptr,
                byref(self._key),
                byref(self._key_len),
                byref(self._value),
                byref(self._value_len),
                byref(err),
            )
            if rc == _OK:
                # The library's pointers are valid until the next call: copy now.
                return (
                    string_at(_pointer(self._key, "key"), self._key_len.value),
                    string_at(_pointer(self._value, "value"), self._value_len.value),
                )
            if rc != _END:
                _check(rc, err)
            # The end: free the cursor now rather than when it is collected.
            self._free()
            raise StopIteration

    def seek(self, key: BytesLike) -> None:
        """Repositions so that the next item is the first key >= ``key`` in the range."""
        k = _bytes(key, "key")
        with self._lock:
            if self._ptr is None:
                raise ClosedError("cursor is closed (closed, or iterated to its end)")
            err = c_void_p()
            _check(lib.toykv_cursor_seek(self._ptr, k, len(k), byref(err)), err)

    def close(self) -> None:
        """Releases the cursor; closing twice does nothing."""
        with self._lock:
            self._free()

    def _free(self) -> None:
        ptr, self._ptr = self._ptr, None
        if ptr is not None:
            lib.toykv_cursor_close(ptr)

    def __enter__(self) -> "Cursor":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self, _close: Callable[..., None] = lib.toykv_cursor_close) -> None:
        if getattr(self, "_ptr", None) is not None:
            _close(self._ptr)


class WriteBatch:
    """Puts and deletes that ``write()`` applies to the database atomically (also across a
    crash). Made by ``DB.write_batch()``; as a context manager it writes on success and is
    freed either way. One thread at a time."""

    def __init__(self, db: DB) -> None:
        self._db = db
        self._lock = threading.Lock()
        self._ptr: Optional[int] = lib.toykv_batch_new()
        if not self._ptr:
            raise MemoryError("toykv_batch_new failed")
        self._count = 0

    def _enter(self) -> int:
        self._lock.acquire()
        if self._ptr is None:
            self._lock.release()
            raise ClosedError("write batch is closed")
        return self._ptr

    def put(self, key: BytesLike, value: BytesLike) -> None:
        k, v = _bytes(key, "key"), _bytes(value, "value")
        self._add(f"put of a {len(k)}-byte key and a {len(v)}-byte value",
                  lambda ptr: lib.toykv_batch_put(ptr, k, len(k), v, len(v)))

    def delete(self, key: BytesLike) -> None:
        k = _bytes(key, "key")
        self._add(f"delete of a {len(k)}-byte key",
                  lambda ptr: lib.toykv_batch_delete(ptr, k, len(k)))

    def _add(self, what: str, add: Callable[[int], int]) -> None:
        """Runs ``add`` (a toykv_batch_put/delete on the batch); those calls take no message
        argument, so a rejection is described here."""
        ptr = self._enter()
        try:
            rc = add(ptr)
            if rc != _OK:
                raise error_for(rc, f"batch {what} rejected: {lib.toykv_status_str(rc).decode()}")
            self._count += 1
        finally:
            self._lock.release()

    def clear(self) -> None:
        """Removes every operation; the batch stays usable."""
        ptr = self._enter()
        try:
            lib.toykv_batch_clear(ptr)
            self._count = 0
        finally:
            self._lock.release()

    def __len__(self) -> int:
        return self._count

    def write(self) -> None:
        """Applies every operation atomically. The batch is kept and may be written again."""
        ptr = self._enter()
        try:
            self._db._call(lib.toykv_write, ptr)
        finally:
            self._lock.release()

    def close(self) -> None:
        """Frees the batch without writing it; closing twice does nothing."""
        with self._lock:
            ptr, self._ptr = self._ptr, None
        if ptr is not None:
            lib.toykv_batch_free(ptr)

    def __enter__(self) -> "WriteBatch":
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        try:
            if exc_type is None:
                self.write()
        finally:
            self.close()

    def __del__(self, _free: Callable[..., None] = lib.toykv_batch_free) -> None:
        if getattr(self, "_ptr", None) is not None:
            _free(self._ptr)


def destroy(path: PathLike) -> None:
    """Deletes the files of the closed database in ``path`` (and the directory when then
    empty). A missing directory is fine; an open database raises ``LockedError``."""
    err = c_void_p()
    _check(lib.toykv_destroy(_cstring(os.fsencode(path), "path"), byref(err)), err)
