"""A screen's messages handed back to the UI loop once they have held it for a while (issue 24).

Textual's message pump handles every message already queued for a widget back to back, without
letting the event loop run: a screen's first show queues its layout (``ScreenResume``), the
compositor's full redraw (a callback), its data's fill and, once the queue is empty, its idle
handler (the footer's keys composed again): 60–90 ms of the loop in one iteration at MANO
scale, each part 15–40 ms. A screen (``tui.screens.base.ManoScreen``) asks ``BURST.due()``
before each message and before its idle handler, and awaits ``asyncio.sleep(0)`` when the
messages of all screens have held the current iteration of the loop for ``HANDBACK_SECONDS``:
the same messages in the same order, each in a later iteration when the one before was long.

The burst is timed from the first message a screen handles in an iteration; the iteration's
end is seen by a callback scheduled then (``call_soon`` runs it at the next iteration)."""

from __future__ import annotations

import asyncio
import time
from typing import Final

from mano_core.loop_turns import let_loop_run

# A fifth of the 50 ms target, as the engine's slices (mano_core.loop_turns.SLICE_SECONDS) and a
# bit more: a message rarely takes less than a few ms, and each hand-back costs an iteration.
HANDBACK_SECONDS: Final = 0.012


class Burst:
    """How long the screens' messages have held the loop's current iteration."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = 0.0

    def due(self) -> bool:
        """True if the loop should be handed back before the next message (the caller then
        awaits ``asyncio.sleep(0)``); starts timing a burst when none is under way."""
        loop = asyncio.get_running_loop()
        now = time.perf_counter()
        if self._loop is not loop:
            self._loop, self._started = loop, now
            loop.call_soon(self._ended, loop)
            return False
        return now - self._started >= HANDBACK_SECONDS

    def _ended(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._loop is loop:
            self._loop = None


BURST: Final = Burst()


async def hand_back() -> None:
    """Let the loop run first if the screens' messages held this iteration long enough."""
    if BURST.due():
        await let_loop_run()   # (twice: the input and timers that came meanwhile go first)
