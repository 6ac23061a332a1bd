"""DB.checkpoint: a consistent copy taken while threads write, independent afterwards."""

from __future__ import annotations

import os
import pathlib
import threading
import time

import pytest

import toykv
from conftest import key

WRITERS, KEYS_PER_BATCH = 4, 3


def batch_key(w: int, i: int, j: int) -> bytes:
    return b"w%d/%06d/%d" % (w, i, j)


def test_checkpoint_while_threads_write_holds_whole_acknowledged_batches(
    tmp_path: pathlib.Path,
) -> None:
    acked = [0] * WRITERS
    stop = threading.Event()
    failures: list = []
    with toykv.DB(tmp_path / "db", memtable_bytes=64 << 10) as db:

        def write(w: int) -> None:
            try:
                i = 0
                while not stop.is_set():
                    with db.write_batch() as batch:
                        for j in range(KEYS_PER_BATCH):
                            batch.put(batch_key(w, i, j), b"%d" % i)
                    i += 1
                    acked[w] = i  # the writer's log: batch i-1 returned
            except Exception as e:  # pragma: no cover - reported below
                failures.append(e)

        threads = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
        for t in threads:
            t.start()
        while min(acked) < 100 and not failures:
            time.sleep(0.001)
        before = list(acked)
        db.checkpoint(tmp_path / "cp")
        after = list(acked)
        stop.set()
        for t in threads:
            t.join()
        assert not failures, failures

    with toykv.DB(tmp_path / "cp") as cp:
        for w in range(WRITERS):
            held = list(cp.range(b"w%d/" % w, b"w%d0" % w))
            assert len(held) % KEYS_PER_BATCH == 0, f"writer {w}: not whole batches"
            n = len(held) // KEYS_PER_BATCH
            assert held == [(batch_key(w, i, j), b"%d" % i)
                            for i in range(n) for j in range(KEYS_PER_BATCH)]
            assert before[w] <= n <= after[w] + 1, (w, n, before[w], after[w])


def test_checkpoint_is_independent_and_refuses_an_existing_directory(
    tmp_path: pathlib.Path,
) -> None:
    source = tmp_path / "db"
    cp = tmp_path / "backups" / "cp"  # the missing parent is created too
    with toykv.DB(source) as db:
        for i in range(500):
            db.put(key(i), b"before")
        db.flush()
        db.delete(key(7))
        db.checkpoint(cp)
        db.put(key(1), b"after")
        with pytest.raises(toykv.InvalidArgumentError, match="exists"):
            db.checkpoint(cp)
        with pytest.raises(toykv.InvalidArgumentError):
            db.checkpoint(str(source))
        with pytest.raises(toykv.InvalidArgumentError):
            db.checkpoint(str(tmp_path) + "/a\0b")
        blocker = tmp_path / "file"
        blocker.write_bytes(b"")
        with pytest.raises(toykv.IOError):
            db.checkpoint(blocker / "cp")
        assert not os.path.exists(blocker / "cp")
    with toykv.DB(cp) as restored:
        assert restored.get(key(1)) == b"before"
        assert restored.get(key(7)) is None
        assert restored.get(key(499)) == b"before"
        restored.put(b"restored", b"yes")
    with toykv.DB(source) as db:
        assert db.get(b"restored") is None
        assert db.get(key(1)) == b"after"
