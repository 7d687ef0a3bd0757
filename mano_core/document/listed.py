"""Values that must come from one of the team's lists: an action's categories, a report's
collaborations, a territory's types, a structure's categories, a consultation's type.

A value added to a record must be in the team's list (``Settings``): free text is refused with
a ValidationError (``Code.NOT_IN_LIST``), nothing written — also while the list is empty, as
MANO offers nothing to pick from an empty list (a new team gets MANO's lists,
mano_compat.defaults; an admin adds values; ``reporting.daily.add_collaboration`` may add a
partner to the list as it records it, MANO's creatable list). Only values a write adds are
checked: a value later removed from the list stays on the records that hold it, and they
remain editable."""

from __future__ import annotations

from typing import Any, Final, Protocol

from mano_core.errors import ValidationError
from mano_core.model import records as r
from mano_core.codes import Code

# record type → (field, wire name, settings list)
LISTED: Final[dict[type[r.Record], tuple[str, str, str]]] = {
    r.Action: ("categories", "categories", "actionCategories"),
    r.Report: ("collaborations", "collaborations", "collaborations"),
    r.Territory: ("types", "types", "territoryTypes"),
    r.Structure: ("categories", "categories", "structureCategories"),
    r.Consultation: ("type", "type", "consultationTypes"),
}


class _Lists(Protocol):
    def values(self, kind: str) -> list[str]: ...


def _items(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    return [value] if isinstance(value, str) else list(value)


def check_listed(settings: _Lists | None, record: r.Record, before: r.Record | None) -> None:
    """ValidationError if ``record`` adds to a listed field a value the team's list lacks."""
    rule = LISTED.get(type(record))
    if rule is None or settings is None:
        return
    field, wire, kind = rule
    old = _items(getattr(before, field, None)) if before is not None else []
    new = [v for v in _items(getattr(record, field)) if v not in old]
    if not new:
        return
    known = settings.values(kind)
    added = [v for v in new if v not in known]
    if added:
        raise ValidationError(f"{record.label} {record.id}", wire, Code.NOT_IN_LIST,
                              list=kind, values=added)
