"""Reading one spreadsheet cell as a typed value (imports).

A cell is text (CSV, or an XLSX text cell) or a native value (XLSX numbers, booleans, dates).
Every parser returns the value or raises ``CellError`` with its code and parameters
(``problems.py``)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from mano_core.document.queries import fold

from .problems import DATE_FORMATS, MOMENT_FORMATS, ImportCode
from .problems import CellError as CellError  # the parsers' error, where imports catch it
from .view import PARIS, UTC


_TRUE = frozenset({"oui", "o", "yes", "y", "true", "vrai", "1", "x"})
_FALSE = frozenset({"non", "n", "no", "false", "faux", "0"})
FR_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2})[:h](\d{2})(?::(\d{2}))?)?$")


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def text(value: Any) -> str:
    """Any cell as text (an integral number without its ``.0``, e.g. a phone number)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value).strip()


def boolean(value: Any) -> bool:
    """Oui/Non, yes/no, true/false, 1/0, x."""
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
    """A number (a decimal comma is accepted)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value) if isinstance(value, float) and value.is_integer() else value
    parsed = number_in(text(value))
    if parsed is None:
        raise CellError(ImportCode.NOT_A_NUMBER, value=text(value))
    return parsed


def number_in(raw: str) -> int | float | None:
    """The number a cell's text spells (spaces and a decimal comma allowed), or None."""
    try:
        parsed = float(raw.replace("\u202f", "").replace(" ", "").replace(",", "."))
    except ValueError:
        return None
    return int(parsed) if parsed.is_integer() else parsed


def moment_in(raw: str) -> tuple[dt.datetime, bool] | None:
    """(the moment, whether a time was given) a cell's text spells, ISO 8601 or
    ``20/11/2026 [14:30[:00]]``, or None. A moment without an offset is Paris time:
    ``as_utc`` says which instant it is."""
    match = FR_DATE.match(raw)
    try:
        if match:
            d, m, y, hh, mm, ss = match.groups()
            return dt.datetime(int(y), int(m), int(d), int(hh or 0), int(mm or 0),
                               int(ss or 0)), hh is not None
        return dt.datetime.fromisoformat(raw), len(raw) > 10
    except ValueError:
        return None


def as_utc(moment: dt.datetime) -> dt.datetime:
    """The UTC instant of ``moment``; one without an offset is Paris time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=PARIS)
    return moment.astimezone(UTC)


def day(value: Any) -> dt.date:
    """A day: 2026-11-20, 20/11/2026, or an XLSX date."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    raw = text(value)
    match = FR_DATE.match(raw)
    try:
        if match and match.group(4) is None:
            return dt.date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
        if not match:
            return dt.date.fromisoformat(raw)
    except ValueError:
        pass
    raise CellError(ImportCode.NOT_A_DATE, value=raw, expected=DATE_FORMATS)


def instant(value: Any) -> tuple[dt.datetime, bool]:
    """(UTC instant, whether a time was given). Times without an offset are Paris time;
    a day alone is its midnight in Paris."""
    if isinstance(value, dt.datetime):
        moment, timed = value, True
    elif isinstance(value, dt.date):
        moment, timed = dt.datetime.combine(value, dt.time(0)), False
    else:
        raw = text(value)
        found = moment_in(raw)
        if found is None:
            raise CellError(ImportCode.NOT_A_MOMENT, value=raw, expected=MOMENT_FORMATS)
        moment, timed = found
    return as_utc(moment), timed


def items(value: Any) -> list[str]:
    """A list cell: items separated by ``;`` (duplicates and blanks dropped)."""
    found = [part.strip() for part in text(value).split(";")]
    return list(dict.fromkeys(p for p in found if p))


def choice(value: Any, options: Iterable[str], what: str = "value") -> str:
    """One of ``options``, matched ignoring accents and case; returned as spelt there.
    ``what`` names the kind of value (problems.WHATS) for the problem."""
    known = {fold(o): o for o in options}
    raw = text(value)
    found = known.get(fold(raw))
    if found is None:
        raise CellError(ImportCode.UNKNOWN_VALUE, value=raw, expected=known.values(),
                        what=what)
    return found
