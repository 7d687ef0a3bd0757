"""The incoming half of TeamSync: open and apply delivered envelopes and downloaded
snapshots, serialised with snapshot uploads."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from mano_core import heap, limits, loop_turns
from mano_core.crypto.batch import authenticated_by_chain
from mano_core.document import preread, ydeps, ynative
from mano_core.ids import Compartment
from mano_core.protocol import messages as m
from mano_core.store import StoreTransaction
from mano_core.crypto import ChainState
from mano_core.sync.machine import Apply, Persist, SaveChain
from mano_core.sync.persist import Persisting, SessionClosed
from mano_core.sync.snapshot import SnapshotFrame, open_snapshot_parts
from mano_core.sync.snapshot_adopt import adoptable
from mano_core.sync.snapshot_receive import ReceivedSnapshot

_compiled = ynative.compiled  # the compiled opening of a delivery's envelopes, or None


def with_queued(first: m.Deliver, queue: asyncio.Queue[m.Message], *,
                max_envelopes: int | None = None, max_bytes: int | None = None,
                ) -> tuple[list[tuple[int, bytes]], m.Message | None]:
    """The items of ``first`` followed by those of the Deliver frames of the same compartment
    already waiting in ``queue`` (taken from it, in order), while the items stay within the
    bounds (the first frame is whole whatever its size; a frame is never split): one delivery,
    applied in one transaction. Never waits. The second value is the message taken from the
    queue that ended the run (another compartment's delivery, or any other message), to be
    handled next, before anything else of the queue; None if the run ended otherwise.
    The bounds default to limits.COALESCE_DELIVERIES_ENVELOPES and _BYTES (read at each call)."""
    if max_envelopes is None:
        max_envelopes = limits.COALESCE_DELIVERIES_ENVELOPES
    if max_bytes is None:
        max_bytes = limits.COALESCE_DELIVERIES_BYTES
    items = list(first.items)
    size = sum(len(raw) for _seq, raw in items)
    while len(items) < max_envelopes and size < max_bytes and not queue.empty():
        nxt = queue.get_nowait()
        if not isinstance(nxt, m.Deliver) or nxt.c != first.c:
            return items, nxt
        more = sum(len(raw) for _seq, raw in nxt.items)
        if len(items) + len(nxt.items) > max_envelopes or size + more > max_bytes:
            return items, nxt  # whole frames only: it starts the next delivery
        items.extend(nxt.items)
        size += more
    return items, None


class Receiving(Persisting):
    """Deliveries and snapshot downloads."""

    if TYPE_CHECKING:  # provided by Sending (sender.py); TeamSync is both
        def acks_dropped(self, c: Compartment, envelopes: set[bytes]) -> None: ...

    # Deliveries, downloaded snapshots and uploaded snapshots are serialised: a snapshot taken
    # while a delivery is being applied would carry chain states past its ``upto`` (the
    # envelopes opened but not applied yet), and a device restoring it would then refuse those
    # envelopes as replays. Deliveries and the periodic snapshot run in one task; an erasure's
    # purge snapshot runs in another.

    async def apply_delivery(self, c: Compartment, items: list[tuple[int, bytes]]) -> bool:
        """Open and apply delivered envelopes, each on its own (a bad one is quarantined);
        False if a key is missing (stop and fetch keys: the cursor stays before that
        envelope). Raises SessionClosed when the session must resubscribe (a gap, or a
        transaction that did not commit), and whatever the store raised."""
        return await self._deliver_or_hold(c, items, hold=True)

    async def _deliver_or_hold(self, c: Compartment, items: list[tuple[int, bytes]], *,
                               hold: bool) -> bool:
        if c not in self.compartments:
            self.acks_dropped(c, self.echoes.drop(c))
            return True  # medical access withdrawn meanwhile: nothing of it is kept here
        async with self._serial:
            if (hold and self.spawn is not None and not self.echoes.eager
                    and self._echoes_only(c, items)):
                if self.echoes.hold(c, items):  # after those held: one task applies all
                    self.spawn(self._apply_held(c))
                return True  # echo_hold.py: committed a moment later, with what follows
            items = self.echoes.take(c) + items  # held echoes first: the relay's order
            if not items:
                return True
            self.state.head[c] = max(self.state.head.get(c, 0), items[-1][0])
            # Each update parsed once for the whole delivery; no young collection mid-way
            # (mano_core/heap.py). The parses are dropped before the collector's threshold
            # comes back: the young collection that follows at once walked every parse of
            # the delivery, to promote them just before they were freed (issue 24: 5 of them,
            # 23-103 ms of a 10,000-envelope replay; 1-2 ms now).
            with heap.one_delivery(), ydeps.parse_scope():
                return await self._apply_delivery(c, items)

    def _echoes_only(self, c: Compartment, items: list[tuple[int, bytes]]) -> bool:
        """Whether every item past the cursor is an envelope this device pushed in this
        session, recognised by its bytes (echo_hold.py), and there is one."""
        pushed = self._pushed.get(c)
        if not pushed or c in self.sm.rebuilding:
            return False
        cursor = self.sm.cursor(c)
        fresh = [raw for seq, raw in items if seq > cursor]
        return bool(fresh) and all(raw in pushed for raw in fresh)

    async def _apply_held(self, c: Compartment) -> None:
        """The held echoes of ``c``, applied once the hold is over (a task of the session:
        its failure ends the session, as a delivery's does)."""
        try:
            await self.echoes.wait()
        except BaseException:
            self.echoes.take(c)  # the session ends: delivered again from the cursor
            raise
        if not await self._deliver_or_hold(c, [], hold=False):
            raise SessionClosed("an envelope needs a key: resubscribing from the cursor")
        if self._wake_sender is not None:
            self._wake_sender.set()  # pushes answered: a snapshot may be due (push_pending)

    async def _apply_delivery(self, c: Compartment, items: list[tuple[int, bytes]]) -> bool:
        pushed = self._pushed.get(c, {})
        own = {raw: pushed[raw] for _seq, raw in items if raw in pushed}  # echoes (issue 24)
        self._authenticated = authenticated_by_chain(
            [raw for _seq, raw in items], team_id=self.keys.team_id, compartment=c, own=own)
        try:
            await self.loop_turn()  # the batch authentication and the opening: one stretch each
            if _compiled is not None and self._authenticated:  # (the log and keyring as now)
                self._known_opener = _compiled.KnownOpener(
                    self._authenticated, self.keys.team_id, self.keys.log, self.keys.keyring)
            # Opened envelope by envelope, the loop given a turn every DELIVERY_SLICE_SECONDS
            # (issue 24: the UI's turns between; 2,000 envelopes were one stretch of 30-80 ms).
            effects = await loop_turns.finish(
                self.sm.receiving(m.Deliver(c=int(c), items=items), own=own),
                slice_seconds=limits.DELIVERY_SLICE_SECONDS, turn=self.loop_turn)
        finally:
            self._authenticated = {}
            self._known_opener = None
        for item in own.values():  # back: no second echo to expect
            self._forget_pushed(item)
        cursor = self.sm.cursor(c)
        self._delivered = sum(len(raw) for seq, raw in items if seq > cursor)
        # More of a catch-up follows this delivery: the store's compaction waits (each one
        # re-encodes the whole state; limits.COMPACT_AFTER_UPDATES_CATCHING_UP). The
        # delivery that reaches the head compacts as usual.
        holder = self.team.compartment(c)
        holder.catching_up = bool(items) and self.state.head.get(c, 0) > items[-1][0]
        try:
            await self.run(effects)
        finally:
            holder.catching_up = False
            delivered, self._delivered = self._delivered, 0
        self.state.received.bytes += delivered  # committed: the progress moves
        self.state.received.envelopes += max(0, self.sm.cursor(c) - cursor)
        progress = self.state.catchup
        if progress is not None:
            progress.bytes_done += delivered
            progress.records_done += max(0, self.sm.cursor(c) - cursor)
            if not self.state.behind:  # over: everything the plan named is applied
                self._changed()  # listeners see it complete, then it is gone
                self.state.catchup = None
        await self.refresh_counts()
        return not self.sm.need_keys

    async def apply_snapshot(self, c: Compartment,
                             raw: bytes | Sequence[bytes] | SnapshotFrame) -> int:
        """Verify and apply a downloaded snapshot (its bytes, or its parts as downloaded, or
        framed as they arrived); returns the sequence it covers."""
        parts = [raw] if isinstance(raw, bytes) else raw
        async with self._serial:
            # Into an empty document (a first sync), its state is read while the signature
            # is checked (issue 24; mano_core/document/preread.py): the merge takes that read.
            empty = self.team.compartment(c).core.empty
            try:
                snap = await open_snapshot_parts(
                    parts, log=self.keys.log, keyring=self.keys.keyring,
                    team_id=self.keys.team_id, compartment=c,
                    read_ahead=preread.read_ahead if empty else None)
                self._snapshot_state = len(snap.state)
                await self.run(self.sm.snapshot(c, snap.upto, snap.state, snap.chain))
            finally:
                self._snapshot_state = 0
                preread.forget()  # (taken by the merge, or not to be used)
            self.state.received.bytes += (parts.size if isinstance(parts, SnapshotFrame)
                                          else sum(len(part) for part in parts))
            self._changed()
            return snap.upto

    async def adopt_snapshot(self, c: Compartment, received: ReceivedSnapshot) -> int:
        """A version-2 snapshot received whole and checked (``SnapshotReceiver``), its
        private document made the compartment's (``CompartmentHolder.adopt_snapshot``) with
        the cursor and the chain state in the same transaction; nothing of it is visible
        before that commit. The document no longer empty (a local edit during the
        download): its state merged as a version-1 snapshot's instead. Returns ``upto``.
        Raises what the store raises (the session then ends: redone from the cursor), or
        what refused one of the last pieces (``received.applied``: nothing committed)."""
        async with self._serial:
            if not (adoptable(self.team.compartment(c)) and await self._adopt(c, received)):
                await received.applied()
                self._snapshot_state = len(received.stored)
                try:
                    await self.run(self.sm.snapshot(c, received.upto,
                                                    received.doc.get_update(), received.chain))
                finally:
                    self._snapshot_state = 0
            self.state.received.bytes += received.size
            self._changed()
            return received.upto

    async def _adopt(self, c: Compartment, received: ReceivedSnapshot) -> bool:
        """The machine's snapshot Persist carried out by an adoption (``Persisting._persist``
        for the other ops: the cursor and the chain; then ``committed``). False, nothing
        done, if the document was no longer empty."""
        effect = self.sm.snapshot(c, received.upto, b"", received.chain)[0]
        assert isinstance(effect, Persist)
        others = [op for op in effect.ops if not isinstance(op, Apply)]
        self._snapshot_state = len(received.stored)
        try:
            async def also(tx: StoreTransaction) -> None:
                await self._write(tx, others, [])

            adopted = await self.team.compartment(c).adopt_snapshot(received, also)
        except BaseException as exc:
            self._tail_staged.clear()
            self.sm.failed(effect.token, type(exc).__name__)
            raise
        finally:
            self._snapshot_state = 0
        if not adopted:
            self._tail_staged.clear()
            self.sm.failed(effect.token, "not adopted")  # (nothing staged: its Close unused)
            return False
        self._tail.update(self._tail_staged)
        self._tail_staged.clear()
        for op in others:
            if isinstance(op, SaveChain):
                self.keys.adopt_chain(op.c, ChainState.from_bytes(op.chain))
        after = self.sm.committed(effect.token, {})
        self.state.last_sync = time.time()
        self._publish()
        await self.run(after)
        return True
