"""Catching up one compartment at the start of a session: subscribe from the committed cursor;
if the relay pruned what follows it, restore a snapshot first (docs/protocol.md §13, step 4).

Snapshot-first (capability ``catchup_plan``, docs/protocol.md §4a): before subscribing, ask
the relay what the catch-up holds; a device far behind (a new device, or one whose missing
envelopes weigh a sizeable part of the newest snapshot: ``plan.choose``) restores that
snapshot first and subscribes after its ``upto``. A snapshot refused there costs only itself:
an alert, its ``upto`` remembered (not downloaded again by this process), and the envelopes
are replayed from the cursor as if there were none (the relay still holds them all).

One bad snapshot costs only itself: a snapshot that does not open or does not decode (bad
signature, nested too deep, not an update…) is refused with an alert and the next older one
is tried (``snapshot_get {before: upto}``), then the envelopes after the one applied are caught
up one by one. Only when none can be applied is the compartment stalled for the session (an
alert, ``SyncState.stalled``): never a loop of reconnections, and the others go on."""

from __future__ import annotations

from typing import Final

from mano_core.crypto.log_entry import Role
from mano_core.errors import (
    ManoError,
    MissingKeyError,
    RelayRefusedError,
    StoreError,
    UnauthorizedAuthorError,
)
from mano_core.ids import Compartment
from mano_core.protocol import messages as m
from mano_core.protocol.codes import ErrorCode
from mano_core.sync import plan as catchup_plan
from mano_core.sync.engine import TeamSync
from mano_core.sync.snapshot import SnapshotFrame, snapshot_author
from mano_core.sync.snapshot_adopt import adoptable
from mano_core.sync.snapshot_receive import PipelinedDownload
from mano_core.sync.state import CatchUp
from mano_core.sync.transport import RelayClient

MAX_SNAPSHOT_FALLBACKS: Final = 4  # snapshots tried, newest first, when the relay pruned


async def subscribe(client: RelayClient, sync: TeamSync, c: Compartment) -> None:
    """Subscribe to ``c`` from the cursor (restoring a snapshot if the relay pruned); sets
    ``live_after`` and the head heard. Raises RelayRefusedError (but PRUNED), StoreError."""
    state = sync.state
    sync.live_after.pop(c, None)  # catching up: history is judged by can_write alone
    if client.can(m.CAP_CATCHUP_PLAN):
        await snapshot_first(client, sync, c)
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


