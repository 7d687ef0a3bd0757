"""Catching up one compartment at the start of a session: subscribe from the committed cursor;
if the relay pruned what follows it, restore a snapshot first (docs/protocol.md §13, step 4).

One bad snapshot costs only itself: a snapshot that does not open or does not decode (bad
signature, nested too deep, not an update…) is refused with an alert and the next older one
is tried (``snapshot_get {before: upto}``), then the envelopes after the one applied are caught
up one by one. Only when none can be applied is the compartment stalled for the session (an
alert, ``SyncState.stalled``): never a loop of reconnections, and the others go on."""

from __future__ import annotations

from typing import Final

from mano_core.errors import ManoError, RelayRefusedError, StoreError
from mano_core.ids import Compartment
from mano_core.protocol import messages as m
from mano_core.protocol.codes import ErrorCode
from mano_core.sync.engine import TeamSync
from mano_core.sync.transport import RelayClient

MAX_SNAPSHOT_FALLBACKS: Final = 4  # snapshots tried, newest first, when the relay pruned


async def subscribe(client: RelayClient, sync: TeamSync, c: Compartment) -> None:
    """Subscribe to ``c`` from the cursor (restoring a snapshot if the relay pruned); sets
    ``live_after`` and the head heard. Raises RelayRefusedError (but PRUNED), StoreError."""
    state = sync.state
    sync.live_after.pop(c, None)  # catching up: history is judged by can_write alone
    try:
        caught = await client.subscribe(int(c), sync.cursor(c))
    except RelayRefusedError as exc:
        if exc.code != ErrorCode.PRUNED:
            raise
        if not await restore_snapshot(client, sync, c):
            return
        try:
            caught = await client.subscribe(int(c), sync.cursor(c))
        except RelayRefusedError as again:
            if again.code != ErrorCode.PRUNED:
                raise
            # An older snapshot that does not reach the envelopes the relay still keeps.
            stall(sync, c, "the snapshots this device could open are older than the "
                           "envelopes the relay still keeps")
            return
        state.stalled.pop(c, None)
    sync.live_after[c] = caught.seq
    state.head[c] = max(state.head.get(c, 0), caught.seq)


async def restore_snapshot(client: RelayClient, sync: TeamSync, c: Compartment) -> bool:
    """Apply the newest snapshot of ``c`` this device can open, trying at most
    MAX_SNAPSHOT_FALLBACKS, newest first; False (``c`` stalled, with an alert) if none."""
    before, refused = 0, 0
    for _ in range(MAX_SNAPSHOT_FALLBACKS):
        try:
            answers = await client.request(m.SnapshotGet(id=client.next_id(), c=int(c),
                                                         before=before))
        except RelayRefusedError as exc:
            if exc.code != ErrorCode.NOT_FOUND:
                raise
            break  # no (older) snapshot at the relay
        parts = [a for a in answers if isinstance(a, m.SnapshotData)]
        upto = parts[0].upto if parts else 0
        if before and upto >= before:
            break  # a relay that serves only its newest snapshot
        try:
            await sync.apply_snapshot(c, b"".join(a.data for a in parts))
        except StoreError:
            raise  # our disk, not the snapshot: the session ends and is retried
        except ManoError as exc:
            refused += 1
            sync._alert("snapshot", f"snapshot of compartment {c.name} up to {upto} "
                                    f"refused ({exc}): trying an older one")
            before = upto
            if not upto:
                break
            continue
        if refused:
            sync._alert("snapshot", f"compartment {c.name} restored from an older snapshot "
                                    f"(up to {upto}) after refusing {refused}; the envelopes "
                                    f"after it follow")
        return True
    stall(sync, c, f"{refused} snapshot(s) refused, no older one to fall back on"
          if refused else "no snapshot to restore")
    return False


def stall(sync: TeamSync, c: Compartment, reason: str) -> None:
    """``c`` cannot catch up this session (tried again at the next): say so."""
    sync.state.stalled[c] = reason
    sync._alert("snapshot", f"compartment {c.name} cannot catch up this session: {reason}")
