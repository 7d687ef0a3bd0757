"""One collection of records inside a team document: get, list, and the cache they read
(its writes: mano_core.document.collection_writes).

Synchronous and I/O-free: it changes the pycrdt document; the async facade (mano_core.team)
persists the resulting update before telling the caller it is saved. The first read decodes
every record at once (``list()``), or a slice at a time (``loading()``, which an async driver
steps between other work: mano_core.slices)."""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Final, Generic, Protocol, TypeVar

import msgspec
from pycrdt import Map

from mano_core.errors import NotFoundError, ValidationError
from mano_core.codes import Code
from mano_core.model.records import Record
from mano_core.model.validation import field_names, repair_tied, validate_stored

from . import layout
from .collection_writes import CollectionWrites
from .damage import Damage, damage_of

if TYPE_CHECKING:
    from .team_doc import DocumentCore

R = TypeVar("R", bound=Record)

# Records decoded per step of an incremental first read (``Collection.loading``): about 2–4 ms
# of work on the 2-core reference machine, so a driver can keep each slice of its event loop
# well under 50 ms whatever the collection's size.
LOAD_STEP_RECORDS: Final = 256
BUDGET_CHECK_RECORDS: Final = 16   # records between two looks at the clock (a step's budget)


class DerivedIndex(Protocol[R]):
    """What a collection keeps told of every change of the dict of decoded records it mirrors
    (``Collection.derive``; mano_core.document.action_index is one): ``put`` for every record
    decoded into that dict or dropped from it, through the read that makes the change visible,
    never before. ``source`` is the dict it mirrors (None: it gave up and rebuilds itself at
    its next query); ``follow(target)`` is asked before a record is decoded into a dict that is
    not ``source``: True when it may be told about it (an empty dict: a read starting, the
    index starts over for it), False when it gave up (a dict changed behind its back)."""

    source: dict[str, R] | None

    def follow(self, target: dict[str, R]) -> bool: ...

    def put(self, record_id: str, record: R | None) -> None: ...


