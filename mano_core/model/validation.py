"""Domain rules beyond types: required text, completion dates, custom fields, size limits.

Every rule raises ValidationError(record, field, reason) before anything is written."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping, Set as AbstractSet
from typing import Any, TypeVar

import msgspec

from mano_core import limits
from mano_core.errors import ValidationError
from mano_core.model.records import (
    Action,
    Comment,
    Consultation,
    CustomFieldDefinition,
    Document,
    HealthDocument,
    MedicalComment,
    Person,
    Record,
    TerritoryObservation,
)

R = TypeVar("R", bound=Record)

_LONG_FIELDS = frozenset({"description", "text", "comment", "material", "perimeter", "public",
                          "openingHours"})


def validate(record: Record, custom_fields: Iterable[CustomFieldDefinition] = (), *,
             changed: AbstractSet[str] | None = None) -> None:
    """Check a record against the domain rules; raise ValidationError on the first failure.

    ``changed``: the wire names of the fields an update changes (``customFields.<key>`` for one
    custom field); only the rules about those fields are checked, so a value made stale by a
    settings change (an option removed, a field deleted) never blocks an edit of another field.
    None (a creation) checks everything, required custom fields included."""
    label = f"{record.label} {record.id}"

    def touched(*names: str) -> bool:
        return changed is None or not changed.isdisjoint(names)

    _check_sizes(record, label, changed)
    if isinstance(record, Person | Action) and touched("name"):
        _require_text(label, "name", record.name)
    if isinstance(record, Person):
        if (touched("outOfActiveList", "outOfActiveListDate") and record.out_of_active_list
                and record.out_of_active_list_date is None):
            raise ValidationError(label, "outOfActiveListDate",
                                  "is required when the person is out of the active list")
        _check_custom(label, record.custom_fields, custom_fields, "person", changed,
                      record.assigned_teams)
    elif isinstance(record, Action):
        if touched("status", "completedAt"):
            _check_completion(label, record.status, record.completed_at)
    elif isinstance(record, Consultation):
        if touched("status", "completedAt"):
            _check_completion(label, record.status, record.completed_at)
        _check_custom(label, record.custom_fields, custom_fields, "consultation", changed,
                      getattr(record, "teams", ()))
    elif isinstance(record, Comment):
        _require_text(label, "text", record.text)
        if record.person is None and record.action is None:
            raise ValidationError(label, "person", "a comment is on a person or on an action")
    elif isinstance(record, MedicalComment):
        _require_text(label, "text", record.text)
    elif isinstance(record, Document):
        if touched("name"):
            _require_text(label, "name", record.name)
        _check_document(label, record)
    elif isinstance(record, TerritoryObservation):
        for field in ("men", "women", "minors"):
            if touched(field) and getattr(record, field) < 0:
                raise ValidationError(label, field, "must not be negative")
        _check_custom(label, record.custom_fields, custom_fields, "observation", changed,
                      [record.team] if record.team else [])
    elif isinstance(record, CustomFieldDefinition):
        _require_text(label, "key", record.key)
        if record.type in ("enum", "multi-choice") and not record.options:
            raise ValidationError(label, "options", "a choice field needs options")


def applies(definition: CustomFieldDefinition, teams: Iterable[str]) -> bool:
    """True if a custom field is shown and asked for a record of these sub-teams: it is live,
    enabled, and enabled for every sub-team (``enabledTeams`` empty) or for one of them."""
    if definition.deleted or not definition.enabled:
        return False
    return not definition.enabled_teams or not set(definition.enabled_teams).isdisjoint(teams)


def stale_custom_fields(record: Record, definitions: Iterable[CustomFieldDefinition],
                        scope: str | None = None) -> dict[str, str]:
    """{key: why} for the custom-field values of a record that no longer fit their definition
    (an option removed, the field deleted or its type changed). They stay readable and are
    shown as stale; clearing one (``None``) is always allowed."""
    values = getattr(record, "custom_fields", None)
    if not values:
        return {}
    scope = scope or {"persons": "person", "observations": "observation",
                      "medicalFiles": "medicalFile", "consultations": "consultation"}.get(
        record.collection, "")
    known = {d.key: d for d in definitions if d.scope == scope and not d.deleted}
    out: dict[str, str] = {}
    for key, value in values.items():
        if value is None:
            continue
        definition = known.get(key)
        if definition is None:
            out[key] = "no such custom field"
        elif (problem := custom_value_problem(definition, value)) is not None:
            out[key] = problem
    return out


def validate_stored(record: Record) -> None:
    """The rules every device checks on what it reads from the document, whoever wrote it
    (mano_core.document.damage): those that do not depend on settings. Custom-field values
    are not checked here: a value made stale by a definition change stays readable."""
    label = f"{record.label} {record.id}"
    if isinstance(record, Person | Action):
        _require_text(label, "name", record.name)
    elif isinstance(record, Comment):
        _require_text(label, "text", record.text)
        if record.person is None and record.action is None:
            raise ValidationError(label, "person", "a comment is on a person or on an action")
    elif isinstance(record, MedicalComment):
        _require_text(label, "text", record.text)
    elif isinstance(record, Document):
        _require_text(label, "name", record.name)
        _check_document(label, record)
    elif isinstance(record, TerritoryObservation):
        for field in ("men", "women", "minors"):
            if getattr(record, field) < 0:
                raise ValidationError(label, field, "must not be negative")
    elif isinstance(record, CustomFieldDefinition):
        _require_text(label, "key", record.key)


def _check_document(label: str, record: Document) -> None:
    """A document's owner is in its own compartment (a person for a general one, a medical
    file, consultation or treatment for a medical one), its name and folder are bounded and
    its figures are not negative: what every device checks, whoever wrote it."""
    medical = isinstance(record, HealthDocument)
    if (record.owner_kind != "person") != medical:
        raise ValidationError(label, "ownerKind", "a medical owner belongs to the medical "
                                                  "compartment, a person to the general one")
    if len(record.name) > limits.MAX_DOCUMENT_NAME or "/" in record.name:
        raise ValidationError(label, "name", f"at most {limits.MAX_DOCUMENT_NAME} characters, "
                                             "without '/'")
    if len(record.folder) > limits.MAX_DOCUMENT_FOLDER or record.folder.startswith("/") \
            or record.folder.endswith("/") or "//" in record.folder:
        raise ValidationError(label, "folder", "folder names joined by '/', none empty")
    for field in ("size", "parts", "chunk"):
        if getattr(record, field) < 0:
            raise ValidationError(label, field, "must not be negative")
    for field, length in (("file", 32), ("key", 64), ("digest", 64)):
        value = getattr(record, field)
        if value and (len(value) != length or value.strip("0123456789abcdef")):
            raise ValidationError(label, field, f"empty or {length} lower-case hex digits")


def repair_tied(record: R) -> R:
    """The record with fields that one rule ties together made consistent again, as a pure
    function of the merged record (so every device shows the same): concurrent edits merge
    field by field and may pair a status with a completion date it forbids.

    * status ``A FAIRE`` with a completion date: the date is dropped (the reopening wins);
      ``FAIT``/``ANNULEE`` without one: it is the record's ``updatedAt``;
    * in the active list with an exit date or reasons: they are dropped; out of it without a
      date: the day of ``updatedAt``."""
    if isinstance(record, Action | Consultation):
        if record.status == "A FAIRE" and record.completed_at is not None:
            return msgspec.structs.replace(record, completed_at=None)
        if record.status in ("FAIT", "ANNULEE") and record.completed_at is None:
            return msgspec.structs.replace(
                record, completed_at=record.updated_at)
    elif isinstance(record, Person):
        if not record.out_of_active_list and (record.out_of_active_list_date is not None
                                              or record.out_of_active_list_reasons):
            return msgspec.structs.replace(
                record, out_of_active_list_date=None, out_of_active_list_reasons=[])
        if record.out_of_active_list and record.out_of_active_list_date is None:
            return msgspec.structs.replace(
                record, out_of_active_list_date=record.updated_at.date())
    return record


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


def _check_sizes(record: Record, label: str, changed: AbstractSet[str] | None = None) -> None:
    for name, encode_name in _field_names(type(record)):
        if changed is not None and encode_name not in changed and not any(
                c.startswith(encode_name + ".") for c in changed):
            continue
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
                  definitions: Iterable[CustomFieldDefinition], scope: str,
                  changed: AbstractSet[str] | None, teams: Iterable[str]) -> None:
    known = {d.key: d for d in definitions if d.scope == scope and not d.deleted}
    for key, value in values.items():
        if value is None or (changed is not None and f"customFields.{key}" not in changed):
            continue  # clearing is always allowed; unchanged (maybe stale) values are kept
        definition = known.get(key)
        if definition is None:
            raise ValidationError(label, f"customFields.{key}", "no such custom field")
        reason = custom_value_problem(definition, value)
        if reason:
            raise ValidationError(label, f"customFields.{key}", reason)
    teams = list(teams)
    for definition in known.values():
        if not definition.required or definition.health_only:
            continue  # a health-only value is in the medical compartment (document.health)
        name = f"customFields.{definition.key}"
        if changed is not None and name not in changed:
            continue
        if applies(definition, teams) and _empty(values.get(definition.key)):
            raise ValidationError(label, name, "is required")


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or (
        isinstance(value, str) and not value.strip())


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
