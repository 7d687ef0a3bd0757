"""Document bodies between this device and the relay (docs/protocol.md §7a), while online.

* **Uploads**: each body queued by ``team.documents`` goes up part by part (``file_put``,
  each part answered once durable at the relay). After a drop, a crash or a restart the
  upload asks ``file_status`` and resumes after the last part the relay holds; the body stays
  pinned on the device until the relay holds all of it.
* **Deletions**: every relay deletion owed (a deleted document, an erasure) is sent with
  ``file_delete`` and leaves the queue only once the relay answered; an erasure's
  confirmation waits for that (mano_core/sync/erasure.py).
* **Downloads**: ``team.documents.read`` of a body not on the device asks ``fetch`` for
  ranges of parts (``file_get``), so that progress can be reported.

* **Hand-over**: documents withheld when this device lost access to their compartment (its
  health flag withdrawn before the relay held their bodies, mano_core.documents.service) go
  back to the uploads once the flag is back and the compartment caught up.

A refusal that is not the connection's end (STORAGE_FULL, TOO_LARGE…) is an alert, and the
upload is tried again later; it never ends the session."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Final

from mano_core.documents.service import Documents, Progress
from mano_core.errors import DocumentUnavailableError, RelayRefusedError, SyncError
from mano_core.ids import Compartment
from mano_core.protocol import messages as m
from mano_core.protocol.codes import ErrorCode
from mano_core.sync.transport import RelayClient

log = logging.getLogger("mano.sync.documents")

RETRY_AFTER: Final = 30.0    # seconds before offering again an upload the relay refused
FETCH_BATCH: Final = 4       # parts asked for in one file_get (progress between batches)


def withheld_text(count: int) -> str:
    """The alert for documents kept after the health flag was withdrawn."""
    what = "1 medical document" if count == 1 else f"{count} medical documents"
    verb = "was" if count == 1 else "were"
    return (f"{what} attached on this device {verb} not at the relay yet when its health flag "
            f"was withdrawn: kept encrypted on this device (unreadable here), not sent, and "
            f"handed over when an admin gives this device the health flag back "
            f"(team.documents.discard_withheld deletes them)")


def withheld_edits_text(count: int) -> str:
    """The alert's words for medical edits kept after the health flag was withdrawn."""
    what = "1 medical edit" if count == 1 else f"{count} medical edits"
    return (f"{what} made here and not at the relay yet: kept encrypted on this device, not "
            f"sent, and sent when an admin gives this device the health flag back "
            f"(team.discard_withheld_edits deletes them)")


def _gone(exc: RelayRefusedError) -> bool:
    """True if the refusal is the connection ending (the session reconnects)."""
    return exc.fatal or exc.code == 0


