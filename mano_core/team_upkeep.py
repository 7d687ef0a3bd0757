"""The store's housekeeping that nobody waits for: a compaction due after a commit (issue 24:
the one at the end of a catch-up re-encodes the whole state, ~45 ms of the catch-up's wall,
and no one needs it to see what was caught up).

Each store has one ``Upkeep`` (``upkeep_of``), shared by the teams open on it. Work started
there runs in a task of its own, one per key at a time, after the commit that made it due;
``Device.close`` awaits it all before closing the store (``Upkeep.close``). Nothing of it may
be needed for correctness: a compaction is one store transaction, so a crash (or a close that
does not wait: the store's ``on_close`` cancels what is left) before it commits leaves the
rows it would have folded, a valid store that the next open compacts (in the background too).
A failure is logged and dropped for the same reason: the work is due again at the next
commit.

The work starts once its key has been quiet for ``limits.COMPACT_QUIET_SECONDS`` (each commit
that finds it due again, while it waits, puts it off), at most ``COMPACT_LATEST_SECONDS``
after it was first due, or at once when the upkeep is settled or closed: what a commit is
followed by (the last delivery of a catch-up: the user's first look at what arrived, the
session's close, the next deliveries) is what people wait for, and the compaction's encoding
runs on the loop and its commit holds the store (issue 24: the replay's close waited for it)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Awaitable, Callable

from mano_core import limits

log = logging.getLogger("mano.upkeep")

__all__ = ["Upkeep", "upkeep_of"]


class Upkeep:
    """Background tasks of one store's teams: started after a commit, awaited at close."""

    def __init__(self) -> None:
        self._tasks: dict[object, asyncio.Task[None]] = {}
        self._due: dict[object, tuple[float, float]] = {}  # key waiting: (quiet at, latest)
        self._hurry = asyncio.Event()  # settle, close: what waits starts now
        self._closed = False

    def soon(self, key: object, work: Callable[[], Awaitable[None]]) -> bool:
        """Run ``work()`` in a task of its own once ``key`` is quiet (see the module's
        docstring), unless work of ``key`` is under way (or the store is closing); True if
        it started. Called again while that work still waits, it puts it off."""
        if self._closed:
            return False
        now = asyncio.get_running_loop().time()
        if key in self._tasks:
            due = self._due.get(key)
            if due is not None:
                self._due[key] = (min(now + limits.COMPACT_QUIET_SECONDS, due[1]), due[1])
            return False
        self._due[key] = (now + limits.COMPACT_QUIET_SECONDS,
                          now + limits.COMPACT_LATEST_SECONDS)
        self._tasks[key] = asyncio.get_running_loop().create_task(self._run(key, work))
        return True

    async def _quiet(self, key: object) -> None:
        loop = asyncio.get_running_loop()
        while not self._hurry.is_set():
            wait = self._due[key][0] - loop.time()
            if wait <= 0:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._hurry.wait(), wait)
        self._due.pop(key, None)

    async def _run(self, key: object, work: Callable[[], Awaitable[None]]) -> None:
        try:
            await self._quiet(key)
            await work()
        except Exception:  # (the store is as it was: see the module's docstring)
            log.warning("background upkeep failed; due again at the next commit",
                        exc_info=True)
        finally:
            self._tasks.pop(key, None)
            self._due.pop(key, None)

    def pending(self, key: object) -> bool:
        """Whether work of ``key`` is started and not over."""
        return key in self._tasks

    async def cancel(self, key: object) -> None:
        """Stop the work of ``key``, if any, and wait until it has stopped."""
        task = self._tasks.get(key)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def settle(self) -> None:
        """Run what waits now, and wait until no work is under way (including work started
        meanwhile)."""
        self._hurry.set()
        try:
            while self._tasks:
                await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        finally:
            if not self._closed:
                self._hurry.clear()

    async def close(self) -> None:
        """Start nothing more, and wait for what is under way. Idempotent."""
        self._closed = True
        await self.settle()

    def abandon(self) -> None:
        """The store closed without waiting: start nothing more, cancel what is left."""
        self._closed = True
        for task in list(self._tasks.values()):
            task.cancel()


_OF_STORE: weakref.WeakKeyDictionary[object, Upkeep] = weakref.WeakKeyDictionary()


def upkeep_of(store: object) -> Upkeep:
    """The one Upkeep of ``store`` (made at first use; cancelled if the store closes first)."""
    upkeep = _OF_STORE.get(store)
    if upkeep is None:
        upkeep = _OF_STORE[store] = Upkeep()
        on_close = getattr(store, "on_close", None)  # (a store of the tests' may not have it)
        if on_close is not None:
            on_close(upkeep.abandon)
    return upkeep
