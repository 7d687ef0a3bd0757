"""The daily report ("compte rendu") of one sub-team and one day, and the day's activity.

Two devices offline on the same day may both create the day's report. We keep every such
record and merge them when reading, instead of deriving one deterministic id: pycrdt resolves a
concurrent write of the same map key by keeping one value, so two devices creating the same id
would lose the counters of one of them (tests/reporting/test_daily.py shows both behaviours).
The merged report ("DailyReport") sums the service counters of all its records, unites their
collaborations and joins their distinct descriptions; writes go to the oldest record (by
creation time, then id), and editing the description empties the others, folding duplicates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import msgspec

from mano_core.errors import ValidationError
from mano_core.codes import Code
from mano_core.model.records import (
    DONE,
    Action,
    Comment,
    Encounter,
    Passage,
    Person,
    Report,
    TerritoryObservation,
)
from mano_core.team import Team

from .view import TeamView, aware, day_window, subteam


class DailyReport(msgspec.Struct, frozen=True, kw_only=True):
    """One sub-team's report of one day, merged from every record written for it."""

    subteam: str
    day: dt.date
    record_ids: tuple[str, ...]  # oldest first: writes go to the first
    description: str = ""
    collaborations: tuple[str, ...] = ()
    services: dict[str, int] = {}


class DayActivity(msgspec.Struct, frozen=True, kw_only=True):
    """What a sub-team recorded during its day (``start`` ≤ instant < ``end``, UTC)."""

    subteam: str
    day: dt.date
    start: dt.datetime
    end: dt.datetime
    actions_created: tuple[Action, ...]
    actions_done: tuple[Action, ...]
    comments: tuple[Comment, ...]
    encounters: tuple[Encounter, ...]
    passages: tuple[Passage, ...]
    observations: tuple[TerritoryObservation, ...]
    new_persons: tuple[Person, ...]

    def counts(self) -> dict[str, int]:
        """Number of records of each kind."""
        return {name: len(getattr(self, name)) for name in _ACTIVITY_FIELDS}


_ACTIVITY_FIELDS = ("actions_created", "actions_done", "comments", "encounters", "passages",
                    "observations", "new_persons")


# --- reading ----------------------------------------------------------------------------------


def merge(subteam_id: str, day: dt.date, records: Iterable[Report]) -> DailyReport:
    """The merged report of these records (all of ``subteam_id`` and ``day``)."""
    ordered = sorted(records, key=lambda r: (aware(r.created_at), r.id))
    descriptions: list[str] = []
    collaborations: list[str] = []
    services: dict[str, int] = {}
    for record in ordered:
        text = record.description.strip()
        if text and text not in descriptions:
            descriptions.append(text)
        collaborations += [c for c in record.collaborations if c not in collaborations]
        for name, count in record.services.items():
            services[name] = services.get(name, 0) + count
    return DailyReport(subteam=subteam_id, day=day, record_ids=tuple(r.id for r in ordered),
                       description="\n\n".join(descriptions),
                       collaborations=tuple(collaborations), services=services)


def reports_by_day(view: TeamView) -> dict[tuple[str, dt.date], list[Report]]:
    """Live report records grouped by (sub-team id, day)."""
    grouped: dict[tuple[str, dt.date], list[Report]] = {}
    for report in view.reports.list():
        grouped.setdefault((report.team, report.date), []).append(report)
    return grouped


def merged_reports(view: TeamView, *, subteams: Sequence[str] = (),
                   start: dt.date | None = None,
                   end: dt.date | None = None) -> list[DailyReport]:
    """Merged reports, by day then sub-team, optionally of some sub-teams and days."""
    wanted = set(subteams)
    out = [merge(team, day, records) for (team, day), records in reports_by_day(view).items()
           if (not wanted or team in wanted) and (start is None or day >= start)
           and (end is None or day <= end)]
    return sorted(out, key=lambda r: (r.day, r.subteam))


def get(view: TeamView, subteam_id: str, day: dt.date) -> DailyReport | None:
    """The day's merged report, or None if nobody wrote one yet."""
    records = [r for r in view.reports.list() if r.team == subteam_id and r.date == day]
    return merge(subteam_id, day, records) if records else None


