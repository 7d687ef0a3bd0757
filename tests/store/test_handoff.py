"""A store commit is handed to the connection's worker thread in the caller's own turn of the
event loop (issue 24, edit → visible): not one turn later by a Task, behind whatever else the
loop has ready. Where aiosqlite's internals are not the expected ones, the old way still works."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiosqlite
import pytest

from mano_core.store import LocalStore
from mano_core.sqlite_handoff import submit

from .conftest import INSERT, hold_worker


async def test_a_commit_is_queued_for_the_store_thread_in_the_callers_turn(
        store: LocalStore) -> None:
    db = store._db
    conn = db._conn
    release, held = await hold_worker(conn)
    try:
        assert conn._tx.qsize() == 0
        write = asyncio.ensure_future(db.write([(INSERT, [(b"handoff", b"1")])], "saving"))
        await asyncio.sleep(0)  # one turn: the write's first step, nothing scheduled after it
        assert conn._tx.qsize() == 1  # (a Task doing the hand-off would not have run yet)
    finally:
        release.set()
        await held
    await write
    assert await db.fetchall("SELECT value FROM meta WHERE name = ?", (b"handoff",)) == [(b"1",)]


async def test_the_thread_hands_back_the_call_result_and_its_error(store: LocalStore) -> None:
    conn = store._db._conn
    assert await submit(conn, lambda a, b: a + b, 2, 3) == 5

    def fail() -> None:
        raise ValueError("refused in the thread")

    with pytest.raises(ValueError, match="refused in the thread"):
        await submit(conn, fail)


class _OtherLayout:
    """A connection without aiosqlite 0.22's queue: only its public-ish ``_execute``."""

    def __init__(self) -> None:
        self.calls = 0

    async def _execute(self, fn: Callable[..., Any], *args: Any) -> Any:
        self.calls += 1
        return fn(*args)


async def test_without_aiosqlites_internals_it_goes_through_execute() -> None:
    other = _OtherLayout()
    future = submit(other, lambda x: x * 2, 21)  # type: ignore[arg-type]
    assert await future == 42
    assert other.calls == 1


async def test_a_closed_connection_refuses_as_aiosqlite_does(tmp_path: Any) -> None:
    conn = await aiosqlite.connect(str(tmp_path / "closed.db"))
    await conn.close()
    with pytest.raises(ValueError, match="closed"):
        await submit(conn, lambda: None)
