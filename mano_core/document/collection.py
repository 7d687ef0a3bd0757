"""One collection of records inside a team document: create, update, soft-delete, get, list.

Synchronous and I/O-free: it changes the pycrdt document; the async facade (mano_core.team)
persists the resulting update before telling the caller it is saved. The first read decodes
every record at once (``list()``), or a slice at a time (``loading()``, which an async driver
steps between other work: mano_core.slices)."""

from __future__ import annotations

import builtins
import datetime as dt
import time

import uuid
from collections.abc import Callable, Iterable, Iterator, Set as AbstractSet
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

import msgspec
from pycrdt import Map

from mano_core.errors import NotFoundError, ValidationError
from mano_core.codes import Code
from mano_core.model.records import Record
from mano_core.model.validation import repair_tied, validate, validate_stored

from . import layout
from .listed import check_listed
from .damage import Damage, damage_of

if TYPE_CHECKING:
    from .team_doc import DocumentCore

R = TypeVar("R", bound=Record)

_PROTECTED = frozenset({"id", "createdAt", "createdBy", "updatedAt", "updatedBy", "deletedAt"})
_NOT_IN_HISTORY = frozenset({"updatedAt", "updatedBy"})
# Records decoded per step of an incremental first read (``Collection.loading``): about 2–4 ms
# of work on the 2-core reference machine, so a driver can keep each slice of its event loop
# well under 50 ms whatever the collection's size.
LOAD_STEP_RECORDS: Final = 256
BUDGET_CHECK_RECORDS: Final = 16   # records between two looks at the clock (a step's budget)


