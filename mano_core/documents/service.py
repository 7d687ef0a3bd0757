"""A team's documents (``team.documents``): files attached to a person, or, on health devices,
to a medical file, a consultation or a treatment.

    doc = await team.documents.add(person.id, "carte-ame.pdf", pdf_bytes, folder="Papiers")
    team.documents.of(person.id)              # [Document], by folder then name
    data = await team.documents.read(doc.id)  # bytes: from this device, or from the relay
    await team.documents.rename(doc.id, "AME 2026.pdf")
    await team.documents.move(doc.id, "Papiers/Santé")
    await team.documents.delete(doc.id)       # gone from the relay and every device's cache

A document is a record of the CRDT (``Document`` in the general compartment for a person,
``HealthDocument`` in the medical one); its body is sealed on this device with its own random
key, held only by the record (mano_core.documents.body), and stored at the relay as an opaque
file while this device keeps the sealed parts (mano_core.documents.bodies). ``add`` returns once
the body and the record are committed to the local store; the upload happens when a relay is
reachable (mano_core.sync.documents), resuming where it stopped."""

from __future__ import annotations

import asyncio
import builtins
import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol


from mano_core import limits
from mano_core.documents import mime as mimes
from mano_core.documents.held import HeldDocuments
from mano_core.documents.body import open_body, seal_body
from mano_core.errors import (
    DocumentCorruptedError,
    DocumentUnavailableError,
    LimitExceededError,
    NotFoundError,
    ValidationError,
)
from mano_core.codes import Code
from mano_core.ids import Compartment
from mano_core.model.records import Document, HealthDocument
from mano_core.model.validation import validate

if TYPE_CHECKING:
    from mano_core.team import Team

