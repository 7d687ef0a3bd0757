"""Collections with the queries the field needs (persons by name, agenda, comments, history)."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from mano_core.errors import PermissionDeniedError
from mano_core.model.records import TO_DO, Action, Comment, HistoryEntry, Person

from . import layout
from .action_index import ActionIndex
from .cascade import belongings
from .collection import Collection
from .health import HealthValues, health_keys
from .medical_files import MedicalFiles

DEFAULT_TZ = ZoneInfo("Europe/Paris")


def fold(text: str) -> str:
    """Lower-case, accent-free form of a text, for searching ("Éloïse" → "eloise")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _day_bounds(day: dt.date, tz: dt.tzinfo, *,
                after: int = 0) -> tuple[dt.datetime, dt.datetime]:
    """Midnight of ``day`` and of ``after + 1`` days later in ``tz`` (wall clock: a day across a
    change of time is 23 or 25 hours), as UTC times. Stored times are UTC: comparing them with a
    bound in UTC is a comparison of fields, where a bound in a ``ZoneInfo`` zone asks that zone
    for both offsets at each comparison (20× slower: 130 ms over the 80,000 actions of a ×10
    team, every agenda refresh, on the UI loop; issue 24)."""
    start = dt.datetime.combine(day, dt.time(0), tzinfo=tz)
    end = start + dt.timedelta(days=1 + after)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def _due(action: Action) -> dt.datetime:
    """An action's due time as an aware instant: one without a zone (an older client's or a
    hostile teammate's record; the model's instants are UTC) is read as UTC, so one such
    record is compared and sorted with the others instead of making every agenda query of the
    team raise TypeError."""
    due = action.due_at
    return due if due.utcoffset() is not None else due.replace(tzinfo=dt.UTC)


def _with_health(person: Person, extra: dict[str, Any] | None,
                 keys: frozenset[str]) -> Person:
    """``person`` as read: its health-only custom fields (``keys``) from ``extra`` (the
    medical compartment's values), never from the general record."""
    if not extra and not (keys and not keys.isdisjoint(person.custom_fields)):
        return person
    fields = {k: v for k, v in person.custom_fields.items() if k not in keys}
    fields.update((k, v) for k, v in (extra or {}).items() if k in keys)
    return msgspec.structs.replace(person, custom_fields=fields)


