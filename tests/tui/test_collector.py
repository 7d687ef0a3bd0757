"""Python's full collections while the app runs (tui/collector.py, mano_core/heap.py): CPython
starts none of its own; the app's loop runs each one due in a callback of its own, when the
loop's thread was mostly idle since the last check, and within ``MAX_WAIT_SECONDS`` when it
never is; a cycle that became garbage is still freed."""

from __future__ import annotations

import asyncio
import gc
import time
import weakref
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from tui import collector
from tui.collector import FullCollections

from .conftest import SIZE, app_on, wait_for
from .pilots import opened


class _Node:
    pass


@pytest.fixture
def thresholds() -> Iterator[None]:
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    gc.collect()
    yield
    gc.set_threshold(*saved)


def _old_garbage(freed: list[str]) -> list[list[int]]:
    """A cycle that reached generation 2 and became garbage, then enough survivors for
    CPython's rule to call for a full collection (returned: keep them alive)."""
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    weakref.finalize(a, freed.append, "freed")
    gc.collect(1)
    del a, b
    return [[i] for i in range(200_000)]


async def test_a_due_full_collection_runs_at_the_next_check_of_a_quiet_loop(
        thresholds: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(collector, "CHECK_SECONDS", 0.01)
    full: list[int] = []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            full.append(2)

    collections = FullCollections()
    gc.callbacks.append(seen)
    try:
        collections.start()
        await asyncio.sleep(0.02)                # its first check counts what there is
        freed: list[str] = []
        kept = _old_garbage(freed)
        assert not full                          # CPython's own: held
        for _ in range(100):
            if collections.collections:
                break
            await asyncio.sleep(0.01)
        assert collections.collections == 1 and full == [2] and freed == ["freed"]
        del kept
    finally:
        collections.stop()
        gc.callbacks.remove(seen)
    assert gc.get_threshold() == (700, 10, 10)


async def test_a_busy_loop_puts_the_collection_off_until_its_longest_wait(
        thresholds: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The loop's thread computes all the time (15 ms callbacks one after the other: a screen's
    styling, say): the collection waits, then runs once it has been due for
    ``MAX_WAIT_SECONDS`` (garbage is not kept forever on a loop that is never quiet)."""
    monkeypatch.setattr(collector, "CHECK_SECONDS", 0.01)
    monkeypatch.setattr(collector, "MAX_WAIT_SECONDS", 0.3)
    # The collector reads the loop's thread as on a CPU all the time, as the styling below
    # keeps it on a quiet machine: on a loaded one the kernel also takes that thread off its
    # core, its CPU share falls under BUSY_SHARE and the loop looks quiet (the collection then
    # ran after 0.24 s in one CI-like run at load 15).
    monkeypatch.setattr(collector, "time", SimpleNamespace(thread_time=time.monotonic))
    loop = asyncio.get_running_loop()
    busy = True

    def styling() -> None:
        if busy:
            end = time.thread_time() + 0.015
            while time.thread_time() < end:   # on a CPU, not asleep
                pass
            loop.call_soon(styling)

    collections = FullCollections()
    collections.start()
    await asyncio.sleep(0.02)
    try:
        freed: list[str] = []
        kept = _old_garbage(freed)
        started = time.perf_counter()
        loop.call_soon(styling)
        while not collections.collections and time.perf_counter() - started < 5:
            await asyncio.sleep(0)
        waited = time.perf_counter() - started
        busy = False
        assert collections.collections == 1 and freed == ["freed"]
        assert waited >= 0.25
        del kept
    finally:
        busy = False
        collections.stop()


async def test_the_app_holds_cpythons_full_collections_while_it_runs(demo_store) -> None:
    saved = gc.get_threshold()
    app = app_on(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        assert gc.get_threshold()[2] == 1 << 30
        freed: list[str] = []
        kept = _old_garbage(freed)
        await wait_for(pilot, lambda: freed, what="the old cycle freed by the app's check")
        assert app.full_collections.collections >= 1
        del kept
    assert gc.get_threshold() == saved
