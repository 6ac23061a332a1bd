"""write_batch(): atomic groups of puts and deletes."""

from __future__ import annotations

import pytest

import toykv


def test_batch_commits_on_success(db: toykv.DB) -> None:
    db.put(b"old", b"gone soon")
    with db.write_batch() as batch:
        batch.put(b"a", b"1")
        batch.put(b"b", b"2")
        batch.delete(b"old")
        batch.put(b"c", b"3")
        batch.delete(b"c")  # later operations win
        assert len(batch) == 5
        assert db.get(b"a") is None  # nothing before the block ends
    assert (db.get(b"a"), db.get(b"b"), db.get(b"old"), db.get(b"c")) == (b"1", b"2", None, None)


def test_batch_is_discarded_on_an_exception(db: toykv.DB) -> None:
    with pytest.raises(RuntimeError):
        with db.write_batch() as batch:
            batch.put(b"a", b"1")
            raise RuntimeError("abandon")
    assert db.get(b"a") is None
    with pytest.raises(toykv.ClosedError):
        batch.put(b"b", b"2")


def test_batch_rejects_an_oversized_key_at_once(db: toykv.DB) -> None:
    with db.write_batch() as batch:
        batch.put(b"ok", b"1")
        with pytest.raises(toykv.InvalidArgumentError, match="65537-byte key"):
            batch.put(b"k" * 65537, b"v")
        with pytest.raises(toykv.InvalidArgumentError):
            batch.delete(b"k" * 65537)
        assert len(batch) == 1
    assert db.get(b"ok") == b"1"


def test_batch_explicit_write_clear_and_reuse(db: toykv.DB) -> None:
    batch = db.write_batch()
    try:
        batch.put(b"k", b"1")
        batch.write()
        assert db.get(b"k") == b"1"
        batch.clear()
        assert len(batch) == 0
        batch.put(b"k", b"2")
        batch.write()
        assert db.get(b"k") == b"2"
    finally:
        batch.close()
        batch.close()
    with pytest.raises(toykv.ClosedError):
        batch.write()


def test_batch_on_a_closed_database(db: toykv.DB) -> None:
    batch = db.write_batch()
    batch.put(b"k", b"v")
    db.close()
    with pytest.raises(toykv.ClosedError):
        batch.write()
    batch.close()
