"""A team as reporting reads it, narrowed to the persons some filters keep.

``filtered(view, filters)`` gives a ``TeamView`` whose persons are those ``filters`` keep
(``mano_stats.matches``: any person field by its wire name, a custom field as
``customFields.<key>``) and whose records about persons are those about a kept person:
actions with a kept person among theirs, comments on a kept person (or on such an action),
encounters, passages, person-place links and families of kept persons. With at least one
filter, records about nobody (anonymous passages, actions and comments without a person) are
left out, as MANO does; observations, reports, territories and settings are about no person
and stay. ``compute(filtered(team, filters), …)`` are then the figures of those persons."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

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

from .mano_stats import PersonFilter, matches
from .view import Listing, SettingsView, TeamView

R = TypeVar("R", bound=Record)


class _Kept(Generic[R]):
    """A listing of the records ``keep`` accepts."""

    def __init__(self, source: Listing[R], keep: Callable[[R], bool]) -> None:
        self._source = source
        self._keep = keep

    def list(self, *, include_deleted: bool = False) -> Sequence[R]:
        return [r for r in self._source.list(include_deleted=include_deleted) if self._keep(r)]


class FilteredView:
    """``view`` seen through person filters (see the module docstring). Anything else the
    view offers (``medical``, ``require``) is passed through."""

    def __init__(self, view: TeamView, filters: Sequence[PersonFilter]) -> None:
        self._view = view
        self.filters = tuple(filters)
        kept = {p.id for p in view.persons.list(include_deleted=True)
                if matches(p, self.filters)}
        self._kept = kept
        actions = {a.id for a in view.actions.list(include_deleted=True)
                   if any(p in kept for p in a.persons)}
        self._persons = _Kept(view.persons, lambda p: p.id in kept)
        self._actions = _Kept(view.actions, lambda a: a.id in actions)
        self._comments = _Kept(view.comments, lambda c: (c.person in kept) if c.person
                               else c.action in actions)
        self._encounters = _Kept(view.encounters, lambda e: e.person in kept)
        self._passages = _Kept(view.passages, lambda p: p.person in kept)
        self._person_places = _Kept(view.person_places, lambda pp: pp.person in kept)
        self._groups = _Kept(view.groups, lambda g: any(p in kept for p in g.persons))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._view, name)

    @property
    def persons(self) -> Listing[Person]:
        return self._persons

    @property
    def actions(self) -> Listing[Action]:
        return self._actions

    @property
    def comments(self) -> Listing[Comment]:
        return self._comments

    @property
    def encounters(self) -> Listing[Encounter]:
        return self._encounters

    @property
    def passages(self) -> Listing[Passage]:
        return self._passages

    @property
    def person_places(self) -> Listing[PersonPlace]:
        return self._person_places

    @property
    def groups(self) -> Listing[Group]:
        return self._groups

    @property
    def observations(self) -> Listing[TerritoryObservation]:
        return self._view.observations

    @property
    def territories(self) -> Listing[Territory]:
        return self._view.territories

    @property
    def structures(self) -> Listing[Structure]:
        return self._view.structures

    @property
    def places(self) -> Listing[Place]:
        return self._view.places

    @property
    def reports(self) -> Listing[Report]:
        return self._view.reports

    @property
    def subteams(self) -> Listing[SubTeam]:
        return self._view.subteams

    @property
    def custom_fields(self) -> Listing[CustomFieldDefinition]:
        return self._view.custom_fields

    @property
    def history(self) -> Listing[HistoryEntry]:
        return self._view.history

    @property
    def settings(self) -> SettingsView:
        return self._view.settings


def filtered(view: TeamView, filters: Sequence[PersonFilter]) -> TeamView:
    """``view`` itself without filters, else the view narrowed to the persons they keep."""
    return FilteredView(view, filters) if filters else view
