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
from mano_core.document import root_keys, ydeps
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
    # The keys the pieces set in each root type (``root_keys``: read in the checks' thread,
    # without the GIL where the compiled module runs), deleted ones too: what ``doc``'s root
    # maps hold, or more; None if they were not read.
    keys: dict[str, set[str]] | None = None

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
    each piece's dependencies and the keys it sets, and goes on with the next part downloaded
    without waiting for a turn of the loop), the other applies the pieces into the private
    document on the loop, in order, so the checks of the next parts run beside pycrdt's
    apply."""

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
        # The keys of each root type the pieces checked so far set (None: not known).
        self._keys: dict[str, dict[str, None]] | None = {}
        self._parts: deque[bytes] = deque()
        self._arrived = asyncio.Event()
        self._ended = False                  # finish was called: no part follows
        self._worker: asyncio.Task[None] | None = None    # the checks
        self._applier: asyncio.Task[None] | None = None   # the applies
        self._checked: deque[tuple[bytes, UpdateDeps]] = deque()  # not applied yet
        self._more = asyncio.Event()         # something to apply, or the checks ended
        self._checks_done = False
        # The pieces packed and the keys they set, once the last is checked (``_pack``).
        self._packed: tuple[bytes, dict[str, set[str]] | None] | None = None
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
            assert self._packed is not None
            stored, keys = self._packed
            applying = asyncio.get_running_loop().create_task(self._complete(doc))
            applying.add_done_callback(retrieved)  # (a caller that gave up never awaits it)
        except BaseException:
            self.close()
            raise
        self._updates, self._packed = [], None
        return ReceivedSnapshot(self._compartment, manifest.epoch, manifest.author,
                                manifest.upto, chain, doc, stored, self.bytes_received,
                                applying, keys)

    def _pack(self) -> tuple[bytes, dict[str, set[str]] | None]:
        """(In a worker thread.) The pieces packed as the store keeps them, and the keys
        they set, by root type."""
        stored = doc_pieces.pack(self._updates, encode_state_vector(self._ends))
        found = self._keys
        return stored, None if found is None else {root: set(keys)
                                                   for root, keys in found.items()}

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
        self._keys = None
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
        loop = asyncio.get_running_loop()
        try:
            while self._packed is None and self._doc is not None:
                if self._parts or self._ended:
                    await asyncio.to_thread(self._check_queued, loop)
                    continue
                self._arrived.clear()
                if not self._parts and not self._ended:
                    await self._arrived.wait()
        finally:
            self._checks_done = True
            self._more.set()

    def _check_queued(self, loop: asyncio.AbstractEventLoop) -> None:
        """(In a worker thread.) Every part downloaded so far checked, the ones that arrive
        meanwhile too, each one's pieces handed to the applies as soon as it is checked:
        the thread does not wait for a turn of the loop, busy with pycrdt's applies, between
        two parts (issue 24: the checks lagged the download by several parts)."""
        while self._parts and self._doc is not None:
            checked = self._check(self._parts.popleft())
            loop.call_soon_threadsafe(self._hand_over, checked)
        if self._ended and not self._parts and self._doc is not None:  # (no part follows)
            self._reader.finish()   # (the pieces the manifest lists are all in)
            self._packed = self._pack()   # (in the same thread: no turn of the loop first)

    def _hand_over(self, checked: list[tuple[bytes, UpdateDeps]]) -> None:
        if self._doc is not None:  # (not closed meanwhile)
            self._checked.extend(checked)
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
            self._note_keys(update)
            self._updates.append(update)
            checked.append((update, deps))
        return checked

    def _note_keys(self, update: bytes) -> None:
        """(In the checks' thread.) The keys ``update``, a piece its read let by, sets in
        each root type (mano_core.document.root_keys: the walk without the GIL, the reader
        where it does not run), for the adoption's list of the records it holds."""
        if self._keys is None:
            return
        try:
            root_keys.keys_into(update, self._keys)
        except Exception:  # noqa: BLE001 - not the piece's refusal (read_update's): unknown
            self._keys = None  # (the adoption lists the document's maps instead)

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
