"""A snapshot from limits.SEAL_IN_THREAD_BYTES is sealed in a worker thread while the event loop
goes on (StoreTransaction.write_snapshot; AES-GCM releases the GIL): it reads back whole, and a
cancellation while the thread seals writes nothing (the previous snapshot and the updates after
it stay, and the store keeps serving)."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from mano_core import limits
from mano_core.store import LocalStore
from mano_core.store import transaction as transaction_module
from tests.store.conftest import PASSPHRASE

WAIT = 20.0  # seconds: generous on a loaded machine; the positive event ends every wait
DOC = "doc"


@pytest.mark.parametrize("size", [limits.SEAL_IN_THREAD_BYTES - 1, limits.SEAL_IN_THREAD_BYTES,
                                  3 * limits.SEAL_IN_THREAD_BYTES + 7])
async def test_a_snapshot_reads_back_whole_on_both_sides_of_the_bound(
        store: LocalStore, size: int) -> None:
    await store.append_updates(DOC, [b"u1", b"u2", b"u3"])
    state = os.urandom(size)
    await store.write_snapshot(DOC, state, 2)
    loaded = await store.load_document(DOC)
    assert bytes(loaded.snapshot or b"") == state
    assert (loaded.snapshot_seq, loaded.updates, loaded.last_seq) == (2, [b"u3"], 3)


async def test_a_cancellation_while_the_thread_seals_writes_nothing(
        store: LocalStore, monkeypatch: pytest.MonkeyPatch) -> None:
    await store.append_updates(DOC, [b"u1", b"u2"])
    await store.write_snapshot(DOC, b"first state", 1)
    started, release = threading.Event(), threading.Event()
    real = transaction_module.seal_snapshot

    def held(*args: Any) -> Iterator[tuple[int, bytearray]]:
        started.set()  # in the worker thread: the loop is free while it waits
        release.wait(WAIT)
        yield from real(*args)

    monkeypatch.setattr(transaction_module, "seal_snapshot", held)
    task = asyncio.create_task(store.write_snapshot(DOC, os.urandom(limits.SEAL_IN_THREAD_BYTES),
                                                    2))
    while not started.is_set():
        await asyncio.sleep(0.001)  # the loop turns while the thread seals
    task.cancel()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    monkeypatch.setattr(transaction_module, "seal_snapshot", real)
    loaded = await store.load_document(DOC)
    assert (loaded.snapshot, loaded.snapshot_seq, loaded.updates) == (b"first state", 1, [b"u2"])
    await store.append_update(DOC, b"u3")  # still serving
    path = store.path
    await store.close()
    again = await LocalStore.open(path, PASSPHRASE)
    try:
        loaded = await again.load_document(DOC)
        assert (loaded.snapshot, loaded.updates) == (b"first state", [b"u2", b"u3"])
    finally:
        await again.close()
