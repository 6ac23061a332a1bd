"""range() and cursors: bounds, order, seek, isolation, closing."""

from __future__ import annotations

import random
import threading

import pytest

import toykv
from conftest import key

KEYS = [b"d", b"a", b"c", b"", b"b", b"e\xff", b"e"]


@pytest.fixture
def filled(db: toykv.DB) -> toykv.DB:
    for k in KEYS:
        db.put(k, b"v" + k)
    return db


@pytest.mark.parametrize(
    "start, end, want",
    [
        (None, None, [b"", b"a", b"b", b"c", b"d", b"e", b"e\xff"]),
        (b"c", None, [b"c", b"d", b"e", b"e\xff"]),
        (None, b"c", [b"", b"a", b"b"]),
        (b"b", b"e", [b"b", b"c", b"d"]),
        (b"", b"a", [b""]),
        (None, b"", []),  # b"" is the empty key: an empty range
        (b"d", b"b", []),
        (b"b", b"b", []),
    ],
)
def test_range_bounds(filled: toykv.DB, start, end, want) -> None:  # type: ignore[no-untyped-def]
    got = list(filled.range(start, end))
    assert [k for k, _ in got] == want
    assert all(v == b"v" + k for k, v in got)


def test_iterating_the_db_is_a_full_range(filled: toykv.DB) -> None:
    assert dict(filled) == {k: b"v" + k for k in KEYS}


def test_invalid_bound(db: toykv.DB) -> None:
    with pytest.raises(toykv.InvalidArgumentError):
        db.range(b"k" * 65537)
    with pytest.raises(TypeError):
        db.range("a")  # type: ignore[arg-type]


def test_seek(filled: toykv.DB) -> None:
    with filled.range(b"b", b"e") as cursor:
        cursor.seek(b"c")
        assert [k for k, _ in [next(cursor), next(cursor)]] == [b"c", b"d"]
        cursor.seek(b"a")  # before the start means the start
        assert next(cursor) == (b"b", b"vb")
        cursor.seek(b"z")
        assert list(cursor) == []
    with pytest.raises(toykv.ClosedError):
        cursor.seek(b"a")


def test_cursor_reads_the_snapshot_taken_when_opened(db: toykv.DB) -> None:
    n = 2000
    for i in range(n):
        db.put(key(i), b"original")
    cursor = db.range()
    stop = threading.Event()
    failures: list = []

    def writer() -> None:
        rng = random.Random(1)
        round_ = 0
        try:
            while not stop.is_set():
                i = rng.randrange(2 * n)
                if round_ % 300 == 299:
                    db.flush()
                elif round_ % 3 == 0:
                    db.delete(key(i))
                else:
                    db.put(key(i), b"new%d" % round_)
                round_ += 1
        except Exception as e:  # reported below
            failures.append(e)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        got = []
        for k, v in cursor:
            got.append((k, v))
            if len(got) == n // 2:
                db.compact()
    finally:
        stop.set()
        thread.join()
    assert not failures
    assert got == [(key(i), b"original") for i in range(n)]


def test_break_and_close(filled: toykv.DB) -> None:
    cursor = filled.range()
    assert next(cursor) == (b"", b"v")
    cursor.close()
    cursor.close()
    assert list(cursor) == []


def test_cursor_outlives_its_database(db: toykv.DB) -> None:
    for i in range(100):
        db.put(key(i), b"v")
    cursor = db.range()
    next(cursor)
    db.close()
    try:
        rest = list(cursor)
        assert len(rest) == 99  # finished from its snapshot
    except toykv.ClosedError:
        pass  # or told the database is closed
    cursor.close()
    with pytest.raises(toykv.ClosedError):
        db.range()


def test_cursor_shared_by_threads_is_serialised(db: toykv.DB) -> None:
    n = 1000
    for i in range(n):
        db.put(key(i), b"")
    cursor = db.range()
    seen: list = []

    def drain() -> None:
        for k, _ in cursor:
            seen.append(k)

    threads = [threading.Thread(target=drain) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == [key(i) for i in range(n)]
