"""snapshot(): a frozen view, readable from many threads, closable before or after the DB."""

from __future__ import annotations

import threading

import pytest

import toykv
from conftest import key


def test_snapshot_sees_the_database_when_taken(db: toykv.DB) -> None:
    for k in (b"a", b"b", b"c"):
        db.put(k, b"v" + k)
    with db.snapshot() as snap:
        db.put(b"a", b"changed")
        db.delete(b"b")
        db.put(b"new", b"v")
        db.compact()
        assert snap.get(b"a") == b"va"
        assert snap.get(b"b") == b"vb"
        assert snap.get(b"new") is None
        assert snap.get(b"new", b"default") == b"default"
        assert list(snap.range(b"a", b"c")) == [(b"a", b"va"), (b"b", b"vb")]
        assert [k for k, _ in snap] == [b"a", b"b", b"c"]
        assert db.get(b"a") == b"changed"
        assert db.get(b"b") is None


def test_snapshot_read_by_threads_while_writers_run(db: toykv.DB) -> None:
    n = 300
    for i in range(n):
        db.put(key(i), b"before")
    snap = db.snapshot()
    failures: list = []

    def write(w: int) -> None:
        for i in range(n):
            db.put(key(i), b"after%d" % w)

    def read() -> None:
        for i in range(n):
            value = snap.get(key(i))
            if value != b"before":
                failures.append((key(i), value))

    threads = [threading.Thread(target=write, args=(w,)) for w in range(2)]
    threads += [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    snap.close()
    assert failures == []


def test_snapshot_close_and_database_close(db: toykv.DB) -> None:
    db.put(b"a", b"1")
    snap = db.snapshot()
    cursor = snap.range()
    snap.close()
    snap.close()
    assert snap.closed
    with pytest.raises(toykv.ClosedError):
        snap.get(b"a")
    with pytest.raises(toykv.ClosedError):
        snap.range()
    assert list(cursor) == [(b"a", b"1")]  # outlives its snapshot

    snap = db.snapshot()
    db.close()
    with pytest.raises(toykv.ClosedError):
        snap.get(b"a")
    snap.close()
    with pytest.raises(toykv.ClosedError):
        db.snapshot()
