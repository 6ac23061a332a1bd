"""Status codes and the exception classes they map to.

Every failure libtoykv reports becomes an instance of the ``Error`` subclass for its status
code, carrying the library's message (which names the cause and, where one is involved, the
file). ``NotFound`` and ``End`` are answers, not failures: ``DB.get`` returns ``None`` for an
absent key and a cursor simply ends, so ``NotFoundError`` is never raised by them.
"""

from __future__ import annotations

import enum
from typing import Dict, Type


class Status(enum.IntEnum):
    """The values of ``toykv_status`` in toykv.h."""

    OK = 0
    NOT_FOUND = 1
    END = 2
    INVALID_ARGUMENT = 3
    IO = 4
    CORRUPTION = 5
    LOCKED = 6
    BUFFER_TOO_SMALL = 7
    CLOSED = 8
    INTERNAL = 9


class Error(Exception):
    """A failure reported by libtoykv (or by the binding on its behalf, such as a call on a
    closed handle). ``code`` is its status code; ``str(error)`` is the message."""

    code: int = -1

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self)


class NotFoundError(Error):
    code = Status.NOT_FOUND


class InvalidArgumentError(Error):
    """A bad argument or option value, or a key or value over the library's limits."""

    code = Status.INVALID_ARGUMENT


class IOError(Error):  # noqa: A001 - named as plyvel names it; it is toykv.IOError
    """An operating-system I/O error; the message carries the errno text and the path."""

    code = Status.IO


class CorruptionError(Error):
    """On-disk data failed a checksum or format check; the message names the file."""

    code = Status.CORRUPTION


class LockedError(Error):
    """The database directory is already open, in this process or another."""

    code = Status.LOCKED


class BufferTooSmallError(Error):
    code = Status.BUFFER_TOO_SMALL


class ClosedError(Error):
    """The database (or the snapshot, cursor or batch used) is closed."""

    code = Status.CLOSED


class InternalError(Error):
    """A bug in libtoykv: a panic caught at its boundary."""

    code = Status.INTERNAL


_BY_CODE: Dict[int, Type[Error]] = {
    cls.code: cls
    for cls in (
        NotFoundError,
        InvalidArgumentError,
        IOError,
        CorruptionError,
        LockedError,
        BufferTooSmallError,
        ClosedError,
        InternalError,
    )
}


def error_for(code: int, message: str) -> Error:
    """The exception for a status code; an unknown code gives a plain ``Error``."""
    cls = _BY_CODE.get(code)
    if cls is None:
        return Error(message, code)
    return cls(message)
