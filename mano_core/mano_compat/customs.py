"""Custom fields met in MANO's sheets: found among the team's, taken from MANO's defaults, or
created from the column's values.

MANO's export names a custom field by its label only (its definitions, with their types and
options, stay on MANO's server). A column that is not a field of the record is a custom field:
the team's definition with that label (accents and case aside) if there is one; else MANO's
default field with that label (``personalSituation``…, with MANO's type and options); else a
new field whose type is read from the values (all days: date; all instants: date with time;
all numbers: number; Oui/Non: yes-no; ``true``: boolean; otherwise text, or long text when a
value spans lines). A choice field gains the values it did not list: nothing of the file is
dropped, and the report says which options were added."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Sequence
from typing import Any

import msgspec

from mano_core.document.queries import fold
from mano_core.model.records import CustomFieldDefinition, CustomFieldType

from . import cells
from .vocabulary import (
    HEALTH_FIELDS,
    HEALTH_GROUP,
    MEDICAL_FILE_FIELDS,
    OBSERVATION_FIELDS,
    SOCIAL_FIELDS,
    SOCIAL_GROUP,
    FieldSpec,
)

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}(T00:00:00(\.000)?Z)?$")
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$")


def mano_default(scope: str, label: str) -> tuple[FieldSpec, str, bool] | None:
    """(MANO's default field with this label, its group, health-only) for a scope."""
    wanted = fold(label)
    groups: list[tuple[tuple[FieldSpec, ...], str, bool]] = {
        "person": [(SOCIAL_FIELDS, SOCIAL_GROUP, False), (HEALTH_FIELDS, HEALTH_GROUP, True)],
        "observation": [(OBSERVATION_FIELDS, "Observation", False)],
        "medicalFile": [(MEDICAL_FILE_FIELDS, "Dossier médical", True)],
    }.get(scope, [])
    for specs, group, health in groups:
        for spec in specs:
            if fold(spec.label) == wanted or fold(spec.key) == wanted:
                return spec, group, health
    return None


def infer_type(values: Sequence[Any]) -> CustomFieldType:
    """The type of a new field from its non-empty values."""
    texts = [cells.text(v) for v in values if not cells.is_empty(v)]
    if not texts:
        return "text"
    if all(isinstance(v, dt.datetime | dt.date) or _DAY.match(t)
           for v, t in zip(values, texts, strict=False)) and all(_DAY.match(t) for t in texts):
        return "date"
    if all(_INSTANT.match(t) for t in texts):
        return "date-with-time"
    if all(_is_number(t) for t in texts):
        return "number"
    folded = {fold(t) for t in texts}
    if folded <= {"oui", "non"}:
        return "yes-no"
    if folded <= {"true", "false"}:
        return "boolean"
    if any("\n" in t for t in texts):
        return "textarea"
    return "text"


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", "."))
    except ValueError:
        return False
    return True


def slug_key(label: str, taken: set[str]) -> str:
    """A readable key for a new field (``custom-situation-familiale``), unique in ``taken``."""
    base = "custom-" + (re.sub(r"[^a-z0-9]+", "-", fold(label)).strip("-") or "champ")
    key, n = base[:60], 2
    while key in taken:
        key, n = f"{base[:56]}-{n}", n + 1
    taken.add(key)
    return key


class FieldChoice(msgspec.Struct, frozen=True):
    """What a custom-field column of a sheet became."""

    definition: CustomFieldDefinition
    created: bool  # a new definition (from MANO's defaults or inferred)
    from_mano_defaults: bool
    added_options: tuple[str, ...] = ()


def choose(scope: str, label: str, values: Sequence[Any],
           known: Sequence[CustomFieldDefinition], taken: set[str], *,
           now: dt.datetime, author: str | None) -> FieldChoice:
    """The definition a custom-field column of ``scope`` fills (see the module docstring)."""
    wanted = fold(label)
    existing = next((d for d in known if d.scope == scope and not d.deleted
                     and (fold(d.label_text) == wanted or fold(d.key) == wanted)), None)
    if existing is not None:
        return _with_options(FieldChoice(existing, False, False), values)
    default = mano_default(scope, label)
    stamp = now
    if default is not None:
        spec, group, health = default
        key = spec.key if spec.key not in taken else slug_key(spec.label, taken)
        taken.add(key)
        definition = CustomFieldDefinition(
            id=str(uuid.uuid4()), created_at=stamp, updated_at=stamp, created_by=author,
            updated_by=author, key=key, label_text=spec.label, type=spec.type, scope=scope,  # type: ignore[arg-type]
            section=group, options=list(spec.options), show_in_stats=spec.show_in_stats,
            health_only=health, allow_create_option=spec.allow_create_option)
        return _with_options(FieldChoice(definition, True, True), values)
    kind = infer_type(values)
    options: list[str] = []
    definition = CustomFieldDefinition(
        id=str(uuid.uuid4()), created_at=stamp, updated_at=stamp, created_by=author,
        updated_by=author, key=slug_key(label, taken), label_text=label, type=kind,
        scope=scope, section="Importé de MANO", options=options,  # type: ignore[arg-type]
        health_only=scope in ("medicalFile", "consultation"))
    return FieldChoice(definition, True, False)


def _with_options(choice: FieldChoice, values: Sequence[Any]) -> FieldChoice:
    d = choice.definition
    if d.type not in ("enum", "multi-choice"):
        return choice
    seen: list[str] = []
    for value in values:
        if cells.is_empty(value):
            continue
        items = cells.split_choices(value, d.options) if d.type == "multi-choice" else [
            cells.choice(value, d.options)]
        seen += [i for i in items if i not in d.options and i not in seen]
    if not seen:
        return choice
    return FieldChoice(msgspec.structs.replace(d, options=[*d.options, *seen]), choice.created,
                       choice.from_mano_defaults, tuple(seen))


def parse_value(definition: CustomFieldDefinition, value: Any) -> Any:
    """A cell as the stored value of this field (CellError if it does not fit)."""
    kind = definition.type
    if kind == "number":
        return cells.number(value)
    if kind in ("yes-no", "boolean"):
        return cells.boolean(value)
    if kind == "date":
        return cells.day(value).isoformat()
    if kind == "date-with-time":
        moment = cells.instant(value)
        if isinstance(value, str) and _INSTANT.match(value.strip()) and (
                value.strip().endswith("Z") or "+" in value[10:] or "-" in value[10:]):
            return value.strip()  # an ISO instant with its offset: kept as written
        return msgspec.to_builtins(moment)
    if kind == "enum":
        return cells.choice(value, definition.options)
    if kind == "multi-choice":
        return cells.split_choices(value, definition.options)
    return value if isinstance(value, str) else cells.text(value)
