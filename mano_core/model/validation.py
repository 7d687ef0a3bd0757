"""Domain rules beyond types: required text, completion dates, custom fields, size limits.

Every rule raises ValidationError(record, field, reason) before anything is written."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from mano_core import limits
from mano_core.errors import ValidationError
from mano_core.model.records import (
    Action,
    Comment,
    Consultation,
    CustomFieldDefinition,
    MedicalComment,
    Person,
    Record,
    TerritoryObservation,
)

_LONG_FIELDS = frozenset({"description", "text", "comment", "material", "perimeter", "public",
                          "openingHours"})


def validate(record: Record, custom_fields: Iterable[CustomFieldDefinition] = ()) -> None:
    """Check a record against the domain rules; raise ValidationError on the first failure."""
    label = f"{record.label} {record.id}"
    _check_sizes(record, label)
    if isinstance(record, Person | Action):
        _require_text(label, "name", record.name)
    if isinstance(record, Person):
        if record.out_of_active_list and record.out_of_active_list_date is None:
            raise ValidationError(label, "outOfActiveListDate",
                                  "is required when the person is out of the active list")
        _check_custom(label, record.custom_fields, custom_fields, "person")
    elif isinstance(record, Action):
        _check_completion(label, record.status, record.completed_at)
    elif isinstance(record, Consultation):
        _check_completion(label, record.status, record.completed_at)
        _check_custom(label, record.custom_fields, custom_fields, "consultation")
    elif isinstance(record, Comment):
        _require_text(label, "text", record.text)
        if record.person is None and record.action is None:
            raise ValidationError(label, "person", "a comment is on a person or on an action")
    elif isinstance(record, MedicalComment):
        _require_text(label, "text", record.text)
    elif isinstance(record, TerritoryObservation):
        for field in ("men", "women", "minors"):
            if getattr(record, field) < 0:
                raise ValidationError(label, field, "must not be negative")
        _check_custom(label, record.custom_fields, custom_fields, "observation")
    elif isinstance(record, CustomFieldDefinition):
        _require_text(label, "key", record.key)
        if record.type in ("enum", "multi-choice") and not record.options:
            raise ValidationError(label, "options", "a choice field needs options")


def _require_text(label: str, field: str, value: str) -> None:
    if not value or not value.strip():
        raise ValidationError(label, field, "is required")


def _check_completion(label: str, status: str, completed_at: dt.datetime | None) -> None:
    if status in ("FAIT", "ANNULEE") and completed_at is None:
        raise ValidationError(label, "completedAt", f"is required when the status is {status}")
    if status == "A FAIRE" and completed_at is not None:
        raise ValidationError(label, "completedAt", "must be empty while the status is A FAIRE")


@functools.cache
def _field_names(kind: type[Record]) -> tuple[tuple[str, str], ...]:
    # msgspec.structs.fields() costs ~1.7 ms a call: once per record type is enough.
    return tuple((f.name, f.encode_name) for f in msgspec.structs.fields(kind))


def _check_sizes(record: Record, label: str) -> None:
    for name, encode_name in _field_names(type(record)):
        value = getattr(record, name)
        if isinstance(value, str):
            cap = limits.MAX_TEXT_FIELD if encode_name in _LONG_FIELDS else limits.MAX_SHORT_FIELD
            if len(value) > cap:
                raise ValidationError(label, encode_name, f"longer than {cap} characters")
        elif isinstance(value, list):
            if len(value) > limits.MAX_LIST_ITEMS:
                raise ValidationError(label, encode_name,
                                      f"more than {limits.MAX_LIST_ITEMS} items")
            if len(set(value)) != len(value):
                raise ValidationError(label, encode_name, "items must be unique")
            for item in value:
                if isinstance(item, str) and len(item) > limits.MAX_SHORT_FIELD:
                    raise ValidationError(label, encode_name, "an item is too long")


def _check_custom(label: str, values: Mapping[str, Any],
                  definitions: Iterable[CustomFieldDefinition], scope: str) -> None:
    known = {d.key: d for d in definitions if d.scope == scope and not d.deleted}
    for key, value in values.items():
        definition = known.get(key)
        if definition is None:
            raise ValidationError(label, f"customFields.{key}", "no such custom field")
        if value is None:
            continue
        reason = custom_value_problem(definition, value)
        if reason:
            raise ValidationError(label, f"customFields.{key}", reason)


def custom_value_problem(definition: CustomFieldDefinition, value: Any) -> str | None:
    """Why ``value`` does not fit ``definition`` (None: it fits)."""
    kind = definition.type
    if kind in ("text", "textarea"):
        if not isinstance(value, str):
            return "must be text"
        cap = limits.MAX_TEXT_FIELD if kind == "textarea" else limits.MAX_SHORT_FIELD
        return f"longer than {cap} characters" if len(value) > cap else None
    if kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok else "must be a number"
    if kind == "yes-no":
        return None if isinstance(value, bool) else "must be yes or no (true/false)"
    if kind == "boolean":  # a checkbox: ticked or not
        return None if isinstance(value, bool) else "must be true or false"
    if kind in ("date", "date-with-time"):
        parse = dt.date.fromisoformat if kind == "date" else dt.datetime.fromisoformat
        try:
            parse(value)
        except (TypeError, ValueError):
            return f"must be an ISO 8601 {'date' if kind == 'date' else 'date and time'}"
        return None
    if kind == "enum":
        return None if value in definition.options else f"must be one of {definition.options}"
    if kind == "multi-choice":
        if not isinstance(value, list) or any(v not in definition.options for v in value):
            return f"must be a list of values among {definition.options}"
        return None
    return f"unknown custom field type {kind}"
