"""A loop-lag probe: how long the event loop was kept from running (issue 24).

A task asks to wake every ``interval`` seconds and records, each time it wakes, how late it
is (now − when it asked to wake). A loop blocked for 300 ms shows as one wake-up 300 ms late;
a free loop shows lateness near zero. With each lateness it records the CPU time the loop's
thread spent meanwhile (``time.thread_time``): on a loaded machine a wake-up can be late
because the OS ran other processes, and the CPU part is then what our own code held the loop
for (the wall part is what a user on that machine felt). ``phase(name)`` (or ``set(name)``)
labels the wake-ups that happen inside it, so one run reports the worst lateness of each step
(open, first read, search…).

    async with LoopLagProbe() as probe:
        with probe.phase("open"):
            await open_the_team()
    print(probe.summary())   # {"open": {"max_ms": …, "p50_ms": …, "p99_ms": …, "ticks": …}}

It measures the loop it runs on; start it on the app's loop (Textual's ``run_test`` runs the
app on the caller's loop). Figures only, never asserted."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

TARGET_MS = 50.0     # issue 24: the UI loop is never blocked more than this
INTERVAL = 0.002     # seconds between two wake-ups asked for


class LoopLagProbe:
    """Async context manager owning one probe task on the running loop."""

    def __init__(self, interval: float = INTERVAL) -> None:
        self.interval = interval
        self.ticks = 0                      # wake-ups so far (a loop that runs moves it)
        self._current = "idle"
        self._lateness: dict[str, list[float]] = {}
        self._cpu: dict[str, list[float]] = {}
        self._task: asyncio.Task[None] | None = None
        # Python's cyclic garbage collector, per phase: its pauses (any thread's), seconds
        self._gc: dict[str, list[float]] = {}
        self._gc_start = 0.0
        self.last_tick = time.perf_counter()  # the loop last ran the probe (a sampler reads it)
        # called after each wake-up with (phase, lateness s, s since the wake-up was asked)
        self.watchers: list[Callable[[str, float, float], None]] = []

    async def __aenter__(self) -> LoopLagProbe:
        if self._task is not None:
            raise RuntimeError("LoopLagProbe already started")
        self._task = asyncio.get_running_loop().create_task(self._run())
        gc.callbacks.append(self._on_gc)
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        gc.callbacks.remove(self._on_gc)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        while True:
            asked, cpu = time.perf_counter(), time.thread_time()
            await asyncio.sleep(self.interval)
            self.last_tick = now = time.perf_counter()
            late = max(0.0, now - asked - self.interval)
            used = time.thread_time() - cpu
            self.ticks += 1
            self._lateness.setdefault(self._current, []).append(late)
            self._cpu.setdefault(self._current, []).append(min(late, used))
            for watcher in self.watchers:
                watcher(self._current, late, now - asked)

    def _on_gc(self, phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_start = time.perf_counter()
        else:
            self._gc.setdefault(self._current, []).append(time.perf_counter() - self._gc_start)

    @property
    def current(self) -> str:
        """The phase wake-ups are charged to now."""
        return self._current

    def set(self, name: str) -> None:
        """From now on, label wake-ups ``name`` (phases one after another)."""
        self._current = name

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Label the wake-ups inside this block ``name`` (a wake-up is counted in the phase
        current when it happens: a block that ends while the loop is blocked is charged to
        the next phase, so phases are best separated by a short pause)."""
        previous, self._current = self._current, name
        try:
            yield
        finally:
            self._current = previous

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per phase: worst, median and 99th-percentile lateness (ms), the worst CPU part of a
        lateness (``cpu_max_ms``), the longest and the total pause of Python's cyclic garbage
        collector (``gc_max_ms``, ``gc_ms``; gc.callbacks), wake-ups, and the worst as a
        multiple of the 50 ms target."""
        out: dict[str, dict[str, Any]] = {}
        for name, values in self._lateness.items():
            ordered = sorted(values)
            worst = ordered[-1] * 1e3
            out[name] = {"max_ms": worst, "p50_ms": statistics.median(ordered) * 1e3,
                         "p99_ms": ordered[min(len(ordered) - 1,
                                               int(0.99 * len(ordered)))] * 1e3,
                         "cpu_max_ms": max(self._cpu[name]) * 1e3,
                         "gc_max_ms": max(self._gc.get(name, [0.0])) * 1e3,
                         "gc_ms": sum(self._gc.get(name, [])) * 1e3,
                         "ticks": len(ordered), "ratio": worst / TARGET_MS}
        return out
