"""This device's own envelopes coming back from the relay (their "echo"), held a moment before
their commit (issue 24).

An echo carries nothing new for this device: its content is in the document already. What it
moves is bookkeeping: the cursor past it and, in the same transaction, the removal of its
sealed-outbox row (machine_delivery.py). That commit used to run the moment the echo arrived,
which is the moment the teammates' devices commit the same envelope (the relay fans out to
them first) — on the benchmark's one machine the two commits shared its disk and its two
cores, and the teammate's commit took ~1.75× as long when they overlapped. A delivery made of
echoes only is now held up to ``ECHO_HOLD`` and then committed, with every echo (and any
teammate's envelope: the next delivery takes the held ones in front of its own) that came
meanwhile: one commit per burst of edits instead of one per envelope.

Nothing becomes true earlier or is skipped: a held echo changes nothing in memory until its
delivery commits as any other would (the cursor stays before it; its row stays, still in the
push window). If the session ends first, the held echoes are dropped with it and the relay
delivers them again from the committed cursor; their rows, never removed, are pushed again
and acknowledged as duplicates. The relay's ack of a held echo leaves the row's removal to the
echo (``acked``; if the echo is dropped with the session going on, ``drop`` hands the acks
back): a second commit for it would undo the point. While ``wait_synced`` waits
(``waited``), nothing is held: it waits for the cursor to reach this device's acknowledged
envelopes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Final

from mano_core.ids import Compartment

# Seconds a delivery of this device's own envelopes only waits before its commit: more than
# the flush delay (machine_core.FLUSH_DELAY), so that the echoes of a burst of edits (one
# envelope per flush delay) share one commit; short enough that the sync bar's "pending"
# count does not visibly linger.
ECHO_HOLD: Final = 0.1


class EchoHold:
    """The echo-only deliveries held per compartment (items in relay order, not applied)."""

    def __init__(self, delay: float = ECHO_HOLD) -> None:
        self.delay = delay
        self._items: dict[Compartment, list[tuple[int, bytes]]] = {}
        self._raws: dict[Compartment, set[bytes]] = {}
        self._acked: dict[Compartment, set[bytes]] = {}  # held ones the relay acknowledged
        self._release = asyncio.Event()
        self._waiting = 0  # tasks waiting in ``wait``
        self._eager = 0    # ``waited`` contexts open

    def __bool__(self) -> bool:
        return bool(self._items)

    def hold(self, c: Compartment, items: list[tuple[int, bytes]]) -> bool:
        """Hold ``items`` (every one an echo); True if ``c`` held nothing before (the caller
        then starts the one task that applies them after ``wait``)."""
        first = c not in self._items
        if first and not self._waiting:
            self._release.clear()
        self._items.setdefault(c, []).extend(items)
        self._raws.setdefault(c, set()).update(raw for _seq, raw in items)
        return first

    def take(self, c: Compartment) -> list[tuple[int, bytes]]:
        """The items held for ``c`` (no longer held), oldest first, to apply now."""
        self._raws.pop(c, None)
        self._acked.pop(c, None)
        return self._items.pop(c, [])

    def drop(self, c: Compartment) -> set[bytes]:
        """Forget what is held for ``c`` without applying it (the session goes on: ``c`` is
        no longer synced here); returns the envelopes the relay acknowledged meanwhile, whose
        rows the caller removes as their acks would have."""
        acked = self._acked.pop(c, set())
        self._raws.pop(c, None)
        self._items.pop(c, None)
        return acked

    def acked(self, c: Compartment, envelope: bytes) -> bool:
        """The relay acknowledged ``envelope``: True if its echo is held (its row is then
        removed with the echo's commit, not by the ack)."""
        if envelope not in self._raws.get(c, ()):
            return False
        self._acked.setdefault(c, set()).add(envelope)
        return True

    @property
    def eager(self) -> bool:
        """Someone waits for this device's echoes to be applied (``waited``): hold nothing."""
        return self._eager > 0

    @contextlib.contextmanager
    def waited(self) -> Iterator[None]:
        """While this context is open, echoes are applied at once, and those held now are
        released (``SyncClient.wait_synced``: it waits for the cursor to reach them)."""
        self._eager += 1
        self.release()
        try:
            yield
        finally:
            self._eager -= 1

    def release(self) -> None:
        """Apply what is held now, without waiting for the delay to pass."""
        if self._items:
            self._release.set()

    def clear(self) -> None:
        """The session ended: nothing held is applied (the relay delivers it again)."""
        self._items.clear()
        self._raws.clear()
        self._acked.clear()

    async def wait(self) -> None:
        """Until the delay has passed or ``release`` was called."""
        self._waiting += 1
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.delay):
                    await self._release.wait()
        finally:
            self._waiting -= 1
