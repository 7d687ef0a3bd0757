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
follow_up_days_mean        "Temps de suivi moyen" of the persons followed, in days, MANO's way: from
                           the follow-up start to each exit of the active list, and from each
                           re-entry (read in the person's history) to the next exit, or to ``now``
                           while in the list
wandering_days_mean        "Temps d'errance moyen": from ``wanderingAt`` to ``now``, in days
families, family_size_mean "Familles": distinct families of the persons followed, their mean size;
persons_in_families        the persons followed with family links
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

from mano_core.model.records import HistoryEntry, Person
from mano_core.model.validation import field_names

from .view import Period, TeamView, aware, local_day, local_instant, ranked

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
    persons_in_families: int
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


# A person's attribute by its wire name (a filter names the field as MANO does).
_PERSON_ATTRIBUTES: Final = {wire: name for name, wire in field_names(Person)}


def person_value(person: Person, field: str) -> Any:
    if field.startswith("customFields."):
        return person.custom_fields.get(field.split(".", 1)[1])
    return getattr(person, _PERSON_ATTRIBUTES.get(field, field), None)


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


class _Scope:
    """The windows, the persons kept by the filters and those of the selected sub-teams."""

    def __init__(self, view: TeamView, period: Period, subteams: Sequence[str],
                 filters: Sequence[PersonFilter]) -> None:
        self.shifted, self.default = windows(view, period)
        self.selected = set(subteams)
        self.persons = {p.id: p for p in view.persons.list() if matches(p, filters)}
        self.mine = {pid: p for pid, p in self.persons.items()
                     if not self.selected or not self.selected.isdisjoint(p.assigned_teams)}

    def in_window(self, team: str | None, at: dt.datetime | None) -> bool:
        """``at`` within the window of ``team``, a selected sub-team (any, if none is)."""
        if at is None or (self.selected and team not in self.selected):
            return False
        lo, hi = self.shifted.get(team, self.default) if team else self.default
        return lo <= aware(at) < hi

    def any_window(self, teams: Iterable[str | None], at: dt.datetime | None) -> bool:
        return any(self.in_window(t, at) for t in teams)

    def person_hit(self, p: Person, at: dt.datetime) -> bool:
        teams: list[str | None] = [*p.assigned_teams] or [None]
        return any(self.in_window(t, at) for t in teams)


def _start_of(p: Person) -> dt.datetime:
    if p.followed_since is not None:
        return local_instant(p.followed_since, dt.time(0))
    return aware(p.created_at)


def _activity(view: TeamView, scope: _Scope, filters: Sequence[PersonFilter]
              ) -> tuple[set[str], set[str], list[Any], list[Any], list[Any]]:
    """(created ids, followed ids, actions, passages, encounters) of the period."""
    persons, mine = scope.persons, scope.mine
    created_ids = {pid for pid, p in mine.items() if scope.person_hit(p, _start_of(p))}
    interacted: set[str] = set()
    actions = [a for a in view.actions.list()
               if scope.any_window(a.teams or [None], a.completed_at or a.due_at)
               and (not filters or any(p in persons for p in a.persons))]
    for a in actions:
        interacted |= set(a.persons)
    passages = [x for x in view.passages.list() if scope.in_window(x.team, x.date)
                and (x.person in persons if x.person else not filters)]
    encounters = [x for x in view.encounters.list() if scope.in_window(x.team, x.date)
                  and x.person in persons]
    comments = [c for c in view.comments.list() if scope.in_window(c.team, c.date)]
    interacted |= {x.person for x in passages if x.person}
    interacted |= {x.person for x in encounters}
    interacted |= {c.person for c in comments if c.person}
    interacted |= {p.id for p in mine.values() if scope.person_hit(p, p.updated_at)}
    followed_ids = created_ids | (interacted & set(mine))
    return created_ids, followed_ids, actions, passages, encounters


def person_sets(view: TeamView, period: Period, subteams: Sequence[str] = (),
                filters: Sequence[PersonFilter] = ()) -> tuple[set[str], set[str]]:
    """(ids of the persons created, ids of the persons followed) in the period, as
    ``mano_statistics`` counts them."""
    created, followed, *_rest = _activity(view, _Scope(view, period, subteams, filters),
                                          filters)
    return created, followed


def follow_up_days(person: Person, history: Iterable[HistoryEntry], today: dt.date) -> int:
    """MANO's follow-up time of one person, in days: from the follow-up start to each exit
    of the active list, and from each re-entry to the next exit (or to ``today``)."""
    start = person.followed_since or local_day(person.created_at)
    changes = sorted((h for h in history if h.record_id == person.id
                      and h.field in ("outOfActiveList", "outOfActiveListDate")),
                     key=lambda h: (h.at, h.id))
    moves = [h for h in changes if h.field == "outOfActiveList"]
    if not moves:
        ended = person.out_of_active_list_date if person.out_of_active_list and \
            person.out_of_active_list_date else today
        return (ended - start).days
    total, inside = 0, True
    for move in moves:
        if move.new is True and inside:
            dates = [h.new for h in changes if h.field == "outOfActiveListDate"
                     and h.at == move.at and isinstance(h.new, str)]
            exit_day = dt.date.fromisoformat(dates[-1]) if dates else local_day(move.at)
            total += (exit_day - start).days
            inside = False
        elif move.new is False and not inside:
            start, inside = local_day(move.at), True
    if inside and not person.out_of_active_list:
        total += (today - start).days
    return total


def mano_statistics(view: TeamView, period: Period, subteams: Sequence[str] = (),
                    filters: Sequence[PersonFilter] = (), *,
                    now: dt.datetime | None = None) -> ManoStatistics:
    """MANO's figures of ``period`` (see the module docstring)."""
    moment = aware(now or dt.datetime.now(dt.UTC))
    today = local_day(moment)
    scope = _Scope(view, period, subteams, filters)
    selected, mine = scope.selected, scope.mine
    created_ids, followed_ids, actions, passages, encounters = _activity(view, scope, filters)
    # In no order: only their count and means (fmean sums exactly: any order gives the same
    # figure) are read. Sorting them was one C call holding the GIL for 36-38 ms at ×10 in
    # the statistics worker, the UI loop waiting (issue 24).
    followed = [mine[i] for i in followed_ids]
    history: dict[str, list[HistoryEntry]] = {}
    for h in view.history.list():
        if h.record_collection == "persons" and h.record_id in followed_ids:
            history.setdefault(h.record_id, []).append(h)
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
        follow_up_days_mean=_mean([float(follow_up_days(p, history.get(p.id, []), today))
                                   for p in followed]),
        wandering_days_mean=_mean(wandering), families=len(groups),
        family_size_mean=_mean([float(len(g.persons)) for g in groups]),
        persons_in_families=len(followed_ids & {p for g in groups for p in g.persons}),
        actions=len(actions), actions_by_category=ranked(categories),
        passages=len(passages), passages_anonymous=sum(1 for x in passages if not x.person),
        passages_persons=len(passage_persons), passages_new_persons=new(passage_persons),
        encounters=len(encounters), encounters_persons=len(encounter_persons),
        encounters_new_persons=new(encounter_persons),
        collaborations=ranked(collaborations))


def _mean(values: list[float]) -> float | None:
    return round(pystats.fmean(values), 2) if values else None


_LABELS: Final = (
    ("persons_created", "Personnes créées"), ("persons_followed", "Personnes suivies"),
    ("follow_up_days_mean", "Temps de suivi moyen (jours)"),
    ("wandering_days_mean", "Temps d'errance moyen (jours)"), ("families", "Familles"),
    ("family_size_mean", "Taille moyenne des familles"),
    ("persons_in_families", "Personnes avec des liens familiaux"), ("actions", "Actions"),
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