class Collection(Generic[R]):
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
        self._fields = {f.name: f.encode_name for f in msgspec.structs.fields(kind)}
        self._dict_fields = bool(layout.plan_for(kind).dicts)

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

    def loading(self, step: int | None = None, *,
                budget: float | None = None) -> Iterator[int]:
        """Decode every record into the cache, ``step`` records at a time (default
        ``LOAD_STEP_RECORDS``), yielding after each step how many of ``len(self._map)`` were
        read: the caller may run other work between two steps (an event loop,
        mano_core.slices), and any record that work changes is read again afterwards. With a
        ``budget`` (seconds), a step also ends once it took that long (checked every
        ``BUDGET_CHECK_RECORDS``): on a loaded machine a step of 256 records took 100–200 ms,
        a step bounded in time adapts to it. The cache is in place once the iterator is
        exhausted; it yields nothing when the collection is already read, and stops early when
        a synchronous read (``list()``, ``get()``) filled the cache meanwhile. Dropping it
        half-way leaves the collection unread (the next read starts over)."""
        if self._cache is not None:
            return
        step = max(1, step or LOAD_STEP_RECORDS)
        changed: set[str] = set()
        self._watchers.append(changed)
        try:
            ids = [str(k) for k in self._map.keys()]  # noqa: SIM118 - a pycrdt Map
            cache: dict[str, R] = {}
            damage: dict[str, Damage] = {}
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
                            raw = (value if self._opaque or not isinstance(value, Map)
                                   else msgspec.json.decode(str(value)))
                            self._read(record_id, raw, cache, damage)
                        if budget is not None and not done % BUDGET_CHECK_RECORDS \
                                and time.perf_counter() - started >= budget:
                            break
                yield done
                if self._cache is not None:
                    return  # read at once meanwhile: that read is the newer one
            if self._cache is None:
                self._cache, self._damage = cache, damage
                self._dirty.update(changed)  # re-read on the next access
        finally:
            self._watchers.remove(changed)

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

    # --- writes --------------------------------------------------------------------------------

    def create(self, **fields: Any) -> R:
        """Validate and add a new record; returns it. Raises ValidationError, changing nothing."""
        now = self._core.now()
        wire = self._wire_changes(fields, creating=True)
        wire.setdefault("id", str(uuid.uuid4()))
        if wire["id"] in self._map:
            raise ValidationError(self.kind.label, "id", Code.RECORD_EXISTS)
        wire.update(createdAt=now.isoformat(), updatedAt=now.isoformat(),
                    createdBy=self._core.author, updatedBy=self._core.author)
        record = self._validated(wire)
        check_listed(getattr(self._core, "settings", None), record, None)
        self._write_new(record)
        return record

    def update(self, record_id: str, **changes: Any) -> R:
        """Change some fields; unchanged fields are not written. Returns the new record."""
        current = self._stored(record_id)
        old_wire = layout.to_wire(current)
        new_wire = dict(old_wire)
        new_wire.update(self._wire_changes(changes, creating=False))
        new_wire.update(updatedAt=self._core.now().isoformat(), updatedBy=self._core.author)
        record = self._validated(new_wire, changed=_changed(old_wire, new_wire))
        check_listed(getattr(self._core, "settings", None), record, current)
        new_wire = layout.to_wire(record)
        self._write_changes(record_id, old_wire, new_wire)
        return record

    def delete(self, record_id: str, *, at: dt.datetime | None = None) -> R:
        """Soft-delete: set ``deletedAt`` (a tombstone that syncs like any edit), now unless
        ``at`` is given. A damaged record raises DamagedRecordError: ``repair`` or
        ``delete_damaged`` it."""
        current = self._stored(record_id)
        now = (at or self._core.now()).isoformat()
        old_wire = layout.to_wire(current)
        new_wire = dict(old_wire, deletedAt=now, updatedAt=now, updatedBy=self._core.author)
        record = self._validated(new_wire, changed=frozenset({"deletedAt"}))
        self._write_changes(record_id, old_wire, layout.to_wire(record))
        return record

    def rewrite_deleted(self, record_id: str, **changes: Any) -> R:
        """Tombstone a record by writing it again as one fresh entry (its base value only) with
        ``changes``: nothing of its previous entries (the base as created, overlays) stays in
        the document's state once it is re-encoded. A concurrent edit of the old entry is lost
        with it. mano_core.documents uses it so that a deleted document's key is forgotten."""
        current = self._stored(record_id, include_deleted=True)
        now = self._core.now().isoformat()
        wire = dict(layout.to_wire(current))
        wire.update(self._wire_changes(changes, creating=False))
        wire.update(deletedAt=wire.get("deletedAt") or now, updatedAt=now,
                    updatedBy=self._core.author)
        record = self._validated(wire, changed=frozenset({"deletedAt", *wire}))
        with self._core.doc.transaction():
            self._map[record_id] = self._new_entry(record)
            if self._history:
                self._core.write_history(self.name, record_id, "deletedAt", None, now)
        return record

    def repair(self, record_id: str, **fields: Any) -> R:
        """Write a damaged record again from its readable fields and ``fields`` (which must
        make it valid: ValidationError otherwise, nothing written). Returns the record."""
        self._records()
        damage = self._damage.get(record_id)
        if damage is None:
            raise NotFoundError(self.name, record_id)
        defaults = layout.plan_for(self.kind).defaults
        wire = {k: v for k, v in damage.wire.items() if k in self._fields.values()}
        wire.update(self._wire_changes(fields, creating=False))
        wire.update(id=record_id, updatedAt=self._core.now().isoformat(),
                    updatedBy=self._core.author)
        wire.setdefault("createdAt", wire["updatedAt"])
        record = self._try_repair(wire, defaults)
        with self._core.doc.transaction():
            # A fresh entry: whatever the damaged one held (a base or overlay entries of the
            # wrong type) is dropped with it.
            self._map[record_id] = self._new_entry(record)
            if self._history:
                self._core.write_history(self.name, record_id, "repaired",
                                         f"{damage.field}: {damage.reason}", None)
        return record

    def delete_damaged(self, record_id: str) -> None:
        """Delete a damaged record (a tombstone over whatever it holds)."""
        self._records()
        if record_id not in self._damage:
            raise NotFoundError(self.name, record_id)
        self._delete_damaged(record_id)

    def _try_repair(self, wire: dict[str, Any], defaults: dict[str, Any]) -> R:
        # A field whose stored value is unreadable falls back to its default when the repair
        # does not give it: the admin sees the record and corrects it afterwards.
        for _attempt in range(len(self._fields) + 1):
            try:
                return self._validated(wire)
            except ValidationError as exc:
                if exc.field in defaults and exc.field in wire:
                    wire[exc.field] = defaults[exc.field]
                    continue
                raise
        return self._validated(wire)

    def _delete_damaged(self, record_id: str) -> None:
        now = self._core.now().isoformat()
        entry = self._map.get(record_id)
        with self._core.doc.transaction():
            if isinstance(entry, Map):
                entry["deletedAt"] = now
                entry["updatedAt"] = now
                entry["updatedBy"] = self._core.author
            else:
                del self._map[record_id]  # not even a record: nothing of it can be kept

    def restore(self, record_id: str) -> R:
        """Undo a soft-delete (clear ``deletedAt``). NotFoundError if there is no such record."""
        current = self._stored(record_id, include_deleted=True)
        if not current.deleted:
            return current
        old_wire = layout.to_wire(current)
        new_wire = dict(old_wire, deletedAt=None, updatedAt=self._core.now().isoformat(),
                        updatedBy=self._core.author)
        record = self._validated(new_wire, changed=frozenset({"deletedAt"}))
        self._write_changes(record_id, old_wire, layout.to_wire(record))
        return record

    def increment(self, record_id: str, field: str, counter: str, by: int = 1) -> R:
        """Add ``by`` to one named counter of a record; concurrent increments add up."""
        self.get(record_id)  # NotFoundError if absent or deleted
        plan = layout.plan_for(self.kind)
        wire_field = self._fields.get(field, field)
        if wire_field not in plan.counters:
            raise ValidationError(f"{self.kind.label} {record_id}", wire_field, Code.NOT_A_COUNTER)
        if not counter or "#" in counter:
            raise ValidationError(f"{self.kind.label} {record_id}", wire_field,
                                  Code.BAD_COUNTER_NAME)
        key = layout.counter_key(wire_field, counter, self._core.doc.client_id)
        entry = self._map[record_id]
        with self._core.doc.transaction():
            entry[key] = int(entry.get(key, 0) or 0) + by
            entry["updatedAt"] = msgspec.to_builtins(self._core.now())  # the "Z" text form
            entry["updatedBy"] = self._core.author
        return self.get(record_id)

    def insert_many(self, records: Iterable[R]) -> int:
        """Bulk-load already-built records (imports, demo data): no history, one transaction."""
        count = 0
        with self._core.doc.transaction():
            for record in records:
                self._map[record.id] = self._new_entry(record)
                count += 1
        return count

    # --- erasure (mano_core.erasure) -----------------------------------------------------------

    def erase(self, record_ids: Iterable[str]) -> builtins.list[str]:
        """Remove records from the document for good (not a tombstone): their content is
        garbage-collected from the document's state, no history is written. Returns the ids
        that were present. Only the erasure service calls this."""
        present = [i for i in record_ids if i in self._map]
        if present:
            with self._core.doc.transaction():
                for record_id in present:
                    del self._map[record_id]
        return present

    def strip(self, record_id: str, field: str, drop: Callable[[str], bool]) -> bool:
        """Remove from a set field of a record every item for which ``drop`` is true, leaving
        no trace of them in its entries (the base value is rewritten without them). True if
        anything was removed. Only the erasure service calls this."""
        entry = self._map.get(record_id)
        if entry is None or self._opaque:
            return False
        changed = False
        with self._core.doc.transaction():
            for key in [k for k in entry.keys()  # noqa: SIM118 - a pycrdt Map
                        if k.startswith(field + "[") and k.endswith("]")]:
                if drop(key[len(field) + 1:-1]):
                    del entry[key]
                    changed = True
            base = entry.get(layout.BASE)
            if isinstance(base, dict) and any(drop(str(i)) for i in base.get(field) or []):
                entry[layout.BASE] = dict(base, **{field: [i for i in base[field]
                                                           if not drop(str(i))]})
                changed = True
        return changed

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

    def _wire_changes(self, fields: dict[str, Any], *, creating: bool) -> dict[str, Any]:
        wire: dict[str, Any] = {}
        for name, value in fields.items():
            encoded = self._fields.get(name)
            if encoded is None:
                if name in self._fields.values():
                    encoded = name
                else:
                    raise ValidationError(self.kind.label, name, Code.UNKNOWN_FIELD)
            if encoded in _PROTECTED and not (creating and encoded == "id"):
                raise ValidationError(self.kind.label, encoded, Code.PROTECTED_FIELD)
            wire[encoded] = msgspec.to_builtins(value)
        return wire

    def _validated(self, wire: dict[str, Any], *,
                   changed: AbstractSet[str] | None = None) -> R:
        record = layout.decode(self.kind, wire)
        assert isinstance(record, self.kind)
        validate(record, self._core.custom_field_definitions(), changed=changed)
        return record

    def _new_entry(self, record: R) -> Any:
        wire = layout.to_wire(record)
        if self._opaque:
            return wire
        return Map({layout.BASE: layout.base_value(self.kind, wire)})

    def _write_new(self, record: R) -> None:
        with self._core.doc.transaction():
            self._map[record.id] = self._new_entry(record)
            if self._history:
                self._core.write_history(self.name, record.id, "created", None, None)

    def _write_changes(self, record_id: str, old: dict[str, Any], new: dict[str, Any]) -> None:
        plan = layout.plan_for(self.kind)
        entry = self._map[record_id]
        now_ms = self._core.now_ms()
        with self._core.doc.transaction():
            for name, value in new.items():
                before = old.get(name)
                if value == before:
                    continue
                if name in plan.plain:
                    entry[name] = value
                elif name in plan.sets:
                    self._write_set(entry, name, before or [], value or [], now_ms)
                elif name in plan.dicts:
                    for key in set(before or {}) | set(value or {}):
                        if (before or {}).get(key) != (value or {}).get(key):
                            entry[layout.dict_key(name, key)] = (value or {}).get(key)
                elif name in plan.counters:
                    continue  # counters change only through increment()
                if self._history and name not in _NOT_IN_HISTORY:
                    self._core.write_history(self.name, record_id, name, before, value)

    @staticmethod
    def _write_set(entry: Map[Any], name: str, before: builtins.list[str],
                   after: builtins.list[str],
                   now_ms: float) -> None:
        for i, item in enumerate(i for i in after if i not in before):
            entry[layout.set_key(name, item)] = now_ms + i / 1000
        for item in before:
            if item not in after:
                entry[layout.set_key(name, item)] = None  # removed (the base may hold it)

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
        assert self._cache is not None
        value = self._map.get(record_id)
        self._cache.pop(record_id, None)
        self._damage.pop(record_id, None)
        if value is not None:
            raw_entry = (value if self._opaque or not isinstance(value, Map)
                         else msgspec.json.decode(str(value)))
            self._read(record_id, raw_entry)

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
        damaged (in ``damaged``, default the collection's own)."""
        if cache is None:
            assert self._cache is not None
            cache = self._cache
        if damaged is None:
            damaged = self._damage
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


def _changed(old: dict[str, Any], new: dict[str, Any]) -> frozenset[str]:
    """Wire names of the fields that differ (``field.key`` for the keys of a dict field)."""
    out: set[str] = set()
    for name in set(old) | set(new):
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        out.add(name)
        if isinstance(before, dict) or isinstance(after, dict):
            b, a = before or {}, after or {}
            out.update(f"{name}.{k}" for k in set(b) | set(a) if b.get(k) != a.get(k))
    return frozenset(out)

