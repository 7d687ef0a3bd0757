"""A version-2 snapshot applied as it is downloaded (issue 24: a new device's first sync): each
part handed over as it arrives, each piece checked (hash, then AES-GCM, in a worker thread: both
release the GIL), read with the document's bounds and applied into a **private** document, the
event loop handed back between pieces (``loop_turns.Pace``). The download, the checks and
pycrdt's apply overlap, where version 1 runs them one after the other (the whole state
downloaded, then Ed25519 over all of it, then one apply that holds the loop ~0.2–0.3 s at MANO
scale).

The role screening's index is not marked here: marked in the checks' read of each piece, or
in a thread beside the store's write, it held the GIL ~60 ms more before the commit of a
MANO-scale first sync (docs/benchmarks.md, the fourteenth round); it is built after the
adoption, off the loop, from the stored pieces (mano_core/guarded_build.py).

Nothing of it is visible or stored before the caller adopts the result: pieces go into a ``Doc``
of this object's own, which ``finish`` hands over (``ReceivedSnapshot``: the document, the chain
state, ``upto``, and the store's form of the pieces, ``document.pieces.pack``) only once every
piece is in and checked. ``finish_ahead`` hands it over as soon as every piece is checked and
packed, the last ones perhaps still being applied (``ReceivedSnapshot.applied`` waits for them):
the adoption writes the pieces meanwhile and commits after. A refused piece, a drop or a
cancellation between pieces drops that document: nothing of the snapshot remains, and receiving
it again from its first byte (the same cursor) gives the same result. Adopting it — the
compartment's empty document replaced by this one, the pieces stored as its snapshot with the
cursor and the chain in one transaction — is the team's (mano_core/team_compartment.py), not
this module's.

Errors (``finish``, or ``put`` after the first one): those of ``snapshot_v2.SnapshotReader``;
MalformedEnvelopeError for a piece that is not a well-formed update (its cause the
MalformedUpdateError or TooDeepError) or does not integrate at once into the pieces before it
(the author's cut is wrong: a version-2 writer must order them so)."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import Any

from pycrdt import Doc

from mano_core.crypto import ChainState, Keyring, MembershipLog
from mano_core.document import pieces as doc_pieces
from mano_core.document import ydeps
from mano_core.document.ydeps import UpdateDeps, encode_state_vector, read_state_vector
from mano_core.errors import MalformedEnvelopeError, MalformedUpdateError, ManoError
from mano_core.ids import Compartment
from mano_core.loop_turns import Pace, retrieved
from mano_core.sync.snapshot_v2 import SnapshotReader, is_v2


@dataclass(frozen=True, slots=True)
class ReceivedSnapshot:
    """A version-2 snapshot received whole and checked, applied to ``doc`` (private: nobody
    else holds it). ``stored``: the pieces as the store keeps a snapshot (``pieces.pack``),
    which an open applies piece by piece without re-encoding the state. From
    ``SnapshotReceiver.finish_ahead``, the last pieces may still be being applied to ``doc``:
    ``await applied()`` before reading it (it raises what refused a piece)."""

    compartment: Compartment
    epoch: int
    author: bytes
    upto: int
    chain: ChainState
    doc: Doc[Any]
    stored: bytes
    size: int  # bytes of the snapshot as downloaded
    applying: asyncio.Task[None] | None = None  # the last pieces' apply (finish_ahead)

    async def applied(self) -> None:
        """Once every piece is applied to ``doc`` and the document holds all they hold;
        raises (MalformedEnvelopeError) otherwise."""
        if self.applying is not None:
            await asyncio.shield(self.applying)


class SnapshotReceiver:
    """Receive one version-2 snapshot: ``put`` each downloaded part as it arrives (from the
    download's callback: it does not wait), then ``await finish()`` (or ``finish_ahead``).
    ``close`` abandons it (a drop, a cancellation): the private document is dropped. One use.

    Two tasks: one checks the parts (hash and AES-GCM in a worker thread, which also reads
    each piece's dependencies), the other applies the pieces into the private document on
    the loop, in order, so the checks of the next parts run beside pycrdt's apply."""

    # Applies done on the loop before it is let run (``loop_turns.Pace``; None: its default,
    # a fifth of the 50 ms target; a MANO-scale piece is ~5 ms).
    slice_seconds: float | None = None

    def __init__(self, *, log: MembershipLog, keyring: Keyring, team_id: bytes,
                 compartment: Compartment) -> None:
        self._reader = SnapshotReader(log=log, keyring=keyring, team_id=team_id,
                                      compartment=compartment)
        self._compartment = compartment
        self._doc: Doc[Any] | None = Doc()
        self._held: dict[int, int] = {}      # the private document's state vector
        self._ends: dict[int, int] = {}      # what every piece checked so far adds up to
        self._updates: list[bytes] = []      # every piece checked so far, in order
        self._parts: deque[bytes] = deque()
        self._arrived = asyncio.Event()
        self._ended = False                  # finish was called: no part follows
        self._worker: asyncio.Task[None] | None = None    # the checks
        self._applier: asyncio.Task[None] | None = None   # the applies
        self._checked: deque[tuple[bytes, UpdateDeps]] = deque()  # not applied yet
        self._more = asyncio.Event()         # something to apply, or the checks ended
        self._checks_done = False
        self.bytes_received = 0              # bytes put so far (the download's progress)
        self.pieces_applied = 0              # state pieces applied to the private document

    @property
    def bytes_total(self) -> int | None:
        """The snapshot's bytes, once its manifest is verified (None before)."""
        manifest = self._reader.manifest
        return manifest.total if manifest is not None else None

    @property
    def pieces_total(self) -> int | None:
        """State pieces the manifest lists (the chain state's not counted), once verified."""
        manifest = self._reader.manifest
        return len(manifest.lengths) - 1 if manifest is not None else None

    def put(self, part: bytes) -> None:
        """The next downloaded part: checked and applied in the background, in order. Raises
        the error that refused the snapshot, if one did already."""
        if self._doc is None or self._ended:
            self._raise_failure()
            raise MalformedEnvelopeError("snapshot part after the snapshot's end")
        self.bytes_received += len(part)
        self._parts.append(part)
        self._arrived.set()
        if self._worker is None:
            self._start()
        else:
            self._raise_failure()

    def _start(self) -> None:
        loop = asyncio.get_running_loop()
        self._worker = loop.create_task(self._work())
        self._applier = loop.create_task(self._apply_all())

    async def finish(self) -> ReceivedSnapshot:
        """Once the download has ended: the snapshot, every piece checked and applied; raises
        (MalformedEnvelopeError for missing pieces, or what refused one) and drops the
        private document otherwise."""
        received = await self.finish_ahead()
        try:
            await received.applied()
        except BaseException:
            self.close()
            raise
        return received

    async def finish_ahead(self) -> ReceivedSnapshot:
        """Once the download has ended: the snapshot as soon as every piece is checked and
        packed (``stored``), while the last pieces may still be being applied to its
        document (``ReceivedSnapshot.applied``): the caller can write ``stored`` meanwhile.
        Raises as ``finish`` for what the checks refused."""
        self._ended = True
        self._arrived.set()
        try:
            if self._worker is None:
                self._start()
            assert self._worker is not None and self._applier is not None
            await asyncio.shield(self._worker)
            self._raise_failure()  # (a piece the applies refused already)
            doc, manifest, chain = self._doc, self._reader.manifest, self._reader.chain
            assert doc is not None and manifest is not None and chain is not None
            stored = await asyncio.to_thread(doc_pieces.pack, self._updates,
                                             encode_state_vector(self._ends))
            applying = asyncio.get_running_loop().create_task(self._complete(doc))
            applying.add_done_callback(retrieved)  # (a caller that gave up never awaits it)
        except BaseException:
            self.close()
            raise
        self._updates = []
        return ReceivedSnapshot(self._compartment, manifest.epoch, manifest.author,
                                manifest.upto, chain, doc, stored, self.bytes_received,
                                applying)

    async def _complete(self, doc: Doc[Any]) -> None:
        """The last pieces applied; the document holds all the pieces add up to."""
        assert self._applier is not None
        try:
            await asyncio.shield(self._applier)
            if read_state_vector(doc.get_state()) != self._ends:
                raise MalformedEnvelopeError("snapshot pieces left items out of the document")
        except BaseException:
            self.close()
            raise
        self._doc = None

    def close(self) -> None:
        """Abandon the snapshot: the background work is cancelled, the document dropped."""
        self._doc = None
        self._updates = []
        self._parts.clear()
        self._checked.clear()
        for task in (self._worker, self._applier):
            if task is not None and not task.done():
                task.cancel()

    def _raise_failure(self) -> None:
        for task in (self._worker, self._applier):
            if task is not None and task.done() and not task.cancelled():
                error = task.exception()
                if error is not None:
                    raise error

    async def _work(self) -> None:
        """The parts checked in order (hash and AES-GCM of the pieces each completes, and
        each piece's dependencies read, in a worker thread), handed to the applies."""
        try:
            while True:
                while self._parts:
                    part = self._parts.popleft()
                    checked = await asyncio.to_thread(self._check, part)
                    self._checked.extend(checked)
                    self._more.set()
                if self._ended:
                    break
                self._arrived.clear()
                await self._arrived.wait()
            self._reader.finish()
        finally:
            self._checks_done = True
            self._more.set()

    def _check(self, part: bytes) -> list[tuple[bytes, UpdateDeps]]:
        """(In a worker thread.) The pieces ``part`` completes, checked, with their
        dependencies; what they add up to noted."""
        checked = []
        for update in self._reader.feed(part):
            index = len(self._updates) + 1
            try:  # (read past ydeps' parse memo, which the loop's thread uses)
                deps = ydeps.read_update(update, None)[0]
            except MalformedUpdateError as exc:
                raise MalformedEnvelopeError(f"snapshot piece {index}: {exc}") from exc
            deps.advance(self._ends)
            self._updates.append(update)
            checked.append((update, deps))
        return checked

    async def _apply_all(self) -> None:
        """The checked pieces applied in order, the loop let run between them."""
        pace = Pace(self.slice_seconds)
        while True:
            while self._checked:
                update, deps = self._checked.popleft()
                self._apply(update, deps)
                await pace.step()
            if self._checks_done:  # (refused or not: ``finish`` raises the checks' error)
                return
            self._more.clear()
            await self._more.wait()
            pace.restart()

    def _apply(self, update: bytes, deps: UpdateDeps) -> None:
        doc = self._doc
        if doc is None:  # closed meanwhile
            return
        index = self.pieces_applied + 1
        if not deps.satisfied_by(self._held):
            raise MalformedEnvelopeError(
                f"snapshot piece {index} does not integrate into the pieces before it")
        try:
            doc.apply_update(update)
        except Exception as exc:  # pycrdt's own (a ValueError) on what read_deps let by
            raise MalformedEnvelopeError(f"snapshot piece {index}: {exc}") from exc
        deps.advance(self._held)
        self.pieces_applied += 1


class PipelinedDownload:
    """One snapshot download's parts (``snapshot_get``'s, as they arrive): fed to a
    ``SnapshotReceiver`` if the first part names version 2, else left to the caller
    (``put`` returns False: a version-1 snapshot is framed and opened whole)."""

    def __init__(self, *, log: MembershipLog, keyring: Keyring, team_id: bytes,
                 compartment: Compartment) -> None:
        self._keys = (log, keyring, team_id, compartment)
        self._receiver: SnapshotReceiver | None = None
        self._first = True
        self._refused = False   # a part was refused: ``finish`` raises why
        self.parts = 0          # parts taken

    @property
    def active(self) -> bool:
        """Whether the download is a version-2 snapshot's, received here."""
        return self._receiver is not None

    def put(self, part: bytes) -> bool:
        """Take the next part if the download is version 2's (True); never raises (what
        refused the snapshot is raised by ``finish``)."""
        if self._first:
            self._first = False
            if is_v2(part):
                log, keyring, team_id, compartment = self._keys
                self._receiver = SnapshotReceiver(log=log, keyring=keyring, team_id=team_id,
                                                  compartment=compartment)
        receiver = self._receiver
        if receiver is None:
            return False
        self.parts += 1
        if not self._refused:
            try:
                receiver.put(part)
            except ManoError:
                self._refused = True
        return True

    async def finish(self) -> ReceivedSnapshot:
        """The snapshot received (``SnapshotReceiver.finish``: raises what refused it)."""
        if self._receiver is None:
            raise MalformedEnvelopeError("no version-2 snapshot was downloaded")
        return await self._receiver.finish()

    async def finish_ahead(self) -> ReceivedSnapshot:
        """The snapshot checked and packed, its last pieces perhaps still being applied
        (``SnapshotReceiver.finish_ahead``: raises what refused it)."""
        if self._receiver is None:
            raise MalformedEnvelopeError("no version-2 snapshot was downloaded")
        return await self._receiver.finish_ahead()

    def close(self) -> None:
        """Abandon it (idempotent; after ``finish`` too)."""
        if self._receiver is not None:
            self._receiver.close()

async def receive(parts: list[bytes], *, log: MembershipLog, keyring: Keyring,
                  team_id: bytes, compartment: Compartment) -> ReceivedSnapshot:
    """A version-2 snapshot's parts, all at hand, through a ``SnapshotReceiver``."""
    receiver = SnapshotReceiver(log=log, keyring=keyring, team_id=team_id,
                                compartment=compartment)
    try:
        for part in parts:
            receiver.put(part)
        return await receiver.finish()
    finally:
        receiver.close()
