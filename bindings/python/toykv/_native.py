"""Loading libtoykv and declaring, for ctypes, the C functions of toykv.h the binding calls.

The library is found through the environment variable ``TOYKV_LIBRARY`` (a path to
``libtoykv.so``), then through the system's loader (``LD_LIBRARY_PATH``, the ldconfig cache,
the standard directories), as ``libtoykv.so.0`` or ``libtoykv.so``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from ctypes import POINTER, c_bool, c_char_p, c_int, c_size_t, c_uint32, c_uint64, c_void_p
from typing import List

__all__ = ["lib", "library_path"]


def _candidates() -> List[str]:
    if sys.platform == "darwin":
        return ["libtoykv.0.dylib", "libtoykv.dylib"]
    return ["libtoykv.so.0", "libtoykv.so"]


def _load() -> ctypes.CDLL:
    path = os.environ.get("TOYKV_LIBRARY")
    if path:
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            raise ImportError(f"toykv: cannot load TOYKV_LIBRARY={path!r}: {e}") from e
    failures = []
    for name in _candidates():
        try:
            return ctypes.CDLL(name)
        except OSError as e:
            failures.append(str(e))
    found = ctypes.util.find_library("toykv")
    if found:
        return ctypes.CDLL(found)
    raise ImportError(
        "toykv: libtoykv not found; set TOYKV_LIBRARY to the path of libtoykv.so, or install "
        "it where the system's loader looks (`make install` in the toykv repository). Tried: "
        + "; ".join(failures)
    )


lib = _load()
library_path: str = lib._name

_db = c_void_p
_err = POINTER(c_void_p)  # char **err: kept as a raw pointer so it can be freed

_PROTOTYPES = {
    # name: (restype, argtypes)
    "toykv_version": (c_char_p, []),
    "toykv_status_str": (c_char_p, [c_int]),
    "toykv_free": (None, [c_void_p]),
    "toykv_options_new": (c_void_p, []),
    "toykv_options_free": (None, [c_void_p]),
    "toykv_options_set_create_if_missing": (None, [c_void_p, c_bool]),
    "toykv_options_set_error_if_exists": (None, [c_void_p, c_bool]),
    "toykv_options_set_sync_writes": (None, [c_void_p, c_bool]),
    "toykv_options_set_memtable_bytes": (None, [c_void_p, c_size_t]),
    "toykv_options_set_block_bytes": (None, [c_void_p, c_size_t]),
    "toykv_options_set_bloom_bits_per_key": (None, [c_void_p, c_uint32]),
    "toykv_options_set_block_cache_bytes": (None, [c_void_p, c_size_t]),
    "toykv_options_set_l0_compaction_trigger": (None, [c_void_p, c_size_t]),
    "toykv_options_set_l0_slowdown_trigger": (None, [c_void_p, c_size_t]),
    "toykv_options_set_l0_stop_trigger": (None, [c_void_p, c_size_t]),
    "toykv_options_set_level1_bytes": (None, [c_void_p, c_uint64]),
    "toykv_options_set_level_size_ratio": (None, [c_void_p, c_uint64]),
    "toykv_options_set_target_file_bytes": (None, [c_void_p, c_uint64]),
    "toykv_options_set_max_manifest_bytes": (None, [c_void_p, c_uint64]),
    "toykv_options_set_soft_pending_compaction_bytes": (None, [c_void_p, c_uint64]),
    "toykv_options_set_hard_pending_compaction_bytes": (None, [c_void_p, c_uint64]),
    "toykv_options_set_max_open_files": (None, [c_void_p, c_size_t]),
    "toykv_open": (c_int, [c_char_p, c_void_p, POINTER(c_void_p), _err]),
    "toykv_close": (c_int, [_db, _err]),
    "toykv_destroy": (c_int, [c_char_p, _err]),
    "toykv_put": (c_int, [_db, c_char_p, c_size_t, c_char_p, c_size_t, _err]),
    "toykv_delete": (c_int, [_db, c_char_p, c_size_t, _err]),
    "toykv_get": (
        c_int,
        [_db, c_char_p, c_size_t, POINTER(c_void_p), POINTER(c_size_t), _err],
    ),
    "toykv_sync": (c_int, [_db, _err]),
    "toykv_flush": (c_int, [_db, _err]),
    "toykv_compact": (c_int, [_db, _err]),
    "toykv_checkpoint": (c_int, [_db, c_char_p, _err]),
    "toykv_property": (c_int, [_db, c_char_p, POINTER(c_void_p), _err]),
    "toykv_batch_new": (c_void_p, []),
    "toykv_batch_put": (c_int, [c_void_p, c_char_p, c_size_t, c_char_p, c_size_t]),
    "toykv_batch_delete": (c_int, [c_void_p, c_char_p, c_size_t]),
    "toykv_batch_clear": (None, [c_void_p]),
    "toykv_batch_free": (None, [c_void_p]),
    "toykv_write": (c_int, [_db, c_void_p, _err]),
    "toykv_cursor_open": (
        c_int,
        [_db, c_char_p, c_size_t, c_char_p, c_size_t, POINTER(c_void_p), _err],
    ),
    "toykv_cursor_next": (
        c_int,
        [
            c_void_p,
            POINTER(c_void_p),
            POINTER(c_size_t),
            POINTER(c_void_p),
            POINTER(c_size_t),
            _err,
        ],
    ),
    "toykv_cursor_seek": (c_int, [c_void_p, c_char_p, c_size_t, _err]),
    "toykv_cursor_close": (None, [c_void_p]),
    "toykv_snapshot_open": (c_int, [_db, POINTER(c_void_p), _err]),
    "toykv_snapshot_close": (None, [c_void_p]),
    "toykv_snapshot_get": (
        c_int,
        [c_void_p, c_char_p, c_size_t, POINTER(c_void_p), POINTER(c_size_t), _err],
    ),
    "toykv_snapshot_cursor_open": (
        c_int,
        [c_void_p, c_char_p, c_size_t, c_char_p, c_size_t, POINTER(c_void_p), _err],
    ),
}

for _name, (_restype, _argtypes) in _PROTOTYPES.items():
    _fn = getattr(lib, _name)
    _fn.restype = _restype
    _fn.argtypes = _argtypes
