"""The links between sheets: MANO's ids kept as ours, a name read as the id of the one record
so named (the team's or the file's), a link to an id absent from the files kept and counted."""

from __future__ import annotations

import uuid
from typing import Any, Final

from mano_core.document.queries import fold
from mano_core.reporting.problems import ImportCode, NoticeCode

from . import cells
from .plan import Plan

WHAT: Final = {"persons": "person", "subteams": "subteam", "actions": "action",
               "territories": "territory", "places": "place", "structures": "structure"}


def names_of(items: Any) -> dict[str, str | None]:
    """Folded name → id of records (None for a name two records share)."""
    out: dict[str, str | None] = {}
    for item in items:
        key = fold(item.name.strip())
        out[key] = None if key in out and out[key] != item.id else item.id  # None: ambiguous
    return out


def looks_like_ids(value: Any) -> bool:
    """Whether a cell lists ids (a JSON list, or UUIDs joined by commas)."""
    raw = cells.text(value)
    return raw.startswith("[") or all(is_uuid(p.strip()) for p in raw.split(",") if p.strip())


def is_uuid(text: str) -> bool:
    """Whether a text is a UUID."""
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def ref(plan: Plan, target: str, raw: str) -> str:
    """The id a link cell names (an id, or the name of one record); CellError if none."""
    if is_uuid(raw) or raw in plan.known.get(target, ()):
        if raw not in plan.known.get(target, ()):
            plan.notice(NoticeCode.MISSING_LINK, what=WHAT.get(target, "value"))
        return raw
    found = plan.by_name.get(target, {}).get(fold(raw))
    if found is None:
        code = (ImportCode.AMBIGUOUS_NAME if fold(raw) in plan.by_name.get(target, {})
                else ImportCode.UNKNOWN_REFERENCE)
        raise cells.CellError(code, value=raw, what=WHAT.get(target, "value"))
    return found
