"""The SQLite relay appends in one call to its writer's thread (sync_server/storage/
sqlite_append.py, issue 24). A caller cancelled while that transaction commits must not
leave the cached sequence heads behind the file: every later append would then collide with
a stored sequence."""

from __future__ import annotations

import asyncio
import threading

import pytest

from sync_server.storage import sqlite as sqlite_storage
from sync_server.storage.base import Appended, NewEnvelope
from sync_server.storage.sqlite import SQLiteStorage

TEAM, AUTHOR = b"t" * 16, b"a" * 32


def _envelope(counter: int) -> NewEnvelope:
    return NewEnvelope(TEAM, 0, AUTHOR, counter, b"envelope %d" % counter)


async def test_an_append_cancelled_while_it_commits_keeps_the_heads_true(
        tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = SQLiteStorage(tmp_path / "relay.db", synchronous="NORMAL")
    await storage.open()
    try:
        await storage.create_team(TEAM, [b"log entry"], 0.0)
        assert await storage.append_envelopes([_envelope(0)], 0.0) == [Appended(1, False)]
        committed, release = threading.Event(), threading.Event()
        real = sqlite_storage.append_in_thread

        def held(*args: object) -> object:  # the transaction commits, then its thread waits
            result = real(*args)  # type: ignore[arg-type]
            committed.set()
            release.wait(60)
            return result

        monkeypatch.setattr(sqlite_storage, "append_in_thread", held)
        task = asyncio.ensure_future(storage.append_envelopes([_envelope(1)], 0.0))
        loop = asyncio.get_running_loop()
        assert await loop.run_in_executor(None, committed.wait, 60)
        task.cancel()
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        monkeypatch.setattr(sqlite_storage, "append_in_thread", real)
        assert await storage.read_envelopes(TEAM, 0, 0, 10) == [
            (1, b"envelope 0"), (2, b"envelope 1")]  # the cancelled append committed
        assert await storage.append_envelopes([_envelope(2), _envelope(1)], 0.0) == [
            Appended(3, False), Appended(2, True)]
        assert await storage.head(TEAM, 0) == 3
    finally:
        await storage.close()


async def test_an_append_is_queued_for_the_writers_thread_in_the_callers_turn(
        tmp_path) -> None:
    """Issue 24: not by a Task one turn later, behind whatever the loop has ready then (the
    other sessions' frames)."""
    storage = SQLiteStorage(tmp_path / "relay.db", synchronous="NORMAL")
    await storage.open()
    try:
        await storage.create_team(TEAM, [b"log entry"], 0.0)
        db = storage._wc
        entered, release = threading.Event(), threading.Event()

        def block() -> None:
            entered.set()
            release.wait(10)

        held = asyncio.ensure_future(db._execute(block))  # the writer's thread kept busy
        while not entered.is_set():
            await asyncio.sleep(0.001)
        try:
            assert db._tx.qsize() == 0
            append = asyncio.ensure_future(storage.append_envelopes([_envelope(0)], 0.0))
            await asyncio.sleep(0)  # one turn: the append's first step, nothing after it
            assert db._tx.qsize() == 1  # (a Task doing the hand-off would not have run yet)
        finally:
            release.set()
            await held
        assert await append == [Appended(1, False)]
        assert await storage.read_envelopes(TEAM, 0, 0, 10) == [(1, b"envelope 0")]
    finally:
        await storage.close()
