"""Shared fixtures. Run from the repository with `make py-test`, or directly with pytest:
TOYKV_LIBRARY defaults to the repository's target/release/libtoykv.so when it is built."""

from __future__ import annotations

import os
import pathlib
from typing import Iterator

import pytest

_built = pathlib.Path(__file__).resolve().parents[3] / "target" / "release" / "libtoykv.so"
if "TOYKV_LIBRARY" not in os.environ and _built.exists():
    os.environ["TOYKV_LIBRARY"] = str(_built)

import toykv  # noqa: E402  (after TOYKV_LIBRARY is set)


@pytest.fixture
def path(tmp_path: pathlib.Path) -> str:
    return str(tmp_path / "db")


@pytest.fixture
def db(path: str) -> Iterator[toykv.DB]:
    with toykv.DB(path) as db:
        yield db


def key(i: int) -> bytes:
    return b"key%08d" % i


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    # The one-line count the repository's CI adds up across its test runners.
    stats = terminalreporter.stats
    failed = len(stats.get("failed", [])) + len(stats.get("error", []))
    terminalreporter.write_line(f"python: {len(stats.get('passed', []))} passed, {failed} failed")
