"""Statistics with MANO's definitions, as its funders read them (dashboard/src/scenes/stats/).

``mano_statistics(view, period, subteams, filters, now)`` counts, for the selected sub-teams
(all of them when none is given), with a night sub-team's period shifted by 12 hours (its day
runs noon to noon: MANO shifts the start and the end of the period by +12 h for it):

========================== =========================================================================
persons_created            "Personnes créées": follow-up start (``followedSince``, else creation)
                           within the period (the window of one of the person's sub-teams)
persons_followed           "Personnes suivies": created in the period, or with an interaction in it
                           (an action, comment, passage, encounter or consultation about them, or a
                           change of their file)
follow_up_days_mean        "Temps de suivi moyen" of the persons followed: from the follow-up start
                           to the exit of the active list, or to ``now``, in days
wandering_days_mean        "Temps d'errance moyen": from ``wanderingAt`` to ``now``, in days
families, family_size_mean "Familles": distinct families of the persons followed, their mean size
actions                    actions of the sub-teams, ``completedAt`` (else ``dueAt``) in the window
                           of one of their sub-teams, about a person kept by the filters (or none)
passages, encounters       dated in the window of their sub-team; ``…_persons`` distinct persons;
                           ``…_new_persons`` of them created in the period; anonymous passages
collaborations             per partner, over the reports of the period
========================== =========================================================================

``filters`` keep only the persons whose field has the value (any person field by its wire
name, a custom field as ``customFields.<key>``, ``outOfActiveList`` as True/False; a list
field keeps a person when it holds the value); the records about other persons are not
counted, anonymous passages only when no filter is set."""

from __future__ import annotations

import datetime as dt
import statistics as pystats
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any, Final

import msgspec

from mano_core.model.records import Person

from .view import Period, TeamView, aware, local_day, local_instant

NIGHT_SHIFT: Final = dt.timedelta(hours=12)


class PersonFilter(msgspec.Struct, frozen=True):
    field: str  # "gender", "customFields.<key>", "outOfActiveList"…
    value: Any


class ManoStatistics(msgspec.Struct, frozen=True, kw_only=True):
    period: Period
    subteams: tuple[str, ...]
    persons_created: int
    persons_followed: int
    follow_up_days_mean: float | None
    wandering_days_mean: float | None
    families: int
    family_size_mean: float | None
    actions: int
    actions_by_category: dict[str, int]
    passages: int
    passages_anonymous: int
    passages_persons: int
    passages_new_persons: int
    encounters: int
    encounters_persons: int
    encounters_new_persons: int
    collaborations: dict[str, int]


def person_value(person: Person, field: str) -> Any:
    if field.startswith("customFields."):
        return person.custom_fields.get(field.split(".", 1)[1])
    wire = {f.encode_name: f.name for f in msgspec.structs.fields(Person)}
    return getattr(person, wire.get(field, field), None)


def matches(person: Person, filters: Iterable[PersonFilter]) -> bool:
    for f in filters:
        value = person_value(person, f.field)
        if isinstance(value, list):
            if f.value not in value:
                return False
        elif value != f.value:
            return False
    return True


Window = tuple[dt.datetime, dt.datetime]


def windows(view: TeamView, period: Period) -> tuple[dict[str, Window], Window]:
    """(each sub-team's window, the window of records without a sub-team): the period's
    instants, shifted by 12 hours for a night sub-team."""
    start, end = period.window()
    shifted = {t.id: ((start + NIGHT_SHIFT, end + NIGHT_SHIFT) if t.night_session
                      else (start, end)) for t in view.subteams.list(include_deleted=True)}
    return shifted, (start, end)


