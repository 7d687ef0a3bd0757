"""Domain rules beyond types: required text, completion dates, custom fields, size limits,
instants with a time zone.

Every rule raises ValidationError(record, field, code, **params) before anything is written
(codes: mano_core.codes). One checker (``_check``) serves writes (``validate``: the
rules about the fields a write touches) and reads (``validate_stored``: the rules that hold
whatever the settings)."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Mapping, Set as AbstractSet
from typing import Any, TypeVar

import msgspec

from mano_core import limits
from mano_core.errors import ValidationError
from mano_core.codes import Code, Problem
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
_SCOPES = {"persons": "person", "observations": "observation", "medicalFiles": "medicalFile",
           "consultations": "consultation"}

Touched = Callable[..., bool]


def validate(record: Record, custom_fields: Iterable[CustomFieldDefinition] = (), *,
             changed: AbstractSet[str] | None = None) -> None:
    """Check a record against the domain rules; raise ValidationError on the first failure.

    ``changed``: the wire names of the fields an update changes (``customFields.<key>`` for one
    custom field); only the rules about those fields are checked, so a value made stale by a
    settings change (an option removed, a field deleted) never blocks an edit of another field.
    None (a creation) checks everything, required custom fields included."""

    def touched(*names: str) -> bool:
        return changed is None or not changed.isdisjoint(names)

    _check_sizes(record, _label(record), changed)
    _check(record, touched, list(custom_fields), changed, stored=False)


def validate_stored(record: Record) -> None:
    """The rules every device checks on what it reads from the document, whoever wrote it
    (mano_core.document.damage): those that do not depend on settings, nor on fields one rule
    ties together (``repair_tied`` makes those consistent). Custom-field values are not
    checked here: a value made stale by a definition change stays readable."""
    _check(record, lambda *names: True, [], None, stored=True)


def _label(record: Record) -> str:
    return f"{record.label} {record.id}"


def _check(record: Record, touched: Touched, definitions: list[CustomFieldDefinition],
           changed: AbstractSet[str] | None, *, stored: bool) -> None:
    """The one checker: each rule runs when ``touched`` says its fields changed; ``stored``
    (a record read from the document) skips the rules about settings and tied fields."""
    label = _label(record)
    if isinstance(record, Person | Action) and touched("name"):
        _require_text(label, "name", record.name)
    if isinstance(record, Comment | MedicalComment) and touched("text"):
        _require_text(label, "text", record.text)
    if isinstance(record, Comment) and touched("person", "action") and (
            record.person is None and record.action is None):
        raise ValidationError(label, "person", Code.COMMENT_TARGET_REQUIRED)
    if isinstance(record, Document):
        if touched("name"):
            _require_text(label, "name", record.name)
        _check_document(label, record)
    if isinstance(record, TerritoryObservation):
        for field in ("men", "women", "minors"):
            if touched(field) and getattr(record, field) < 0:
                raise ValidationError(label, field, Code.NEGATIVE)
    if isinstance(record, CustomFieldDefinition):
        if touched("key"):
            _require_text(label, "key", record.key)
        if not stored and touched("type", "options") and record.type in (
                "enum", "multi-choice") and not record.options:
            raise ValidationError(label, "options", Code.OPTIONS_REQUIRED)
    if stored:
        return
    if (isinstance(record, Person) and touched("outOfActiveList", "outOfActiveListDate")
            and record.out_of_active_list and record.out_of_active_list_date is None):
        raise ValidationError(label, "outOfActiveListDate", Code.EXIT_DATE_REQUIRED)
    if isinstance(record, Action | Consultation) and touched("status", "completedAt"):
        _check_completion(label, record.status, record.completed_at)
    scope = _SCOPES.get(record.collection)
    if scope is not None:
        team = getattr(record, "team", None)
        teams: Iterable[str] = getattr(record, "assigned_teams", None) or getattr(
            record, "teams", None) or ([team] if team else [])
        kinds = [d for d in definitions if d.scope == scope and not d.deleted]
        if isinstance(record, Consultation):
            kinds = _of_type(label, record, kinds, changed)
        _check_custom(label, record.custom_fields, kinds, changed, teams)  # type: ignore[attr-defined]


def _of_type(label: str, record: Consultation, definitions: list[CustomFieldDefinition],
             changed: AbstractSet[str] | None) -> list[CustomFieldDefinition]:
    """A consultation's fields are those of its type (MANO's fields per consultation type):
    a value of another type's field is refused."""
    own = [d for d in definitions if not d.consultation_types
           or record.type in d.consultation_types]
    keys = {d.key for d in own}
    for d in definitions:
        name = f"customFields.{d.key}"
        if d.key not in keys and record.custom_fields.get(d.key) is not None and (
                changed is None or name in changed):
            raise ValidationError(label, name, Code.OTHER_CONSULTATION_TYPE,
                                  type=", ".join(d.consultation_types), actual=record.type)
    return own


