"""Activity statistics for a period and one or several sub-teams (what funders ask for).

Every client gets the same figures because they are computed here; the definitions of each
figure are in docs/reports.md. Results are frozen msgspec Structs (``msgspec.json.encode``
gives the machine-readable form)."""

from __future__ import annotations

import datetime as dt
import statistics as pystats
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import msgspec

from mano_core.document.settings import FEATURES
from mano_core.model.records import (
    ACTION_STATUSES,
    ATMOSPHERES,
    DONE,
    GENDERS,
    TO_DO,
    CustomFieldDefinition,
    Person,
)
from mano_core.rules.table import Power

from .daily import merged_reports
from .view import UTC, Period, TeamView, aware, local_day, ranked

NOT_FILLED = "Non renseigné"
NO_CATEGORY = "Sans catégorie"
YES, NO = "Oui", "Non"
AGE_BRACKETS: tuple[tuple[str, int, int], ...] = (
    ("0-2", 0, 2), ("3-17", 3, 17), ("18-24", 18, 24), ("25-44", 25, 44),
    ("45-59", 45, 59), ("60-74", 60, 74), ("75+", 75, 10_000),
)


TeamsFilter = Callable[[Iterable[str]], bool]
TeamFilter = Callable[[str | None], bool]
Within = Callable[[dt.datetime | None], bool]


class CustomFieldStats(msgspec.Struct, frozen=True, kw_only=True):
    """Values of one custom field marked "show in stats", over the records counted."""

    key: str
    label: str
    type: str
    filled: int
    counts: dict[str, int]  # per option (choices), Oui/Non (yes-no), per value (numbers)
    total: float | None = None  # numbers only
    mean: float | None = None


class PersonStats(msgspec.Struct, frozen=True, kw_only=True):
    followed: int
    new: int
    by_gender: dict[str, int]
    by_age: dict[str, int]
    vulnerable: int
    out_of_active_list: int
    out_reasons: dict[str, int]
    custom_fields: tuple[CustomFieldStats, ...]


class ActionStats(msgspec.Struct, frozen=True, kw_only=True):
    total: int
    by_status: dict[str, int]
    by_category: dict[str, int]
    overdue: int
    completed: int
    completion_days_mean: float | None
    completion_days_median: float | None


class CommentStats(msgspec.Struct, frozen=True, kw_only=True):
    total: int
    urgent: int
    on_persons: int
    on_actions: int


class VisitStats(msgspec.Struct, frozen=True, kw_only=True):
    """Encounters or passages: how many, of how many distinct persons, how many anonymous."""

    total: int
    persons: int
    anonymous: int


class ObservationStats(msgspec.Struct, frozen=True, kw_only=True):
    total: int
    by_territory: dict[str, int]  # territory name → observations
    by_atmosphere: dict[str, int]
    men: int
    women: int
    minors: int
    police: int
    custom_fields: tuple[CustomFieldStats, ...]


class Statistics(msgspec.Struct, frozen=True, kw_only=True):
    """Every figure of one period, for the listed sub-teams (empty: the whole team)."""

    period: Period
    subteams: tuple[str, ...]
    computed_at: dt.datetime
    persons: PersonStats
    actions: ActionStats
    comments: CommentStats
    encounters: VisitStats
    passages: VisitStats
    observations: ObservationStats
    reports: int
    services: dict[str, int]
    # Feature switches when computed: a section whose feature is off counts nothing and is
    # left out of tables (territories → observations, receptionCounters → services).
    features: dict[str, bool] = {}


