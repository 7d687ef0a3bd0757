"""When this device uploads a snapshot of a compartment, and the upload itself (sealed,
chunked, then committed as the compartment's newest snapshot)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Final

from pycrdt import Map

from mano_core import limits
from mano_core.errors import RelayRefusedError
from mano_core.ids import Compartment
from mano_core.protocol import messages as m
from mano_core.protocol.codes import ErrorCode
from mano_core.sync.persist import Persisting
from mano_core.sync import snapshot_readers
from mano_core.sync.snapshot import seal_snapshot
from mano_core.sync.snapshot_v2 import seal_snapshot_v2
from mano_core.sync.transport import RelayClient

log = logging.getLogger("mano.sync")

# Snapshot policy (issue 24: relay write amplification). A device uploads a snapshot of a
# compartment once the envelopes delivered since the newest one weigh at least this fraction
# of the state's bytes (and at least SNAPSHOT_MIN_TAIL): the relay then stores at most
# (1 + 1/fraction) bytes per envelope byte before pruning (docs/operations.md), whatever the
# team's size, where a fixed count of envelopes made a 21 MB state per 300 small edits.
SNAPSHOT_TAIL_FRACTION: Final = 0.5
SNAPSHOT_MIN_TAIL: Final = 64 * 1024


class Snapshots(Persisting):
    """Snapshot uploads: due by the tail's bytes. Taking the snapshot (its state, ``upto`` and
    chain states) is serialised with deliveries, and so is committing that it was stored;
    waiting for the relay to store it is not (issue 24: an upload awaited on the delivery
    path held every delivery and push behind it for the relay's round trip)."""

    _reads_stated = False  # this device's statement is in the document (state_snapshot_reads)

    async def upload_snapshot(self, client: RelayClient, c: Compartment) -> bool:
        """Upload this device's state of ``c`` as covering everything applied so far; False
        (nothing sent) while updates wait for their dependencies: their envelopes are accepted
        (in the chain states the snapshot carries) but their content is not in the state yet,
        so a device restoring the snapshot would never get it. Returns once the relay stored
        it and this device committed so."""
        async with self._serial:
            taken = await self._take_snapshot(c)
        return taken is not None and await self._send_snapshot(client, c, taken)

    async def upload_due_snapshot(self, client: RelayClient, c: Compartment) -> bool:
        """``upload_snapshot`` if ``snapshot_due`` still holds once the uploads and deliveries
        before it are done (the receiver and the sender both ask: one upload, not two)."""
        if c in self._uploading:
            return False
        self._uploading.add(c)
        try:
            return await self._upload_if_due(client, c)
        finally:
            self._uploading.discard(c)

    async def snapshot_if_due(self, client: RelayClient, c: Compartment) -> None:
        """Start the upload of a snapshot of ``c`` if one is due, in the session's task group
        when the session gave one (``spawn``; its failure ends the session, as an awaited one
        did), else awaited here. One upload per compartment at a time."""
        await self.state_snapshot_reads()
        if c in self._uploading or not self.snapshot_due(c):
            return
        if self.spawn is None:
            await self.upload_due_snapshot(client, c)
            return
        self._uploading.add(c)
        task = self.spawn(self._upload_if_due(client, c))
        task.add_done_callback(lambda _t: self._uploading.discard(c))  # even if never run

    async def _upload_if_due(self, client: RelayClient, c: Compartment) -> bool:
        async with self._serial:
            taken = await self._take_snapshot(c) if self.snapshot_due(c) else None
        # Spare: the relay keeps it only if no snapshot as new is stored or being uploaded
        # (every device at the head takes one of the same ``upto`` at once); an erasure's
        # upload (``upload_snapshot``) is not spare: it must replace (docs/protocol.md §6).
        return taken is not None and await self._send_snapshot(client, c, taken, spare=True)

    def snapshot_due(self, c: Compartment) -> bool:
        """Whether this device should upload a snapshot of ``c`` now: the envelopes delivered
        since the newest snapshot weigh SNAPSHOT_TAIL_FRACTION of its state (bytes, not a
        count: see SNAPSHOT_TAIL_FRACTION), and it is at the head (none of its own envelopes
        is unanswered, no catch-up is under way), so the snapshot covers the tail whole
        instead of leaving most of it for the next one (the sender looks again once its
        pushes are answered: ``push_pending``). It stays due while an upload is under way,
        until that upload's commit restarts the tail."""
        tail, state = self._tail.get(c, (0, 0))
        if tail < SNAPSHOT_MIN_TAIL or self.sm.in_flight or self.state.behind:
            return False  # also not mid-way: this device's own pushes or a catch-up go on
        if not state:  # never measured on this device (a team without a snapshot yet)
            # Encoded once (DocumentCore.encode_state keeps it while nothing changes: the
            # upload that follows, or a compaction just before, takes the same encoding).
            state = len(self.team.compartment(c).core.encode_state())
            self._tail[c] = (tail, state)
        return tail >= SNAPSHOT_TAIL_FRACTION * state

    async def _take_snapshot(self, c: Compartment) -> _Taken | None:
        """The sealed snapshot of ``c`` as committed now (call with ``_serial`` held: no
        delivery half applied), or None while updates wait for their dependencies."""
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
            return None
        upto = self.sm.cursor(c)
        state = core.encode_state()   # (the one snapshot_due took, if nothing changed since)
        # Sealed in a worker thread (issue 24): AES-GCM and Ed25519 over the whole state (20 MB
        # at MANO scale: ~0.15 s on the loop) release the GIL. What the thread reads is fixed
        # here, on the loop: ``state`` is immutable bytes, ``chain`` a copy, the epoch read and
        # its cipher put in the keyring's cache (MissingKeyError raised here, as before).
        epoch = self.keys.log.epoch(c)
        self.keys.keyring.aead(c, epoch)
        tail = self._tail.get(c, (0, 0))[0]
        seal = seal_snapshot_v2 if self.writes_v2(c) else seal_snapshot
        blob = await asyncio.to_thread(
            seal, self.keys.identity, self.keys.keyring, team_id=self.keys.team_id,
            compartment=c, epoch=epoch, upto=upto, state=state, chain=self.sm.chain(c))
        return _Taken(upto, blob, len(state), tail)

    def _readers(self) -> Any:
        return self.team.compartment(Compartment.GENERAL).core.doc.get(
            snapshot_readers.ROOT, type=Map)

    def writes_v2(self, c: Compartment) -> bool:
        """Whether this device's snapshots of ``c`` are version 2: every device that may read
        them said it reads version 2 (mano_core/sync/snapshot_readers.py)."""
        return snapshot_readers.writes_v2(self._readers(), self.keys.log,
                                          me=self.keys.identity.device_id,
                                          team_id=self.keys.team_id, compartment=c)

    async def state_snapshot_reads(self) -> None:
        """Once per process, at the head: write this device's signed statement of the
        snapshot version it reads into the general document if it is not there (a local
        edit, sent as any other; snapshot_readers.py). Not while catching up (the first
        delivery into an empty document merges a whole state quietly), nor before the
        general compartment's tail or state reach ``STATE_AFTER_BYTES``. Committed as a
        background edit: it does not hold the user's next edit back for the flush timer."""
        if self._reads_stated or self.state.behind:
            return
        if max(self._tail.get(Compartment.GENERAL, (0, 0))) < snapshot_readers.STATE_AFTER_BYTES:
            return  # no snapshot is due in a team this small: no statement either
        readers = self._readers()
        me, team_id = self.keys.identity.device_id, self.keys.team_id
        if not snapshot_readers.stated(readers, me=me, team_id=team_id):
            holder = self.team.compartment(Compartment.GENERAL)
            with holder.core.doc.transaction():
                readers[me.hex()] = snapshot_readers.statement(self.keys.identity, team_id)
            await holder.commit(background=True)
        self._reads_stated = True

    async def _send_snapshot(self, client: RelayClient, c: Compartment, taken: _Taken, *,
                             spare: bool = False) -> bool:
        """Upload a taken snapshot, wait for the relay to store it (deliveries go on
        meanwhile), then commit its ``upto`` as the newest snapshot (serialised again). A
        CONFLICT means a snapshot as new is stored already: committed the same way."""
        request_id = client.next_id()
        step = limits.MAX_SNAPSHOT_CHUNK
        blob = taken.blob
        parts = [blob[i:i + step] for i in range(0, len(blob), step)] or [b""]
        fut = None
        for index, part in enumerate(parts):
            msg = m.SnapshotPut(id=request_id, c=int(c), upto=taken.upto, part=index,
                                last=index == len(parts) - 1, data=part, spare=spare)
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
        async with self._serial:
            # The tail restarts at the snapshot's ``upto``: the bytes delivered since it was
            # taken stay counted (_next_tail).
            self._snapshot_state, self._snapshot_tail = taken.state_bytes, taken.tail
            try:
                await self.run(self.sm.snapshot_uploaded(c, taken.upto))
            finally:
                self._snapshot_state, self._snapshot_tail = 0, None
        return True


@dataclass(frozen=True, slots=True)
class _Taken:
    """A snapshot sealed and not uploaded yet."""

    upto: int
    blob: bytes
    state_bytes: int
    tail: int  # the tail's bytes (committed) when it was taken
