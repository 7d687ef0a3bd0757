"""A full disk (a real SQLITE_FULL, from PRAGMA max_page_count) rolls back cleanly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mano_core.errors import StoreFullError
from mano_core.store import LoadedDocument, LocalStore

from .conftest import PASSPHRASE


async def cap_pages(store: LocalStore, extra: int) -> None:
    # Test-only reach into the connection: SQLite refuses to grow the file past max_page_count
    # with the same SQLITE_FULL error a full disk gives.
    conn = store._db._conn
    (pages,), = await conn.execute_fetchall("PRAGMA page_count")
    await conn.execute(f"PRAGMA max_page_count = {pages + extra}")


async def test_disk_full_raises_store_full_and_keeps_earlier_commits(
        store: LocalStore, store_path: Path) -> None:
    await store.append_updates("doc", [b"one", b"two"])
    await store.put("ns", "kept", b"value")
    await cap_pages(store, 40)

    blobs = [os.urandom(30_000) for _ in range(20)]
    written = 0
    with pytest.raises(StoreFullError):
        for blob in blobs:
            await store.put("bulk", f"k{written}", blob)
            written += 1
    assert 0 < written < len(blobs)
    with pytest.raises(StoreFullError):
        async with store.transaction() as tx:
            await tx.append_update("doc", b"three")
            await tx.outbox_add("doc", b"env")
            await tx.put("bulk", "too-big", os.urandom(500_000))

    # Earlier commits are intact, the failed ones left no trace, numbering did not move.
    assert await store.load_document("doc") == LoadedDocument(None, 0, [b"one", b"two"], 2)
    assert await store.outbox_pending() == []
    assert [k for k, _ in await store.items("bulk")] == [f"k{i}" for i in range(written)]

    # Freeing space makes the store usable again.
    for i in range(written):
        await store.delete("bulk", f"k{i}")
    assert await store.append_update("doc", b"three") == 3
    await store.put("bulk", "again", blobs[0])
    await store.close()

    async with await LocalStore.open(store_path, PASSPHRASE) as reopened:
        assert (await reopened.load_document("doc")).updates == [b"one", b"two", b"three"]
        assert await reopened.get("ns", "kept") == b"value"
        assert await reopened.get("bulk", "again") == blobs[0]


async def test_disk_full_during_a_large_snapshot_keeps_the_old_one(store: LocalStore) -> None:
    await store.append_updates("doc", [b"a", b"b", b"c"])
    await store.write_snapshot("doc", b"small state", 2)
    await cap_pages(store, 50)
    with pytest.raises(StoreFullError):
        await store.write_snapshot("doc", os.urandom(3 * 1024 * 1024), 3)
    assert await store.load_document("doc") == LoadedDocument(b"small state", 2, [b"c"], 3)
    assert await store.updates_since_snapshot("doc") == 1
