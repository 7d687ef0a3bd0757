"""A field's value as a person reads it and as they type it, by entry kind.

Shown: dates and times in the interface's language (Babel) and the team's time zone, yes/no
as words, sub-teams and members by name. Typed: ``20/11/2026`` (or ``20/11``, ``2026-11-20``),
``20/11/2026 14:30``; a value that does not read raises ``EntryError`` with a code the
catalog translates (``entry.<code>``: the form's own codes; the engine's are
``error.validation.<code>``, tui.i18n.validation_text)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from babel.dates import format_date, format_time

from tui import format as fmt

from . import spec as k

if TYPE_CHECKING:
    from tui.i18n import Translator
    from tui.session import Session


class EntryError(ValueError):
    """What a person typed does not read as the field's kind; ``code`` is translated."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def day_text(t: Translator, value: dt.date | dt.datetime | None) -> str:
    """``20 nov. 2026`` in French, ``Nov 20, 2026`` in English."""
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        value = fmt.local(value).date()
    return format_date(value, "medium", locale=t.lang)


def moment_text(t: Translator, value: dt.datetime | None) -> str:
    """``20 nov. 2026, 10:30`` (Paris time) in French, ``Nov 20, 2026, 10:30 AM`` in English."""
    if value is None:
        return "—"
    when = fmt.local(value)
    return f"{format_date(when.date(), 'medium', locale=t.lang)}, " \
           f"{format_time(when.time(), 'short', locale=t.lang)}"


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value:
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _as_moment(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def show(kind: str, value: Any, session: Session, t: Translator) -> str:
    """``value`` of a field of ``kind`` as a person reads it (``—`` when empty)."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if kind == k.DATE:
        d = _as_date(value)
        return day_text(t, d) if d is not None else str(value)
    if kind == k.MOMENT:
        m = _as_moment(value)
        return moment_text(t, m) if m is not None else str(value)
    if kind in (k.CHECK, k.YESNO):
        return t("value.yes") if value is True else t("value.no") if value is False else str(
            value)
    if kind in (k.SUBTEAMS, k.SUBTEAM):
        ids = value if isinstance(value, list) else [value]
        return ", ".join(session.subteam_name(i) or t("value.unknown_subteam") for i in ids)
    if kind == k.MEMBERS:
        return ", ".join(session.member_name(m, t) for m in value)
    if kind == k.PERSON:
        try:
            return session.team.persons.get(str(value)).name
        except KeyError:
            return t("value.unknown_person")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def to_input(kind: str, value: Any) -> Any:
    """The widget's starting value for a record value."""
    if kind == k.DATE:
        d = _as_date(value)
        return fmt.day(d) if d is not None else ""
    if kind == k.MOMENT:
        m = _as_moment(value)
        return fmt.moment(m) if m is not None else ""
    if kind == k.NUMBER:
        if value is None:
            return ""
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    if kind in (k.TEXT, k.AREA):
        return "" if value is None else str(value)
    return value


def parse_day(text: str) -> dt.date | None:
    if not text.strip():
        return None
    try:
        return fmt.parse_day(text)
    except ValueError:
        raise EntryError("date") from None


def parse_moment(text: str) -> dt.datetime | None:
    """``20/11/2026 14:30`` (Paris time; a day alone is noon) as an instant in UTC."""
    text = text.strip()
    if not text:
        return None
    day_part, _, time_part = text.replace("T", " ").partition(" ")
    try:
        day = fmt.parse_day(day_part)
        at = fmt.parse_time(time_part) if time_part.strip() else dt.time(12)
    except ValueError:
        raise EntryError("moment") from None
    assert at is not None
    return dt.datetime.combine(day, at, tzinfo=fmt.PARIS).astimezone(dt.UTC)


def parse_number(text: str) -> int | float | None:
    text = text.strip().replace(" ", "").replace(",", ".")
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise EntryError("number") from None


def from_input(kind: str, raw: Any) -> Any:
    """The engine value for what a widget holds (EntryError if it does not read)."""
    if kind == k.DATE:
        return parse_day(str(raw or ""))
    if kind == k.MOMENT:
        return parse_moment(str(raw or ""))
    if kind == k.NUMBER:
        return parse_number(str(raw or ""))
    if kind == k.TEXT:
        return str(raw or "").strip()
    if kind == k.AREA:
        return str(raw or "")
    return raw


def to_custom(kind: str, value: Any) -> Any:
    """An engine value as a custom field stores it (dates as ISO 8601 text)."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if kind in (k.TEXT, k.AREA) and value == "":
        return None
    if kind == k.MULTI and value == []:
        return None
    return value