Source = bytes | str | os.PathLike[str]


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a transfer has gone: ``done`` of ``total`` sealed bytes."""

    document: str
    direction: str  # "upload" or "download"
    done: int
    total: int


ProgressListener = Callable[[Progress], None]


class DocumentRemote(Protocol):
    """Where bodies not on this device come from (the sync client, while online)."""

    async def fetch(self, c: Compartment, file: bytes, parts: int,
                    progress: Callable[[int], None]) -> list[bytes]:
        """The sealed parts of a complete file. DocumentUnavailableError if the relay does
        not hold it (yet) or the connection is gone."""
        ...


class Documents(HeldDocuments):
    """The documents of one team (see the module docstring). Writes are awaited and durable;
    reads of records are synchronous, reads of bodies may download. What this device holds
    and its upkeep (sweeps, erasures, withheld uploads) are mano_core.documents.held."""

    def __init__(self, team: Team, *, max_size: int = limits.DOCUMENT_MAX_SIZE,
                 cache_bytes: int = limits.DOCUMENT_CACHE_BYTES) -> None:
        super().__init__(team, cache_bytes=cache_bytes)
        self.max_size = max_size
        self.remote: DocumentRemote | None = None
        self._listeners: list[ProgressListener] = []

    # --- records ------------------------------------------------------------------------------

    def of(self, owner_id: str) -> builtins.list[Document]:
        """The live documents attached to a person, medical file, consultation or treatment,
        by folder then name. For a person, those of its medical file, consultations and
        treatments are not included (ask for each owner)."""
        # A person's own documents are found by ``person`` (what a merge of two files
        # re-points, mano_core.document.person_merge), the others by their owner record.
        found = [d for d in self.list()
                 if (d.person if d.owner_kind == "person" else d.owner) == owner_id]
        return sorted(found, key=lambda d: (d.folder, d.name.casefold(), d.id))

    def folders(self, owner_id: str) -> builtins.list[str]:
        """The folders holding documents of ``owner_id`` (with their parents), sorted."""
        out: set[str] = set()
        for d in self.of(owner_id):
            parts = d.folder.split("/") if d.folder else []
            out.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
        return sorted(out)

    def compartment_of(self, document: Document) -> Compartment:
        return Compartment.MEDICAL if isinstance(document, HealthDocument) else \
            Compartment.GENERAL

    def cached(self, document_id: str) -> bool:
        """True if the body is on this device (it opens offline)."""
        return self.get(document_id).file in self.bodies.cached

    def uploading(self, document_id: str) -> bool:
        """True if this device still has to upload the body to the relay."""
        return self.get(document_id).file in self.bodies.uploads

    @property
    def withheld(self) -> int:
        """How many documents this device attached and could not send before it lost access
        to their compartment (its health flag withdrawn): kept here encrypted, unreadable and
        unlisted, until ``hand_over`` (the flag given back) or ``discard_withheld``."""
        return len(self.bodies.withheld)

    def subscribe_progress(self, listener: ProgressListener) -> Callable[[], None]:
        """Call ``listener`` as uploads and downloads go on; returns an unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def report(self, progress: Progress) -> None:
        for listener in list(self._listeners):
            listener(progress)

    # --- writes -------------------------------------------------------------------------------

    async def add(self, owner_id: str, name: str, source: Source, *, mime: str | None = None,
                  folder: str | None = None) -> Document:
        """Attach a file (``source``: its bytes, or a path to read) to a person, or on a
        health device to a medical file, consultation or treatment; ``name`` "" takes the
        path's file name. Returns the record once the sealed body and the record are
        committed here; the body reaches the relay when it can. Raises NotFoundError (no such
        owner on this device), LimitExceededError (above ``max_size`` bytes), ValidationError
        (a bad name or folder), PermissionDeniedError."""
        c, kind, person = self._owner(owner_id)
        if not isinstance(source, bytes):
            path = Path(source)
            name = name or path.name
            size = (await asyncio.to_thread(path.stat)).st_size
            if size > self.max_size:
                raise LimitExceededError("DOCUMENT_MAX_SIZE", size, self.max_size)
            data = await asyncio.to_thread(path.read_bytes)
        else:
            data = source
        if len(data) > self.max_size:
            raise LimitExceededError("DOCUMENT_MAX_SIZE", len(data), self.max_size)
        kind_cls = HealthDocument if c is Compartment.MEDICAL else Document
        fields: dict[str, Any] = {
            "person": person, "owner_kind": kind, "owner": owner_id, "name": name.strip(),
            "folder": normalise_folder(folder or ""),
            "mime": mimes.clean(mime) if mime else mimes.sniff(data, name)}
        _precheck(kind_cls, fields)
        sealed = await asyncio.to_thread(seal_body, data)
        fields.update(size=sealed.size, file=sealed.file.hex(), key=sealed.key.hex(),
                      parts=len(sealed.parts), chunk=sealed.chunk, digest=sealed.digest.hex())
        async with self._lock:  # the body first: a record never names a body not kept here
            await self.bodies.keep(sealed.file.hex(), c, list(sealed.parts), upload=True)
        holder = self.team.compartment(c)
        coll = self._collection(c)
        assert coll is not None
        record: Document = coll.create(**fields)
        await holder.commit()
        self._queued()
        return record

    async def rename(self, document_id: str, name: str) -> Document:
        """Give a document another name (ValidationError if empty or with '/')."""
        return await self._update(document_id, name=name.strip())

    async def move(self, document_id: str, folder: str) -> Document:
        """Put a document in ``folder`` ("a/b"; "" for the top)."""
        return await self._update(document_id, folder=normalise_folder(folder))

    async def delete(self, document_id: str) -> None:
        """Delete a document: its record is tombstoned without its key (rewritten, so the key
        leaves the document's state), its body leaves this device and is deleted at the relay
        (now if online, else when back). Other devices drop their cached copy when they see
        the deletion."""
        record = self.get(document_id)
        c = self.compartment_of(record)
        coll = self._collection(c)
        assert coll is not None
        coll.rewrite_deleted(document_id, key="", digest="")
        await self.team.compartment(c).commit()
        async with self._lock:
            await self.bodies.forget([(record.file, c)])
        self._queued()

    async def _update(self, document_id: str, **changes: Any) -> Document:
        record = self.get(document_id)
        c = self.compartment_of(record)
        coll = self._collection(c)
        assert coll is not None
        updated: Document = coll.update(document_id, **changes)
        await self.team.compartment(c).commit()
        return updated

    # --- bodies -------------------------------------------------------------------------------

    async def read(self, document_id: str, *,
                   progress: Callable[[int, int], None] | None = None) -> bytes:
        """The document's bytes: from this device if it holds the body (offline too), else
        downloaded from the relay and kept here (encrypted) for next time. ``progress(done,
        total)`` follows a download. Raises NotFoundError, DocumentUnavailableError (not here
        and the relay cannot give it now), DocumentCorruptedError (nothing is returned)."""
        record = self.get(document_id)
        if not record.key:
            raise NotFoundError("documents", document_id)
        key, file = bytes.fromhex(record.key), bytes.fromhex(record.file)
        digest = bytes.fromhex(record.digest)
        parts = await self.bodies.parts(record.file)
        if parts is not None:
            data = await asyncio.to_thread(open_body, key, file, parts, size=record.size,
                                           digest=digest)
            async with self._lock:
                await self.bodies.touch(record.file)
            return data
        remote = self.remote
        if remote is None:
            raise DocumentUnavailableError("this document is not on this device and the "
                                           "relay cannot be reached")
        c = self.compartment_of(record)
        total = record.size

        def step(done: int) -> None:
            if progress is not None:
                progress(min(done, total), total)
            self.report(Progress(document_id, "download", done, total))

        parts = await remote.fetch(c, file, record.parts, step)
        if len(parts) != record.parts:
            raise DocumentCorruptedError("the relay gave another number of parts")
        data = await asyncio.to_thread(open_body, key, file, parts, size=record.size,
                                       digest=digest)
        async with self._lock:  # only a body that opened is kept
            if self.get(document_id, include_deleted=True).key:  # not deleted meanwhile
                await self.bodies.keep(record.file, c, parts, upload=False)
        return data

    def _owner(self, owner_id: str) -> tuple[Compartment, str, str]:
        """(compartment, owner kind, person id) of an owner held on this device."""
        try:
            self.team.persons.get(owner_id)
            return Compartment.GENERAL, "person", owner_id
        except NotFoundError:
            pass
        medical = self.team.medical
        if medical is not None:
            for kind, coll in (("medicalFile", medical.medical_files),
                               ("consultation", medical.consultations),
                               ("treatment", medical.treatments)):
                try:
                    record = coll.get(owner_id)
                except NotFoundError:
                    continue
                return Compartment.MEDICAL, kind, str(record.person)
        raise NotFoundError("owners", owner_id)


def normalise_folder(folder: str) -> str:
    """``folder`` as folder names joined by "/" (blank names and outer slashes dropped)."""
    return "/".join(part.strip() for part in folder.split("/") if part.strip())


def _precheck(kind: type[Document], fields: dict[str, Any]) -> None:
    """ValidationError for a bad name or folder before anything is sealed or stored."""
    now = dt.datetime.now(dt.timezone.utc)
    try:
        probe = kind(id="probe", created_at=now, updated_at=now, **fields)
    except (TypeError, ValueError) as exc:
        raise ValidationError(kind.label, "fields", Code.UNREADABLE, detail=str(exc)) from None
    validate(probe)


__all__ = ["DocumentRemote", "Documents", "Progress", "normalise_folder"]