class Persons(Collection[Person]):
    """Persons followed, with search and the active-list filters.

    Values of health-only custom fields are not stored here but in the medical compartment
    (mano_core.document.health); on a device holding it (``attach_health``) they appear in
    ``Person.custom_fields`` and are written there, elsewhere they are absent and writing one
    raises PermissionDeniedError."""

    _health: HealthValues | None = None
    _merged: dict[str, Person] | None = None
    _merged_keys: frozenset[str] = frozenset()
    _merged_stale: set[str]   # persons changed since ``_merged`` was made (``_view``)
    _keys: frozenset[str] = frozenset()
    _keys_at = -1   # the revision ``_keys`` were listed at

    def attach_health(self, health: HealthValues) -> None:
        """Show and write health-only values through ``health`` (the medical document's)."""
        self._health = health
        self._merged = None
        health.subscribe_persons(self._forget_merged)

    def detach_health(self) -> None:
        """The medical compartment is gone from this device: health-only values with it."""
        self._health = None
        self._merged = None

    def move_health_values(self) -> int:
        """Move health-only values found in general person records (written before the field
        was marked health-only, or by an older client) to the medical compartment, and clear
        them from the general document without a history entry (which would copy them).
        Needs the medical compartment; returns how many persons were cleaned."""
        if self._health is None:
            return 0
        keys = self.health_keys()
        if not keys:
            return 0
        moved = 0
        for person_id, person in list(self._records().items()):
            if keys.isdisjoint(person.custom_fields):
                continue   # (most persons: a set test in C, not a dict built, issue 24)
            leaked = {k: v for k, v in person.custom_fields.items() if k in keys}
            if not leaked:
                continue
            held = self._health.by_person().get(person_id, {})
            self._health.put(person_id, {k: v for k, v in leaked.items()
                                         if k not in held and v is not None}, replace=False)
            entry = self._map[person_id]
            with self._core.doc.transaction():
                # Removed, not overwritten: the values' content is then garbage-collected
                # from the document's state (as an erasure does).
                for key in leaked:
                    if layout.dict_key("customFields", key) in entry:
                        del entry[layout.dict_key("customFields", key)]
                base = entry.get(layout.BASE)
                if isinstance(base, dict) and keys & set(base.get("customFields") or {}):
                    entry[layout.BASE] = dict(base, customFields={
                        k: v for k, v in base["customFields"].items() if k not in keys})
            moved += 1
        return moved

    def _forget_merged(self) -> None:
        self._merged = None

    def mark_dirty(self, record_ids: Any) -> None:
        ids = set(record_ids)
        super().mark_dirty(ids)
        if self._merged is not None:
            self._merged_stale.update(ids)

    def health_keys(self) -> frozenset[str]:
        """Keys of the health-only person fields. Kept while the document does not change
        (``DocumentCore.revision``, which every change of it moves, the definitions' too):
        every read of a person asks (``_view``), and a delivery's 2,000 persons read one by
        one by its listeners listed the definitions 2,000 times (issue 24)."""
        revision = self._core.revision
        if self._keys_at != revision:
            self._keys = health_keys(self._core.custom_field_definitions())
            self._keys_at = revision
        return self._keys

    def _view(self) -> dict[str, Person]:
        """The stored persons with their health values. Made again whole when the health
        values or the health-only keys change; a person's own change replaces that person
        only (issue 24: every edit of a person made it again, a pass over all 3,000 persons
        of a MANO-scale team before the edit's commit, and again for the teammate's read)."""
        stored = self._records()
        keys = self.health_keys()
        values = self._health.by_person() if self._health is not None else {}
        merged = self._merged
        if merged is not None and keys == self._merged_keys:
            stale = self._merged_stale
            for person_id in stale:
                merged.pop(person_id, None)  # (re-added last, as ``_records`` re-reads it)
                person = stored.get(person_id)
                if person is not None:
                    merged[person_id] = _with_health(
                        person, None if person.deleted else values.get(person_id), keys)
            stale.clear()
            return merged
        merged = dict(stored)
        for person_id, person in stored.items():
            extra = None if person.deleted else values.get(person_id)
            if extra or (keys and not keys.isdisjoint(person.custom_fields)):
                merged[person_id] = _with_health(person, extra, keys)
        self._merged, self._merged_keys, self._merged_stale = merged, keys, set()
        return merged

    def _split(self, fields: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """(fields without health values, health values or None if no custom fields given)."""
        name = "custom_fields" if "custom_fields" in fields else "customFields"
        if name not in fields:
            return fields, None
        custom = dict(fields[name] or {})
        keys = self.health_keys()
        health = {k: custom.pop(k) for k in list(custom) if k in keys}
        if health and self._health is None:
            raise PermissionDeniedError(
                "health-only custom fields need a health professional's device "
                f"({', '.join(sorted(health))})")
        return dict(fields, **{name: custom}), health

    def create(self, **fields: Any) -> Person:
        general, health = self._split(fields)
        if health and self._health is not None:
            self._health.check("person", health, self._core.custom_field_definitions())
        record = super().create(**general)
        if health and self._health is not None:
            self._health.put(record.id, health, replace=True)
        return self.get(record.id)

    def delete(self, record_id: str, *, at: dt.datetime | None = None) -> Person:
        """Delete the person and what belongs to them only (mano_core.document.cascade), all
        tombstoned at the same instant in one transaction; their medical records follow."""
        self._stored(record_id)  # NotFoundError / DamagedRecordError before anything
        when = at or self._core.now()
        doomed = list(belongings(record_id, self._core))
        with self._core.doc.transaction():
            for collection, other in doomed:
                collection.delete(other, at=when)
            person = super().delete(record_id, at=when)
        return self.get(person.id, include_deleted=True)

    def restore(self, record_id: str) -> Person:
        """Undo a deletion: the person and what its deletion took with it come back."""
        person = self._stored(record_id, include_deleted=True)
        if person.deleted_at is None:
            return self.get(record_id)
        taken = list(belongings(record_id, self._core, deleted_at=person.deleted_at))
        with self._core.doc.transaction():
            super().restore(record_id)
            for collection, other in taken:
                collection.restore(other)
        return self.get(record_id)

    def update(self, record_id: str, **changes: Any) -> Person:
        if changes.get("out_of_active_list", changes.get("outOfActiveList")) is False:
            # back in the active list: the exit date and reasons go with it (one rule ties
            # them, validation.repair_tied)
            changes.setdefault("out_of_active_list_date", None)
            changes.setdefault("out_of_active_list_reasons", [])
        general, health = self._split(changes)
        if health is not None and self._health is not None:
            self._health.check(f"person {record_id}", health,
                               self._core.custom_field_definitions())
        super().update(record_id, **general)
        if health is not None and self._health is not None:
            self._health.put(record_id, health, replace=True)
        return self.get(record_id)

    def search(self, text: str, *, include_out: bool = True) -> list[Person]:
        """Persons whose name or an alias contains ``text``, ignoring accents and case."""
        needle = fold(text.strip())
        found = [p for p in self.list()
                 if (include_out or not p.out_of_active_list)
                 and (needle in fold(p.name) or any(needle in fold(a) for a in p.other_names))]
        return sorted(found, key=lambda p: fold(p.name))

    def active(self) -> list[Person]:
        """Persons in the active list."""
        return self.filter(lambda p: not p.out_of_active_list)

    def out_of_active_list(self) -> list[Person]:
        return self.filter(lambda p: p.out_of_active_list)

    def vulnerable(self) -> list[Person]:
        """Persons flagged very vulnerable (``alertness``)."""
        return self.filter(lambda p: p.alertness)

    def in_team(self, team_id: str) -> list[Person]:
        return self.filter(lambda p: team_id in p.assigned_teams)


class Actions(Collection[Action]):
    """The agenda. The day, status and category queries read an index of the decoded actions
    (mano_core.document.action_index) kept true by every decoding of a record, instead of
    filtering every action at each call (issue 24)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._index = ActionIndex()
        self.derive(self._index)

    def due_on(self, day: dt.date, *, tz: dt.tzinfo = DEFAULT_TZ) -> list[Action]:
        """Actions due on that calendar day (in the team's time zone), any status."""
        start, end = _day_bounds(day, tz)
        return self._indexed(lambda index: index.due_between(start, end),
                             lambda a: start <= _due(a) < end)

    def overdue(self, now: dt.datetime, *, tz: dt.tzinfo = DEFAULT_TZ) -> list[Action]:
        """Actions still to do whose due day is before today."""
        start, _end = _day_bounds(now.astimezone(tz).date(), tz)
        return self._indexed(
            lambda index: (a for a in index.with_status(TO_DO) if a.due_at < start),
            lambda a: a.status == TO_DO and _due(a) < start)

    def upcoming(self, now: dt.datetime, *, days: int = 7,
                 tz: dt.tzinfo = DEFAULT_TZ) -> list[Action]:
        """Actions to do due after today and within ``days`` days."""
        _start, end = _day_bounds(now.astimezone(tz).date(), tz)
        _start, limit = _day_bounds(now.astimezone(tz).date(), tz, after=days)
        return self._indexed(
            lambda index: (a for a in index.due_between(end, limit) if a.status == TO_DO),
            lambda a: a.status == TO_DO and end <= _due(a) < limit)

    def by_status(self, status: str) -> list[Action]:
        return self._indexed(lambda index: index.with_status(status),
                             lambda a: a.status == status)

    def by_category(self, category: str) -> list[Action]:
        return self._indexed(lambda index: index.in_category(category),
                             lambda a: category in a.categories)

    def _indexed(self, found: Callable[[ActionIndex], Iterable[Action]],
                 predicate: Callable[[Action], bool]) -> list[Action]:
        """The live actions ``found`` in the index (those ``predicate`` is true for), sorted;
        ``predicate`` alone for actions the index cannot place (a due time without a zone)
        and when the collection hides records by a rule of its own (read as a filter)."""
        records = self._records()
        if self._hidden is not None:
            return self._sorted(self.filter(predicate))
        self._index.current(records)
        return self._sorted([*found(self._index),
                             *(a for a in self._index.odd.values() if predicate(a))])

    def of_team(self, team_id: str) -> list[Action]:
        return self._sorted(self.filter(lambda a: team_id in a.teams))

    def of_person(self, person_id: str) -> list[Action]:
        return self._sorted(self.filter(lambda a: person_id in a.persons))

    def urgent(self) -> list[Action]:
        return self._sorted(self.filter(lambda a: a.urgent and a.status == "A FAIRE"))

    def mark_done(self, action_id: str, at: dt.datetime | None = None) -> Action:
        """Status FAIT with its completion date (now unless given)."""
        return self.update(action_id, status="FAIT", completed_at=at or self._core.now())

    def mark_cancelled(self, action_id: str, at: dt.datetime | None = None) -> Action:
        """Status ANNULEE with its completion date (now unless given)."""
        return self.update(action_id, status="ANNULEE", completed_at=at or self._core.now())

    def reopen(self, action_id: str) -> Action:
        """Back to A FAIRE; the completion date is cleared."""
        return self.update(action_id, status="A FAIRE", completed_at=None)

    @staticmethod
    def _sorted(actions: list[Action]) -> list[Action]:
        return sorted(actions, key=lambda a: (_due(a), a.name, a.id))


class Comments(Collection[Comment]):
    """Comments ("informations transmises"), newest first."""

    def of_person(self, person_id: str) -> list[Comment]:
        return self._newest_first(self.filter(lambda c: c.person == person_id))

    def of_action(self, action_id: str) -> list[Comment]:
        return self._newest_first(self.filter(lambda c: c.action == action_id))

    def urgent(self) -> list[Comment]:
        return self._newest_first(self.filter(lambda c: c.urgent))

    @staticmethod
    def _newest_first(comments: list[Comment]) -> list[Comment]:
        return sorted(comments, key=lambda c: (c.date, c.id), reverse=True)


class History(Collection[HistoryEntry]):
    """Field-level history, written automatically by every update."""

    def of_record(self, record_id: str) -> list[HistoryEntry]:
        """Who changed which field of that record, when, old → new; oldest first."""
        return sorted(self.filter(lambda h: h.record_id == record_id),
                      key=lambda h: (h.at, h.id))


QUERY_COLLECTIONS: dict[str, type[Collection]] = {  # type: ignore[type-arg]
    "persons": Persons, "actions": Actions, "comments": Comments, "history": History,
    "personHealthValues": HealthValues, "medicalFiles": MedicalFiles,
}