def compute(view: TeamView, period: Period, subteams: Sequence[str] = (), *,
            now: dt.datetime | None = None) -> Statistics:
    """Statistics of ``period`` for the sub-teams with these ids (all if empty).

    ``now`` (default: the current time) decides which actions are overdue."""
    now = aware(now) if now is not None else dt.datetime.now(UTC)
    check = getattr(view, "require", None)
    if check is not None:  # a Team: restricted members compute no statistics
        check(Power.STATISTICS)
    features = view_features(view)
    wanted = frozenset(subteams)
    start, end = period.window()

    def in_team(team: str | None) -> bool:
        return not wanted or team in wanted

    def in_teams(teams: Iterable[str]) -> bool:
        return not wanted or not wanted.isdisjoint(teams)

    def within(moment: dt.datetime | None) -> bool:
        if moment is None:
            return False
        return start <= (moment if moment.tzinfo is not None else aware(moment)) < end

    # A health-only field's values exist only where the medical compartment is held: elsewhere
    # its figures would be zeros that look true, so the field is left out.
    health = getattr(view, "medical", None) is not None
    definitions = [d for d in view.custom_fields.list()
                   if d.show_in_stats and (health or not d.health_only)]
    reports = merged_reports(view, subteams=tuple(wanted), start=period.start, end=period.end)
    services: Counter[str] = Counter()
    if features["receptionCounters"]:
        for report in reports:
            services.update(report.services)
    comments = [c for c in view.comments.list() if in_team(c.team) and within(c.date)]
    encounters = [e for e in view.encounters.list() if in_team(e.team) and within(e.date)
                  ] if features["encounters"] else []
    passages = [p for p in view.passages.list() if in_team(p.team) and within(p.date)
                ] if features["passages"] else []
    return Statistics(
        period=period, subteams=tuple(subteams), computed_at=now,
        persons=_persons(view, period, in_teams, definitions),
        actions=_actions(view, period, in_teams, within, now),
        comments=CommentStats(total=len(comments), urgent=sum(c.urgent for c in comments),
                              on_persons=sum(c.person is not None for c in comments),
                              on_actions=sum(c.person is None for c in comments)),
        encounters=VisitStats(total=len(encounters), persons=len({e.person for e in encounters}),
                              anonymous=0),
        passages=VisitStats(total=len(passages),
                            persons=len({p.person for p in passages if p.person is not None}),
                            anonymous=sum(p.person is None for p in passages)),
        observations=_observations(view, in_team, within, definitions,
                                   on=features["territories"]),
        reports=len(reports), services=dict(sorted(services.items())), features=features,
    )


def view_features(view: TeamView) -> dict[str, bool]:
    """The team's feature switches (all on for a view without settings switches)."""
    feature = getattr(view.settings, "feature", None)
    return {name: bool(feature(name)) if feature is not None else True for name in FEATURES}


def follow_start(person: Person) -> dt.date:
    """The day a person's follow-up started: ``followedSince``, else the creation day."""
    return person.followed_since or local_day(person.created_at)


def is_followed(person: Person, period: Period) -> bool:
    """Followed during the period: follow-up started by its end, and not out before it."""
    if follow_start(person) > period.end:
        return False
    out = person.out_of_active_list_date
    return not (person.out_of_active_list and out is not None and out < period.start)


def age_bracket(birthdate: dt.date | None, on: dt.date) -> str:
    """The age bracket (AGE_BRACKETS) of someone born on ``birthdate``, on day ``on``."""
    if birthdate is None or birthdate > on:
        return NOT_FILLED
    age = on.year - birthdate.year - ((on.month, on.day) < (birthdate.month, birthdate.day))
    return next(name for name, lo, hi in AGE_BRACKETS if lo <= age <= hi)


def _persons(view: TeamView, period: Period, in_teams: TeamsFilter,
             definitions: list[CustomFieldDefinition]) -> PersonStats:
    team_persons = [p for p in view.persons.list() if in_teams(p.assigned_teams)]
    followed = [p for p in team_persons if is_followed(p, period)]
    out = [p for p in team_persons if p.out_of_active_list
           and p.out_of_active_list_date is not None
           and period.contains(p.out_of_active_list_date)]
    genders = Counter(p.gender or NOT_FILLED for p in followed)
    ages = Counter(age_bracket(p.birthdate, period.end) for p in followed)
    reasons = Counter(reason for p in out for reason in p.out_of_active_list_reasons)
    return PersonStats(
        followed=len(followed),
        new=sum(period.contains(follow_start(p)) for p in team_persons),
        by_gender={g: genders[g] for g in (*GENDERS, NOT_FILLED) if genders[g]},
        by_age={name: ages[name] for name, _lo, _hi in (*AGE_BRACKETS, (NOT_FILLED, 0, 0))
                if ages[name]},
        vulnerable=sum(p.alertness for p in followed),
        out_of_active_list=len(out), out_reasons=ranked(reasons),
        custom_fields=tuple(custom_field_stats(d, (p.custom_fields for p in followed))
                            for d in definitions if d.scope == "person"),
    )


