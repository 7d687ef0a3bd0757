"""A store transaction's commit starts in the caller's own turn of the loop and reports back
from the file thread's result (``LocalStore._start_commit``, ``Database.write_now``; issue 24,
edit → visible), and stays what it was: whole or nothing, its bookkeeping done even when the
caller is cancelled meanwhile, a failure rolled back and raised."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mano_core.errors import StoreError
from mano_core.store import TEST_KDF, LocalStore
from mano_core.store.write_now import acquire_now

from .conftest import INSERT, PASSPHRASE, hold_worker



async def test_the_commit_is_queued_before_anything_the_loop_runs_next(
        store: LocalStore) -> None:
    conn = store._db._conn
    release, held = await hold_worker(conn)
    seen: list[int] = []
    try:
        async def edit() -> None:
            async with store.transaction() as tx:
                await tx.put("ns", "key", b"value")
                # Runs at the loop's next turn: the commit must be queued by then (a Task
                # starting it would only run after this callback).
                asyncio.get_running_loop().call_soon(lambda: seen.append(conn._tx.qsize()))

        editing = asyncio.ensure_future(edit())
        while not seen:
            await asyncio.sleep(0)
        assert seen == [1]
    finally:
        release.set()
        await held
    await editing
    assert await store.get("ns", "key") == b"value"


async def test_a_caller_cancelled_mid_commit_leaves_it_whole_and_told(
        store_path: Path) -> None:
    store = await LocalStore.create(store_path, PASSPHRASE, kdf=TEST_KDF)
    told: list[str] = []
    release, held = await hold_worker(store._db._conn)

    async def edit() -> None:
        async with store.transaction() as tx:
            await tx.put("ns", "a", b"1")
            await tx.put("ns", "b", b"2")
            tx.after_commit(lambda: told.append("committed"))

    editing = asyncio.ensure_future(edit())
    for _ in range(3):
        await asyncio.sleep(0)
    editing.cancel()  # while its commit waits for the thread
    with pytest.raises(asyncio.CancelledError):
        await editing
    assert told == []  # not true before it committed
    release.set()
    await held
    async with store.transaction() as tx:  # starts once the cancelled one ended
        assert told == ["committed"]
        await tx.put("ns", "c", b"3")
    await store.close()
    reopened = await LocalStore.open(store_path, PASSPHRASE)
    try:
        assert [await reopened.get("ns", k) for k in "abc"] == [b"1", b"2", b"3"]
    finally:
        await reopened.close()


async def test_a_failed_commit_is_rolled_back_raised_and_frees_the_connection(
        store: LocalStore) -> None:
    db = store._db
    await db.write([(INSERT, [(b"taken", b"0")])], "saving")
    events: list[str] = []
    started = db.write_now([(INSERT, [(b"fresh", b"1"), (b"taken", b"2")])], "saving",
                           lambda: events.append("commit"), lambda: events.append("end"))
    assert started is not None
    with pytest.raises(StoreError):
        await started
    assert events == ["end"]
    assert not db._lock.locked()
    assert await db.fetchall("SELECT value FROM meta WHERE name = ?", (b"fresh",)) == []
    await db.write([(INSERT, [(b"fresh", b"3")])], "saving")
    assert await db.fetchall("SELECT value FROM meta WHERE name = ?", (b"fresh",)) == [(b"3",)]


async def test_a_busy_connection_commits_the_usual_way(store: LocalStore) -> None:
    db = store._db
    async with db.reading():
        assert db.write_now([(INSERT, [(b"x", b"1")])], "saving", lambda: None,
                            lambda: None) is None  # nothing done
        assert db._lock.locked()

        async def edit() -> None:
            async with store.transaction() as tx:
                await tx.put("ns", "key", b"after the read")

        editing = asyncio.ensure_future(edit())
        await asyncio.sleep(0.01)
        assert not editing.done()  # waits for the read
    await editing
    assert await store.get("ns", "key") == b"after the read"
    assert await db.fetchall("SELECT value FROM meta WHERE name = ?", (b"x",)) == []


async def test_acquire_now_takes_only_a_free_lock() -> None:
    lock = asyncio.Lock()
    assert acquire_now(lock)
    assert lock.locked()
    assert not acquire_now(lock)  # held: nothing changed, no waiter left behind
    lock.release()
    assert not lock.locked()
    async with lock:  # still an ordinary lock
        pass
    assert acquire_now(lock)
    lock.release()
