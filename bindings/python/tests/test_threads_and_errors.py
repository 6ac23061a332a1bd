"""Many threads on one DB, closing under calls in flight, closed handles, corruption, errors,
and how the library is found."""

from __future__ import annotations

import gc
import glob
import os
import subprocess
import sys
import threading
import time

import pytest

import toykv
from conftest import key


def test_many_threads_on_one_db(db: toykv.DB) -> None:
    workers, ops = 6, 300
    failures: list = []

    def work(w: int) -> None:
        try:
            for i in range(ops):
                k, v = b"w%d/%05d" % (w, i), b"%d-%d" % (w, i)
                if i % 3 == 0:
                    with db.write_batch() as batch:
                        batch.put(k, v)
                        if i >= 3:
                            batch.delete(b"w%d/%05d" % (w, i - 3))
                else:
                    db.put(k, v)
                    if db.get(k) != v:
                        failures.append((k, db.get(k)))
        except Exception as e:
            failures.append(e)

    def scan() -> None:
        try:
            for _ in range(10):
                keys = [k for k, _ in db.range()]
                if keys != sorted(keys):
                    failures.append("scan out of order")
        except Exception as e:
            failures.append(e)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
    threads += [threading.Thread(target=scan) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    for w in range(workers):
        for i in range(ops):
            deleted = i % 3 == 0 and i + 3 < ops
            assert db.get(b"w%d/%05d" % (w, i)) == (None if deleted else b"%d-%d" % (w, i))


def test_close_while_calls_are_in_flight(path: str) -> None:
    db = toykv.DB(path, memtable_bytes=64 << 10)
    snap = db.snapshot()
    acked = [0] * 4
    failures: list = []

    def work(w: int) -> None:
        i = 0
        try:
            while True:
                if w == 0:
                    list(db.range())
                    snap.get(b"x")
                elif w == 1:
                    db.flush() if i % 20 == 0 else db.property("toykv.stats")
                else:
                    db.put(b"w%d/%08d" % (w, i), b"v")
                    acked[w] = i + 1
                i += 1
        except toykv.ClosedError:
            return
        except Exception as e:
            failures.append(e)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10  # close once every writer is under way
    while min(acked[2:]) < 100 and time.monotonic() < deadline:
        time.sleep(0.005)
    db.close()
    for t in threads:
        t.join()
    snap.close()
    assert failures == []
    with toykv.DB(path) as db:
        for w in (2, 3):
            assert acked[w] > 0
            for i in (0, acked[w] // 2, acked[w] - 1):
                assert db.get(b"w%d/%08d" % (w, i)) == b"v"


def test_every_method_of_a_closed_db_raises_closed(db: toykv.DB, tmp_path) -> None:  # type: ignore[no-untyped-def]
    batch = db.write_batch()
    db.close()
    db.close()
    assert db.closed
    calls = [
        lambda: db.get(b"k"),
        lambda: db.put(b"k", b"v"),
        lambda: db.delete(b"k"),
        lambda: db.range(),
        lambda: db.snapshot(),
        lambda: db.sync(),
        lambda: db.flush(),
        lambda: db.compact(),
        lambda: db.property("toykv.stats"),
        lambda: db.checkpoint(tmp_path / "cp"),
        lambda: batch.write(),
    ]
    for call in calls:
        with pytest.raises(toykv.ClosedError, match="database is closed"):
            call()
    batch.close()


def test_errors_carry_code_and_message(db: toykv.DB) -> None:
    with pytest.raises(toykv.Error) as info:
        db.property("toykv.bogus")
    err = info.value
    assert isinstance(err, toykv.InvalidArgumentError)
    assert err.code == toykv.Status.INVALID_ARGUMENT
    assert err.message and str(err) == err.message
    assert {cls.code for cls in (toykv.NotFoundError, toykv.IOError, toykv.CorruptionError,
                                 toykv.LockedError, toykv.BufferTooSmallError, toykv.ClosedError,
                                 toykv.InternalError, toykv.InvalidArgumentError)} == \
        {s for s in toykv.Status if s not in (toykv.Status.OK, toykv.Status.END)}


def test_corruption_names_the_file(path: str) -> None:
    with toykv.DB(path) as db:
        for i in range(500):
            db.put(key(i), b"some value to fill the blocks")
        db.flush()
    (table,) = glob.glob(os.path.join(path, "*.sst"))
    with open(table, "r+b") as f:
        f.seek(100)  # inside the first data block
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 0x40]))
    with toykv.DB(path) as db:
        with pytest.raises(toykv.CorruptionError, match=os.path.basename(table)):
            list(db.range())
        with pytest.raises(toykv.CorruptionError):
            db.get(key(0))


def _import_in_subprocess(env: dict) -> subprocess.CompletedProcess:
    code = "import toykv; print(toykv.version())"
    pkg_root = os.path.dirname(os.path.dirname(toykv.__file__))
    env = {**env, "PYTHONPATH": pkg_root}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)


def test_library_found_through_toykv_library_then_the_loader() -> None:
    lib_path = os.environ["TOYKV_LIBRARY"]
    base = {k: v for k, v in os.environ.items() if k not in ("TOYKV_LIBRARY", "LD_LIBRARY_PATH")}
    done = _import_in_subprocess({**base, "TOYKV_LIBRARY": lib_path})
    assert done.returncode == 0 and done.stdout.strip() == toykv.version()
    # Without TOYKV_LIBRARY: the system loader, here told about the directory.
    done = _import_in_subprocess({**base, "LD_LIBRARY_PATH": os.path.dirname(lib_path)})
    assert done.returncode == 0, done.stderr
    done = _import_in_subprocess({**base, "TOYKV_LIBRARY": "/nonexistent/libtoykv.so"})
    assert done.returncode != 0 and "TOYKV_LIBRARY='/nonexistent/libtoykv.so'" in done.stderr


def test_a_leaked_db_is_closed_when_collected(path: str) -> None:
    # __del__ is only a safety net, but it must release the directory's lock.
    db = toykv.DB(path)
    db.put(b"k", b"v")
    cursor, snap = db.range(), db.snapshot()  # they keep the DB alive while they live
    del db
    with pytest.raises(toykv.LockedError):
        toykv.DB(path)
    del cursor, snap
    gc.collect()
    with toykv.DB(path) as db:
        assert db.get(b"k") == b"v"
