"""The outbox counts and recent payloads the store keeps in memory (store/outbox_index.py) are
what the file holds after every commit, and never what a transaction that did not commit wrote:
checked against the file itself after each step of a fixed sequence of writes, failed writes
(a real SQLITE_FULL) and cancelled commits."""

from __future__ import annotations

import asyncio
import os
import random
from pathlib import Path

import pytest

from mano_core.errors import StoreFullError
from mano_core.store import TEST_KDF, LocalStore, OutboxItem, outbox_index

from .conftest import PASSPHRASE
from .test_disk_full import cap_pages

DOCS = ("team/a/general/local", "team/a/general/sealed", "team/a/medical/local")


async def in_file(store: LocalStore) -> dict[str, list[tuple[int, bytes]]]:
    """Each document's outbox as the file holds it: its rows read and decrypted, without the
    index (the statement outbox_pending runs when the payloads are not held)."""
    heads = {h.id: name for name, h in store._state.docs.items()}
    found: dict[str, list[tuple[int, bytes]]] = {d: [] for d in DOCS}
    for item_id, doc_id, _data in await store._db.fetchall(
            "SELECT id, doc_id, data FROM outbox ORDER BY id"):
        found[heads[doc_id]].append((int(item_id), _data))
    items = {i.id: i.payload for i in await _read_all(store)}
    return {d: [(i, items[i]) for i, _ in rows] for d, rows in found.items()}


async def _read_all(store: LocalStore) -> list[OutboxItem]:
    return await store.outbox_pending()  # every document at once: always read from the file


async def check(store: LocalStore) -> None:
    expected = await in_file(store)
    for d in DOCS:
        assert await store.outbox_size(d) == len(expected[d]), d
        assert [(i.id, i.payload) for i in await store.outbox_pending(d)] == expected[d], d
        assert [(i.id, i.payload) for i in await store.outbox_pending(d, limit=2)] == \
            expected[d][:2], d
    assert await store.outbox_size() == sum(len(v) for v in expected.values())


async def test_the_index_follows_every_commit_and_nothing_else(tmp_path: Path) -> None:
    path = tmp_path / "s.mano"
    store = await LocalStore.create(path, PASSPHRASE, kdf=TEST_KDF)
    rng = random.Random(24)  # a fixed sequence: the same steps on every run
    ids: list[int] = []
    try:
        for step in range(60):
            kind = rng.choice(["add", "add", "remove", "move", "drop", "fail", "cancel"])
            if kind == "add":
                async with store.transaction() as tx:
                    for _ in range(rng.randint(1, 3)):
                        ids.append(await tx.outbox_add(rng.choice(DOCS), b"p%d" % step))
            elif kind == "remove" and ids:
                gone = rng.sample(ids, min(len(ids), 2))
                async with store.transaction() as tx:
                    await tx.outbox_remove([*gone, 10_000 + step])  # an unknown id is ignored
                ids = [i for i in ids if i not in gone]
            elif kind == "move" and ids:  # as a flush does: consume one, add to another doc
                async with store.transaction() as tx:
                    await tx.outbox_remove([ids[0]])
                    ids = ids[1:] + [await tx.outbox_add(DOCS[1], b"sealed %d" % step)]
            elif kind == "drop":
                await store.delete_document(DOCS[2])
            elif kind == "fail":
                with pytest.raises(RuntimeError):
                    async with store.transaction() as tx:
                        await tx.outbox_add(DOCS[0], b"never")
                        if ids:
                            await tx.outbox_remove([ids[-1]])
                        raise RuntimeError("the block fails: nothing is written")
            elif kind == "cancel":  # cancelled while its commit runs: it commits whole
                async def write(n: int = step) -> None:
                    async with store.transaction() as tx:
                        await tx.outbox_add(DOCS[0], b"cancelled %d" % n)
                task = asyncio.ensure_future(write())
                await asyncio.sleep(0)  # inside the block or committing: either way whole
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                async with store.transaction():
                    pass  # its commit, if it started, is over (it holds the write lock)
            await check(store)
    finally:
        await store.close()


async def test_a_commit_the_disk_refuses_changes_nothing_in_memory(tmp_path: Path) -> None:
    path = tmp_path / "s.mano"
    store = await LocalStore.create(path, PASSPHRASE, kdf=TEST_KDF)
    try:
        kept = await store.outbox_add(DOCS[0], b"kept")
        await cap_pages(store, 10)
        with pytest.raises(StoreFullError):
            async with store.transaction() as tx:
                await tx.outbox_remove([kept])
                await tx.outbox_add(DOCS[0], b"lost")
                await tx.put("bulk", "too-big", os.urandom(500_000))
        assert await store.outbox_size(DOCS[0]) == 1
        assert await store.outbox_pending(DOCS[0]) == [OutboxItem(kept, DOCS[0], b"kept")]
    finally:
        await store.close()


async def test_payloads_beyond_the_bound_are_read_from_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outbox_index, "OUTBOX_CACHE_BYTES", 10)
    path = tmp_path / "s.mano"
    store = await LocalStore.create(path, PASSPHRASE, kdf=TEST_KDF)
    try:
        first = await store.outbox_add(DOCS[0], b"12345678")  # held (8 bytes)
        second = await store.outbox_add(DOCS[0], b"abcdefgh")  # over the bound: not held
        reads = 0
        fetchall = store._db.fetchall

        async def counting(sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
            nonlocal reads
            reads += 1
            return await fetchall(sql, params)

        monkeypatch.setattr(store._db, "fetchall", counting)
        assert await store.outbox_pending(DOCS[0], limit=1) == [
            OutboxItem(first, DOCS[0], b"12345678")]
        assert reads == 0  # from memory
        assert [i.id for i in await store.outbox_pending(DOCS[0])] == [first, second]
        assert reads == 1  # the second one's payload came from the file
        assert await store.outbox_size(DOCS[0]) == 2 and reads == 1
    finally:
        await store.close()

