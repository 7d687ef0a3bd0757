"""What a team's documents hold on this device, and its upkeep: the records of the held
compartments, the bodies' sweeps, erasures and compartments dropped, and the uploads withheld
when access to a compartment was withdrawn before the relay held them. The base of
``Documents`` (mano_core.documents.service), which adds the API's reads, writes and transfers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from mano_core import limits
from mano_core.documents.bodies import Bodies
from mano_core.errors import NotFoundError
from mano_core.ids import Compartment
from mano_core.model.records import Document

if TYPE_CHECKING:
    from mano_core.document.collection import Collection
    from mano_core.team import Team

COLLECTIONS = {Compartment.GENERAL: "documents", Compartment.MEDICAL: "medicalDocuments"}
# What a withheld document keeps of its record (its id to find it again, its person).
KEPT_FIELDS = ("id", "person", "owner_kind", "owner", "name", "folder", "mime", "size", "file",
               "key", "parts", "chunk", "digest")


class HeldDocuments:
    """The document records and bodies this device holds for one team, and their upkeep."""

    def __init__(self, team: Team, *, cache_bytes: int = limits.DOCUMENT_CACHE_BYTES) -> None:
        self.team = team
        self.bodies = Bodies(team.store, team.id, capacity=cache_bytes)
        # Called after an upload or a relay deletion was queued (the sync client's worker).
        self.on_queued: Callable[[], None] | None = None
        self._lock = asyncio.Lock()  # one body write at a time: the LRU stays consistent

    # --- records ------------------------------------------------------------------------------

    def _collection(self, c: Compartment) -> Collection[Any] | None:
        doc = self.team.doc if c is Compartment.GENERAL else self.team.medical_doc
        return None if doc is None else doc.collections[COLLECTIONS[c]]

    def holds(self, c: Compartment) -> bool:
        """True if this device holds compartment ``c`` (MEDICAL: with the health flag)."""
        return self._collection(c) is not None

    def _held(self) -> list[tuple[Compartment, Collection[Any]]]:
        return [(c, coll) for c in COLLECTIONS if (coll := self._collection(c)) is not None]

    def get(self, document_id: str, *, include_deleted: bool = False) -> Document:
        """The document record. NotFoundError if there is none on this device (a medical one
        on a device without the health flag), or it is deleted (unless asked)."""
        for _c, coll in self._held():
            try:
                record: Document = coll.get(document_id, include_deleted=include_deleted)
                return record
            except NotFoundError:
                continue
        raise NotFoundError("documents", document_id)

    def list(self) -> list[Document]:
        """Every live document this device may read."""
        return [d for _c, coll in self._held() for d in coll.list()]

    # --- upkeep -------------------------------------------------------------------------------

    async def load(self) -> None:
        """Read what this device holds (when the team opens) and tidy it: bodies and uploads
        no live record names any more (a deletion or a crash between the body and its
        record) leave the device and, when this device uploaded them, the relay."""
        await self.bodies.load()
        await self.sweep()

    async def sweep(self) -> int:
        """Drop the bodies no live record of a held compartment names; returns how many."""
        live = {d.file for d in self.list() if d.key}
        held = {c for c, _ in self._held()}
        withheld = self.bodies.withheld  # waiting for their hand-over, records included
        stale = [(f, e.compartment) for f, e in self.bodies.cached.items()
                 if f not in live and e.compartment in held and f not in withheld]
        stale += [(f, c) for f, (c, _n) in self.bodies.uploads.items()
                  if f not in live and c in held and f not in self.bodies.cached]
        if not stale:
            return 0
        async with self._lock:
            await self.bodies.forget(stale)
        self._queued()
        return len(stale)

    async def forget_erased(self, general: Sequence[str], medical: Sequence[str]) -> None:
        """Before an erasure removes these document records (ids per compartment): delete
        their bodies here and queue their deletion at the relay, durably, while their file
        ids are still known (mano_core.erasure.service)."""
        files = []
        for c, ids in ((Compartment.GENERAL, general), (Compartment.MEDICAL, medical)):
            coll = self._collection(c)
            if coll is None:
                continue
            for record_id in ids:
                try:
                    record = coll.get(record_id, include_deleted=True)
                except NotFoundError:
                    continue
                if record.file:
                    files.append((record.file, c))
        if files:
            async with self._lock:
                await self.bodies.forget(files)
            self._queued()

    async def drop_compartment(self, c: Compartment) -> None:
        """This device no longer holds ``c`` (its health flag was withdrawn): its bodies and
        uploads of ``c`` leave the device, but for the withheld ones (``withhold``); the relay
        keeps the files for those who may."""
        files = [(f, e.compartment) for f, e in self.bodies.cached.items()
                 if e.compartment is c and f not in self.bodies.withheld]
        files += [(f, cc) for f, (cc, _n) in self.bodies.uploads.items() if cc is c]
        if files:
            async with self._lock:
                await self.bodies.forget(files, at_relay=False)

    # --- access withdrawn before the relay held a body (docs/embedding.md, "Documents") ---------

    async def withhold(self, tx: Any, c: Compartment) -> Callable[[], None]:
        """In ``tx``, the transaction that drops compartment ``c`` from this device: keep the
        uploads of ``c`` still owed (body and record) instead of losing them with it. Returns
        what to call once ``tx`` committed. Nothing is sent from them until ``hand_over``."""
        coll = self._collection(c)
        items: dict[str, tuple[Compartment, bytes]] = {}
        for file, (cc, _n) in self.bodies.uploads.items():
            record = next((d for d in coll.list(include_deleted=True) if d.file == file),
                          None) if coll is not None and cc is c else None
            if record is None or not record.key or record.deleted_at is not None:
                continue
            fields = {name: getattr(record, name) for name in KEPT_FIELDS}
            items[file] = (c, msgspec.msgpack.encode(fields))
        await self.bodies.withhold(tx, items)
        return lambda: self.bodies.withheld_committed(items)

    async def hand_over(self) -> int:
        """This device holds the compartment of its withheld documents again (the flag given
        back): each body whose record is back on this device (caught up from the relay, or
        its own withheld edit sent and echoed) goes back to the upload queue, resumed where
        the relay stopped; one whose record was deleted meanwhile is dropped. Returns how many
        were handed over; the others wait for their record (call again)."""
        done = 0
        for file, (c, raw) in list(self.bodies.withheld.items()):
            coll = self._collection(c)
            if coll is None:
                continue
            fields = msgspec.msgpack.decode(raw, type=dict[str, Any])
            try:
                record: Document = coll.get(fields["id"], include_deleted=True)
            except NotFoundError:
                continue  # not here yet: it comes with the catch-up or the edits sent
            if not record.key or record.deleted_at is not None or record.file != file:
                async with self._lock:  # deleted or erased meanwhile by a teammate
                    await self.bodies.forget([(file, c)], at_relay=False)
                continue
            async with self._lock:
                await self.bodies.hand_back(file)
            done += 1
        if done:
            self._queued()
        return done

    async def discard_withheld(self) -> int:
        """Delete the withheld documents from this device for good (their records never
        reached the relay, or their bodies will never be complete there); returns how many."""
        files = [(f, c) for f, (c, _r) in self.bodies.withheld.items()]
        async with self._lock:
            await self.bodies.forget(files, at_relay=False)
        return len(files)

    async def forget_withheld_of(self, persons: Sequence[str]) -> None:
        """An erasure of ``persons``: their withheld documents leave this device too."""
        wanted = set(persons)
        files = [(f, c) for f, (c, raw) in self.bodies.withheld.items()
                 if msgspec.msgpack.decode(raw, type=dict[str, Any]).get("person") in wanted]
        if files:
            async with self._lock:
                await self.bodies.forget(files, at_relay=False)

    @property
    def deletions_pending(self) -> int:
        """Relay deletions this device still owes (an erasure waits for them)."""
        return len(self.bodies.deletions)

    def _queued(self) -> None:
        if self.on_queued is not None:
            self.on_queued()
