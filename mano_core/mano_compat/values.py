"""A cell of a MANO sheet as the value of its column (columns.py says its kind): texts, days,
instants, booleans, numbers, members, JSON, values of the team's lists (added when missing),
fixed choices, links."""

from __future__ import annotations

from typing import Any, Final

import msgspec

from mano_core.document.queries import fold
from mano_core.model import records as r
from mano_core.reporting.problems import ImportCode

from . import cells
from .columns import Column
from .links import looks_like_ids, ref
from .members import member
from .plan import Plan
from .vocabulary import (
    OUT_OF_ACTIVE_LIST_REASONS,
    TERRITORY_TYPES,
)

_ENUMS: Final[dict[str, tuple[str, ...]]] = {
    "GENDERS": r.GENDERS, "ACTION_STATUSES": r.ACTION_STATUSES, "ATMOSPHERES": r.ATMOSPHERES}


_ENUM_WHAT: Final = {"GENDERS": "gender", "ACTION_STATUSES": "status",
                     "ATMOSPHERES": "atmosphere"}


_LIST_DEFAULTS: Final[dict[str, tuple[str, ...]]] = {
    "outOfActiveListReasons": OUT_OF_ACTIVE_LIST_REASONS + r.OUT_OF_ACTIVE_LIST_REASONS,
    "territoryTypes": TERRITORY_TYPES,
}


def cell_value(plan: Plan, col: Column, value: Any) -> Any:
    """The value of a non-empty cell for its column (CellError if it does not fit)."""
    k = col.kind
    if k == "id":
        return cells.text(value)
    if k in ("text", "long"):  # a text is kept as written (spaces and line ends included)
        return value if isinstance(value, str) else cells.text(value)
    if k == "aliases":
        return [p.strip() for p in cells.text(value).split(";") if p.strip()]
    if k == "day":
        return cells.day(value).isoformat()
    if k == "instant":
        return msgspec.to_builtins(cells.instant(value))
    if k == "bool":
        return cells.boolean(value)
    if k == "number":
        return cells.number(value)
    if k == "member":
        return member(plan, cells.text(value))
    if k == "members":
        return [m for m in (member(plan, i) for i in cells.ids(value)) if m]
    if k == "json":
        return cells.json_value(value)
    if k in ("values", "value"):
        options = [*plan.list_values(col.target), *_LIST_DEFAULTS.get(col.target, ())]
        items = (cells.split_choices(value, options) if k == "values"
                 else [cells.choice(value, options)])
        plan.add_values(col.target, items)
        return items if k == "values" else items[0]
    if k == "enum":
        fixed = _ENUMS[col.target]
        found = {fold(o): o for o in fixed}.get(fold(cells.text(value)))
        if found is None:
            raise cells.CellError(ImportCode.UNKNOWN_VALUE, value=cells.text(value),
                                  expected=fixed, what=_ENUM_WHAT[col.target])
        return found
    if k == "ref":
        return ref(plan, col.target, cells.text(value))
    if k == "refs":
        names = [n for n, i in plan.by_name.get(col.target, {}).items() if i]
        raw = cells.ids(value) if looks_like_ids(value) else cells.split_choices(value, names)
        return list(dict.fromkeys(ref(plan, col.target, i) for i in raw))
    raise AssertionError(f"unknown column kind {k}")
