"""The write-ahead log is checkpointed when the store is quiet after a commit (issue 24, edit →
visible p99), not by SQLite's automatic checkpoint inside a later commit: a store whose commits
are apart keeps a short log, and closing it with that checkpoint still to come is clean."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from mano_core.store import TEST_KDF, LocalStore, database

from .conftest import PASSPHRASE

EDITS = 40
PAYLOAD = os.urandom(3000)  # (random: the same size in the log, encrypted or not)


async def _edits_apart(store: LocalStore, quiet: float) -> None:
    for n in range(EDITS):
        await store.put("ns", f"key{n}", PAYLOAD)
        await asyncio.sleep(quiet)


def _log_bytes(path: Path) -> int:
    wal = Path(str(path) + "-wal")
    return wal.stat().st_size if wal.exists() else 0


async def test_a_store_quiet_between_commits_keeps_its_log_short(
        store: LocalStore, store_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(database, "IDLE_CHECKPOINT_S", 0.002)
    monkeypatch.setattr(database, "IDLE_CHECKPOINT_COMMITS", 1)
    created = _log_bytes(store_path)  # (the file's creation: ~15 pages)
    await _edits_apart(store, quiet=0.02)
    # Each commit wrote its pages from the log's start again (~5 pages a commit here): the
    # log never held much more than the largest commit.
    assert _log_bytes(store_path) - created < 8 * database.PAGE_SIZE
    await store.close()
    async with await LocalStore.open(store_path, PASSPHRASE) as reopened:
        assert [await reopened.get("ns", f"key{n}") for n in range(EDITS)] == [PAYLOAD] * EDITS


async def test_commits_closer_than_the_quiet_period_leave_the_log_to_grow(
        store: LocalStore, store_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """(The check above can fail: without a quiet period, no checkpoint between commits.)"""
    monkeypatch.setattr(database, "IDLE_CHECKPOINT_S", 5.0)
    created = _log_bytes(store_path)
    await _edits_apart(store, quiet=0.0)
    assert _log_bytes(store_path) - created > EDITS * database.PAGE_SIZE


async def test_closing_before_the_quiet_checkpoint_is_clean(store_path: Path) -> None:
    store = await LocalStore.create(store_path, PASSPHRASE, kdf=TEST_KDF)
    await store.put("ns", "key", b"value")
    await store.close()  # the quiet period had not ended: nothing runs after the close
    await asyncio.sleep(database.IDLE_CHECKPOINT_S * 3)
    assert not Path(str(store_path) + "-wal").exists()  # (the close's own checkpoint)
    async with await LocalStore.open(store_path, PASSPHRASE) as reopened:
        assert await reopened.get("ns", "key") == b"value"
