"""A tour of the Python binding: writes, reads, an atomic batch, range scans, a snapshot and
the errors. Run from the repository (after `cargo build --release`):

    TOYKV_LIBRARY=target/release/libtoykv.so PYTHONPATH=bindings/python \\
        python3 examples/python/quickstart.py

or after `pip install ./bindings/python` with libtoykv installed, plainly.
"""

from __future__ import annotations

import os
import sys
import tempfile

import toykv


def main(path: str) -> None:
    print(f"libtoykv {toykv.version()}, database in {path}")
    with toykv.DB(path) as db:
        with db.write_batch() as batch:  # all four or none
            for name, colour in [(b"apple", b"red"), (b"banana", b"yellow"),
                                 (b"cherry", b"dark red"), (b"date", b"brown")]:
                batch.put(b"fruit/" + name, colour)

        print("cherry is", db.get(b"fruit/cherry").decode())
        print("kiwi:", db.get(b"fruit/kiwi"))  # None: absent

        with db.snapshot() as snap:
            db.delete(b"fruit/banana")
            print("fruit now:")
            for key, value in db.range(b"fruit/", b"fruit0"):
                print(f"  {key.decode()} = {value.decode()}")
            print("fruit in the snapshot taken before the delete:")
            for key, value in snap.range(b"fruit/", b"fruit0"):
                print(f"  {key.decode()} = {value.decode()}")

        try:
            toykv.DB(path)  # the directory is locked by db
        except toykv.LockedError as e:
            print(f"opening it twice: {type(e).__name__} (code {e.code}): {e}")
    try:
        db.put(b"k", b"v")
    except toykv.ClosedError as e:
        print("after close:", e)
    toykv.destroy(path)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(tempfile.mkdtemp(), "db"))
