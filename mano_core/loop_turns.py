"""Work on the event loop in bounded slices, the loop handed back between them (issue 24).

The driver of sliced work on the loop: the first read's decoding (``mano_core.slices``), a
stored snapshot's pieces applied at open (``mano_core.document.pieces``), the persons index's
feed and the screens' hand-backs (``tui/``); and ``retrieved``, the done callback of a
background task nobody may await. It imports nothing of Mano's, so any layer can use it
(``mano_core.slices`` imports the document; the document's own modules use this one)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Generator, Iterator
from typing import Any, Final, TypeVar

T = TypeVar("T")

# Work done on the loop before it is handed back: a fifth of the 50 ms target, so a slice
# stays under it even on a loaded machine (a step is a few ms, mano_core.document.collection).
SLICE_SECONDS: Final = 0.010


def retrieved(task: asyncio.Future[Any]) -> None:
    """Done callback of a background task or future whose awaiter may be gone (cancelled, or
    never awaiting it): its exception is retrieved, so that asyncio does not log it as "never
    retrieved"; an awaiter still waiting gets it all the same."""
    if not task.cancelled():
        task.exception()


async def let_loop_run() -> None:
    """Hand the loop back until what became ready during the slice has run. One
    ``asyncio.sleep(0)`` queues the caller's next slice at once, ahead of the I/O callbacks
    and due timers the loop's next iteration collects (a key typed, the terminal's input, a
    timer), which then wait for that slice too; the second wake-up is queued behind them.
    Measured with a 2 ms probe timer beside 10 ms slices and another task's 5 ms steps: worst
    lateness 47-52 ms with one, 34 ms with two (issue 24)."""
    await asyncio.sleep(0)
    await asyncio.sleep(0)


class Pace:
    """Lets the loop run once ``slice_seconds`` (default ``SLICE_SECONDS``; 0: at every
    ``step``) of work went by since it last ran: ``await pace.step()`` after each step of
    work, ``restart()`` after an await that let the loop run anyway."""

    __slots__ = ("_last", "_seconds", "yielded")

    def __init__(self, slice_seconds: float | None = None) -> None:
        self._seconds = SLICE_SECONDS if slice_seconds is None else slice_seconds
        self._last = time.perf_counter()
        self.yielded = 0   # how many times the loop was let run

    async def step(self) -> None:
        if time.perf_counter() - self._last >= self._seconds:
            await let_loop_run()
            self.yielded += 1
            self._last = time.perf_counter()

    def restart(self) -> None:
        self._last = time.perf_counter()


async def finish(steps: Generator[None, None, T], *, slice_seconds: float | None = None,
                 turn: Callable[[], Awaitable[None]] = let_loop_run) -> T:
    """Run the generator ``steps`` to its end and return its value, awaiting ``turn``
    (default ``let_loop_run``) whenever ``slice_seconds`` (default ``SLICE_SECONDS``; 0: after
    every step) went by since the loop last ran: the step's check is inline (a clock read),
    not an awaited ``Pace.step``, for steps of a few µs (a delivery's envelopes). The
    generator is closed if this is cancelled or fails between two steps."""
    seconds = SLICE_SECONDS if slice_seconds is None else slice_seconds
    clock = time.perf_counter
    last = clock()
    try:
        while True:
            next(steps)
            if clock() - last >= seconds:
                await turn()
                last = clock()
    except StopIteration as end:
        return end.value  # type: ignore[no-any-return]
    finally:
        steps.close()


async def drive(steps: Iterator[T], *, slice_seconds: float | None = None,
                on_step: Callable[[T], None] | None = None) -> int:
    """Run ``steps`` to its end, letting the event loop run (``let_loop_run``) whenever
    ``slice_seconds`` (default ``SLICE_SECONDS``; 0: after every step) went by since it last
    ran; ``on_step`` sees each step's value. Returns how many times the loop was let run."""
    pace = Pace(slice_seconds)
    for value in steps:
        if on_step is not None:
            on_step(value)
        await pace.step()
    return pace.yielded
