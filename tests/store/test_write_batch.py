"""A store transaction runs in one call to the connection's worker thread (issue 24): a caller
cancelled meanwhile, or a statement that fails half-way, never leaves memory and the file
telling different stories."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mano_core.errors import StoreError
from mano_core.store import LocalStore
from mano_core.store.database import Database

from .conftest import PASSPHRASE

INSERT = "INSERT INTO meta (name, value) VALUES (?, ?)"


async def meta(db: Database, name: bytes) -> list[tuple[object, ...]]:
    return await db.fetchall("SELECT value FROM meta WHERE name = ?", (name,))


async def test_a_write_cancelled_while_it_runs_commits_whole_and_says_so(
        store: LocalStore) -> None:
    db = store._db
    told: list[bool] = []
    ops = [(INSERT, [(b"bench-a", b"1"), (b"bench-b", b"2")])]
    write = asyncio.ensure_future(db.write(ops, "saving", on_commit=lambda: told.append(True)))
    await asyncio.sleep(0)  # the transaction is with the worker thread now
    write.cancel()
    with pytest.raises(asyncio.CancelledError):
        await write
    # The worker ran it to its end: both rows are in the file, and on_commit said so.
    assert await meta(db, b"bench-a") == [(b"1",)]
    assert await meta(db, b"bench-b") == [(b"2",)]
    assert told == [True]


async def test_a_failing_statement_rolls_back_the_whole_transaction(store: LocalStore) -> None:
    db = store._db
    told: list[bool] = []
    ops = [(INSERT, [(b"bench-c", b"1")]), (INSERT, [(b"bench-c", b"again")])]  # not unique
    with pytest.raises(StoreError):
        await db.write(ops, "saving", on_commit=lambda: told.append(True))
    assert await meta(db, b"bench-c") == []
    assert told == []
    await db.write([(INSERT, [(b"bench-d", b"1")])], "saving")  # the connection still writes
    assert await meta(db, b"bench-d") == [(b"1",)]


async def test_store_writes_after_a_cancelled_commit_survive_a_reopen(
        store: LocalStore, store_path: Path) -> None:
    async def edit(n: int) -> None:
        async with store.transaction() as tx:
            await tx.append_updates("doc", [f"u{n}".encode()])
            await tx.outbox_add("doc/local", f"u{n}".encode())

    first = asyncio.ensure_future(edit(1))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.gather(first, return_exceptions=True)
    await edit(2)  # sequence numbers and outbox ids follow what the file holds
    await store.close()
    reopened = await LocalStore.open(store_path, PASSPHRASE)
    try:
        updates = list((await reopened.load_document("doc")).updates)
        pending = [item.payload for item in await reopened.outbox_pending("doc/local")]
        assert updates in ([b"u1", b"u2"], [b"u2"])  # the first whole, or not at all
        assert pending == updates
    finally:
        await reopened.close()


async def test_a_write_after_a_checkpoint_commits(store: LocalStore) -> None:
    """The checkpoint's pragma returns a row: left unread, its statement stayed in progress
    and the next transaction's COMMIT failed (found on erasure and document deletion)."""
    await store.put("ns", "before", b"1")
    await store.checkpoint()
    await store.put("ns", "after", b"2")
    assert await store.get("ns", "after") == b"2"
