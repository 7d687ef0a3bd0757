"""One team's sync, over whatever connection the client holds: seal, push, apply, catch up.

The durable pieces, all in the encrypted store:
  * ``team/<id>/<c>/local``  outbox of local updates not sealed yet (written with each edit);
  * ``team/<id>/<c>/sealed`` outbox of envelopes waiting for the relay's ack (sealed at flush,
    with the author counter, in one transaction that also consumes the local items);
  * ``sync/<team>``: the relay cursor per compartment (last sequence applied), the newest
    snapshot known, fragments of a large batch not complete yet;
  * ``quarantine/<team>``: quarantined envelopes and updates (mano_core/quarantine.py).
What to write is decided by the sans-I/O ``SyncMachine`` (machine.py); this module carries
out its effects. A delivery's updates, quarantine rows, cursor and chain states commit in one
transaction and become the machine's state only after that commit, so a crash, a cancellation
or a full disk anywhere re-applies at most what was not committed (idempotent), never skips.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Sequence
from typing import Final

import msgspec

from mano_core import limits
from mano_core.crypto import ChainState
from mano_core.crypto.batch import authenticated_by_chain
from mano_core.crypto.envelope import Opened
from mano_core.errors import (
    LocalProtocolError,
    MalformedUpdateError,
    ManoError,
    RelayRefusedError,
    SyncError,
)
from mano_core.ids import Compartment
from mano_core.keys_at_rest import TeamKeys
from mano_core.protocol import messages as m
from mano_core.quarantine import QuarantinedEnvelope
from mano_core.protocol.codes import ErrorCode
from mano_core.store import LocalStore, StoreTransaction
from mano_core.sync import payload
from mano_core.sync.snapshot import open_snapshot, seal_snapshot
from mano_core.sync.machine import (
    FLUSH_DELAY,
    PUSH_WINDOW,
    Alert as AlertEffect,
    Apply,
    Backoff,
    Close,
    DropFragments,
    Effect,
    Op,
    Persist,
    Position,
    Push,
    PutFragment,
    PutQuarantine,
    RemoveOutbox,
    SaveChain,
    SaveCursor,
    Send,
    SyncMachine,
)
from mano_core.sync.state import Alert, Quarantined, SyncState
from mano_core.sync.transport import RelayClient
from mano_core.team import Team, local_outbox, sealed_outbox

log = logging.getLogger("mano.sync")

MAX_ALERTS: Final = 200


class SessionClosed(SyncError):
    """The machine ended the session (a gap in a delivery, a transaction that did not
    commit): the next session resubscribes from the committed cursor."""


class _Cursor(msgspec.Struct):
    seq: int = 0            # last relay sequence applied
    snapshot: int = 0       # upto of the newest snapshot made or applied
    tail: int = 0           # bytes of the envelopes delivered after that snapshot
    state: int = 0          # bytes of that snapshot's state (0: not known yet)


# Snapshot policy (issue 24: relay write amplification). A device uploads a snapshot of a
# compartment once the envelopes delivered since the newest one weigh at least this fraction
# of the state's bytes (and at least SNAPSHOT_MIN_TAIL): the relay then stores at most
# (1 + 1/fraction) bytes per envelope byte before pruning (docs/operations.md), whatever the
# team's size, where a fixed count of envelopes made a 21 MB state per 300 small edits.
SNAPSHOT_TAIL_FRACTION: Final = 0.5
SNAPSHOT_MIN_TAIL: Final = 64 * 1024


class _LegacyQuarantineRow(msgspec.Struct, array_like=True, frozen=True):
    """An envelope quarantined by a version that kept it under ``sync/<team>``: moved to the
    team's quarantine (mano_core/quarantine.py) when the machine is loaded."""

    c: int
    seq: int
    author: bytes
    counter: int
    code: str
    detail: str
    at: float
    envelope: bytes


