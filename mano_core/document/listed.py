"""Values that must come from one of the team's lists: an action's categories, a report's
collaborations, a territory's types, a structure's categories.

A value added to a record must be in the team's list (``Settings``) once the team has such a
list: free text is refused with a ValidationError, nothing written. Only values a write adds
are checked: a value later removed from the list stays on the records that hold it, and they
remain editable. A team that has no list of that kind yet (an empty list) is not restricted:
it has not chosen its vocabulary (mano_compat.defaults gives a new team one)."""

from __future__ import annotations

from typing import Any, Final, Protocol

from mano_core.errors import ValidationError
from mano_core.model import records as r

# record type → (field, wire name, settings list)
LISTED: Final[dict[type[r.Record], tuple[str, str, str]]] = {
    r.Action: ("categories", "categories", "actionCategories"),
    r.Report: ("collaborations", "collaborations", "collaborations"),
    r.Territory: ("types", "types", "territoryTypes"),
    r.Structure: ("categories", "categories", "structureCategories"),
}


class _Lists(Protocol):
    def values(self, kind: str) -> list[str]: ...


def check_listed(settings: _Lists | None, record: r.Record, before: r.Record | None) -> None:
    """ValidationError if ``record`` adds to a listed field a value the team's list lacks."""
    rule = LISTED.get(type(record))
    if rule is None or settings is None:
        return
    field, wire, kind = rule
    known = settings.values(kind)
    if not known:
        return
    old: Any = getattr(before, field, []) if before is not None else []
    added = [v for v in getattr(record, field) if v not in old and v not in known]
    if added:
        raise ValidationError(f"{record.label} {record.id}", wire,
                              f"not in the team's list {kind}: {', '.join(added)}")
