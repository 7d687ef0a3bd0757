"""Python's full collections at moments of the app's choosing (issue 24; mano_core/heap.py).

While the app runs, CPython's own full collections are held (``heap.full_collections_deferred``)
and a callback of the app's loop asks every ``CHECK_SECONDS`` whether one is due by CPython's
rule (``heap.full_collection_due``). Found due, it runs at a later check, in that callback, if
the loop's thread was mostly idle since the previous check (on a CPU less than ``BUSY_SHARE``
of the time: its own work, not the machine's load, which only delays the callback): a busy
loop is in the middle of a screen's styling, layout or drawing, which the collection would
lengthen, so it asks again ``RETRY_SECONDS`` later, and runs it anyway once it has been due
``MAX_WAIT_SECONDS`` (cyclic garbage is freed as before, a moment later). Young and middle
collections go on as CPython runs them."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Final

from mano_core import heap

CHECK_SECONDS: Final = 0.25   # how often the loop asks whether a full collection is due
BUSY_SHARE: Final = 0.5       # the loop's thread on a CPU this much of the time since: busy
RETRY_SECONDS: Final = 0.02   # ... asked again this soon
MAX_WAIT_SECONDS: Final = 2.0  # a due collection waits for a quiet moment at most this long


class FullCollections:
    """Started on the app's loop at its mount, stopped at its unmount."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._held = contextlib.ExitStack()
        self._due_since: float | None = None
        self._since = (0.0, 0.0)   # the loop's time and its thread's CPU at the last check
        self.collections = 0   # the full collections it ran (for tests and benches)

    def start(self) -> None:
        if self._loop is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._held.enter_context(heap.full_collections_deferred())
        self._plan(0.0)   # the first check counts what there is (mano_core/heap.py)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._loop = None
        self._due_since = None
        self._held.close()

    def _plan(self, delay: float) -> None:
        assert self._loop is not None
        self._since = (self._loop.time(), time.thread_time())
        self._timer = self._loop.call_later(delay, self._check)

    def _check(self) -> None:
        loop = self._loop
        if loop is None:
            return
        if not heap.full_collection_due():
            self._due_since = None
            self._plan(CHECK_SECONDS)
            return
        now = loop.time()
        if self._due_since is None:   # found due: run at a later check (asking it may have
            self._due_since = now     # listed generation 2, a few ms of this callback)
            self._plan(RETRY_SECONDS)
            return
        wall, cpu = now - self._since[0], time.thread_time() - self._since[1]
        if cpu > BUSY_SHARE * wall and now - self._due_since < MAX_WAIT_SECONDS:
            self._plan(RETRY_SECONDS)
            return
        heap.collect_full()
        self.collections += 1
        self._due_since = None
        self._plan(CHECK_SECONDS)
