"""DB: reads, writes, options, maintenance calls, properties, reopening, destroy."""

from __future__ import annotations

import os
import re

import pytest

import toykv
from conftest import key


def test_put_get_delete_round_trip(db: toykv.DB) -> None:
    db.put(b"a", b"1")
    db.put(b"b\x00\xff", b"binary\x00value")
    assert db.get(b"a") == b"1"
    assert db.get(b"b\x00\xff") == b"binary\x00value"
    db.put(b"a", b"2")
    assert db.get(b"a") == b"2"
    db.delete(b"a")
    assert db.get(b"a") is None
    assert db.get(b"a", b"fallback") == b"fallback"
    db.delete(b"never written")


def test_empty_key_and_empty_value_are_present(db: toykv.DB) -> None:
    db.put(b"", b"under the empty key")
    db.put(b"k", b"")
    assert db.get(b"") == b"under the empty key"
    assert db.get(b"k") == b""
    assert db.get(b"k", b"absent") == b""


def test_bytes_like_arguments_and_type_errors(db: toykv.DB) -> None:
    db.put(bytearray(b"ba"), memoryview(b"mv"))
    assert db.get(memoryview(b"ba")) == b"mv"
    with pytest.raises(TypeError):
        db.put("str key", b"v")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        db.get(1)  # type: ignore[arg-type]


def test_large_values(db: toykv.DB) -> None:
    for size in (1, 4096, 300_000):
        value = bytes([size % 251]) * size
        db.put(b"size%d" % size, value)
        assert db.get(b"size%d" % size) == value


def test_limits_raise_invalid_argument(db: toykv.DB) -> None:
    with pytest.raises(toykv.InvalidArgumentError, match="key"):
        db.put(b"k" * 65537, b"v")
    with pytest.raises(toykv.InvalidArgumentError):
        db.get(b"k" * 65537)
    db.put(b"k" * 65536, b"at the limit")
    with pytest.raises(toykv.InvalidArgumentError):
        db.put(b"k", b"v" * (32 * 1024 * 1024 + 1))


def test_reopen_keeps_writes(path: str) -> None:
    with toykv.DB(path) as db:
        db.put(b"kept", b"yes")
        db.put(b"deleted", b"no")
        db.delete(b"deleted")
    with toykv.DB(path, create_if_missing=False) as db:
        assert db.get(b"kept") == b"yes"
        assert db.get(b"deleted") is None