def _cursor_key(c: Compartment) -> str:
    return f"cursor/{c.name.lower()}"


def _rebuild_key(c: Compartment) -> str:
    return f"rebuild/{c.name.lower()}"


class TeamSync:
    """The driver of one team's SyncMachine on this device: carries out its Persist effects
    in store transactions and tells it what committed. Owned by the SyncClient."""

    def __init__(self, team: Team, keys: TeamKeys, store: LocalStore, state: SyncState,
                 changed: Callable[[], None], *,
                 parked_timeout: float = limits.MAX_PARKED_SECONDS,
                 backoff: Backoff | None = None, flush_delay: float = FLUSH_DELAY) -> None:
        self.team = team
        self.parked_timeout = parked_timeout
        self.keys = keys
        self.store = store
        self.state = state
        self._changed = changed
        self._ns = f"sync/{keys.team_id.hex()}"
        self._backoff = backoff
        self._flush_delay = flush_delay
        self.machine: SyncMachine | None = None
        self.flush_lock = team.outbox_lock  # shared with the erasure's outbox scrub
        team.on_damage = lambda damage: self._alert("damaged", str(damage))
        self._serial = asyncio.Lock()
        self._counts_started = self._counts_shown = 0  # refresh_counts: newest count wins
        self._to_remove: list[int] = []
        self._remover: asyncio.Future[None] | None = None
        self._wake_sender: asyncio.Event | None = None
        # The sealed envelopes flush hands to the sender (issue 24: no outbox read between
        # sealing and pushing). Per compartment, ``_handed`` holds envelopes committed by
        # flush, in outbox order; ``_sealed_seen`` is the newest outbox id of the sender's last
        # read of the sealed outbox when that read left nothing unpushed (the store then holds
        # nothing to push but what is handed over since), None when the next push must read
        # the store (a new session, a retried push, a failed removal, a seal that may have
        # committed without being handed over). Only committed envelopes are handed over.
        self._handed: dict[Compartment, list[tuple[int, bytes]]] = {}
        self._sealed_seen: dict[Compartment, int | None] = {}
        self._sealed_client: RelayClient | None = None
        # The envelopes of the delivery being opened whose signature its authors' chains
        # establish (crypto/batch.py): one Ed25519 check per author run, not per envelope.
        self._authenticated: frozenset[bytes] = frozenset()
        # Snapshot policy, per compartment: committed (tail bytes, state bytes), and what the
        # Persist being carried out will commit (adopted only once it committed).
        self._tail: dict[Compartment, tuple[int, int]] = {}
        self._tail_staged: dict[Compartment, tuple[int, int]] = {}
        self._delivered = 0          # bytes of the delivery being applied
        # Per compartment, the ``upto`` of snapshots this process refused in a snapshot-first
        # catch-up (catchup.py): not downloaded again; the envelopes are replayed instead.
        self.refused_snapshots: dict[Compartment, set[int]] = {}
        self._snapshot_state = 0     # bytes of the state of the snapshot being applied/uploaded

    def changed(self) -> None:
        """Tell the state's listeners that it moved (progress, alerts)."""
        self._changed()

    @property
    def sm(self) -> SyncMachine:
        if self.machine is None:
            raise LocalProtocolError("TeamSync.load() first")
        return self.machine

    @property
    def live_after(self) -> dict[Compartment, int]:
        """Per compartment, the sequence this session caught up to: deliveries above it are
        live, and a live envelope whose author no longer has access is refused (quarantined),
        at any epoch (the relay refuses such pushes; this guards against one that does not)."""
        return self.sm.live_after

    @property
    def need_keys(self) -> bool:
        return self.sm.need_keys

    @need_keys.setter
    def need_keys(self, value: bool) -> None:
        self.sm.need_keys = value

    @property
    def compartments(self) -> list[Compartment]:
        """The compartments this device syncs (MEDICAL only with medical access)."""
        me = self.keys.identity.device_id
        return [c for c in Compartment if self.keys.log.has_access(me, c)
                and (c is Compartment.GENERAL or self.team.medical is not None)]

    def _has_access(self, author: bytes, compartment: Compartment) -> bool:
        return self.keys.log.has_access(author, compartment)  # the log is replaced on change

    def _open(self, raw: bytes, compartment: Compartment, chain: ChainState) -> Opened:
        return self.keys.open(raw, compartment, chain, authenticated=self._authenticated)

    async def load(self) -> None:
        """Build the machine from what the store holds: cursors, chain states, fragments of
        incomplete groups, quarantined envelopes."""
        positions: dict[Compartment, Position] = {}
        for c in Compartment:
            raw = await self.store.get(self._ns, _cursor_key(c))
            cur = msgspec.msgpack.decode(raw, type=_Cursor) if raw else _Cursor()
            positions[c] = Position(cur.seq, cur.snapshot)
            self._tail[c] = (cur.tail, cur.state)
        fragments: list[payload.Fragment] = []
        rebuilding = [c for c in Compartment if await self.store.get(self._ns, _rebuild_key(c))]
        legacy: list[tuple[str, _LegacyQuarantineRow]] = []
        for key, raw in await self.store.items(self._ns):
            if key.startswith("frag/"):
                frag = payload.decode(raw)
                if isinstance(frag, payload.Fragment):
                    fragments.append(frag)
            elif key.startswith("quarantine/"):
                legacy.append((key, msgspec.msgpack.decode(raw, type=_LegacyQuarantineRow)))
        if legacy:
            async with self.store.transaction() as tx:
                for key, old in legacy:
                    await self.team.quarantine.put_envelope(tx, QuarantinedEnvelope(
                        compartment=old.c, seq=old.seq, author=old.author, counter=old.counter,
                        code=old.code, detail=old.detail, at=old.at, envelope=old.envelope))
                    await tx.delete(self._ns, key)
        self.machine = SyncMachine(
            self.keys.identity.device_id, self._open, positions=positions,
            chains={c: self.keys.chain(c) for c in Compartment}, fragments=fragments,
            backoff=self._backoff, flush_delay=self._flush_delay,
            now=time.time, has_access=self._has_access, rebuilding=rebuilding)
        self._publish()
        await self.read_quarantine()
        await self.refresh_counts()

    def _publish(self) -> None:
        """Copy the machine's committed truth into the state clients read."""
        for c in Compartment:
            self.state.cursor[c] = self.sm.cursor(c)

    async def forget_compartment(self, tx: StoreTransaction, c: Compartment) -> None:
        """In ``tx``, the transaction that drops ``c``'s document from this device (its health
        flag withdrawn): its cursor and chain states go with it, and ``c`` is marked rebuilt,
        so that if it comes back it is caught up from the start (or a snapshot), this device's
        own envelopes included; ``forgot(c)`` once ``tx`` committed."""
        await tx.delete(self._ns, _cursor_key(c))
        await tx.put(self._ns, _rebuild_key(c), b"\x01")
        await self.keys.save_chains(tx, {c: ChainState()})

    def forgot(self, c: Compartment) -> None:
        self.sm.forgot(c)
        self._handed.pop(c, None)  # read its sealed outbox again when it is back (withheld)
        self._sealed_seen.pop(c, None)
        self.keys.adopt_chain(c, ChainState())
        self._tail.pop(c, None)
        self.state.last_acked.pop(c, None)  # nothing of ``c`` to wait for any more
        self.state.head.pop(c, None)
        self._publish()

    async def read_quarantine(self) -> None:
        """``state.quarantine`` from the store: the team's quarantined envelopes as committed
        (mano_core/quarantine.py), the one list; read again after each commit that adds one."""
        self.state.quarantine = [
            Quarantined(Compartment(row.compartment), row.seq, row.author, row.counter,
                        row.code, row.detail, row.at)
            for row in await self.team.quarantine.envelopes()]

    async def refresh_counts(self) -> None:
        """Recount what waits in the outboxes. Two counts running at once may finish out of
        order: an older one's figures (read before a removal committed, say) never overwrite
        a newer one's, or a pending envelope would be shown for ever and wait_synced would
        never return. Every outbox commit is followed by a count, so the newest is true."""
        self._counts_started += 1
        mine = self._counts_started
        local = sealed = 0
        for c in self.compartments:  # not the edits withheld of one it lost (Team.drop_medical)
            local += await self.store.outbox_size(local_outbox(self.team.id, c))
            sealed += await self.store.outbox_size(sealed_outbox(self.team.id, c))
        if mine > self._counts_shown:
            self._counts_shown = mine
            self.state.pending_local, self.state.pending_envelopes = local, sealed
        self.state.waiting_updates = sum(
            self.team.compartment(c).core.waiting_updates for c in self.compartments)
        self._changed()

    # --- carrying out effects -------------------------------------------------------------------

    async def run(self, effects: list[Effect], client: RelayClient | None = None) -> None:
        """Carry out the machine's effects in order. Persist: one transaction, then
        committed(token); any failure or cancellation before the commit: failed(token), and
        the error propagates (the session ends). Close raises SessionClosed."""
        queue = list(effects)
        while queue:
            effect = queue.pop(0)
            if isinstance(effect, Persist):
                queue[:0] = await self._persist(effect)
            elif isinstance(effect, AlertEffect):
                self._alert(effect.kind, effect.detail)
            elif isinstance(effect, Close):
                raise SessionClosed(effect.reason)
            elif isinstance(effect, Send) and client is not None:
                client._send(effect.message)

    async def _persist(self, effect: Persist) -> list[Effect]:
        applies = [op for op in effect.ops if isinstance(op, Apply)]
        others = [op for op in effect.ops if not isinstance(op, Apply)]
        try:
            if applies:
                c = applies[0].c
                groups, screened = self._screen(c, applies)

                async def also(tx: StoreTransaction, refused: dict[int, str]) -> None:
                    if any(applies[i].snapshot for i in refused):  # nothing is committed
                        raise MalformedUpdateError(f"snapshot state refused: {refused}")
                    keep = not self.team.erasures.orders()
                    for _op, update, reason in screened:
                        await self.team.quarantine.put(tx, c, update, f"refused: {reason}",
                                                       keep_content=keep)
                    for index, error in refused.items():
                        bad = applies[index]
                        await self.team.quarantine.put_envelope(tx, QuarantinedEnvelope(
                            compartment=int(c), seq=bad.seq, author=bad.author,
                            counter=bad.counter, code="MalformedUpdateError", detail=error,
                            at=time.time(), envelope=bad.envelope), keep_content=keep)
                    await self._write(tx, others)

                refused_at = await self.team.apply_remote_groups(c, groups, also)
                refused = {applies[i].seq: e for i, e in refused_at.items()}
                for screened_op, _update, reason in screened:
                    self._alert("refused", f"envelope {screened_op.seq} of compartment "
                                           f"{c.name}, author {screened_op.author.hex()[:12]}…: "
                                           f"{reason}")
            else:
                async with self.store.transaction() as tx:
                    await self._write(tx, others)
                refused = {}
        except BaseException as exc:
            self._tail_staged.clear()
            if any(isinstance(op, RemoveOutbox) for op in effect.ops):
                self._read_sealed_again()
                self.sm.removal_failed(effect.token)
            else:
                self.sm.failed(effect.token, type(exc).__name__)
            raise
        self._tail.update(self._tail_staged)
        self._tail_staged.clear()
        for op in others:
            if isinstance(op, SaveChain):
                self.keys.adopt_chain(op.c, ChainState.from_bytes(op.chain))
        after = self.sm.committed(effect.token, refused)
        self._publish()
        if refused or any(isinstance(op, PutQuarantine) for op in others):
            await self.read_quarantine()
        self.state.last_sync = time.time()
        return after

    def _screen(self, c: Compartment, applies: Sequence[Apply]) -> tuple[
            list[list[bytes]], list[tuple[Apply, bytes, str]]]:
        """The role table on what this device applies (mano_core.rules.remote): each update
        a teammate may not make is replaced by a neutral one and quarantined."""
        groups: list[list[bytes]] = []
        refusals: list[tuple[Apply, bytes, str]] = []
        for op in applies:
            if op.snapshot:
                groups.append(list(op.updates))
                continue
            out: list[bytes] = []
            for update in op.updates:
                try:
                    kept, refusal = self.team.screen_remote(c, update, op.author)
                except ManoError:
                    kept, refusal = update, None  # the document refuses it: quarantined
                if refusal is not None:
                    refusals.append((op, update, str(refusal)))
                out.append(kept)
            groups.append(out)
        return groups, refusals

    def _next_tail(self, op: SaveCursor) -> tuple[int, int]:
        """(tail bytes, state bytes) this cursor row commits, staged until it committed: a new
        snapshot (made or applied) starts the tail again; a delivery adds its bytes."""
        tail, state = self._tail_staged.get(op.c) or self._tail.get(op.c, (0, 0))
        if op.snapshot > self.sm.position(op.c).snapshot:
            tail, state = 0, self._snapshot_state or state
        else:
            tail += self._delivered
        self._tail_staged[op.c] = (tail, state)
        return tail, state

    def snapshot_policy(self, c: Compartment) -> tuple[int, int]:
        """(bytes delivered since the newest snapshot, bytes of its state; 0 if unknown),
        as committed."""
        return self._tail.get(c, (0, 0))

    async def _write(self, tx: StoreTransaction, ops: Sequence[Op]) -> None:
        chains: dict[Compartment, ChainState] = {}
        removed: list[int] = []
        for op in ops:
            if isinstance(op, SaveCursor):
                tail, state = self._next_tail(op)
                await tx.put(self._ns, _cursor_key(op.c),
                             msgspec.msgpack.encode(_Cursor(op.seq, op.snapshot, tail, state)))
            elif isinstance(op, SaveChain):
                chains[op.c] = ChainState.from_bytes(op.chain)
            elif isinstance(op, PutFragment):
                f = op.fragment
                await tx.put(self._ns, f"frag/{f.g.hex()}/{f.i}", msgspec.msgpack.encode(f))
            elif isinstance(op, DropFragments):
                for i in op.indexes:
                    await tx.delete(self._ns, f"frag/{op.group.hex()}/{i}")
            elif isinstance(op, PutQuarantine):
                q = op.entry
                # no content kept once a team has erasure orders (mano_core/quarantine.py)
                await self.team.quarantine.put_envelope(tx, QuarantinedEnvelope(
                    compartment=int(q.compartment), seq=q.seq, author=q.author,
                    counter=q.counter, code=q.code, detail=q.detail, at=q.at,
                    envelope=op.envelope), keep_content=not self.team.erasures.orders())
            elif isinstance(op, RemoveOutbox):
                removed.extend(op.items)
        if chains:
            await self.keys.save_chains(tx, chains)
        if removed:
            await tx.outbox_remove(removed)

    # --- outgoing -------------------------------------------------------------------------------

    async def flush(self) -> int:
        """Seal every local update waiting into envelopes (batched); returns how many."""
        made = 0
        async with self.flush_lock:
            for c in self.compartments:
                items = await self.store.outbox_pending(local_outbox(self.team.id, c))
                if not items:
                    continue
                plaintexts = list(payload.encode_batches([i.payload for i in items]))
                for index, plaintext in enumerate(plaintexts):
                    last = index == len(plaintexts) - 1
                    try:
                        sealed = await self.keys.seal(plaintext, compartment=c,
                                                      doc=sealed_outbox(self.team.id, c),
                                                      consume=[i.id for i in items] if last
                                                      else ())
                    except BaseException:
                        self._sealed_seen[c] = None  # it may have committed: read the store
                        raise
                    self._hand_over(c, sealed.outbox_id, sealed.envelope)
                    made += 1
        if made and self._wake_sender is not None:
            self._wake_sender.set()  # committed: the sender pushes them while we recount
        await self.refresh_counts()  # also clears the optimistic count of schedule_flush
        return made

    async def push_pending(self, client: RelayClient, wake: asyncio.Event) -> None:
        """Push sealed envelopes the machine lets out (at most PUSH_WINDOW in flight; an
        acknowledged one never again); each answer goes back to the machine."""
        for c in self.compartments:
            room = PUSH_WINDOW - self.sm.in_flight
            if room <= 0:
                return
            self._wake_sender = wake
            items = self._handed_over(c, client)
            complete = True
            if items is None:
                limit = PUSH_WINDOW + self.sm.held
                rows = await self.store.outbox_pending(sealed_outbox(self.team.id, c),
                                                       limit=limit)
                items = [(i.id, i.payload) for i in rows]
                complete = len(rows) < limit
            for effect in self.sm.outbox(items):
                if isinstance(effect, Push):
                    fut = client.push_nowait(effect.envelope)
                    fut.add_done_callback(functools.partial(
                        self._ack_callback, item_id=effect.item, wake=wake))
            self._sent_through(c, client, items, complete)
        if not self.sm.in_flight:  # every push answered: a snapshot postponed for them?
            for c in self.compartments:
                if self.snapshot_due(c):
                    await self.upload_due_snapshot(client, c)

    def _hand_over(self, c: Compartment, item: int, envelope: bytes) -> None:
        """A sealed envelope just committed: the sender pushes it without reading the store
        (while it knows the store holds nothing else unpushed; bounded while offline)."""
        handed = self._handed.setdefault(c, [])
        handed.append((item, envelope))
        if len(handed) > PUSH_WINDOW:  # offline for a while: the store says it all
            handed.clear()
            self._sealed_seen[c] = None

    def _handed_over(self, c: Compartment,
                     client: RelayClient) -> list[tuple[int, bytes]] | None:
        """The envelopes to offer the machine without reading the store, or None to read."""
        seen = self._sealed_seen.get(c)
        if seen is None or client is not self._sealed_client:
            return None
        return [(i, e) for i, e in self._handed.get(c, []) if i > seen]

    def _sent_through(self, c: Compartment, client: RelayClient,
                      items: list[tuple[int, bytes]], complete: bool) -> None:
        """After offering ``items`` to the machine: if every one is now pushed or answered and
        nothing was left unread, the store holds nothing unpushed up to the newest of them."""
        if complete and all(self.sm.holds(i) for i, _e in items):
            seen = max([i for i, _e in items], default=self._sealed_seen.get(c) or 0)
            self._sealed_seen[c] = seen
            self._sealed_client = client
            self._handed[c] = [(i, e) for i, e in self._handed.get(c, []) if i > seen]
        else:
            self._sealed_seen[c] = None

    def _read_sealed_again(self) -> None:
        """A pushed envelope is to be pushed again (its row stays): read the store next."""
        self._sealed_seen.clear()

    def _ack_callback(self, fut: asyncio.Future[list[m.Message]], *, item_id: int,
                      wake: asyncio.Event) -> None:
        self._acked(fut, item_id, wake)

    def _acked(self, fut: asyncio.Future[list[m.Message]], item_id: int,
               wake: asyncio.Event) -> None:
        effects: list[Effect] = []
        if fut.cancelled():
            self._read_sealed_again()
            effects = self.sm.push_refused(item_id, retry=True)
        else:
            exc = fut.exception()
            if isinstance(exc, RelayRefusedError):
                never = exc.code in (ErrorCode.BAD_ENVELOPE, ErrorCode.FORBIDDEN)
                if exc.fatal or exc.code == 0 or not never:
                    if not (exc.fatal or exc.code == 0):
                        self._alert("refused", f"the relay refused an envelope: {exc}")
                    self._read_sealed_again()
                    effects = self.sm.push_refused(item_id, retry=True)
                else:
                    effects = self.sm.push_refused(item_id, retry=False, detail=str(exc))
            elif exc is not None:
                self._read_sealed_again()
                effects = self.sm.push_refused(item_id, retry=True)
            else:
                (ack,) = fut.result()
                assert isinstance(ack, m.Ack)
                c = Compartment(ack.c)
                self.state.last_acked[c] = max(self.state.last_acked.get(c, 0), ack.seq)
                self.state.last_sync = time.time()
                effects = self.sm.push_acked(item_id)
        wake.set()
        for effect in effects:
            if isinstance(effect, AlertEffect):
                self._alert(effect.kind, effect.detail)
            elif isinstance(effect, Persist):
                self._to_remove.append(effect.token)
        if self._to_remove and (self._remover is None or self._remover.done()):
            self._remover = asyncio.ensure_future(self._remove_acked())

    async def stop(self) -> None:
        """Finish removing acknowledged envelopes (the store is about to close)."""
        if self._remover is not None and not self._remover.done():
            await asyncio.gather(self._remover, return_exceptions=True)

    async def _remove_acked(self) -> None:
        """Drop acknowledged envelopes from the outbox, many per transaction (the machine
        keeps them out of the push window meanwhile)."""
        await asyncio.sleep(0.02)  # many acks per transaction
        # The loop's test is the last thing before returning, after every await: an ack that
        # arrives while this task awaits (it is not done, so _acked starts no other) is taken
        # by the next round, never left staged for ever (its row would stay, unpushed).
        while self._to_remove:
            tokens, self._to_remove = self._to_remove, []
            items = [i for t in tokens for i in self.sm.removal_items(t)]
            try:
                async with self.store.transaction() as tx:
                    await tx.outbox_remove(items)
            except BaseException as exc:
                self._read_sealed_again()
                for t in tokens:
                    self.sm.removal_failed(t)
                if not isinstance(exc, ManoError):
                    raise
                self.state.last_error = str(exc)
                # pushed again: the relay's duplicate ack makes a new removal
            else:
                for t in tokens:
                    self.sm.committed(t)
            if self._wake_sender is not None:
                self._wake_sender.set()  # room for the next ones, or pushed again
            await self.refresh_counts()

    # --- incoming -------------------------------------------------------------------------------

    def cursor(self, c: Compartment) -> int:
        """The last relay sequence of ``c`` applied and committed."""
        return self.sm.cursor(c)

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
        if c not in self.compartments:
            return True  # medical access withdrawn meanwhile: nothing of it is kept here
        async with self._serial:
            self._authenticated = authenticated_by_chain(
                [raw for _seq, raw in items], team_id=self.keys.team_id, compartment=c)
            try:
                effects = self.sm.received(m.Deliver(c=int(c), items=items))
            finally:
                self._authenticated = frozenset()
            cursor = self.sm.cursor(c)
            self._delivered = sum(len(raw) for seq, raw in items if seq > cursor)
            try:
                await self.run(effects)
            finally:
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

    async def apply_snapshot(self, c: Compartment, raw: bytes) -> int:
        """Verify and apply a downloaded snapshot; returns the sequence it covers."""
        async with self._serial:
            snap = open_snapshot(raw, log=self.keys.log, keyring=self.keys.keyring,
                                 team_id=self.keys.team_id, compartment=c)
            self._snapshot_state = len(snap.state)
            try:
                await self.run(self.sm.snapshot(c, snap.upto, snap.state, snap.chain))
            finally:
                self._snapshot_state = 0
            self.state.received.bytes += len(raw)
            self._changed()
            return snap.upto

    async def upload_snapshot(self, client: RelayClient, c: Compartment) -> bool:
        """Upload this device's state of ``c`` as covering everything applied so far; False
        (nothing sent) while updates wait for their dependencies: their envelopes are accepted
        (in the chain states the snapshot carries) but their content is not in the state yet,
        so a device restoring the snapshot would never get it."""
        async with self._serial:
            return await self._upload_snapshot(client, c)

    async def upload_due_snapshot(self, client: RelayClient, c: Compartment) -> bool:
        """``upload_snapshot`` if ``snapshot_due`` still holds once the uploads and deliveries
        before it are done (the receiver and the sender both ask: one upload, not two)."""
        async with self._serial:
            return self.snapshot_due(c) and await self._upload_snapshot(client, c)

    def snapshot_due(self, c: Compartment) -> bool:
        """Whether this device should upload a snapshot of ``c`` now: the envelopes delivered
        since the newest snapshot weigh SNAPSHOT_TAIL_FRACTION of its state (bytes, not a
        count: see SNAPSHOT_TAIL_FRACTION), and it is at the head (none of its own envelopes
        is unanswered, no catch-up is under way), so the snapshot covers the tail whole
        instead of leaving most of it for the next one (the sender looks again once its
        pushes are answered: ``push_pending``)."""
        tail, state = self._tail.get(c, (0, 0))
        if tail < SNAPSHOT_MIN_TAIL or self.sm.in_flight or self.state.behind:
            return False  # also not mid-way: this device's own pushes or a catch-up go on
        if not state:  # never measured on this device (a team without a snapshot yet)
            state = len(self.team.compartment(c).core.encode_state())
            self._tail[c] = (tail, state)
        return tail >= SNAPSHOT_TAIL_FRACTION * state

    async def _upload_snapshot(self, client: RelayClient, c: Compartment) -> bool:
        holder = self.team.compartment(c)
        for update in await holder.quarantine_overdue(timeout=self.parked_timeout):
            self._alert("quarantine", f"an update of compartment {c.name} waited too long for "
                                      f"updates it depends on ({len(update)} bytes): set aside "
                                      f"in the quarantine, snapshots go on without it")
        await self.refresh_counts()
        core = holder.core
        if core.waiting_updates:
            log.info("snapshot of %s postponed: %d updates wait for their dependencies",
                     c.name, core.waiting_updates)
            return False
        upto = self.sm.cursor(c)
        state = core.encode_state()
        blob = seal_snapshot(self.keys.identity, self.keys.keyring, team_id=self.keys.team_id,
                             compartment=c, epoch=self.keys.log.epoch(c), upto=upto,
                             state=state, chain=self.sm.chain(c))
        request_id = client.next_id()
        step = limits.MAX_SNAPSHOT_CHUNK
        parts = [blob[i:i + step] for i in range(0, len(blob), step)] or [b""]
        fut = None
        for index, part in enumerate(parts):
            msg = m.SnapshotPut(id=request_id, c=int(c), upto=upto, part=index,
                                last=index == len(parts) - 1, data=part)
            if msg.last:
                fut = client.start(msg)
            else:
                client._send(msg)
        assert fut is not None
        try:
            await fut
        except RelayRefusedError as exc:
            if exc.code == ErrorCode.BUSY:
                return False  # the relay's uploads are all taken: again when next due
            if exc.code != ErrorCode.CONFLICT:
                raise
        self._snapshot_state = len(state)
        try:
            await self.run(self.sm.snapshot_uploaded(c, upto))
        finally:
            self._snapshot_state = 0
        return True

    def _alert(self, kind: str, detail: str) -> None:
        log.warning("%s: %s", kind, detail)
        self.state.alerts.append(Alert(kind, detail))
        del self.state.alerts[:-MAX_ALERTS]
        self._changed()
