"""Retention: erase persons out of the active list for longer than the team's retention period.

    await team.settings.set(RETENTION_SETTING, 24)     # months; 0 or unset: retention is off
    report = retention_report(team, today=dt.date.today())   # dry run: nothing is changed
    order = await apply_retention(team, report)        # erases exactly report's persons

A person is due when ``outOfActiveList`` is set and ``outOfActiveListDate`` is more than N
months before ``today`` (strictly: out on 2024-03-10 with 12 months is due from 2025-03-11).
Tombstoned (deleted) persons are included: their data is still held until erased. Applying
checks every listed person again and skips those no longer due (put back on the active list
meanwhile, their date changed, or the period lengthened). Erasing needs an admin device
(``ErasureForbiddenError`` otherwise), like any erasure.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, cast

from mano_core import limits
from mano_core.erasure.closure import plan_erasure
from mano_core.errors import NotFoundError, ValidationError
from mano_core.codes import Code
from mano_core.model.records import Erasure, Person

if TYPE_CHECKING:
    from mano_core.team import Team

__all__ = ["RETENTION_SETTING", "RetentionEntry", "RetentionReport", "apply_retention",
           "retention_months", "retention_report", "set_retention_months"]

RETENTION_SETTING: Final = "retentionMonths"
MAX_RETENTION_MONTHS: Final = 1200  # a hundred years: anything larger is a typing mistake


@dataclass(frozen=True, slots=True)
class RetentionEntry:
    """A person due for erasure, with what erasing them removes (per collection)."""

    person_id: str
    name: str
    out_since: dt.date
    reasons: tuple[str, ...]
    counts: dict[str, int]


@dataclass(frozen=True, slots=True)
class RetentionReport:
    """A dry run. ``months`` is None when retention is off (then ``entries`` is empty);
    ``cutoff``: persons out of the active list before that day are due. ``totals``: what
    erasing all of them removes, per collection (a record about several of them counts once)."""

    today: dt.date
    months: int | None
    cutoff: dt.date | None
    entries: tuple[RetentionEntry, ...] = ()
    totals: dict[str, int] = field(default_factory=dict)

    @property
    def person_ids(self) -> list[str]:
        return [e.person_id for e in self.entries]


def retention_months(team: Team) -> int | None:
    """The team's retention period in months, or None when off (unset, 0 or unreadable)."""
    value: Any = team.settings.get(RETENTION_SETTING)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    months = int(value)
    return months if months > 0 else None


async def set_retention_months(team: Team, months: int | None) -> None:
    """Set the retention period (None or 0: off). ValidationError if negative or absurd."""
    if months is not None and not 0 <= months <= MAX_RETENTION_MONTHS:
        raise ValidationError("settings", RETENTION_SETTING, Code.OUT_OF_RANGE, min=0,
                              max=MAX_RETENTION_MONTHS)
    await team.settings.set(RETENTION_SETTING, months or 0)


def months_before(day: dt.date, months: int) -> dt.date:
    """``day`` minus ``months`` calendar months (the 31st becomes the month's last day)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _due(person: Person, cutoff: dt.date) -> bool:
    return (person.out_of_active_list and person.out_of_active_list_date is not None
            and person.out_of_active_list_date < cutoff)


def retention_report(team: Team, *, today: dt.date) -> RetentionReport:
    """Who retention would erase today, and what that removes. Changes nothing."""
    months = retention_months(team)
    if months is None:
        return RetentionReport(today=today, months=None, cutoff=None)
    cutoff = months_before(today, months)
    due = sorted((p for p in team.persons.list(include_deleted=True) if _due(p, cutoff)),
                 key=lambda p: (p.out_of_active_list_date, p.name.casefold(), p.id))
    if len(due) > limits.MAX_LIST_ITEMS:
        due = due[:limits.MAX_LIST_ITEMS]  # one order names at most that many; the rest next run
    if not due:
        return RetentionReport(today=today, months=months, cutoff=cutoff)
    union = plan_erasure({p.id for p in due}, team.doc, team.medical_doc,
                         known_erased=team.erasures.erased_ids())
    general, medical = _Subset(team.doc, union.general), None
    if team.medical_doc is not None:
        medical = _Subset(team.medical_doc, union.medical)
    known = team.erasures.erased_ids()
    entries = tuple(
        RetentionEntry(person_id=p.id, name=p.name, out_since=p.out_of_active_list_date,
                       reasons=tuple(p.out_of_active_list_reasons),
                       counts=plan_erasure({p.id}, cast(Any, general), cast(Any, medical),
                                           known_erased=known).counts())
        for p in due if p.out_of_active_list_date is not None)
    totals = union.counts()
    return RetentionReport(today=today, months=months, cutoff=cutoff, entries=entries,
                           totals=totals)


class _Records:
    """A few records of one collection, listed as a collection lists them."""

    def __init__(self, records: list[Any]) -> None:
        self._records = records

    def list(self, *, include_deleted: bool = False) -> list[Any]:
        return [r for r in self._records if include_deleted or not r.deleted]


class _Subset:
    """A document reduced to the records that erasing every due person removes.

    Erasing one of them removes a subset of that (an action is removed for one person only if
    it concerns that person alone; comments and history follow what is removed), so planning
    each person over this subset gives ``team.erasures.preview([person])`` without decoding
    the whole team once per person (about 20 ms each at MANO scale)."""

    def __init__(self, doc: Any, keep: dict[str, set[str]]) -> None:
        self.collections: dict[str, _Records] = {}
        for name in doc.collections:
            ids = keep.get(name, set())
            coll = doc.collections[name]
            self.collections[name] = _Records([coll.get(i, include_deleted=True) for i in ids])

    def __getattr__(self, name: str) -> _Records:
        wire = {"person_places": "personPlaces", "medical_files": "medicalFiles"}.get(name, name)
        try:
            return self.collections[wire]
        except KeyError:
            raise AttributeError(name) from None


async def apply_retention(team: Team, report: RetentionReport) -> Erasure | None:
    """Erase the persons of ``report`` that are still due (reason ``retention``); None if
    none is left. Raises ErasureForbiddenError (not an admin device; nothing changed)."""
    months = retention_months(team)
    if months is None or report.cutoff is None:
        return None
    cutoff = min(report.cutoff, months_before(report.today, months))
    still_due = []
    for entry in report.entries:
        try:
            person = team.persons.get(entry.person_id, include_deleted=True)
        except NotFoundError:
            continue  # erased meanwhile
        if _due(person, cutoff):
            still_due.append(person.id)
    if not still_due:
        return None
    return await team.erasures.erase(still_due, reason="retention")