def activity(view: TeamView, subteam_id: str, day: dt.date) -> DayActivity:
    """What the sub-team did during its day (noon → noon for a night sub-team).

    Actions count when one of their teams is the sub-team; comments, encounters, passages and
    observations by their ``team``; new persons by their assigned teams and creation time.
    NotFoundError if the sub-team does not exist."""
    team = subteam(view, subteam_id)
    start, end = day_window(day, night=team.night_session)

    def within(moment: dt.datetime | None) -> bool:
        return moment is not None and start <= aware(moment) < end

    actions = [a for a in view.actions.list() if subteam_id in a.teams]
    return DayActivity(
        subteam=subteam_id, day=day, start=start, end=end,
        actions_created=tuple(a for a in actions if within(a.created_at)),
        actions_done=tuple(a for a in actions if a.status == DONE and within(a.completed_at)),
        comments=tuple(c for c in view.comments.list()
                       if c.team == subteam_id and within(c.date)),
        encounters=tuple(e for e in view.encounters.list()
                         if e.team == subteam_id and within(e.date)),
        passages=tuple(p for p in view.passages.list()
                       if p.team == subteam_id and within(p.date)),
        observations=tuple(o for o in view.observations.list()
                           if o.team == subteam_id and within(o.observed_at)),
        new_persons=tuple(p for p in view.persons.list()
                          if subteam_id in p.assigned_teams and within(p.created_at)),
    )


# --- writing (durable: each call returns once committed) --------------------------------------


async def get_or_create(team: Team, subteam_id: str, day: dt.date) -> DailyReport:
    """The day's report, creating its record if this device knows none.

    NotFoundError if the sub-team does not exist."""
    subteam(team, subteam_id)
    found = get(team, subteam_id, day)
    if found is not None:
        return found
    created = await team.reports.create(team=subteam_id, date=day)
    return merge(subteam_id, day, [created])


async def set_description(team: Team, subteam_id: str, day: dt.date,
                          text: str) -> DailyReport:
    """Replace the shared description (the other records' descriptions are emptied)."""
    report = await get_or_create(team, subteam_id, day)
    first, *others = report.record_ids
    await team.reports.update(first, description=text)
    for record_id in others:
        if team.reports.get(record_id).description:
            await team.reports.update(record_id, description="")
    return _reread(team, subteam_id, day)


async def add_collaboration(team: Team, subteam_id: str, day: dt.date,
                            partner: str, *, add_to_list: bool = False) -> DailyReport:
    """Add a partner collaboration (a set: concurrent additions are all kept).

    Once the team lists its collaborations, a partner it does not list is refused
    (ValidationError) unless ``add_to_list``: then it joins the list first, as MANO lets any
    member add a partner from the report."""
    partner = partner.strip()
    if not partner:
        raise ValidationError("report", "collaborations", Code.REQUIRED)
    if add_to_list and partner not in team.settings.values("collaborations"):
        await team.settings.add("collaborations", partner)
    report = await get_or_create(team, subteam_id, day)
    if partner not in report.collaborations:
        first = team.reports.get(report.record_ids[0])
        await team.reports.update(first.id, collaborations=[*first.collaborations, partner])
    return _reread(team, subteam_id, day)


async def remove_collaboration(team: Team, subteam_id: str, day: dt.date,
                               partner: str) -> DailyReport:
    """Remove a partner collaboration from every record of the day."""
    report = await get_or_create(team, subteam_id, day)
    for record_id in report.record_ids:
        record = team.reports.get(record_id)
        if partner in record.collaborations:
            await team.reports.update(
                record_id, collaborations=[c for c in record.collaborations if c != partner])
    return _reread(team, subteam_id, day)


async def increment(team: Team, subteam_id: str, day: dt.date, service: str,
                    by: int = 1) -> DailyReport:
    """Add ``by`` (may be negative, to correct) to a service counter of the day.

    ValidationError if the service is not in the team's settings or the total would go
    below zero. Concurrent increments from several devices add up."""
    known = team.settings.values("services")
    if service not in known:
        raise ValidationError("report", f"services.{service}", Code.UNKNOWN_SERVICE,
                              known=list(known))
    report = await get_or_create(team, subteam_id, day)
    if report.services.get(service, 0) + by < 0:
        raise ValidationError("report", f"services.{service}", Code.BELOW_ZERO)
    await team.reports.increment(report.record_ids[0], "services", service, by)
    return _reread(team, subteam_id, day)


def _reread(team: Team, subteam_id: str, day: dt.date) -> DailyReport:
    found = get(team, subteam_id, day)
    assert found is not None  # we just wrote it
    return found
