"""toykv: the Python binding of libtoykv, a log-structured merge-tree key-value store.

A pure-Python module over the library's C API through ctypes (no compiled extension). The
shared library is found through ``TOYKV_LIBRARY`` (a path to ``libtoykv.so``), then the
system's loader.

    import toykv

    with toykv.DB("/tmp/demo") as db:
        db.put(b"apple", b"red")
        db.get(b"apple")                    # b"red"; None when absent
        with db.write_batch() as batch:     # atomic; written when the block succeeds
            batch.put(b"banana", b"yellow")
            batch.delete(b"apple")
        for key, value in db.range(b"a", b"c"):
            print(key, value)

Failures raise subclasses of ``toykv.Error``, one per status code.
"""

from ._db import DB, Cursor, Snapshot, WriteBatch, destroy, version
from ._errors import (
    BufferTooSmallError,
    ClosedError,
    CorruptionError,
    Error,
    InternalError,
    InvalidArgumentError,
    IOError,
    LockedError,
    NotFoundError,
    Status,
)

__version__ = "0.1.0"

__all__ = [
    "DB",
    "Cursor",
    "Snapshot",
    "WriteBatch",
    "destroy",
    "version",
    "Status",
    "Error",
    "NotFoundError",
    "InvalidArgumentError",
    "IOError",
    "CorruptionError",
    "LockedError",
    "BufferTooSmallError",
    "ClosedError",
    "InternalError",
]