def applies(definition: CustomFieldDefinition, teams: Iterable[str]) -> bool:
    """True if a custom field is shown and asked for a record of these sub-teams: it is live,
    enabled, and enabled for every sub-team (``enabledTeams`` empty) or for one of them."""
    if definition.deleted or not definition.enabled:
        return False
    return not definition.enabled_teams or not set(definition.enabled_teams).isdisjoint(teams)


def stale_custom_fields(record: Record, definitions: Iterable[CustomFieldDefinition],
                        scope: str | None = None) -> dict[str, Problem]:
    """{key: why} for the custom-field values of a record that no longer fit their definition
    (an option removed, the field deleted or its type changed). They stay readable and are
    shown as stale; clearing one (``None``) is always allowed."""
    values = getattr(record, "custom_fields", None)
    if not values:
        return {}
    scope = scope or _SCOPES.get(record.collection, "")
    known = {d.key: d for d in definitions if d.scope == scope and not d.deleted}
    out: dict[str, Problem] = {}
    for key, value in values.items():
        if value is None:
            continue
        definition = known.get(key)
        if definition is None:
            out[key] = Problem(Code.UNKNOWN_CUSTOM_FIELD)
        elif (problem := custom_value_problem(definition, value)) is not None:
            out[key] = problem
    return out


def _check_document(label: str, record: Document) -> None:
    """A document's owner is in its own compartment (a person for a general one, a medical
    file, consultation or treatment for a medical one), its name and folder are bounded and
    its figures are not negative: what every device checks, whoever wrote it."""
    medical = isinstance(record, HealthDocument)
    if (record.owner_kind != "person") != medical:
        raise ValidationError(label, "ownerKind", Code.OWNER_COMPARTMENT)
    if len(record.name) > limits.MAX_DOCUMENT_NAME or "/" in record.name:
        raise ValidationError(label, "name", Code.BAD_DOCUMENT_NAME,
                              max=limits.MAX_DOCUMENT_NAME)
    if len(record.folder) > limits.MAX_DOCUMENT_FOLDER or record.folder.startswith("/") \
            or record.folder.endswith("/") or "//" in record.folder:
        raise ValidationError(label, "folder", Code.BAD_FOLDER)
    for field in ("size", "parts", "chunk"):
        if getattr(record, field) < 0:
            raise ValidationError(label, field, Code.NEGATIVE)
    for field, length in (("file", 32), ("key", 64), ("digest", 64)):
        value = getattr(record, field)
        if value and (len(value) != length or value.strip("0123456789abcdef")):
            raise ValidationError(label, field, Code.HEX_DIGITS, length=length)


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
        raise ValidationError(label, field, Code.REQUIRED)


def _check_completion(label: str, status: str, completed_at: dt.datetime | None) -> None:
    if status in ("FAIT", "ANNULEE") and completed_at is None:
        raise ValidationError(label, "completedAt", Code.COMPLETION_REQUIRED, status=status)
    if status == "A FAIRE" and completed_at is not None:
        raise ValidationError(label, "completedAt", Code.COMPLETION_FORBIDDEN)


@functools.cache
def field_names(kind: type[Record]) -> tuple[tuple[str, str], ...]:
    """(attribute, wire name) of each field of a record type. msgspec.structs.fields() costs
    ~0.8–1.7 ms a call (it evaluates the type's annotations): once per record type is enough."""
    return tuple((f.name, f.encode_name) for f in msgspec.structs.fields(kind))


