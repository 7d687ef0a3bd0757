"""What arrives during a slice of the first read runs before the next slice (issue 24): a
key the terminal's thread hands to the loop meanwhile (``call_soon_threadsafe``, as Textual's
driver does) and a timer that fell due are not kept waiting behind one more slice; the same
for the pieces of a stored snapshot applied at open."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

from pycrdt import Doc, Map

from mano_core.document import pieces
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


def _stored_pieces() -> tuple[bytes, int]:
    source: Doc[Any] = Doc(client_id=9)
    m = source.get("m", type=Map)
    for i in range(40):
        with source.transaction():
            m[f"k{i}"] = "x" * 60
    stored = pieces.cut_and_pack(source.get_update(), source.get_state(), piece_bytes=256)
    return stored, len(pieces.unpack(stored)[0])


async def test_a_due_timer_runs_before_the_next_stored_piece() -> None:
    """The open's pieces are driven as the first read's slices: a timer that fell due while a
    piece was applied runs before the next piece (one ``sleep(0)`` queued the next piece
    first)."""
    stored, count = _stored_pieces()
    assert count > 3
    loop = asyncio.get_running_loop()
    log: list[str] = []
    doc: Doc[Any] = Doc()
    apply_update = doc.apply_update

    def applied(update: bytes) -> None:
        log.append("piece")
        apply_update(update)
        if len(log) == 1:
            time.sleep(0.003)   # the timer falls due while this piece is applied

    doc.apply_update = applied  # type: ignore[method-assign]
    loop.call_later(0.001, log.append, "timer")
    await pieces.apply_stored(doc, stored, slice_seconds=0)
    assert log.index("timer") == 1
    assert log.count("piece") == count
    assert doc.get("m", type=Map).to_py() == {f"k{i}": "x" * 60 for i in range(40)}
