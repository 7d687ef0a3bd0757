"""Snapshots replace the updates they cover; large snapshots round-trip; passphrase changes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pycrdt
import pytest

from mano_core.errors import SnapshotRangeError, ValidationError, WrongPassphraseError
from mano_core.store import INTERACTIVE_KDF, TEST_KDF, LoadedDocument, LocalStore

from .conftest import PASSPHRASE, store_files

DOC = "team/ab12/general"


async def test_snapshot_replaces_covered_updates(store: LocalStore, store_path: Path) -> None:
    await store.append_updates(DOC, [b"u1", b"u2", b"u3", b"u4"])
    assert await store.updates_since_snapshot(DOC) == 4
    await store.write_snapshot(DOC, b"state-upto-3", 3)
    assert await store.updates_since_snapshot(DOC) == 1
    assert await store.load_document(DOC) == LoadedDocument(b"state-upto-3", 3, [b"u4"], 4)
    assert await store.append_update(DOC, b"u5") == 5
    await store.write_snapshot(DOC, b"state-upto-5", 5)
    await store.close()
    async with await LocalStore.open(store_path, PASSPHRASE) as reopened:
        assert await reopened.load_document(DOC) == LoadedDocument(b"state-upto-5", 5, [], 5)
        assert await reopened.updates_since_snapshot(DOC) == 0
        assert await reopened.append_update(DOC, b"u6") == 6


async def test_snapshot_bounds_are_checked(store: LocalStore) -> None:
    await store.append_updates(DOC, [b"u1", b"u2"])
    with pytest.raises(SnapshotRangeError):
        await store.write_snapshot(DOC, b"from the future", 3)
    await store.write_snapshot(DOC, b"s2", 2)
    with pytest.raises(SnapshotRangeError):
        await store.write_snapshot(DOC, b"older", 1)
    assert await store.load_document(DOC) == LoadedDocument(b"s2", 2, [], 2)


async def test_snapshot_and_updates_in_one_transaction(store: LocalStore) -> None:
    async with store.transaction() as tx:
        await tx.append_updates(DOC, [b"u1", b"u2", b"u3"])
        await tx.write_snapshot(DOC, b"s2", 2)
    assert await store.load_document(DOC) == LoadedDocument(b"s2", 2, [b"u3"], 3)


async def test_compacting_a_real_pycrdt_document(store: LocalStore) -> None:
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    people = doc.get("persons", type=pycrdt.Map)
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    for i in range(30):
        people[f"p{i}"] = f"Person {i}"
    seqs = await store.append_updates(DOC, updates)
    await store.write_snapshot(DOC, doc.get_update(), seqs[-1])
    people["p0"] = "Renamed"
    await store.append_update(DOC, updates[-1])

    loaded = await store.load_document(DOC)
    assert loaded.snapshot is not None and len(loaded.updates) == 1
    copy: pycrdt.Doc[Any] = pycrdt.Doc()
    copy.apply_update(loaded.snapshot)
    for update in loaded.updates:
        copy.apply_update(update)
    assert copy.get("persons", type=pycrdt.Map).to_py() == people.to_py()


async def test_large_snapshot_round_trips(store: LocalStore, store_path: Path) -> None:
    state = os.urandom(21 * 1024 * 1024 + 12345)
    await store.write_snapshot(DOC, state, 0)
    loaded = await store.load_document(DOC)
    assert loaded.snapshot == state
    await store.write_snapshot(DOC, state[:1000], 0)  # replaces every chunk of the old one
    await store.close()
    assert sum(len(data) for data in store_files(store_path).values()) < 2 * 1024 * 1024
    async with await LocalStore.open(store_path, PASSPHRASE) as reopened:
        assert (await reopened.load_document(DOC)).snapshot == state[:1000]


async def test_empty_snapshot_is_still_a_snapshot(store: LocalStore) -> None:
    await store.write_snapshot(DOC, b"", 0)
    assert await store.load_document(DOC) == LoadedDocument(b"", 0, [], 0)


async def test_passphrase_change(store: LocalStore, store_path: Path) -> None:
    await store.append_update(DOC, b"kept")
    await store.put("ns", "k", b"v")
    with pytest.raises(WrongPassphraseError):
        await store.change_passphrase("not the passphrase", "new passphrase 2")
    with pytest.raises(ValidationError):
        await store.change_passphrase(PASSPHRASE, "short")
    assert await store.check_passphrase(PASSPHRASE)
    await store.change_passphrase(PASSPHRASE, "new passphrase 2", kdf=INTERACTIVE_KDF)
    assert await store.check_passphrase("new passphrase 2")
    assert not await store.check_passphrase(PASSPHRASE)
    assert await store.append_update(DOC, b"after") == 2
    await store.close()

    with pytest.raises(WrongPassphraseError):
        await LocalStore.open(store_path, PASSPHRASE)
    async with await LocalStore.open(store_path, "new passphrase 2") as reopened:
        assert reopened.kdf == INTERACTIVE_KDF
        assert (await reopened.load_document(DOC)).updates == [b"kept", b"after"]
        assert await reopened.get("ns", "k") == b"v"
        await reopened.change_passphrase("new passphrase 2", PASSPHRASE, kdf=TEST_KDF)
    async with await LocalStore.open(store_path, PASSPHRASE) as again:
        assert await again.get("ns", "k") == b"v"
