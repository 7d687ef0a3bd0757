"""Every method of the store round-trips, survives a reopen, and refuses misuse."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path

import pytest

from mano_core.errors import (
    LimitExceededError,
    StoreClosedError,
    StoreCorruptedError,
    StoreError,
    StoreExistsError,
    StoreMissingError,
    ValidationError,
)
from mano_core.limits import MAX_STORE_NAME_BYTES
from mano_core.store import DEFAULT_KDF, TEST_KDF, LoadedDocument, LocalStore, OutboxItem

from .conftest import PASSPHRASE

DOC = "team/00ff/general"
OTHER = "team/00ff/medical"


async def fill(store: LocalStore) -> None:
    assert await store.append_update(DOC, b"u1") == 1
    assert await store.append_updates(DOC, [b"u2", b"u3"]) == [2, 3]
    assert await store.append_updates(OTHER, [b"m1"]) == [1]
    await store.put("device", "signing-key", b"\x01" * 32)
    await store.put("device", "agreement-key", b"\x02" * 32)
    await store.put("team-keys", "00ff/0/1", b"wrapped")
    assert await store.outbox_add(DOC, b"envelope-1") == 1
    assert await store.outbox_add(OTHER, b"envelope-2") == 2
    assert await store.outbox_add(DOC, b"envelope-3") == 3


async def check_filled(store: LocalStore) -> None:
    assert await store.list_documents() == [DOC, OTHER]
    assert await store.load_document(DOC) == LoadedDocument(None, 0, [b"u1", b"u2", b"u3"], 3)
    assert await store.load_document(OTHER) == LoadedDocument(None, 0, [b"m1"], 1)
    assert await store.get("device", "signing-key") == b"\x01" * 32
    assert await store.items("device") == [("agreement-key", b"\x02" * 32),
                                           ("signing-key", b"\x01" * 32)]
    assert await store.items("team-keys") == [("00ff/0/1", b"wrapped")]
    assert await store.outbox_pending() == [OutboxItem(1, DOC, b"envelope-1"),
                                            OutboxItem(2, OTHER, b"envelope-2"),
                                            OutboxItem(3, DOC, b"envelope-3")]
    assert [i.id for i in await store.outbox_pending(DOC)] == [1, 3]
    assert await store.outbox_size() == 3 and await store.outbox_size(OTHER) == 1


async def test_every_method_round_trips_and_survives_reopen(store: LocalStore,
                                                            store_path: Path) -> None:
    await fill(store)
    await check_filled(store)
    await store.close()
    async with await LocalStore.open(store_path, PASSPHRASE) as reopened:
        await check_filled(reopened)


async def test_unknown_things_are_empty(store: LocalStore) -> None:
    assert await store.load_document("nope") == LoadedDocument(None, 0, [], 0)
    assert await store.get("device", "nope") is None
    assert await store.items("nope") == []
    assert await store.outbox_pending("nope") == []
    assert await store.updates_since_snapshot("nope") == 0
    assert await store.list_documents() == []


async def test_put_replaces_and_delete_removes(store: LocalStore) -> None:
    await store.put("ns", "k", b"old")
    await store.put("ns", "k", b"new")
    await store.put("other-ns", "k", b"elsewhere")
    assert await store.get("ns", "k") == b"new"
    await store.delete("ns", "k")
    await store.delete("ns", "never-existed")
    assert await store.get("ns", "k") is None
    assert await store.get("other-ns", "k") == b"elsewhere"


async def test_outbox_remove_acks_in_order_and_ids_are_never_reused(
        store: LocalStore, store_path: Path) -> None:
    ids = [await store.outbox_add(DOC, f"e{i}".encode()) for i in range(5)]
    await store.outbox_remove(ids[:2] + [999])
    assert [i.payload for i in await store.outbox_pending()] == [b"e2", b"e3", b"e4"]
    assert [i.id for i in await store.outbox_pending(limit=2)] == ids[2:4]
    await store.outbox_remove(ids[2:])
    await store.close()
    async with await LocalStore.open(store_path, PASSPHRASE) as reopened:
        assert await reopened.outbox_pending() == []
        assert await reopened.outbox_add(DOC, b"later") == ids[-1] + 1


async def test_transaction_commits_update_outbox_and_record_together(store: LocalStore) -> None:
    async with store.transaction() as tx:
        seq = await tx.append_update(DOC, b"edit")
        item = await tx.outbox_add(DOC, b"sealed edit")
        await tx.put("sync", "acked", b"42")
    assert (seq, item) == (1, 1)
    assert (await store.load_document(DOC)).updates == [b"edit"]
    assert [i.payload for i in await store.outbox_pending()] == [b"sealed edit"]
    assert await store.get("sync", "acked") == b"42"


async def test_a_failed_transaction_writes_nothing(store: LocalStore) -> None:
    await store.append_update(DOC, b"before")
    with pytest.raises(KeyError):
        async with store.transaction() as tx:
            await tx.append_update(DOC, b"lost")
            await tx.outbox_add(DOC, b"lost")
            await tx.put("ns", "k", b"lost")
            raise KeyError("boom")
    assert await store.load_document(DOC) == LoadedDocument(None, 0, [b"before"], 1)
    assert await store.outbox_pending() == [] and await store.get("ns", "k") is None
    assert await store.append_update(DOC, b"after") == 2
    with pytest.raises(StoreError):
        await tx.put("ns", "k", b"too late")


async def test_nested_write_inside_a_transaction_is_refused(store: LocalStore) -> None:
    with pytest.raises(StoreError, match="already open"):
        async with store.transaction() as tx:
            await tx.append_update(DOC, b"x")
            await store.append_update(DOC, b"y")
    assert await store.list_documents() == []


async def test_concurrent_writers_get_distinct_consecutive_seqs(store: LocalStore) -> None:
    seqs = await asyncio.gather(*(store.append_update(DOC, bytes([i])) for i in range(50)))
    assert sorted(seqs) == list(range(1, 51))
    loaded = await store.load_document(DOC)
    assert [loaded.updates[s - 1] for s in seqs] == [bytes([i]) for i in range(50)]


@pytest.mark.parametrize("delay", [0, 0.001, 0.005])
async def test_cancelled_writer_commits_all_or_nothing(store: LocalStore, delay: float) -> None:
    task = asyncio.create_task(store.append_updates(DOC, [bytes(50_000)] * 100))
    await asyncio.sleep(delay)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    seq = await store.append_update(DOC, b"next")
    loaded = await store.load_document(DOC)
    assert seq in (1, 101)  # the batch is either wholly committed or not at all
    assert loaded.last_seq == seq and len(loaded.updates) == seq and loaded.updates[-1] == b"next"


async def test_delete_document_removes_everything_of_it(store: LocalStore,
                                                        store_path: Path) -> None:
    await fill(store)
    await store.write_snapshot(DOC, b"state", 2)
    await store.delete_document(DOC)
    assert await store.list_documents() == [OTHER]
    assert await store.load_document(DOC) == LoadedDocument(None, 0, [], 0)
    assert [i.doc for i in await store.outbox_pending()] == [OTHER]
    assert await store.append_update(DOC, b"fresh") == 1
    await store.close()
    async with await LocalStore.open(store_path, PASSPHRASE) as reopened:
        assert await reopened.load_document(DOC) == LoadedDocument(None, 0, [b"fresh"], 1)


async def test_closed_store_refuses_everything(store: LocalStore) -> None:
    await store.close()
    await store.close()  # idempotent
    assert store.closed
    with pytest.raises(StoreClosedError):
        await store.append_update(DOC, b"x")
    with pytest.raises(StoreClosedError):
        await store.load_document(DOC)
    with pytest.raises(StoreClosedError):
        await store.get("ns", "k")
    with pytest.raises(StoreClosedError):
        async with store:
            pass


async def test_a_store_cannot_be_opened_twice(store: LocalStore, store_path: Path) -> None:
    with pytest.raises(StoreError, match="already open"):
        await LocalStore.open(store_path, PASSPHRASE)
    async with store:
        with pytest.raises(StoreError, match="already in use"):
            async with store:
                pass


async def test_a_store_open_in_another_process_is_refused(store_path: Path) -> None:
    await (await LocalStore.create(store_path, PASSPHRASE, kdf=TEST_KDF)).close()
    holder = ("import asyncio, sys\n"
              "from mano_core.store import LocalStore\n"
              "async def main():\n"
              "    async with await LocalStore.open(sys.argv[1], sys.argv[2]):\n"
              "        print('open', flush=True)\n"
              "        sys.stdin.readline()\n"
              "asyncio.run(main())\n")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", holder, str(store_path), PASSPHRASE, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, cwd=Path(__file__).resolve().parents[2])
    try:
        assert proc.stdout is not None and await proc.stdout.readline() == b"open\n"
        with pytest.raises(StoreError, match="another process"):
            await LocalStore.open(store_path, PASSPHRASE)
    finally:
        await asyncio.wait_for(proc.communicate(b"\n"), timeout=10)
    async with await LocalStore.open(store_path, PASSPHRASE) as store:
        assert await store.list_documents() == []


async def test_create_refuses_an_existing_path(store: LocalStore, store_path: Path,
                                               tmp_path: Path) -> None:
    with pytest.raises(StoreExistsError):
        await LocalStore.create(store_path, PASSPHRASE, kdf=TEST_KDF)
    other = tmp_path / "notes.txt"
    other.write_text("not a store")
    with pytest.raises(StoreExistsError):
        await LocalStore.create(other, PASSPHRASE, kdf=TEST_KDF)
    assert other.read_text() == "not a store"


async def test_opening_a_missing_or_foreign_file_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(StoreMissingError):
        await LocalStore.open(tmp_path / "absent.mano", PASSPHRASE)
    text = tmp_path / "notes.txt"
    text.write_bytes(b"just some notes, long enough to look like a header" * 50)
    with pytest.raises(StoreCorruptedError, match="not"):
        await LocalStore.open(text, PASSPHRASE)
    import sqlite3
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE t (x)")
    before = foreign.read_bytes()
    with pytest.raises(StoreCorruptedError, match="not a Mano store"):
        await LocalStore.open(foreign, PASSPHRASE)
    assert foreign.read_bytes() == before


async def test_names_and_passphrase_are_checked(store: LocalStore, tmp_path: Path) -> None:
    with pytest.raises(LimitExceededError):
        await store.append_update("d" * (MAX_STORE_NAME_BYTES + 1), b"x")
    with pytest.raises(LimitExceededError):
        await store.put("ns", "k" * (MAX_STORE_NAME_BYTES + 1), b"x")
    with pytest.raises(ValidationError):
        await LocalStore.create(tmp_path / "short.mano", "short", kdf=TEST_KDF)
    assert not (tmp_path / "short.mano").exists()
    with pytest.raises(StoreError, match="cannot create"):
        await LocalStore.create(tmp_path / "no-such-dir" / "s.mano", PASSPHRASE, kdf=TEST_KDF)


async def test_unicode_passphrase_is_normalised(tmp_path: Path) -> None:
    composed, decomposed = "caf\u00e9 au lait", "cafe\u0301 au lait"
    async with await LocalStore.create(tmp_path / "u.mano", composed, kdf=TEST_KDF):
        pass
    async with await LocalStore.open(tmp_path / "u.mano", decomposed) as store:
        assert await store.list_documents() == []


async def test_default_kdf_store_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "default.mano"
    async with await LocalStore.create(path, PASSPHRASE) as store:
        assert store.kdf == DEFAULT_KDF
        await store.put("ns", "k", b"v")
    async with await LocalStore.open(path, PASSPHRASE) as store:
        assert store.kdf == DEFAULT_KDF
        assert await store.get("ns", "k") == b"v"
