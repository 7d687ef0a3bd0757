"""Fixtures for the local store tests: a fresh store per test, with the cheap test KDF."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from mano_core.store import TEST_KDF, LocalStore

PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "device.mano"


@pytest.fixture
async def store(store_path: Path) -> AsyncIterator[LocalStore]:
    store = await LocalStore.create(store_path, PASSPHRASE, kdf=TEST_KDF)
    try:
        yield store
    finally:
        await store.close()


def store_files(path: Path) -> dict[str, bytes]:
    """The bytes of the store file and of its -wal and -shm companions (those that exist)."""
    found = {}
    for suffix in ("", "-wal", "-shm"):
        companion = Path(str(path) + suffix)
        if companion.exists():
            found[companion.name] = companion.read_bytes()
    return found


INSERT = "INSERT INTO meta (name, value) VALUES (?, ?)"  # a row the store's tests write raw


async def hold_worker(conn: aiosqlite.Connection) -> tuple[threading.Event, asyncio.Task[Any]]:
    """Keep the connection's worker thread busy until the returned event is set."""
    entered, release = threading.Event(), threading.Event()

    def block() -> None:
        entered.set()
        release.wait(10)

    execute: Callable[..., Any] = conn._execute
    held = asyncio.ensure_future(execute(block))
    while not entered.is_set():
        await asyncio.sleep(0.001)
    return release, held
