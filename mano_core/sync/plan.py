"""Choosing how to catch up on a compartment: the envelopes one by one, or the newest snapshot
first and then only the envelopes after it (docs/protocol.md §4a). Pure: no I/O.

Replaying an envelope costs far more than loading the same bytes from a snapshot (each one is
parsed, its signature chain checked, decrypted, its update walked and integrated, and a commit
made: about 5–8 × per byte at 10,000 envelopes, docs/benchmarks.md), while a snapshot is a
whole state: taking one is worth it when the envelopes it lets the device skip weigh a
sizeable part of it. A new device (cursor 0) always starts from the newest snapshot there is.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Final

from mano_core.protocol import messages as m

# Start from the snapshot when the envelopes it covers beyond the cursor weigh at least this
# fraction of its bytes (replay costs ~5 × per byte: at 0.25 the snapshot path is already the
# cheaper one, with room for the noise of both estimates).
SNAPSHOT_FIRST_FRACTION: Final = 0.25


@dataclass(frozen=True, slots=True)
class Choice:
    """The catch-up this device will do: ``snapshot`` first or not; what it expects to
    receive in bytes and envelopes (the progress' totals)."""

    snapshot: bool
    bytes_total: int
    records_total: int


def choose(plan: m.CatchupPlan, cursor: int, refused: Collection[int] = ()) -> Choice:
    """How to catch up from ``cursor`` given the relay's ``plan``. ``refused``: the ``upto``
    of snapshots of this compartment this device already refused (never downloaded again:
    one bad snapshot costs only itself, once)."""
    covered = plan.behind - plan.tail  # envelope bytes the snapshot lets the device skip
    worth = (plan.upto > cursor and plan.size > 0 and plan.upto not in refused
             and (cursor == 0 or covered >= SNAPSHOT_FIRST_FRACTION * plan.size))
    if worth:
        return Choice(True, plan.size + plan.tail, max(0, plan.head - plan.upto))
    return Choice(False, plan.behind, max(0, plan.head - cursor))


__all__ = ["SNAPSHOT_FIRST_FRACTION", "Choice", "choose"]