def test_options(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(toykv.InvalidArgumentError):
        toykv.DB(tmp_path / "missing", create_if_missing=False)
    path = tmp_path / "db"  # a PathLike works too
    with toykv.DB(path, memtable_bytes=64 << 10, block_bytes=1024, bloom_bits_per_key=16,
                  block_cache_bytes=1 << 20) as db:
        for i in range(2000):  # several 64 KiB memtables
            db.put(key(i), b"v" * 100)
        assert db.get(key(1234)) == b"v" * 100
    with toykv.DB(path, sync_writes=True) as db:  # an fsync per write: a few only
        for i in range(5):
            db.put(key(i), b"synced")
    with toykv.DB(path) as db:
        assert db.get(key(4)) == b"synced"
    with pytest.raises(toykv.InvalidArgumentError):
        toykv.DB(path, error_if_exists=True)
    with toykv.DB(path, bloom_bits_per_key=0, block_cache_bytes=0) as db:
        assert db.get(key(7)) == b"v" * 100 and db.get(key(0)) == b"synced"
    with pytest.raises(toykv.InvalidArgumentError, match="memtable_bytes"):
        toykv.DB(path, memtable_bytes=-1)
    with pytest.raises(toykv.InvalidArgumentError, match="block"):
        toykv.DB(path, block_bytes=1 << 30)  # rejected by the library, which names it
    with pytest.raises(toykv.InvalidArgumentError):
        toykv.DB(path, memtable_bytes=0)
    with pytest.raises(toykv.InvalidArgumentError, match="bloom_bits_per_key"):
        toykv.DB(path, bloom_bits_per_key=1 << 32)  # would wrap to 0 in a uint32_t
    with pytest.raises(TypeError):
        toykv.DB(path, no_such_option=1)  # type: ignore[call-arg]


def test_compaction_tuning_options(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "tuned"
    tuned = dict(memtable_bytes=16 << 10, l0_compaction_trigger=2, l0_slowdown_trigger=3,
                 l0_stop_trigger=5, level1_bytes=64 << 10, level_size_ratio=4,
                 target_file_bytes=32 << 10, max_manifest_bytes=4096,
                 soft_pending_compaction_bytes=1 << 20, hard_pending_compaction_bytes=4 << 20,
                 max_open_files=2)
    with toykv.DB(path, **tuned) as db:
        for i in range(3000):
            db.put(key(i), b"t" * 100)
        db.compact()
        assert db.property("toykv.compaction-pending") == "0"
        assert db.get(key(2999)) == b"t" * 100
    # The largest values the library accepts, and 0 turning the pending-byte limits off.
    with toykv.DB(path, l0_compaction_trigger=1_000_000, l0_slowdown_trigger=1_000_000,
                  l0_stop_trigger=1_000_000, level1_bytes=(1 << 64) - 1,
                  level_size_ratio=(1 << 64) - 1, target_file_bytes=(1 << 64) - 1,
                  max_manifest_bytes=(1 << 64) - 1, soft_pending_compaction_bytes=0,
                  hard_pending_compaction_bytes=0) as db:
        assert db.get(key(7)) == b"t" * 100
    # Each bad value is refused at open, naming the option.
    for bad in [dict(l0_compaction_trigger=0), dict(l0_stop_trigger=7),
                dict(l0_slowdown_trigger=1_000_001), dict(level1_bytes=0),
                dict(level_size_ratio=1), dict(target_file_bytes=0),
                dict(max_manifest_bytes=0), dict(max_open_files=0),
                dict(soft_pending_compaction_bytes=2, hard_pending_compaction_bytes=1)]:
        name = next(iter(bad))
        with pytest.raises(toykv.InvalidArgumentError, match=name):
            toykv.DB(path, **bad)  # type: ignore[arg-type]
    with pytest.raises(toykv.InvalidArgumentError, match="level1_bytes"):
        toykv.DB(path, level1_bytes=1 << 64)  # would wrap in a uint64_t
    with pytest.raises(toykv.InvalidArgumentError, match="l0_stop_trigger"):
        toykv.DB(path, l0_stop_trigger=-1)


def test_open_twice_is_locked(db: toykv.DB, path: str) -> None:
    with pytest.raises(toykv.LockedError):
        toykv.DB(path)


def test_path_with_nul_is_invalid(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(toykv.InvalidArgumentError):
        toykv.DB(str(tmp_path) + "/a\0b")


def test_sync_flush_compact_and_properties(db: toykv.DB) -> None:
    for round_ in range(2):
        for i in range(100):
            db.put(key(i), bytes([round_]))
        db.sync()
        db.flush()
    assert db.property("toykv.num-files-at-level0") == "2"
    db.compact()
    assert db.property("toykv.num-files-at-level0") == "0"
    tables = db.property("toykv.sstables").strip().splitlines()
    assert len(tables) == 1 and ".sst" in tables[0]
    assert "L0" in db.property("toykv.stats")
    assert int(db.property("toykv.compaction-pending")) >= 0
    assert db.get(key(42)) == b"\x01"
    with pytest.raises(toykv.InvalidArgumentError):
        db.property("toykv.no-such-property")


def test_destroy(path: str) -> None:
    db = toykv.DB(path)
    db.put(b"k", b"v")
    with pytest.raises(toykv.LockedError):
        toykv.destroy(path)
    db.close()
    toykv.destroy(path)
    assert not os.path.exists(path)
    toykv.destroy(path)  # missing: fine


def test_version() -> None:
    assert re.match(r"^\d+\.\d+\.\d+", toykv.version())
