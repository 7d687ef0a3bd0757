"""Health-only person custom fields: their values live in the medical compartment.

A custom field marked ``health_only`` (MANO's "Informations de santé") holds health data: a
device without the medical keys must never hold its value, not merely not show it. So the value
is not in ``Person.custom_fields`` of the general document but in one ``HealthValue`` record per
(person, field) of the medical document; ``Persons`` (queries.py) shows it in
``Person.custom_fields`` on a device that holds the medical compartment, and refuses to write
it (PermissionDeniedError) on one that does not.

One record per field, with an id derived from (person, field): two health professionals editing
different fields of the same person at once both win, the same field merges last writer wins,
as a general field does. A field's history is written in the medical history, under the person
(``record_collection="persons"``), so ``Team.history_of(person)`` shows it to health staff only.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

from mano_core.errors import ValidationError
from mano_core.codes import Code
from mano_core.model.records import CustomFieldDefinition, HealthValue
from mano_core.model.validation import custom_value_problem

from .collection import Collection

if TYPE_CHECKING:
    from .team_doc import DocumentCore

_NAMESPACE: Final = uuid.UUID("5b0f6f4e-8c1d-4c36-9a51-0d7f0e6c2a11")


def health_value_id(person_id: str, field: str) -> str:
    """The id of the record holding ``field`` of ``person_id`` (the same on every device)."""
    return str(uuid.uuid5(_NAMESPACE, f"{len(person_id)}:{person_id}:{field}"))


def health_keys(definitions: Iterable[CustomFieldDefinition]) -> frozenset[str]:
    """Keys of the person custom fields whose values are health data."""
    return frozenset(d.key for d in definitions
                     if d.scope == "person" and d.health_only and not d.deleted)


class HealthValues(Collection[HealthValue]):
    """The values of health-only person fields (medical compartment)."""

    def __init__(self, core: DocumentCore, kind: type[HealthValue], **kwargs: Any) -> None:
        super().__init__(core, kind, history=False)  # history is written under the person
        self._by_person: dict[str, dict[str, Any]] | None = None
        self._listeners: list[Callable[[], None]] = []

    def by_person(self) -> dict[str, dict[str, Any]]:
        """{person id: {field: value}} of the values set (cleared ones left out), whether or
        not their person is deleted: a deleted person reads without them (``Persons``), and
        reads them again once restored. (Read through ``list()``, which hides the values of
        a deleted person, this was kept from before a deletion or a restore, and a person
        restored on this device read without their values until the next one changed.)"""
        if self._by_person is None:
            out: dict[str, dict[str, Any]] = {}
            for value in self._records().values():
                if value.deleted_at is None and value.value is not None:
                    out.setdefault(value.person, {})[value.field] = value.value
            self._by_person = out
        return self._by_person

    def of_person(self, person_id: str) -> dict[str, Any]:
        return dict(self.by_person().get(person_id, {}))

    def check(self, label: str, values: Mapping[str, Any],
              definitions: Iterable[CustomFieldDefinition]) -> None:
        """ValidationError if a value does not fit its definition (nothing written)."""
        known = {d.key: d for d in definitions if d.scope == "person" and not d.deleted}
        for key, value in values.items():
            if value is None:
                continue
            definition = known.get(key)
            if definition is None:
                raise ValidationError(label, f"customFields.{key}", Code.UNKNOWN_CUSTOM_FIELD)
            problem = custom_value_problem(definition, value)
            if problem is not None:
                raise ValidationError(label, f"customFields.{key}", problem.code,
                                      **problem.params)

    def put(self, person_id: str, values: Mapping[str, Any], *, replace: bool) -> None:
        """Write the changed values of one person (``replace``: fields left out are cleared),
        with their history. Call ``check`` first: this does not validate."""
        current = self.by_person().get(person_id, {})
        keys = set(values) | (set(current) if replace else set())
        with self._core.doc.transaction():
            for key in sorted(keys):
                new = values.get(key)
                old = current.get(key)
                if new == old:
                    continue
                record_id = health_value_id(person_id, key)
                existing = self._records().get(record_id)
                if existing is None:
                    self.create(id=record_id, person=person_id, field=key, value=new)
                elif existing.deleted:
                    self.restore(record_id)
                    self.update(record_id, value=new)
                else:
                    self.update(record_id, value=new)
                self._core.write_history("persons", person_id, f"customFields.{key}", old, new)

    def records_of(self, person_ids: Iterable[str]) -> list[HealthValue]:
        """Every value record (deleted ones included) of these persons."""
        wanted = set(person_ids)
        return [v for v in self._records().values() if v.person in wanted]

    def subscribe_persons(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` whenever health values changed (locally or remotely)."""
        self._listeners.append(listener)

    def mark_dirty(self, record_ids: Iterable[str]) -> None:
        super().mark_dirty(record_ids)
        self._by_person = None
        for listener in self._listeners:
            listener()
