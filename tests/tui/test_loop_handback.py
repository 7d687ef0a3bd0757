"""What arrives during a slice of the first read runs before the next slice (issue 24): a
key the terminal's thread hands to the loop meanwhile (``call_soon_threadsafe``, as Textual's
driver does) and a timer that fell due are not kept waiting behind one more slice."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

from mano_core.loop_turns import drive


def _slices(log: list[str], typed: threading.Event, count: int = 4) -> Iterator[int]:
    for i in range(count):
        log.append(f"slice {i}")
        if i == 0:
            typed.wait(5)          # a key arrives while this slice runs
            time.sleep(0.003)      # (and a timer falls due)
        yield i


async def test_a_key_and_a_due_timer_run_before_the_next_slice() -> None:
    loop = asyncio.get_running_loop()
    log: list[str] = []
    typed = threading.Event()

    def terminal() -> None:    # Textual's input thread
        loop.call_soon_threadsafe(log.append, "key")
        typed.set()

    loop.call_later(0.001, log.append, "timer")
    threading.Thread(target=terminal).start()
    await drive(_slices(log, typed), slice_seconds=0)
    assert log.index("key") < log.index("slice 1")
    assert log.index("timer") < log.index("slice 1")
