"""How records read on screen: dates in Paris time, statuses as words (never colour alone),
numbers and sizes as the interface's language writes them (``10 000``, ``2,1 Mo``)."""

from __future__ import annotations

import datetime as dt
from typing import Final
from zoneinfo import ZoneInfo

from mano_core.model.records import Action

from .i18n import Translator
from .numbers import number

__all__ = ["number"]  # re-exported: screens write numbers through tui.format

PARIS = ZoneInfo("Europe/Paris")
SIZE_UNITS: Final = ("size.kb", "size.mb", "size.gb")   # after bytes, each 1024 times the last


def size(t: Translator, n_bytes: int) -> str:
    """A size in bytes: ``12 octets``, ``39 Ko``, ``2,1 Mo`` (``12 bytes``, ``39 kB``,
    ``2.1 MB``)."""
    if n_bytes < 1024:
        return t("size.bytes", count=n_bytes)
    value = n_bytes / 1024
    for unit in SIZE_UNITS:
        if value < 1024 or unit == SIZE_UNITS[-1]:
            break
        value /= 1024
    return t(unit, n=number(value, t.lang, decimals=0 if unit == "size.kb" else 1))


def local(moment: dt.datetime) -> dt.datetime:
    """An instant in the team's time zone (naive instants are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(PARIS)


def day(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = local(value).date()
    return f"{value:%d/%m/%Y}"


def moment(value: dt.datetime | None) -> str:
    return "" if value is None else f"{local(value):%d/%m/%Y %H:%M}"


def due(action: Action, today: dt.date | None = None) -> str:
    """Due date, with the year when it is not ``today``'s (default: the machine's) and the
    time only when the action has one: ``20/11 14:30``, ``03/02/2025``."""
    when = local(action.due_at)
    this_year = (today or dt.datetime.now(PARIS).date()).year
    shown = f"{when:%d/%m}" if when.year == this_year else f"{when:%d/%m/%Y}"
    return f"{shown} {when:%H:%M}" if action.with_time else shown


def status(t: Translator, value: str) -> str:
    """A status as a word with a symbol: ``☐ À FAIRE``, ``✓ FAIT``, ``✗ ANNULÉE``."""
    return t({"A FAIRE": "status.todo", "FAIT": "status.done",
              "ANNULEE": "status.cancelled"}.get(value, "status.todo"))


def flag(t: Translator, on: bool, key: str) -> str:
    """A flag shown as a word (``URGENT``), so that it never depends on colour."""
    return t(key) if on else ""


def value(v: object) -> str:
    """Any field value (history, custom fields) as short text."""
    if v is None or v == "" or v == []:
        return "—"
    if isinstance(v, bool):
        return "✓" if v else "✗"
    if isinstance(v, list):
        return ", ".join(str(x) for x in v)
    if isinstance(v, dt.datetime):
        return moment(v)
    if isinstance(v, dt.date):
        return day(v)
    text = str(v)
    return text if len(text) <= 80 else text[:79] + "…"


def parse_day(text: str) -> dt.date:
    """``20/11/2026``, ``20/11`` (this year) or ``2026-11-20``; ValueError otherwise."""
    text = text.strip()
    if "-" in text:
        return dt.date.fromisoformat(text)
    parts = text.split("/")
    if len(parts) == 2:
        parts.append(str(dt.date.today().year))
    if len(parts) != 3:
        raise ValueError(text)
    d, m, y = (int(p) for p in parts)
    return dt.date(y if y > 99 else 2000 + y, m, d)


def parse_time(text: str) -> dt.time | None:
    """``14:30`` or ``14h30`` or ``14h``; None for empty; ValueError otherwise."""
    text = text.strip().lower().replace("h", ":")
    if not text:
        return None
    hours, _, minutes = text.partition(":")
    return dt.time(int(hours), int(minutes or 0))
