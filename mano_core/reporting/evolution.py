"""How one person field evolved over a period, rebuilt from the field-level history.

Every update writes one history entry per changed field (old → new), so the value a field had
at an instant is the ``old`` value of the first change after that instant, or the current
value if it has not changed since. Custom fields are named ``customFields.<key>``; their
history entries hold the whole dict, from which the key is read."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from typing import Any

import msgspec

from mano_core.errors import ValidationError
from mano_core.codes import Code
from mano_core.model.records import HistoryEntry, Person
from mano_core.model.validation import field_names

from .stats import NOT_FILLED, value_labels
from .view import Period, TeamView, aware, local_instant

_PERSON_FIELDS = dict(field_names(Person))
_NOT_TRACKED = frozenset({"id", "createdAt", "createdBy", "updatedAt", "updatedBy"})


class EvolutionPoint(msgspec.Struct, frozen=True):
    """Counts of each value at the end of day ``day`` (persons existing then)."""

    day: dt.date
    persons: int
    counts: dict[str, int]


class FieldEvolution(msgspec.Struct, frozen=True, kw_only=True):
    field: str
    subteams: tuple[str, ...]
    points: tuple[EvolutionPoint, ...]


def wire_field(field: str) -> tuple[str, str | None]:
    """(history field name, custom-field key or None) for ``gender``, ``outOfActiveList``,
    ``out_of_active_list`` or ``customFields.<key>``. ValidationError for another name."""
    if field.startswith(("customFields.", "custom_fields.")):
        return "customFields", field.split(".", 1)[1]
    name = _PERSON_FIELDS.get(field, field)
    if name not in _PERSON_FIELDS.values() or name in _NOT_TRACKED:
        raise ValidationError("person", field, Code.NO_HISTORY)
    return name, None


def sample_days(period: Period, step_days: int) -> list[dt.date]:
    """The period's start, every ``step_days`` after it, and its end."""
    if step_days < 1:
        raise ValidationError("evolution", "step", Code.STEP_TOO_SMALL)
    days = []
    day = period.start
    while day < period.end:
        days.append(day)
        day += dt.timedelta(days=step_days)
    return [*days, period.end]


def field_evolution(view: TeamView, field: str, period: Period,
                    subteams: Sequence[str] = (), *, step_days: int = 30) -> FieldEvolution:
    """Counts of each value of a person field at the end of each sampled day of the period.

    Persons are those of the sub-teams (all if empty) that existed at that instant and were
    not deleted since."""
    name, key = wire_field(field)
    wanted = frozenset(subteams)
    persons = [p for p in view.persons.list()
               if not wanted or not wanted.isdisjoint(p.assigned_teams)]
    ids = {p.id for p in persons}
    changes: dict[str, list[HistoryEntry]] = {}
    for entry in view.history.list():
        if entry.field == name and entry.record_id in ids \
                and entry.record_collection == "persons":
            changes.setdefault(entry.record_id, []).append(entry)
    for entries in changes.values():
        entries.sort(key=lambda h: (aware(h.at), h.id))
    current = {p.id: msgspec.to_builtins(p).get(name) for p in persons}
    points = []
    for day in sample_days(period, step_days):
        at = local_instant(day + dt.timedelta(days=1), dt.time(0))
        counts: Counter[str] = Counter()
        present = 0
        for person in persons:
            if aware(person.created_at) >= at:
                continue
            present += 1
            value = _value_at(current[person.id], changes.get(person.id, ()), at)
            if key is not None:
                value = (value or {}).get(key) if isinstance(value, dict) else None
            counts.update(value_labels(value) or [NOT_FILLED])
        points.append(EvolutionPoint(day=day, persons=present,
                                     counts=dict(sorted(counts.items()))))
    return FieldEvolution(field=field, subteams=tuple(subteams), points=tuple(points))


def _value_at(current: Any, entries: Sequence[HistoryEntry], at: dt.datetime) -> Any:
    for entry in entries:
        if aware(entry.at) >= at:
            return entry.old
    return current
