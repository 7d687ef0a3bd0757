"""Where a device keeps document bodies: sealed parts in the encrypted local store (so a body is
encrypted twice at rest: with its own key, and by the store), an LRU index bounded in bytes,
the uploads waiting for the relay and the relay deletions owed.

Every change is one store transaction, and the in-memory view changes only after it commits
("nothing becomes true before it is committed"). Namespaces, per team::

    documents/<team>/body/<file hex>   key "00000", "00001", …  a sealed part
    documents/<team>/cache             key file hex              [compartment, bytes, used, pinned]
    documents/<team>/uploads           key file hex              [compartment, parts]
    documents/<team>/deletions         key file hex              [compartment]
    documents/<team>/withheld          key file hex              [compartment, record]

A body waiting for its upload is pinned: never evicted. A *withheld* body is one whose upload
this device may no longer make (its health flag was withdrawn before the relay held it): it
stays pinned, out of the upload queue, with the record that names it (msgpack of the
``HealthDocument``), until it is handed back to the upload queue or discarded
(mano_core.documents.service)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec

from mano_core import limits
from mano_core.ids import Compartment


class BodyStore(Protocol):
    """What this module needs of mano_core.store.LocalStore."""

    async def get(self, namespace: str, key: str) -> bytes | None: ...
    async def items(self, namespace: str) -> list[tuple[str, bytes]]: ...
    def transaction(self) -> Any: ...
    async def checkpoint(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Cached:
    """A body held on this device."""

    compartment: Compartment
    size: int          # sealed bytes
    used: float        # last opened or stored (unix time)
    pinned: bool       # waiting for its upload: never evicted


def part_key(index: int) -> str:
    return f"{index:05d}"


class Bodies:
    """The document bodies of one team on this device (``Documents`` drives it)."""

    def __init__(self, store: BodyStore, team_id: str, *,
                 capacity: int = limits.DOCUMENT_CACHE_BYTES,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.capacity = capacity
        self._clock = clock
        self._ns = f"documents/{team_id}"
        self.cached: dict[str, Cached] = {}
        self.uploads: dict[str, tuple[Compartment, int]] = {}
        self.deletions: dict[str, Compartment] = {}
        self.withheld: dict[str, tuple[Compartment, bytes]] = {}

    def body_ns(self, file: str) -> str:
        return f"{self._ns}/body/{file}"

    async def load(self) -> None:
        """Read the index, the uploads and the deletions (once, when the team opens)."""
        for key, raw in await self.store.items(f"{self._ns}/cache"):
            c, size, used, pinned = msgspec.msgpack.decode(raw, type=tuple[int, int, float, bool])
            self.cached[key] = Cached(Compartment(c), size, used, pinned)
        for key, raw in await self.store.items(f"{self._ns}/uploads"):
            c, parts = msgspec.msgpack.decode(raw, type=tuple[int, int])
            self.uploads[key] = (Compartment(c), parts)
        for key, raw in await self.store.items(f"{self._ns}/deletions"):
            (c,) = msgspec.msgpack.decode(raw, type=tuple[int])
            self.deletions[key] = Compartment(c)
        for key, raw in await self.store.items(f"{self._ns}/withheld"):
            c, record = msgspec.msgpack.decode(raw, type=tuple[int, bytes])
            self.withheld[key] = (Compartment(c), record)

    @property
    def cached_bytes(self) -> int:
        return sum(e.size for e in self.cached.values())

    # --- reads ----------------------------------------------------------------------------------

    async def parts(self, file: str) -> list[bytes] | None:
        """The sealed parts of a cached body, in order, or None if it is not held."""
        if file not in self.cached:
            return None
        rows = await self.store.items(self.body_ns(file))
        return [value for _key, value in sorted(rows)] or None

    async def part(self, file: str, index: int) -> bytes | None:
        return await self.store.get(self.body_ns(file), part_key(index))

    # --- writes (one transaction each) ------------------------------------------------------------

    async def keep(self, file: str, c: Compartment, parts: list[bytes], *,
                   upload: bool) -> None:
        """Store a body (pinned and queued for upload when ``upload``), evicting the least
        recently used unpinned bodies beyond the capacity in the same transaction."""
        entry = Cached(c, sum(map(len, parts)), self._clock(), upload)
        evicted = self._victims(entry.size, keep=file)
        async with self.store.transaction() as tx:
            for i, part in enumerate(parts):
                await tx.put(self.body_ns(file), part_key(i), part)
            await self._put_entry(tx, file, entry)
            if upload:
                await tx.put(f"{self._ns}/uploads", file,
                             msgspec.msgpack.encode((int(c), len(parts))))
            for victim in evicted:
                await self._drop(tx, victim)
        self.cached[file] = entry
        if upload:
            self.uploads[file] = (c, len(parts))
        for victim in evicted:
            self.cached.pop(victim, None)

    async def touch(self, file: str) -> None:
        """Mark a cached body as just opened (the LRU order)."""
        entry = self.cached.get(file)
        if entry is None:
            return
        entry = Cached(entry.compartment, entry.size, self._clock(), entry.pinned)
        async with self.store.transaction() as tx:
            await self._put_entry(tx, file, entry)
        self.cached[file] = entry

    async def uploaded(self, file: str) -> None:
        """The relay holds the whole body: no longer queued nor pinned (evicted if over)."""
        entry = self.cached.get(file)
        unpinned = Cached(entry.compartment, entry.size, entry.used, False) if entry else None
        async with self.store.transaction() as tx:
            await tx.delete(f"{self._ns}/uploads", file)
            if unpinned is not None:
                await self._put_entry(tx, file, unpinned)
        self.uploads.pop(file, None)
        if unpinned is not None:
            self.cached[file] = unpinned
        victims = self._victims(0)
        if victims:
            async with self.store.transaction() as tx:
                for victim in victims:
                    await self._drop(tx, victim)
            for victim in victims:
                self.cached.pop(victim, None)

    async def forget(self, files: Iterable[tuple[str, Compartment]], *,
                     at_relay: bool = True) -> None:
        """Delete these bodies from this device and cancel their uploads; with ``at_relay``,
        queue their deletion at the relay (durably, in the same transaction). The store's log
        is checkpointed after, so the deleted rows leave no copy in its -wal file."""
        todo = [(f, c) for f, c in files
                if f in self.cached or f in self.uploads or f in self.withheld
                or (at_relay and f not in self.deletions)]
        if not todo:
            return
        async with self.store.transaction() as tx:
            for file, c in todo:
                await self._drop(tx, file)
                await tx.delete(f"{self._ns}/uploads", file)
                await tx.delete(f"{self._ns}/withheld", file)
                if at_relay:
                    await tx.put(f"{self._ns}/deletions", file,
                                 msgspec.msgpack.encode((int(c),)))
        for file, c in todo:
            self.cached.pop(file, None)
            self.uploads.pop(file, None)
            self.withheld.pop(file, None)
            if at_relay:
                self.deletions[file] = c
        await self.store.checkpoint()

    async def withhold(self, tx: Any, items: dict[str, tuple[Compartment, bytes]]) -> None:
        """In ``tx`` (the caller's transaction): take these uploads out of the queue and keep
        them withheld with their records; the bodies stay, pinned. ``withheld_committed``
        once ``tx`` committed."""
        for file, (c, record) in items.items():
            await tx.delete(f"{self._ns}/uploads", file)
            await tx.put(f"{self._ns}/withheld", file, msgspec.msgpack.encode((int(c), record)))

    def withheld_committed(self, items: dict[str, tuple[Compartment, bytes]]) -> None:
        for file, value in items.items():
            self.uploads.pop(file, None)
            self.withheld[file] = value

    async def hand_back(self, file: str) -> None:
        """A withheld body goes back to the upload queue (the device may write again)."""
        c, _record = self.withheld[file]
        parts = len(await self.store.items(self.body_ns(file)))
        async with self.store.transaction() as tx:
            await tx.delete(f"{self._ns}/withheld", file)
            await tx.put(f"{self._ns}/uploads", file, msgspec.msgpack.encode((int(c), parts)))
        self.withheld.pop(file, None)
        self.uploads[file] = (c, parts)

    async def deleted_at_relay(self, file: str) -> None:
        async with self.store.transaction() as tx:
            await tx.delete(f"{self._ns}/deletions", file)
        self.deletions.pop(file, None)

    # --- internals --------------------------------------------------------------------------------

    async def _put_entry(self, tx: Any, file: str, e: Cached) -> None:
        await tx.put(f"{self._ns}/cache", file,
                     msgspec.msgpack.encode((int(e.compartment), e.size, e.used, e.pinned)))

    async def _drop(self, tx: Any, file: str) -> None:
        """Queue deleting a body's parts and index entry (its part count from the index, or
        from the upload queue; parts beyond are never written)."""
        count = self.uploads.get(file, (Compartment.GENERAL, 0))[1]
        rows = await self.store.items(self.body_ns(file))
        for i in range(max(count, len(rows))):
            await tx.delete(self.body_ns(file), part_key(i))
        await tx.delete(f"{self._ns}/cache", file)

    def _victims(self, incoming: int, keep: str = "") -> list[str]:
        """Least recently used unpinned bodies to drop so that ``incoming`` more bytes fit."""
        total = self.cached_bytes + incoming
        victims = []
        for file, entry in sorted(self.cached.items(), key=lambda kv: kv[1].used):
            if total <= self.capacity:
                break
            if entry.pinned or file == keep:
                continue
            victims.append(file)
            total -= entry.size
        return victims
