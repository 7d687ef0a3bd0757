"""Reading the cells of a file MANO wrote.

MANO's full export writes every value as text: dates as raw instants
(``1975-03-02T00:00:00.000Z``), lists of strings joined by ``", "``, other lists and objects as
JSON, ``true`` for a true boolean and nothing at all for false, 0, "" or null. A file saved
again by a spreadsheet may hold native numbers and dates instead; both are read. Every parser
returns the value or raises ``CellError`` with its code and parameters
(mano_core.reporting.problems)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any, Final

from mano_core.document.queries import fold
from mano_core.reporting.cells import FR_DATE, as_utc, moment_in, number_in
from mano_core.reporting.cells import is_empty as is_empty  # the migration reads it here
from mano_core.reporting.problems import MANO_DATE_FORMATS, MANO_MOMENT_FORMATS, ImportCode
from mano_core.reporting.problems import CellError as CellError  # one error for both imports
from mano_core.reporting.view import PARIS

MAX_JSON_CELL: Final = 1_000_000  # characters: a person's whole history fits many times


_TRUE = frozenset({"true", "oui", "yes", "vrai", "1", "x"})
_FALSE = frozenset({"false", "non", "no", "faux", "0"})


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value).strip()


def boolean(value: Any) -> bool:
    """``true``/``false`` (MANO), Oui/Non, 1/0; an empty cell is false (MANO writes nothing)."""
    if is_empty(value):
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    word = fold(text(value))
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise CellError(ImportCode.NOT_YES_NO, value=text(value))


def number(value: Any) -> int | float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value) if isinstance(value, float) and value.is_integer() else value
    parsed = number_in(text(value))
    if parsed is None:
        raise CellError(ImportCode.NOT_A_NUMBER, value=text(value))
    return parsed


def instant(value: Any) -> dt.datetime:
    """An instant (UTC). MANO's raw ``…Z`` instants; a time without offset is Paris time."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time(0))
    else:
        raw = text(value)
        found = moment_in(raw)
        if found is None:
            raise CellError(ImportCode.NOT_A_MOMENT, value=raw, expected=MANO_MOMENT_FORMATS)
        moment = found[0]
    return as_utc(moment)


def day(value: Any) -> dt.date:
    """A calendar day. A raw instant is read as its day in Paris: MANO stores a birth date
    picked in France either as that day's midnight UTC or as the previous day at 23:00 UTC,
    and both are that day in Paris."""
    if isinstance(value, dt.datetime):
        return value.date() if value.tzinfo is None else value.astimezone(PARIS).date()
    if isinstance(value, dt.date):
        return value
    raw = text(value)
    match = FR_DATE.match(raw)
    try:
        if match and match.group(4) is None:
            return dt.date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
        if len(raw) == 10:
            return dt.date.fromisoformat(raw)
    except ValueError:
        pass
    try:
        return instant(raw).astimezone(PARIS).date()
    except CellError:
        raise CellError(ImportCode.NOT_A_DATE, value=raw, expected=MANO_DATE_FORMATS
                        ) from None


def ids(value: Any) -> list[str]:
    """A list of ids: MANO joins them with ``", "`` (a JSON list is read too)."""
    raw = text(value)
    if raw.startswith("["):
        found = json_value(raw)
        if not isinstance(found, list):
            raise CellError(ImportCode.NOT_AN_ID_LIST, value=raw)
        return list(dict.fromkeys(str(i) for i in found if i))
    return list(dict.fromkeys(p.strip() for p in raw.split(",") if p.strip()))


def split_choices(value: Any, options: Iterable[str] = ()) -> list[str]:
    """The items of a multiple-choice cell, joined by ``", "`` (MANO) or ``"; "`` (Mano).

    An option that itself contains a comma (``"Hébergement, logement"``) is kept whole when
    it is one of ``options``: the longest run of pieces that forms a known option wins."""
    if isinstance(value, list):
        return list(dict.fromkeys(str(v).strip() for v in value if str(v).strip()))
    raw = text(value)
    if raw.startswith("[") and raw.endswith("]"):
        try:
            found = json.loads(raw)
        except ValueError:
            found = None
        if isinstance(found, list):
            return list(dict.fromkeys(str(v).strip() for v in found if str(v).strip()))
    known = {fold(o): o for o in options}
    whole = known.get(fold(raw))
    if whole is not None:
        return [whole]
    separator = ";" if ";" in raw else ","
    pieces = raw.split(separator)
    out: list[str] = []
    i = 0
    while i < len(pieces):
        taken = 1
        for j in range(len(pieces), i + 1, -1):  # longest known run first
            joined = separator.join(pieces[i:j]).strip()
            if fold(joined) in known:
                taken = j - i
                break
        item = separator.join(pieces[i:i + taken]).strip()
        if item:
            out.append(known.get(fold(item), item))
        i += taken
    return list(dict.fromkeys(out))


def choice(value: Any, options: Iterable[str]) -> str:
    """One value, spelt as in ``options`` when it is one of them (accents and case aside)."""
    raw = text(value)
    return {fold(o): o for o in options}.get(fold(raw), raw)


def json_value(value: Any) -> Any:
    """A JSON cell (histories, documents, a family's relations)."""
    raw = text(value)
    if len(raw) > MAX_JSON_CELL:
        raise CellError(ImportCode.JSON_TOO_LONG, expected=(str(MAX_JSON_CELL),))
    try:
        return json.loads(raw)
    except ValueError:
        raise CellError(ImportCode.BAD_JSON) from None