async def snapshot_first(client: RelayClient, sync: TeamSync, c: Compartment) -> bool:
    """Ask the relay's plan for ``c``; restore the newest snapshot first if ``plan.choose``
    says so. True if a snapshot was applied (the cursor is then its ``upto``). Sets the
    catch-up's totals in ``SyncState.catchup``. Raises RelayRefusedError, StoreError."""
    state = sync.state
    cursor = sync.cursor(c)
    try:
        plan = await client.catchup_plan(int(c), cursor)
    except RelayRefusedError as exc:
        if exc.code == ErrorCode.FORBIDDEN:
            raise
        if exc.fatal or exc.code == 0:
            raise
        return False  # an odd relay: the base protocol's catch-up still works
    state.head[c] = max(state.head.get(c, 0), plan.head)
    choice = catchup_plan.choose(plan, cursor, sync.refused_snapshots.get(c, ()))
    if not choice.snapshot and not choice.records_total:
        return False  # nothing to catch up on here
    progress = state.catchup if state.catchup is not None else CatchUp()
    progress.bytes_total += choice.bytes_total
    progress.records_total += choice.records_total
    progress.snapshot = progress.snapshot or choice.snapshot
    state.catchup = progress
    sync.changed()
    if not choice.snapshot:
        return False
    done_before = progress.bytes_done
    frame = SnapshotFrame()  # framed for the signature while the next part is awaited
    # Into an empty document, a version-2 snapshot is checked and applied as it downloads,
    # into a document of its own adopted at the commit (snapshot_receive, snapshot_adopt).
    pipelined = PipelinedDownload(
        log=sync.keys.log, keyring=sync.keys.keyring, team_id=sync.keys.team_id,
        compartment=c) if adoptable(sync.team.compartment(c)) else None

    def arrived(msg: m.Message) -> None:
        if isinstance(msg, m.SnapshotData):
            if pipelined is None or not pipelined.put(msg.data):
                frame.add(msg.data)
            progress.bytes_done += len(msg.data)
            sync.changed()

    try:
        try:
            answers = await client.request(m.SnapshotGet(id=client.next_id(), c=int(c)),
                                           on_part=arrived)
        except RelayRefusedError as exc:
            if exc.code != ErrorCode.NOT_FOUND:
                raise
            answers = []  # gone since the plan (a purge): the envelopes, as without one
        parts = [a for a in answers if isinstance(a, m.SnapshotData)]
        upto = parts[0].upto if parts else 0
        refusal: ManoError | None = None
        if parts:
            try:
                if pipelined is not None and pipelined.active and pipelined.parts == len(parts):
                    received = await pipelined.finish_ahead()  # (applied: adopt)
                    check_author(sync, received.author)
                    await sync.adopt_snapshot(c, received)
                else:  # (the parts are those answered: as a rule all of them)
                    data: list[bytes] | SnapshotFrame = frame
                    if frame.parts != len(parts):
                        data = [a.data for a in parts]
                    check_author(sync, snapshot_author(
                        frame.header() if isinstance(data, SnapshotFrame) else data))
                    await sync.apply_snapshot(c, data)
                if not state.behind:  # nothing follows the snapshot
                    sync.changed()
                    state.catchup = None
                return True
            except StoreError:
                raise  # our disk, not the snapshot: the session ends and is retried (redone)
            except MissingKeyError:
                pass  # not this snapshot's fault: the envelopes will wait for the key too
            except ManoError as exc:
                refusal = exc
    finally:
        if pipelined is not None:
            pipelined.close()
    # Back to the envelopes from the cursor: the totals become what they hold.
    progress.bytes_done = done_before
    progress.bytes_total += plan.behind - choice.bytes_total
    progress.records_total += max(0, plan.head - cursor) - choice.records_total
    if refusal is not None:
        sync.refused_snapshots.setdefault(c, set()).add(upto)
        sync._alert("snapshot", f"snapshot of compartment {c.name} up to {upto} refused "
                                f"({refusal}): catching up on the envelopes instead")
    sync.changed()
    return False


async def restore_snapshot(client: RelayClient, sync: TeamSync, c: Compartment) -> bool:
    """Apply the newest snapshot of ``c`` this device can open, trying at most
    MAX_SNAPSHOT_FALLBACKS, newest first; False (``c`` stalled, with an alert) if none.
    Snapshots this process refused already (``snapshot_first``) are not downloaded again."""
    known_bad = sync.refused_snapshots.get(c, set())
    before, refused = (min(known_bad), len(known_bad)) if known_bad else (0, 0)
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
            await sync.apply_snapshot(c, [a.data for a in parts])
        except StoreError:
            raise  # our disk, not the snapshot: the session ends and is retried
        except ManoError as exc:
            refused += 1
            if not isinstance(exc, MissingKeyError):
                sync.refused_snapshots.setdefault(c, set()).add(upto)
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


def check_author(sync: TeamSync, author: bytes) -> None:
    """A snapshot stands for the envelopes it covers, whose updates this device would
    otherwise screen one by one against their authors' roles: a start from it is taken only
    from an author whose role is not restricted. UnauthorizedAuthorError otherwise."""
    device = sync.keys.log.device(author)
    if device is not None and device.role is Role.RESTRICTED:
        raise UnauthorizedAuthorError("a restricted member's snapshot is no starting point")


def stall(sync: TeamSync, c: Compartment, reason: str) -> None:
    """``c`` cannot catch up this session (tried again at the next): say so."""
    sync.state.stalled[c] = reason
    sync._alert("snapshot", f"compartment {c.name} cannot catch up this session: {reason}")