class Collection(CollectionWrites[R]):
    """Records of one type. Reads are served from a cache kept in step with the document."""

    def __init__(self, core: DocumentCore, kind: type[R], *, history: bool = True) -> None:
        self._core = core
        self.kind = kind
        self.name = kind.collection
        self._map: Map[Any] = core.doc.get(self.name, type=Map)
        self._history = history and self.name not in ("history", "erasures",
                                                                "personMerges")
        self._opaque = self.name in layout.OPAQUE_COLLECTIONS
        self._cache: dict[str, R] | None = None
        self._damage: dict[str, Damage] = {}
        self._hidden: Callable[[R], bool] | None = None
        self._dirty: set[str] = set()
        # One set per incremental read under way (``loading``): ids changed meanwhile.
        self._watchers: builtins.list[set[str]] = []
        self._fields = dict(field_names(kind))   # a team's open builds 28 of these
        self._dict_fields = bool(layout.plan_for(kind).dicts)
        self._derived: tuple[DerivedIndex[R], ...] = ()

    def derive(self, index: DerivedIndex[R]) -> None:
        """Keep ``index`` told of every record decoded into this collection's cache or dropped
        from it (``DerivedIndex``): a first read at once or in slices, a record read again
        after a local edit, a delivery, a delete, a restore or an erasure."""
        self._derived = (*self._derived, index)

    # --- reads ---------------------------------------------------------------------------------

    def get(self, record_id: str, *, include_deleted: bool = False) -> R:
        """The record with that id; NotFoundError if absent (or deleted, unless asked)."""
        record = self._view().get(record_id)
        if record is not None and not include_deleted and self._hidden is not None \
                and self._hidden(record):
            raise NotFoundError(self.name, record_id)
        if record is None or (record.deleted and not include_deleted):
            damage = self._damage.get(record_id)
            if damage is not None:
                raise damage.error()
            raise NotFoundError(self.name, record_id)
        return record

    @property
    def loaded(self) -> bool:
        """True once this collection was read (its records are decoded and kept)."""
        return self._cache is not None

    def loading(self, step: int | None = None, *, budget: float | None = None,
                keys: Sequence[str] | None = None) -> Iterator[int]:
        """Decode every record into the cache, ``step`` records at a time (default
        ``LOAD_STEP_RECORDS``), yielding after each step how many of ``len(self._map)`` were
        read: the caller may run other work between two steps (an event loop,
        mano_core.slices), and any record that work changes is read again afterwards. With a
        ``budget`` (seconds), a step also ends once it took that long (checked every
        ``BUDGET_CHECK_RECORDS``): on a loaded machine a step of 256 records took 100–200 ms,
        a step bounded in time adapts to it. The cache is in place once the iterator is
        exhausted; it yields nothing when the collection is already read, and stops early when
        a synchronous read (``list()``, ``get()``) filled the cache meanwhile. Dropping it
        half-way leaves the collection unread (the next read starts over).

        ``keys``: the record ids expected (mano_core.document.root_keys: read from the bytes
        the document was made of, off the loop), read instead of listing the Map's keys in one
        pycrdt call (150 ms of the loop for 240,000 comments at ×10, issue 24). They are a
        hint, never trusted: an id absent from the Map is skipped, and once they are read the
        read is checked to be complete (``_complete``); if it is not, the Map's keys are
        listed after all and the records missed are read too."""
        if self._cache is not None:
            return
        step = max(1, step or LOAD_STEP_RECORDS)
        changed: set[str] = set()
        self._watchers.append(changed)
        try:
            cache: dict[str, R] = {}
            damage: dict[str, Damage] = {}
            found: set[str] = set()
            ids = list(keys) if keys is not None else self._listed()
            stopped = yield from self._steps(ids, step, budget, cache, damage, found, 0)
            if stopped:
                return
            if keys is not None:
                complete = self._complete(found, changed)
                # The check is a step of its own: its Map's len() walks every entry (6–8 ms
                # of the loop for 240,000 comments at ×10, quiet; 28–42 ms loaded), and the
                # driver may hand the loop back after it, before the next collection's read.
                yield len(ids)   # (as the last step: the count never goes back)
                if self._cache is not None:
                    return   # read at once meanwhile: that read is the newer one
            if keys is not None and not complete:
                rest = [k for k in self._listed() if k not in found]
                stopped = yield from self._steps(rest, step, budget, cache, damage, found,
                                                 len(found))
                if stopped:
                    return
            if self._cache is None:
                self._cache, self._damage = cache, damage
                self._dirty.update(changed)  # re-read on the next access
        finally:
            self._watchers.remove(changed)

    def _listed(self) -> builtins.list[str]:
        """The Map's keys, in one pycrdt call."""
        return [str(k) for k in self._map.keys()]  # noqa: SIM118 - a pycrdt Map

    def _steps(self, ids: builtins.list[str], step: int, budget: float | None,
               cache: dict[str, R], damage: dict[str, Damage], found: set[str],
               before: int) -> Generator[int, None, bool]:
        """Read the records of ``ids`` into ``cache``/``damage`` (``found``: the ids present),
        a step at a time (see ``loading``), yielding ``before`` + how many were read; True if
        it stopped because a read at once filled the cache meanwhile."""
        done = 0
        while done < len(ids):
            end = min(len(ids), done + step)
            started = time.perf_counter()
            with self._core.doc.transaction():  # one read transaction per step, not two
                while done < end:
                    record_id = ids[done]
                    done += 1
                    value = self._map.get(record_id)
                    if value is not None:
                        found.add(record_id)
                        raw = (value if self._opaque or not isinstance(value, Map)
                               else msgspec.json.decode(str(value)))
                        self._read(record_id, raw, cache, damage)
                    if budget is not None and not done % BUDGET_CHECK_RECORDS \
                            and time.perf_counter() - started >= budget:
                        break
            yield before + done
            if self._cache is not None:
                return True  # read at once meanwhile: that read is the newer one
        return False

    def _complete(self, found: set[str], changed: set[str]) -> bool:
        """Whether every record the Map holds now was read or changed since the read began
        (``changed``, watched: read again afterwards), given ``found``, the ids that were
        present when read. An id found and not changed since is still there (a removal is a
        change), an id not found and not changed is still absent; so the ids held now that
        are either are those found, less those changed, plus those changed that are there
        now, and the read missed none when they are as many as the Map holds. One
        transaction: counted at one moment. (``len(found - changed)`` copied the set: 10–27 ms
        of the loop for the 240,000 comments of a ×10 team, issue 24; counted from
        ``changed``, the few records changed during the read, instead.)"""
        with self._core.doc.transaction():
            here = sum(1 for k in changed if k in self._map)
            changed_found = sum(1 for k in changed if k in found)
            return len(found) - changed_found + here == len(self._map)

    def frozen(self) -> FrozenRecords[R]:
        """The records as they are now (read first if need be), readable from any thread:
        a worker may compute over them while the document keeps changing."""
        everything = builtins.list(self._view().values())
        hidden = self._hidden
        live = None if hidden is None else [r for r in everything
                                            if r.deleted_at is None and not hidden(r)]
        return FrozenRecords(everything, live)

    def damaged(self) -> builtins.list[Damage]:
        """Records of this collection that fail validation (left out of ``list()``), with who
        last wrote them and when (mano_core.document.damage)."""
        self._records()
        return sorted(self._damage.values(), key=lambda d: d.record_id)

    def list(self, *, include_deleted: bool = False) -> list[R]:
        """Every record, tombstones excluded unless asked."""
        records = self._view().values()
        if include_deleted:
            return list(records)
        hidden = self._hidden
        if hidden is not None:
            return [r for r in records if r.deleted_at is None and not hidden(r)]
        return [r for r in records if r.deleted_at is None]

    def __iter__(self) -> Iterator[R]:
        return iter(self.list())

    def __len__(self) -> int:
        return len(self.list())

    def filter(self, predicate: Callable[[R], bool]) -> builtins.list[R]:
        """Records (not deleted) for which ``predicate`` is true."""
        hidden = self._hidden or (lambda r: False)
        return [r for r in self._view().values()
                if r.deleted_at is None and not hidden(r) and predicate(r)]

    def hide_when(self, hidden: Callable[[R], bool]) -> None:
        """Read records for which ``hidden`` is true as deleted (mano_core.document.cascade:
        medical records follow their person's deletion)."""
        self._hidden = hidden

    # --- internals -----------------------------------------------------------------------------

    def _view(self) -> dict[str, R]:
        """The records as readers see them (subclasses may add to what is stored)."""
        return self._records()

    def _stored(self, record_id: str, *, include_deleted: bool = False) -> R:
        """The record as this document stores it, for a write; NotFoundError if absent."""
        record = self._records().get(record_id)
        if record is None or (record.deleted and not include_deleted):
            damage = self._damage.get(record_id)
            if damage is not None:
                raise damage.error()
            raise NotFoundError(self.name, record_id)
        return record

    def _records(self) -> dict[str, R]:
        if self._cache is None:
            raw: dict[str, Any] = msgspec.json.decode(str(self._map))
            self._cache = {}
            self._damage = {}
            for record_id, entries in raw.items():
                self._read(record_id, entries)
            self._dirty.clear()
        elif self._dirty:
            for record_id in self._dirty:
                self._reread(record_id)
            self._dirty.clear()
        return self._cache

    def _reread(self, record_id: str) -> None:
        cache = self._cache
        assert cache is not None
        value = self._map.get(record_id)
        cache.pop(record_id, None)
        self._damage.pop(record_id, None)
        if value is not None:
            raw_entry = (value if self._opaque or not isinstance(value, Map)
                         else msgspec.json.decode(str(value)))
            self._read(record_id, raw_entry)   # (tells the derived indexes)
        else:
            for index in self._derived:
                if index.source is cache:
                    index.put(record_id, None)

    def refreshing(self, budget: float) -> Iterator[int]:
        """Read again the records changed since they were read (a teammates' delivery: a
        read re-reads them all at once), each step ending once it took ``budget`` seconds,
        yielding how many are left: the caller runs other work between two steps. A record
        changed meanwhile is marked again and read again; a read meanwhile reads what is
        left. Nothing to do for a collection not read yet."""
        while self._cache is not None and self._dirty:
            started = time.perf_counter()
            with self._core.doc.transaction():  # one read transaction per step
                count = 0
                while self._dirty:
                    self._reread(self._dirty.pop())
                    count += 1
                    if not count % BUDGET_CHECK_RECORDS \
                            and time.perf_counter() - started >= budget:
                        break
            yield len(self._dirty)

    def _read(self, record_id: str, entries: Any, cache: dict[str, R] | None = None,
              damaged: dict[str, Damage] | None = None) -> None:
        """Decode one stored record into the cache (or ``cache``), or record why it is
        damaged (in ``damaged``, default the collection's own); the derived indexes that
        follow that dict are told (``derive``)."""
        if cache is None:
            assert self._cache is not None
            cache = self._cache
        if damaged is None:
            damaged = self._damage
        if not self._derived:
            self._decode(record_id, entries, cache, damaged)
            return
        # Asked before the decoding: an index follows a dict it is told about from empty.
        told = [i for i in self._derived if i.source is cache or i.follow(cache)]
        self._decode(record_id, entries, cache, damaged)
        for index in told:
            index.put(record_id, cache.get(record_id))

    def _decode(self, record_id: str, entries: Any, cache: dict[str, R],
                damaged: dict[str, Damage]) -> None:
        wire: Any = entries
        try:
            if not isinstance(entries, dict):
                raise ValidationError(f"{self.kind.label} {record_id}", "?", Code.NOT_A_RECORD)
            if self._opaque:
                wire = entries
            elif len(entries) == 1 and layout.BASE in entries and not self._dict_fields:
                wire = entries[layout.BASE]  # never edited: the base is the record (most)
            else:
                wire = layout.unflatten(self.kind, entries)
            if not isinstance(wire, dict):
                raise ValidationError(f"{self.kind.label} {record_id}", "?", Code.NOT_A_RECORD)
            record = layout.decode(self.kind, wire)
            assert isinstance(record, self.kind)
            if record.id != record_id:
                raise ValidationError(f"{self.kind.label} {record_id}", "id", Code.ID_MISMATCH)
            if not record.deleted:
                validate_stored(record)
                record = repair_tied(record)
        except (ValidationError, TypeError, ValueError, AttributeError) as exc:
            if isinstance(wire, dict) and wire.get("deletedAt"):
                return  # a deleted damaged record: nothing to show or repair
            damaged[record_id] = damage_of(self.name, record_id, wire, exc)
            return
        cache[record_id] = record

    def mark_dirty(self, record_ids: Iterable[str]) -> None:
        """Called by the document when these records changed (locally or remotely)."""
        ids = set(record_ids)
        if self._cache is not None:
            self._dirty.update(ids)
        for watcher in self._watchers:
            watcher.update(ids)


class FrozenRecords(Generic[R]):
    """A collection's records copied at one moment (``Collection.frozen``): ``list()`` as the
    collection's, from plain frozen structs only (no pycrdt object: any thread may read it)."""

    def __init__(self, everything: builtins.list[R], live: builtins.list[R] | None) -> None:
        self._everything = everything
        self._live = live

    def list(self, *, include_deleted: bool = False) -> builtins.list[R]:
        if include_deleted:
            return builtins.list(self._everything)
        if self._live is None:  # computed by the reader (a worker thread), once
            self._live = [r for r in self._everything if r.deleted_at is None]
        return builtins.list(self._live)

    def __len__(self) -> int:
        return len(self.list())
