"""MANO's per-record history (``[{date, user, data: {field: {oldValue, newValue}}}]``) as our
history entries, so that "who changed what, when" survives the move.

The entries keep MANO's author (a MANO user id, named by the ``utilisateurs`` sheet) and date.
They carry no device signature (``device``/``sig`` empty, docs/security.md "Audit"): their
authority is the MANO export the admin imported, and the audit shows them as unsigned."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Final

from mano_core.model.records import HistoryEntry

from mano_core.reporting.problems import ImportCode

from . import cells

MAX_HISTORY_ENTRIES: Final = 10_000  # per record


def entries(collection: str, record_id: str, raw: Any, *,
            field_name: Callable[[str], str | None],
            member: Callable[[str | None], str | None]) -> list[HistoryEntry]:
    """History entries of one record. ``field_name`` maps MANO's field to ours (None: not
    kept); ``member`` maps a MANO user id. CellError if ``raw`` is not MANO's history."""
    if not isinstance(raw, list):
        raise cells.CellError(ImportCode.BAD_HISTORY)
    if len(raw) > MAX_HISTORY_ENTRIES:
        raise cells.CellError(ImportCode.HISTORY_TOO_LONG,
                              expected=(str(MAX_HISTORY_ENTRIES),))
    out: list[HistoryEntry] = []
    for change in raw:
        if not isinstance(change, Mapping) or not isinstance(change.get("data"), Mapping):
            raise cells.CellError(ImportCode.BAD_HISTORY)
        at = cells.instant(change.get("date"))
        author = member(str(change["user"]) if change.get("user") else None)
        for mano_field, values in change["data"].items():
            field = field_name(str(mano_field))
            if field is None:
                continue
            old = values.get("oldValue") if isinstance(values, Mapping) else None
            new = values.get("newValue") if isinstance(values, Mapping) else values
            out.append(HistoryEntry(
                id=str(uuid.uuid4()), created_at=at, updated_at=at, created_by=author,
                updated_by=author, record_collection=collection, record_id=record_id,
                field=field, old=_plain(old), new=_plain(new), at=at, author=author))
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value
