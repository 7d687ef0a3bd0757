"""A collection's writes (mano_core.document.collection.Collection): create, update,
soft-delete and restore, counters, bulk loads, a damaged record's repair, and the erasure
service's removals. Each validates first and changes nothing when it raises; each writes in
one pycrdt transaction (the caller persists the update: mano_core.team).

Apart from the reads (collection.py: the cache, the first read in slices) so that each
module has one job; the attributes and read methods it uses are declared below and
provided by Collection."""

from __future__ import annotations

import builtins
import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Set as AbstractSet
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import msgspec
from pycrdt import Map

from mano_core.codes import Code
from mano_core.errors import NotFoundError, ValidationError
from mano_core.model.records import Record
from mano_core.model.validation import validate

from . import layout
from .damage import Damage
from .listed import check_listed

if TYPE_CHECKING:
    from .team_doc import DocumentCore

R = TypeVar("R", bound=Record)

_PROTECTED = frozenset({"id", "createdAt", "createdBy", "updatedAt", "updatedBy", "deletedAt"})
_NOT_IN_HISTORY = frozenset({"updatedAt", "updatedBy"})


class CollectionWrites(Generic[R]):
    """The write half of Collection (which provides what is declared here: the attributes
    its constructor sets and the three read methods below, defined there)."""

    _core: DocumentCore
    kind: type[R]
    name: str
    _map: Map[Any]
    _history: bool
    _opaque: bool
    _fields: dict[str, str]
    _damage: dict[str, Damage]

    if TYPE_CHECKING:  # Collection's reads: declared for the type checker, no runtime stub
        def get(self, record_id: str, *, include_deleted: bool = False) -> R: ...

        def _records(self) -> dict[str, R]: ...

        def _stored(self, record_id: str, *, include_deleted: bool = False) -> R: ...

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

    # --- internals of the writes -------------------------------------------------------------

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