def mano_statistics(view: TeamView, period: Period, subteams: Sequence[str] = (),
                    filters: Sequence[PersonFilter] = (), *,
                    now: dt.datetime | None = None) -> ManoStatistics:
    """MANO's figures of ``period`` (see the module docstring)."""
    moment = aware(now or dt.datetime.now(dt.UTC))
    today = local_day(moment)
    shifted, default = windows(view, period)
    selected = set(subteams)

    def in_window(team: str | None, at: dt.datetime | None) -> bool:
        """``at`` within the window of ``team``, a selected sub-team (any, if none is)."""
        if at is None or (selected and team not in selected):
            return False
        lo, hi = shifted.get(team, default) if team else default
        return lo <= aware(at) < hi

    def any_window(teams: Iterable[str | None], at: dt.datetime | None) -> bool:
        return any(in_window(t, at) for t in teams)

    persons = {p.id: p for p in view.persons.list() if matches(p, filters)}
    mine = {pid: p for pid, p in persons.items()
            if not selected or not selected.isdisjoint(p.assigned_teams)}

    def start_of(p: Person) -> dt.datetime:
        if p.followed_since is not None:
            return local_instant(p.followed_since, dt.time(0))
        return aware(p.created_at)

    def person_hit(p: Person, at: dt.datetime) -> bool:
        teams: list[str | None] = [*p.assigned_teams] or [None]
        return any(in_window(t, at) for t in teams)

    def created(p: Person) -> bool:
        return person_hit(p, start_of(p))

    created_ids = {pid for pid, p in mine.items() if created(p)}
    interacted: set[str] = set()
    actions = [a for a in view.actions.list()
               if any_window(a.teams or [None], a.completed_at or a.due_at)
               and (not filters or any(p in persons for p in a.persons))]
    for a in actions:
        interacted |= set(a.persons)
    passages = [x for x in view.passages.list() if in_window(x.team, x.date)
                and (x.person in persons if x.person else not filters)]
    encounters = [x for x in view.encounters.list() if in_window(x.team, x.date)
                  and x.person in persons]
    comments = [c for c in view.comments.list() if in_window(c.team, c.date)]
    interacted |= {x.person for x in passages if x.person}
    interacted |= {x.person for x in encounters}
    interacted |= {c.person for c in comments if c.person}
    interacted |= {p.id for p in mine.values() if person_hit(p, p.updated_at)}
    followed_ids = created_ids | (interacted & set(mine))
    followed = [mine[i] for i in sorted(followed_ids)]

    def follow_days(p: Person) -> float:
        began = p.followed_since or local_day(p.created_at)
        ended = p.out_of_active_list_date if p.out_of_active_list and \
            p.out_of_active_list_date else today
        return float((ended - began).days)

    wandering = [float((today - p.wandering_at).days) for p in followed if p.wandering_at]
    groups = [g for g in view.groups.list() if not followed_ids.isdisjoint(g.persons)]
    categories: Counter[str] = Counter()
    for a in actions:
        categories.update(a.categories or ["Sans catégorie"])
    collaborations: Counter[str] = Counter()
    for report in view.reports.list():
        if (not selected or report.team in selected) and period.contains(report.date):
            collaborations.update(report.collaborations)

    def new(ids: set[str]) -> int:
        return len(ids & created_ids)

    passage_persons = {x.person for x in passages if x.person}
    encounter_persons = {x.person for x in encounters}
    return ManoStatistics(
        period=period, subteams=tuple(subteams), persons_created=len(created_ids),
        persons_followed=len(followed),
        follow_up_days_mean=_mean([follow_days(p) for p in followed]),
        wandering_days_mean=_mean(wandering), families=len(groups),
        family_size_mean=_mean([float(len(g.persons)) for g in groups]),
        actions=len(actions), actions_by_category=dict(categories.most_common()),
        passages=len(passages), passages_anonymous=sum(1 for x in passages if not x.person),
        passages_persons=len(passage_persons), passages_new_persons=new(passage_persons),
        encounters=len(encounters), encounters_persons=len(encounter_persons),
        encounters_new_persons=new(encounter_persons),
        collaborations=dict(collaborations.most_common()))


def _mean(values: list[float]) -> float | None:
    return round(pystats.fmean(values), 2) if values else None


_LABELS: Final = (
    ("persons_created", "Personnes créées"), ("persons_followed", "Personnes suivies"),
    ("follow_up_days_mean", "Temps de suivi moyen (jours)"),
    ("wandering_days_mean", "Temps d'errance moyen (jours)"), ("families", "Familles"),
    ("family_size_mean", "Taille moyenne des familles"), ("actions", "Actions"),
    ("passages", "Passages"), ("passages_anonymous", "Passages anonymes"),
    ("passages_persons", "Personnes venues en passage"),
    ("passages_new_persons", "Nouvelles personnes venues en passage"),
    ("encounters", "Rencontres"), ("encounters_persons", "Personnes rencontrées"),
    ("encounters_new_persons", "Nouvelles personnes rencontrées"),
)


def mano_statistics_rows(stats: ManoStatistics) -> list[tuple[str, str, Any]]:
    """(rubrique, indicateur, valeur) rows in French, MANO's titles."""
    rows: list[tuple[str, str, Any]] = [("Période", "Du", stats.period.start),
                                        ("Période", "Au", stats.period.end)]
    rows += [("Général", label, getattr(stats, field)) for field, label in _LABELS
             if getattr(stats, field) is not None]
    rows += [("Actions", f"Par catégorie : {k}", v) for k, v in stats.actions_by_category.items()]
    rows += [("Comptes-rendus", f"Collaborations : {k}", v)
             for k, v in stats.collaborations.items()]
    return rows
