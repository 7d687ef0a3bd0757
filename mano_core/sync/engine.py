"""One team's sync, over whatever connection the client holds: seal, push, apply, catch up.

The durable pieces, all in the encrypted store:
  * ``team/<id>/<c>/local``  outbox of local updates not sealed yet (written with each edit);
  * ``team/<id>/<c>/sealed`` outbox of envelopes waiting for the relay's ack (sealed at flush,
    with the author counter, in one transaction that also consumes the local items);
  * ``sync/<team>``: the relay cursor per compartment (last sequence applied), the newest
    snapshot known, and fragments of a large batch not complete yet.
A delivery's updates, the cursor and the chain states commit in one transaction, so a crash
anywhere replays at most what was not committed, and replays are idempotent.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from typing import Final

import msgspec

from mano_core import limits
from mano_core.errors import (
    EnvelopeError,
    MalformedUpdateError,
    MissingKeyError,
    RelayRefusedError,
    ReplayError,
)
from mano_core.ids import Compartment
from mano_core.keys_at_rest import TeamKeys
from mano_core.protocol import messages as m
from mano_core.protocol.codes import ErrorCode
from mano_core.store import LocalStore, StoreTransaction
from mano_core.sync import payload
from mano_core.sync.snapshot import open_snapshot, seal_snapshot
from mano_core.sync.state import Alert, SyncState
from mano_core.sync.transport import RelayClient
from mano_core.team import Team, local_outbox, sealed_outbox

log = logging.getLogger("mano.sync")

SNAPSHOT_EVERY: Final = 300   # envelopes after the newest snapshot before uploading a new one
PUSH_WINDOW: Final = 64       # envelopes pushed and not yet acknowledged, at most
MAX_ALERTS: Final = 200


class _Cursor(msgspec.Struct):
    seq: int = 0            # last relay sequence applied
    snapshot: int = 0       # upto of the newest snapshot made or applied


class TeamSync:
    """The sync of one team on this device. Owned by the SyncClient."""

    def __init__(self, team: Team, keys: TeamKeys, store: LocalStore, state: SyncState,
                 changed: Callable[[], None], *,
                 parked_timeout: float = limits.MAX_PARKED_SECONDS) -> None:
        self.team = team
        self.parked_timeout = parked_timeout
        self.keys = keys
        self.store = store
        self.state = state
        self._changed = changed
        self._ns = f"sync/{keys.team_id.hex()}"
        self._cursors: dict[Compartment, _Cursor] = {}
        self._fragments: dict[bytes, list[payload.Fragment]] = {}
        self.flush_lock = team.outbox_lock  # shared with the erasure's outbox scrub
        team.on_damage = lambda damage: self._alert("damaged", str(damage))
        self._serial = asyncio.Lock()
        self.need_keys = False
        # Per compartment, the sequence this session caught up to: deliveries above it are
        # live, and a live envelope whose author no longer has access is refused, at any epoch
        # (the relay refuses such pushes; this guards against one that does not).
        self.live_after: dict[Compartment, int] = {}
        self._to_remove: list[int] = []
        self._remover: asyncio.Future[None] | None = None

    @property
    def compartments(self) -> list[Compartment]:
        """The compartments this device syncs (MEDICAL only with medical access)."""
        me = self.keys.identity.device_id
        return [c for c in Compartment if self.keys.log.has_access(me, c)
                and (c is Compartment.GENERAL or self.team.medical is not None)]

    async def load(self) -> None:
        """Read cursors and pending fragments from the store."""
        for c in Compartment:
            raw = await self.store.get(self._ns, f"cursor/{c.name.lower()}")
            self._cursors[c] = msgspec.msgpack.decode(raw, type=_Cursor) if raw else _Cursor()
            self.state.cursor[c] = self._cursors[c].seq
        for key, raw in await self.store.items(self._ns):
            if key.startswith("frag/"):
                frag = payload.decode(raw)
                assert isinstance(frag, payload.Fragment)
                self._fragments.setdefault(frag.g, []).append(frag)
        await self.refresh_counts()

    async def refresh_counts(self) -> None:
        local = sealed = 0
        for c in Compartment:
            local += await self.store.outbox_size(local_outbox(self.team.id, c))
            sealed += await self.store.outbox_size(sealed_outbox(self.team.id, c))
        self.state.pending_local, self.state.pending_envelopes = local, sealed
        self.state.waiting_updates = sum(
            self.team.compartment(c).core.waiting_updates for c in self.compartments)
        self._changed()

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
                    await self.keys.seal(plaintext, compartment=c,
                                         doc=sealed_outbox(self.team.id, c),
                                         consume=[i.id for i in items] if last else ())
                    made += 1
        await self.refresh_counts()  # also clears the optimistic count of schedule_flush
        return made

    async def push_pending(self, client: RelayClient, in_flight: set[int],
                           wake: asyncio.Event) -> None:
        """Push sealed envelopes not in flight yet, at most PUSH_WINDOW at a time (the relay
        rate-limits each device); each is removed from the outbox once acknowledged."""
        for c in self.compartments:
            room = PUSH_WINDOW - len(in_flight)
            if room <= 0:
                return
            items = await self.store.outbox_pending(sealed_outbox(self.team.id, c),
                                                    limit=room + len(in_flight))
            for item in items:
                if item.id in in_flight or len(in_flight) >= PUSH_WINDOW:
                    continue
                in_flight.add(item.id)
                fut = client.push_nowait(item.payload)
                fut.add_done_callback(functools.partial(
                    self._ack_callback, item_id=item.id, in_flight=in_flight, wake=wake))

    def _ack_callback(self, fut: asyncio.Future[list[m.Message]], *, item_id: int,
                      in_flight: set[int], wake: asyncio.Event) -> None:
        self._acked(fut, item_id, in_flight, wake)

    def _acked(self, fut: asyncio.Future[list[m.Message]], item_id: int,
               in_flight: set[int], wake: asyncio.Event) -> None:
        in_flight.discard(item_id)
        wake.set()
        if fut.cancelled():
            return
        exc = fut.exception()
        if isinstance(exc, RelayRefusedError):
            if exc.fatal or exc.code == 0:
                return  # connection gone: re-sent after the reconnect
            self._alert("refused", f"the relay refused an envelope: {exc}")
            if exc.code in (ErrorCode.BAD_ENVELOPE, ErrorCode.FORBIDDEN):
                self._to_remove.append(item_id)  # never acceptable: do not loop on it
        elif exc is None:
            (ack,) = fut.result()
            assert isinstance(ack, m.Ack)
            c = Compartment(ack.c)
            self.state.last_acked[c] = max(self.state.last_acked.get(c, 0), ack.seq)
            self.state.last_sync = time.time()
            self._to_remove.append(item_id)
        if self._to_remove and (self._remover is None or self._remover.done()):
            self._remover = asyncio.ensure_future(self._remove_acked())

    async def stop(self) -> None:
        """Finish removing acknowledged envelopes (the store is about to close)."""
        if self._remover is not None and not self._remover.done():
            await asyncio.gather(self._remover, return_exceptions=True)

    async def _remove_acked(self) -> None:
        """Drop acknowledged envelopes from the outbox, many per transaction."""
        await asyncio.sleep(0.02)
        while self._to_remove:
            batch, self._to_remove = self._to_remove, []
            await self.store.outbox_remove(batch)
        await self.refresh_counts()

    # --- incoming -------------------------------------------------------------------------------

    def cursor(self, c: Compartment) -> int:
        return self._cursors[c].seq

    # Deliveries, downloaded snapshots and uploaded snapshots are serialised: a snapshot taken
    # while a delivery is being applied would carry chain states past its ``upto`` (the
    # envelopes opened but not applied yet), and a device restoring it would then refuse those
    # envelopes as replays. Deliveries and the periodic snapshot run in one task; an erasure's
    # purge snapshot runs in another.

    async def apply_delivery(self, c: Compartment, items: list[tuple[int, bytes]]) -> bool:
        """Open and apply delivered envelopes in order; False if a key is missing (stop and
        fetch keys: the cursor stays before that envelope)."""
        async with self._serial:
            return await self._apply_delivery(c, items)

    async def apply_snapshot(self, c: Compartment, raw: bytes) -> int:
        """Verify and apply a downloaded snapshot; returns the sequence it covers."""
        async with self._serial:
            return await self._apply_snapshot(c, raw)

    async def upload_snapshot(self, client: RelayClient, c: Compartment) -> bool:
        """Upload this device's state of ``c`` as covering everything applied so far; False
        (nothing sent) while updates wait for their dependencies: their envelopes are accepted
        (in the chain states the snapshot carries) but their content is not in the state yet,
        so a device restoring the snapshot would never get it."""
        async with self._serial:
            return await self._upload_snapshot(client, c)

    async def _apply_delivery(self, c: Compartment, items: list[tuple[int, bytes]]) -> bool:
        """Open and apply delivered envelopes in order; False if a key is missing (stop and
        fetch keys: the cursor stays before that envelope)."""
        if c not in self.compartments:
            return True  # medical access withdrawn meanwhile: nothing of it is kept here
        updates: list[bytes] = []
        cursor = self._cursors[c]
        new_seq = cursor.seq
        fragments_done: list[bytes] = []
        new_fragments: list[payload.Fragment] = []
        refused: list[tuple[bytes, str]] = []
        me = self.keys.identity.device_id

        def screened(batch: list[bytes], author: bytes, seq: int) -> list[bytes]:
            # The role table, on what this device applies (mano_core.rules.remote).
            out = []
            for update in batch:
                try:
                    kept, refusal = self.team.screen_remote(c, update, author)
                except MalformedUpdateError:
                    out.append(update)  # refused with the batch below, as before
                    continue
                if refusal is not None:
                    self._alert("refused", f"envelope {seq} of compartment {c.name}, author "
                                           f"{author.hex()[:12]}…: {refusal}")
                    refused.append((batch[len(out)], str(refusal)))
                out.append(kept)
            return out

        for seq, raw in items:
            if seq <= new_seq:
                continue  # already applied (a resumed stream may overlap)
            try:
                opened = self.keys.open(raw, c)
            except MissingKeyError:
                self.need_keys = True
                break
            except ReplayError:
                new_seq = seq
                continue
            except EnvelopeError as exc:
                self._alert("rejected", f"envelope {seq} of compartment {c.name}: {exc}")
                new_seq = seq
                continue
            new_seq = seq
            author = opened.envelope.header.author
            if author == me:
                continue  # our own edit, already in the document
            if seq > self.live_after.get(c, seq) and not self.keys.log.has_access(author, c):
                self._alert("rejected", f"envelope {seq} of compartment {c.name}: its author "
                                        "no longer has access to it")
                continue
            try:
                content = payload.decode(opened.plaintext)
            except MalformedUpdateError as exc:
                self._alert("rejected", f"envelope {seq}: {exc}")
                continue
            author = opened.envelope.header.author
            if isinstance(content, payload.Batch):
                updates.extend(screened(list(content.u), author, seq))
            else:
                group = self._fragments.setdefault(content.g, [])
                group.append(content)
                new_fragments.append(content)
                if len({f.i for f in group}) == content.n:
                    updates.extend(screened(list(payload.join_fragments(group).u), author,
                                            seq))
                    fragments_done.append(content.g)
        for report in self.keys.chain(c).take_reports():
            kind = "fork" if report.forked else "gap"
            self._alert(kind, f"author {report.author.hex()[:12]}…: expected counter "
                              f"{report.expected_counter}, got {report.received_counter}")
        if new_seq == cursor.seq and not updates:
            return not self.need_keys
        cursor.seq = new_seq

        async def also(tx: StoreTransaction) -> None:
            await tx.put(self._ns, f"cursor/{c.name.lower()}", msgspec.msgpack.encode(cursor))
            for frag in new_fragments:
                if frag.g not in fragments_done:
                    await tx.put(self._ns, f"frag/{frag.g.hex()}/{frag.i}",
                                 msgspec.msgpack.encode(frag))
            for group_id in fragments_done:
                for frag in self._fragments.pop(group_id, []):
                    await tx.delete(self._ns, f"frag/{group_id.hex()}/{frag.i}")
            await self.keys.save_chains(tx)
            for update, reason in refused:
                await self.team.quarantine.put(tx, c, update, f"refused: {reason}",
                                               keep_content=not self.team.erasures.orders())

        try:
            await self.team.apply_remote(c, updates, also)
        except MalformedUpdateError as exc:
            self._alert("rejected", f"updates up to {new_seq}: {exc}")
            await self.team.apply_remote(c, [], also)
        self.state.cursor[c] = new_seq
        self.state.last_sync = time.time()
        await self.refresh_counts()
        return not self.need_keys

    async def _apply_snapshot(self, c: Compartment, raw: bytes) -> int:
        """Verify and apply a downloaded snapshot; returns the sequence it covers."""
        snap = open_snapshot(raw, log=self.keys.log, keyring=self.keys.keyring,
                             team_id=self.keys.team_id, compartment=c)
        cursor = self._cursors[c]

        async def also(tx: StoreTransaction) -> None:
            # Only once the document took the state: a state it refuses (not an update, nested
            # too deep) leaves the chain states and the cursor where they were.
            self.keys.chain(c).merge(snap.chain)
            cursor.seq = max(cursor.seq, snap.upto)
            cursor.snapshot = max(cursor.snapshot, snap.upto)
            await tx.put(self._ns, f"cursor/{c.name.lower()}", msgspec.msgpack.encode(cursor))
            await self.keys.save_chains(tx)

        await self.team.apply_remote(c, [snap.state], also)
        self.state.cursor[c] = cursor.seq
        return snap.upto

    def snapshot_due(self, c: Compartment) -> bool:
        cursor = self._cursors[c]
        return cursor.seq - cursor.snapshot >= SNAPSHOT_EVERY

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
        cursor = self._cursors[c]
        upto = cursor.seq
        state = core.encode_state()
        blob = seal_snapshot(self.keys.identity, self.keys.keyring, team_id=self.keys.team_id,
                             compartment=c, epoch=self.keys.log.epoch(c), upto=upto,
                             state=state, chain=self.keys.chain(c))
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
        cursor.snapshot = upto
        await self.store.put(self._ns, f"cursor/{c.name.lower()}", msgspec.msgpack.encode(cursor))
        return True

    def _alert(self, kind: str, detail: str) -> None:
        log.warning("%s: %s", kind, detail)
        self.state.alerts.append(Alert(kind, detail))
        del self.state.alerts[:-MAX_ALERTS]
        self._changed()
