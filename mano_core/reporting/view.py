"""What reporting reads from a team, and the time windows it counts in.

Reporting only reads records, so it works on anything shaped like a team: an open ``Team``
(mano_core.team) or a bare ``GeneralDocument`` (tests, benchmarks). Days are Europe/Paris
days; a night sub-team's day runs from noon to noon (DOMAIN.md).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

import msgspec

from mano_core.document.queries import fold
from mano_core.errors import NotFoundError, ValidationError
from mano_core.codes import Code
from mano_core.model.records import (
    Action,
    Comment,
    CustomFieldDefinition,
    Encounter,
    Group,
    HistoryEntry,
    Passage,
    Person,
    PersonPlace,
    Place,
    Record,
    Report,
    Structure,
    SubTeam,
    Territory,
    TerritoryObservation,
)

PARIS = ZoneInfo("Europe/Paris")
UTC = dt.UTC
NIGHT_DAY_STARTS = dt.time(12)  # a night sub-team's day runs noon → noon

R_co = TypeVar("R_co", bound=Record, covariant=True)


class Listing(Protocol[R_co]):
    """A collection as reporting reads it (Collection and DurableCollection both are)."""

    def list(self, *, include_deleted: bool = False) -> Sequence[R_co]: ...


class SettingsView(Protocol):
    def values(self, kind: str) -> list[str]: ...
    def get(self, key: str) -> Any: ...


class TeamView(Protocol):
    """The read side of a team: ``Team`` and ``GeneralDocument`` both satisfy it."""

    @property
    def persons(self) -> Listing[Person]: ...
    @property
    def actions(self) -> Listing[Action]: ...
    @property
    def comments(self) -> Listing[Comment]: ...
    @property
    def encounters(self) -> Listing[Encounter]: ...
    @property
    def passages(self) -> Listing[Passage]: ...
    @property
    def observations(self) -> Listing[TerritoryObservation]: ...
    @property
    def territories(self) -> Listing[Territory]: ...
    @property
    def structures(self) -> Listing[Structure]: ...
    @property
    def places(self) -> Listing[Place]: ...
    @property
    def person_places(self) -> Listing[PersonPlace]: ...
    @property
    def groups(self) -> Listing[Group]: ...
    @property
    def reports(self) -> Listing[Report]: ...
    @property
    def subteams(self) -> Listing[SubTeam]: ...
    @property
    def custom_fields(self) -> Listing[CustomFieldDefinition]: ...
    @property
    def history(self) -> Listing[HistoryEntry]: ...
    @property
    def settings(self) -> SettingsView: ...


class Period(msgspec.Struct, frozen=True):
    """Calendar days ``start`` to ``end``, both included (Europe/Paris)."""

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValidationError("period", "end", Code.END_BEFORE_START)

    def window(self) -> tuple[dt.datetime, dt.datetime]:
        """[first instant, instant after the last day) in UTC."""
        return (local_instant(self.start, dt.time(0)),
                local_instant(self.end + dt.timedelta(days=1), dt.time(0)))

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


def local_instant(day: dt.date, at: dt.time, tz: dt.tzinfo = PARIS) -> dt.datetime:
    """``day`` at ``at`` local time, as a UTC datetime (fast comparisons with stored UTC)."""
    return dt.datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def day_window(day: dt.date, *, night: bool) -> tuple[dt.datetime, dt.datetime]:
    """The instants a sub-team's ``day`` covers: midnight → midnight, or noon → noon."""
    at = NIGHT_DAY_STARTS if night else dt.time(0)
    return local_instant(day, at), local_instant(day + dt.timedelta(days=1), at)


def aware(moment: dt.datetime) -> dt.datetime:
    """A stored instant, reading a naive one as UTC (the engine stores UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def local_day(moment: dt.datetime) -> dt.date:
    """The Europe/Paris calendar day of an instant."""
    return aware(moment).astimezone(PARIS).date()


def resolve_subteams(view: TeamView, names: Iterable[str]) -> tuple[SubTeam, ...]:
    """Sub-teams by id or name (accents and case ignored). NotFoundError for an unknown one."""
    teams = list(view.subteams.list())
    by_id = {t.id: t for t in teams}
    by_name = {fold(t.name): t for t in teams}
    found: list[SubTeam] = []
    for name in names:
        team = by_id.get(name) or by_name.get(fold(name.strip()))
        if team is None:
            raise NotFoundError("subteams", name)
        if team not in found:
            found.append(team)
    return tuple(found)


def subteam(view: TeamView, subteam_id: str) -> SubTeam:
    """The live sub-team with that id; NotFoundError otherwise."""
    for team in view.subteams.list():
        if team.id == subteam_id:
            return team
    raise NotFoundError("subteams", subteam_id)


def ranked(counts: Counter[str]) -> dict[str, int]:
    """Counts from the largest, ties in alphabetical order: the same figures always read in
    the same order (``Counter.most_common`` keeps ties in the order records were met, which
    differs between devices and runs)."""
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