def _check_sizes(record: Record, label: str, changed: AbstractSet[str] | None = None) -> None:
    for name, encode_name in field_names(type(record)):
        if changed is not None and encode_name not in changed and not any(
                c.startswith(encode_name + ".") for c in changed):
            continue
        value = getattr(record, name)
        if isinstance(value, str):
            cap = limits.MAX_TEXT_FIELD if encode_name in _LONG_FIELDS else limits.MAX_SHORT_FIELD
            if len(value) > cap:
                raise ValidationError(label, encode_name, Code.TOO_LONG, max=cap)
        elif isinstance(value, dt.datetime):
            if value.utcoffset() is None:  # (an instant: read as UTC, written with its zone)
                raise ValidationError(label, encode_name, Code.NO_TIME_ZONE)
        elif isinstance(value, list):
            if len(value) > limits.MAX_LIST_ITEMS:
                raise ValidationError(label, encode_name, Code.TOO_MANY_ITEMS,
                                      max=limits.MAX_LIST_ITEMS)
            if len(set(value)) != len(value):
                raise ValidationError(label, encode_name, Code.DUPLICATE_ITEMS)
            for item in value:
                if isinstance(item, str) and len(item) > limits.MAX_SHORT_FIELD:
                    raise ValidationError(label, encode_name, Code.ITEM_TOO_LONG,
                                          max=limits.MAX_SHORT_FIELD)


def _check_custom(label: str, values: Mapping[str, Any],
                  definitions: Iterable[CustomFieldDefinition],
                  changed: AbstractSet[str] | None, teams: Iterable[str]) -> None:
    """``definitions``: the live ones of the record's scope."""
    known = {d.key: d for d in definitions}
    for key, value in values.items():
        if value is None or (changed is not None and f"customFields.{key}" not in changed):
            continue  # clearing is always allowed; unchanged (maybe stale) values are kept
        definition = known.get(key)
        if definition is None:
            raise ValidationError(label, f"customFields.{key}", Code.UNKNOWN_CUSTOM_FIELD)
        problem = custom_value_problem(definition, value)
        if problem is not None:
            raise ValidationError(label, f"customFields.{key}", problem.code,
                                  **problem.params)
    teams = list(teams)
    for definition in known.values():
        if not definition.required or (definition.health_only and definition.scope == "person"):
            continue  # a health-only value is in the medical compartment (document.health)
        name = f"customFields.{definition.key}"
        if changed is not None and name not in changed:
            continue
        if applies(definition, teams) and _empty(values.get(definition.key)):
            raise ValidationError(label, name, Code.REQUIRED)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or (
        isinstance(value, str) and not value.strip())


_EXPECTED = {"number": "a number", "yes-no": "yes or no (true/false)",
             "boolean": "true or false", "date": "an ISO 8601 date",
             "date-with-time": "an ISO 8601 date and time", "text": "text", "textarea": "text"}


def custom_value_problem(definition: CustomFieldDefinition, value: Any) -> Problem | None:
    """Why ``value`` does not fit ``definition`` (None: it fits)."""
    kind = definition.type
    wrong = Problem(Code.WRONG_TYPE, {"expected": _EXPECTED.get(kind, kind)})
    if kind in ("text", "textarea"):
        if not isinstance(value, str):
            return wrong
        cap = limits.MAX_TEXT_FIELD if kind == "textarea" else limits.MAX_SHORT_FIELD
        return Problem(Code.TOO_LONG, {"max": cap}) if len(value) > cap else None
    if kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok else wrong
    if kind in ("yes-no", "boolean"):  # boolean: a checkbox, ticked or not
        return None if isinstance(value, bool) else wrong
    if kind in ("date", "date-with-time"):
        parse = dt.date.fromisoformat if kind == "date" else dt.datetime.fromisoformat
        try:
            parse(value)
        except (TypeError, ValueError):
            return wrong
        return None
    if kind == "enum":
        return None if value in definition.options else Problem(
            Code.NOT_AN_OPTION, {"options": list(definition.options)})
    if kind == "multi-choice":
        if not isinstance(value, list) or any(v not in definition.options for v in value):
            return Problem(Code.NOT_AN_OPTION, {"options": list(definition.options)})
        return None
    return Problem(Code.UNKNOWN_FIELD_TYPE, {"type": kind})