class DocumentTransfers:
    """The uploads, relay deletions and downloads of one team's documents (SyncClient)."""

    def __init__(self, documents: Documents, alert: Callable[[str, str], None],
                 changed: Callable[[], None] = lambda: None,
                 caught_up: Callable[[Compartment], bool] = lambda _c: False) -> None:
        self.documents = documents
        self._alert = alert
        self._changed = changed  # the sync state changed (an erasure may confirm now)
        self._caught_up = caught_up  # this session applied the relay's head of a compartment
        self._wake = asyncio.Event()
        self._retry_at: dict[str, float] = {}
        self.client: RelayClient | None = None
        # A seam for fault injection (tests): awaited after each part the relay acknowledged.
        self.after_part: Callable[[str, int], Awaitable[None]] | None = None

    def wake(self) -> None:
        self._wake.set()

    def attach(self, client: RelayClient) -> None:
        """Serve downloads through ``client`` from now on (once authenticated, before the
        catch-up: a record seen a moment ago opens at once)."""
        self.client = client
        self.documents.remote = self
        self.documents.on_queued = self.wake

    def detach(self, client: RelayClient) -> None:
        """The session of ``client`` is over: reads of bodies not held fail fast again."""
        if self.client is client:
            self.client = None
            if self.documents.remote is self:
                self.documents.remote = None

    async def serve(self, client: RelayClient) -> None:
        """Run for the session: deletions first, then uploads, then wait for more."""
        self.attach(client)
        try:
            while True:
                self._wake.clear()
                await self._hand_over()
                await self._deletions(client)
                await self._uploads(client)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(RETRY_AFTER):
                        await self._wake.wait()
        finally:
            self.detach(client)

    def wake_if_withheld(self) -> None:
        """The sync state changed: a withheld document may be handed over now."""
        if self.documents.bodies.withheld:
            self._wake.set()

    async def _hand_over(self) -> None:
        held = {c for c, _ in self.documents.bodies.withheld.values()}
        ready = any(self.documents.holds(c) and self._caught_up(c) for c in held)
        if ready and (done := await self.documents.hand_over()):
            what = "1 medical document" if done == 1 else f"{done} medical documents"
            self._alert("documents", f"{what} kept since the health flag was withdrawn "
                                     f"handed over: sent to the relay now")

    # --- deletions ----------------------------------------------------------------------------

    async def _deletions(self, client: RelayClient) -> None:
        bodies = self.documents.bodies
        for file, c in list(bodies.deletions.items()):
            try:
                await client.request(m.FileDelete(id=client.next_id(), c=int(c),
                                                  file=bytes.fromhex(file)))
            except RelayRefusedError as exc:
                if _gone(exc):
                    raise
                if exc.code != ErrorCode.FORBIDDEN:
                    self._alert("documents", f"relay deletion of a document refused: {exc}")
                    continue
                # This device lost access to the compartment: the devices that have it owe
                # the deletion too (an erasure waits for each of them).
                self._alert("documents", "a document deletion is left to the devices that "
                                         f"hold the {c.name.lower()} compartment")
            await bodies.deleted_at_relay(file)
            self._changed()

    # --- uploads ------------------------------------------------------------------------------

    async def _uploads(self, client: RelayClient) -> None:
        for file, (c, parts) in list(self.documents.bodies.uploads.items()):
            if self._retry_at.get(file, 0.0) > time.monotonic():
                continue
            try:
                await self._upload(client, file, c, parts)
            except RelayRefusedError as exc:
                if _gone(exc):
                    raise
                self._retry_at[file] = time.monotonic() + RETRY_AFTER
                self._alert("documents", f"upload of a document refused, tried again later: "
                                         f"{exc}")

    async def _upload(self, client: RelayClient, file: str, c: Compartment, parts: int) -> None:
        bodies = self.documents.bodies
        raw = bytes.fromhex(file)
        try:
            (info,) = await client.request(m.FileStatus(id=client.next_id(), c=int(c), file=raw))
            assert isinstance(info, m.FileInfo)
            start, complete = info.parts, info.complete
        except RelayRefusedError as exc:
            if exc.code != ErrorCode.NOT_FOUND:
                raise
            start, complete = 0, False
        document = next((d.id for d in self.documents.list() if d.file == file), file)
        sizes = [len(p) for p in await bodies.parts(file) or []]
        total = sum(sizes)
        for index in range(start, parts if not complete else start):
            if file not in bodies.uploads:
                return  # deleted meanwhile: the deletion queue takes it from here
            data = await bodies.part(file, index)
            if data is None:
                self._alert("documents", "a document waiting for its upload lost its body on "
                                         "this device")
                await bodies.forget([(file, c)])
                return
            await client.request(m.FilePut(id=client.next_id(), c=int(c), file=raw,
                                           part=index, last=index == parts - 1, data=data))
            self.documents.report(Progress(document, "upload", sum(sizes[:index + 1]), total))
            if self.after_part is not None:
                await self.after_part(file, index)
        await bodies.uploaded(file)
        self._retry_at.pop(file, None)
        self._changed()
        log.info("document uploaded (%d parts, resumed at %d)", parts, start)

    # --- downloads (team.documents.read) -------------------------------------------------------

    async def fetch(self, c: Compartment, file: bytes, parts: int,
                    progress: Callable[[int], None]) -> list[bytes]:
        """The sealed parts of a complete file, in ranges of FETCH_BATCH parts.
        DocumentUnavailableError if the relay does not hold it (yet) or the session ends."""
        client = self.client
        if client is None:
            raise DocumentUnavailableError("the relay cannot be reached")
        out: list[bytes] = []
        done = 0
        try:
            while len(out) < parts:
                answers = await client.request(m.FileGet(
                    id=client.next_id(), c=int(c), file=file, first=len(out),
                    count=min(FETCH_BATCH, parts - len(out))))
                got = [a.data for a in answers if isinstance(a, m.FileData)]
                if not got:
                    break
                out.extend(got)
                done += sum(map(len, got))
                progress(done)
        except RelayRefusedError as exc:
            if exc.code == ErrorCode.NOT_FOUND:
                raise DocumentUnavailableError("the relay does not hold this document (yet): "
                                               "its author's device has not uploaded it") \
                    from None
            raise DocumentUnavailableError(f"the relay refused the download: {exc}") from None
        except SyncError as exc:  # the connection went away
            raise DocumentUnavailableError(f"the download was cut: {exc}") from None
        return out