def _actions(view: TeamView, period: Period, in_teams: TeamsFilter, within: Within,
             now: dt.datetime) -> ActionStats:
    actions = [a for a in view.actions.list() if in_teams(a.teams)
               and (within(a.due_at) or within(a.completed_at))]
    statuses: Counter[str] = Counter(a.status for a in actions)
    categories = Counter(c for a in actions for c in (a.categories or [NO_CATEGORY]))
    _start, end = period.window()
    overdue_before = min(end, now)
    done = [a for a in actions if a.status == DONE and within(a.completed_at)]
    delays = [(aware(a.completed_at) - aware(a.created_at)).total_seconds() / 86400
              for a in done if a.completed_at is not None]
    return ActionStats(
        total=len(actions), by_status={s: statuses[s] for s in ACTION_STATUSES},
        by_category=ranked(categories),
        overdue=sum(a.status == TO_DO and aware(a.due_at) < overdue_before for a in actions),
        completed=len(done),
        completion_days_mean=round(pystats.fmean(delays), 2) if delays else None,
        completion_days_median=round(pystats.median(delays), 2) if delays else None,
    )


def _observations(view: TeamView, in_team: TeamFilter, within: Within,
                  definitions: list[CustomFieldDefinition], *, on: bool = True
                  ) -> ObservationStats:
    observations = [o for o in view.observations.list()
                    if in_team(o.team) and within(o.observed_at)] if on else []
    names = {t.id: t.name for t in view.territories.list(include_deleted=True)}
    territories = Counter(names.get(o.territory, o.territory) for o in observations)
    atmospheres = Counter(o.atmosphere or NOT_FILLED for o in observations)
    return ObservationStats(
        total=len(observations), by_territory=ranked(territories),
        by_atmosphere={a: atmospheres[a] for a in (*ATMOSPHERES, NOT_FILLED) if atmospheres[a]},
        men=sum(o.men for o in observations), women=sum(o.women for o in observations),
        minors=sum(o.minors for o in observations), police=sum(o.police for o in observations),
        custom_fields=tuple(custom_field_stats(d, (o.custom_fields for o in observations))
                            for d in definitions if d.scope == "observation"),
    )


def _number_key(label: str) -> tuple[float, str]:
    try:
        return float(label), label
    except ValueError:
        return float("inf"), label


def value_labels(value: Any) -> list[str]:
    """How a field value is counted: one label per choice, Oui/Non, or its text."""
    if value is None or value == "" or value == []:
        return []
    if isinstance(value, bool):
        return [YES if value else NO]
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return [str(int(value))]
    return [str(value)]


def custom_field_stats(definition: CustomFieldDefinition,
                       values: Iterable[dict[str, Any]]) -> CustomFieldStats:
    """Statistics of one custom field over the ``customFields`` dicts of some records."""
    filled = 0
    labels: list[str] = []
    numbers: list[float] = []
    counted = definition.type in ("enum", "multi-choice", "yes-no", "number")
    key = definition.key
    for fields in values:
        value = fields.get(key)
        if value is None:
            continue
        found = value_labels(value)
        if not found:
            continue
        filled += 1
        if counted:
            labels += found
        if definition.type == "number" and isinstance(value, int | float):
            numbers.append(float(value))
    counts = Counter(labels)
    order = list(definition.options) if definition.type in ("enum", "multi-choice") else []
    if definition.type == "yes-no":
        order = [YES, NO]
    ordered = {k: counts[k] for k in order if counts[k]}
    rest = sorted(counts, key=_number_key if definition.type == "number" else str)
    ordered.update((k, counts[k]) for k in rest if k not in ordered)
    return CustomFieldStats(
        key=definition.key, label=definition.label_text, type=definition.type, filled=filled,
        counts=ordered, total=sum(numbers) if definition.type == "number" else None,
        mean=round(pystats.fmean(numbers), 2) if numbers else None,
    )
