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
commit."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable

log = logging.getLogger("mano.upkeep")

__all__ = ["Upkeep", "upkeep_of"]


class Upkeep:
    """Background tasks of one store's teams: started after a commit, awaited at close."""

    def __init__(self) -> None:
        self._tasks: dict[object, asyncio.Task[None]] = {}
        self._closed = False

    def soon(self, key: object, work: Callable[[], Awaitable[None]]) -> bool:
        """Run ``work()`` in a task of its own unless work of ``key`` is under way (or the
        store is closing); True if it started."""
        if self._closed or key in self._tasks:
            return False
        self._tasks[key] = asyncio.get_running_loop().create_task(self._run(key, work))
        return True

    async def _run(self, key: object, work: Callable[[], Awaitable[None]]) -> None:
        try:
            await work()
        except Exception:  # (the store is as it was: see the module's docstring)
            log.warning("background upkeep failed; due again at the next commit",
                        exc_info=True)
        finally:
            self._tasks.pop(key, None)

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
        """Wait until no work is under way (including work started meanwhile)."""
        while self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)

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
