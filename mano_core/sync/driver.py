"""The state of one team's sync driver (TeamSync, engine.py) and what every part of it shares:
the machine built from the store (``load``), the counts and quarantine it shows, alerts, and
the cursor row's layout in ``sync/<team>``."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Final

import msgspec

from mano_core import limits
from mano_core.crypto import ChainState
from mano_core.crypto.envelope import Authenticated, Opened
from mano_core.errors import LocalProtocolError
from mano_core.ids import Compartment
from mano_core.keys_at_rest import TeamKeys
from mano_core.quarantine import QuarantinedEnvelope
from mano_core.store import LocalStore, StoreTransaction
from mano_core.sync import payload
from mano_core.sync.echo_hold import EchoHold
from mano_core.sync.machine import FLUSH_DELAY, Backoff, Position, SyncMachine
from mano_core.sync.state import Alert, Quarantined, SyncState
from mano_core.sync.transport import RelayClient
from mano_core.team import Team, local_outbox, sealed_outbox

log = logging.getLogger("mano.sync")

MAX_ALERTS: Final = 200


class _Cursor(msgspec.Struct):
    seq: int = 0            # last relay sequence applied
    snapshot: int = 0       # upto of the newest snapshot made or applied
    tail: int = 0           # bytes of the envelopes delivered after that snapshot
    state: int = 0          # bytes of that snapshot's state (0: not known yet)



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


class TeamSyncBase:
    """What the parts of TeamSync share (engine.py): its state, the machine loaded from the
    store, the counts and quarantine it publishes."""

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
        # What ended the remover by an exception: raised in the session's sender
        # (sender.py), so that the session ends with it as with any task's error.
        self._removal_error: BaseException | None = None
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
        self._authenticated: dict[bytes, Authenticated] = {}
        # While the machine opens that delivery: the compiled opening of those envelopes
        # (mano_core/document/_open_c.pxi ``KnownOpener``), which hands any other envelope, or
        # any check that does not pass, back to ``TeamKeys.open`` (the reference).
        self._known_opener: Callable[[bytes, Compartment, ChainState], Opened | None] | None \
            = None
        # Per compartment, the exact bytes of the envelopes pushed and not answered yet ->
        # their sealed-outbox item (committed there): when one comes back in a delivery, it
        # is not verified again and its row goes with that delivery's commit (issue 24).
        self._pushed: dict[Compartment, dict[bytes, int]] = {}
        self.echoes = EchoHold()  # deliveries of those only, held before their commit
        self._pushed_items: dict[int, tuple[Compartment, bytes]] = {}
        # Snapshot policy, per compartment: committed (tail bytes, state bytes), and what the
        # Persist being carried out will commit (adopted only once it committed).
        self._tail: dict[Compartment, tuple[int, int]] = {}
        self._tail_staged: dict[Compartment, tuple[int, int]] = {}
        self._delivered = 0          # bytes of the delivery being applied
        # Per compartment, the ``upto`` of snapshots this process refused in a snapshot-first
        # catch-up (catchup.py): not downloaded again; the envelopes are replayed instead.
        self.refused_snapshots: dict[Compartment, set[int]] = {}
        self._snapshot_state = 0     # bytes of the state of the snapshot being applied/uploaded
        self._snapshot_tail: int | None = None  # the tail when the one uploaded was taken
        self._uploading: set[Compartment] = set()  # snapshot uploads under way
        # The session's task group (client.py sets it while a session runs): a due snapshot
        # is uploaded in a task of it, off the delivery and push path.
        self.spawn: Callable[[Coroutine[Any, Any, Any]], asyncio.Task[Any]] | None = None

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
        fast = self._known_opener
        if fast is not None and (opened := fast(raw, compartment, chain)) is not None:
            return opened
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
        (mano_core/quarantine.py), the one list, read when the sync starts; a commit that adds
        rows adds them with ``quarantine_committed``."""
        self.state.quarantine = [_listed(row) for row in await self.team.quarantine.envelopes()]

    def quarantine_committed(self, rows: Sequence[QuarantinedEnvelope]) -> None:
        """Add the rows a transaction wrote to ``state.quarantine``, right after its commit and
        before anyone is woken: whoever ``wait_synced`` returned to sees the envelopes the
        delivery quarantined (no read of the store after the commit, which a waiter could
        outrun). A row for the same compartment and sequence replaces the listed one, as the
        store's key does."""
        if not rows:
            return
        listed = {(int(q.compartment), q.seq): q for q in self.state.quarantine}
        for row in rows:
            listed[(row.compartment, row.seq)] = _listed(row)
        self.state.quarantine = [listed[k] for k in sorted(listed)]

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

    def _forget_pushed(self, item: int) -> None:
        pushed = self._pushed_items.pop(item, None)
        if pushed is not None:
            self._pushed.get(pushed[0], {}).pop(pushed[1], None)

    def _read_sealed_again(self) -> None:
        """A pushed envelope is to be pushed again (its row stays): read the store next."""
        self._sealed_seen.clear()

    def cursor(self, c: Compartment) -> int:
        """The last relay sequence of ``c`` applied and committed."""
        return self.sm.cursor(c)

    def _alert(self, kind: str, detail: str) -> None:
        log.warning("%s: %s", kind, detail)
        self.state.alerts.append(Alert(kind, detail))
        del self.state.alerts[:-MAX_ALERTS]
        self._changed()


def _listed(row: QuarantinedEnvelope) -> Quarantined:
    return Quarantined(Compartment(row.compartment), row.seq, row.author, row.counter,
                       row.code, row.detail, row.at)
