"""The agenda's index: live actions by due day (UTC), by status and by category.

``Actions.due_on`` and its twins (``overdue``, ``upcoming``, ``by_status``, ``by_category``)
filtered every action at each call: two Python calls a record, 12–15 ms over the 80,000
actions of a ×10 team (39 ms the first time), at every refresh of the agenda, on the UI loop
(issue 24). This index answers them from the few actions concerned.

It mirrors one dict of decoded records (a collection's cache, ``source``) mutation by
mutation: it is a ``DerivedIndex`` of the collection (``Collection.derive``), told by ``put``
of every record decoded into that dict or dropped from it, so a local edit, a teammate's
delivery, a delete or an erasure (each marks its records dirty; the next read decodes them
again) reaches it through the read that makes it visible, never before. An index fed while
the dict was not empty cannot know what it missed: it gives up (``source`` None) and is
rebuilt from the records in one pass at the next query (``rebuild``). Sans-I/O, no pycrdt object.

A due time without a time zone (an older client's, or a write the validation let through)
has no UTC day: such actions are kept apart (``odd``) and every query looks at them with its
plain comparison (``Actions``, which reads such a time as UTC)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Iterator
from typing import TypeVar

from mano_core.model.records import Action


K = TypeVar("K", bound=Hashable)


def utc_day(when: dt.datetime) -> int:
    """The proleptic ordinal of an aware instant's UTC date (``date.toordinal``)."""
    return when.astimezone(dt.UTC).toordinal()


class ActionIndex:
    """Live (not deleted) actions of one dict of records, by UTC due day, status, category."""

    def __init__(self) -> None:
        self.source: dict[str, Action] | None = None
        self._entries: dict[str, Action] = {}          # id → the record indexed
        self._days: dict[int, dict[str, Action]] = {}
        self._status: dict[str, dict[str, Action]] = {}
        self._categories: dict[str, dict[str, Action]] = {}
        self.odd: dict[str, Action] = {}               # due time without a zone
        self._tombstones: set[str] = set()             # ids of deleted actions in the source

    # --- kept true -----------------------------------------------------------------------------

    def follow(self, target: dict[str, Action]) -> bool:
        """Whether ``put`` may be told about a mutation of ``target``: yes for the dict the
        index mirrors, and for an empty dict (a read starting: the index starts over for
        it); any other dict was changed behind the index's back, which then gives up."""
        if target is self.source:
            return True
        self._clear()
        if target:
            self.source = None
            return False
        self.source = target
        return True

    def put(self, record_id: str, record: Action | None) -> None:
        """``record_id`` is now ``record`` in the source (None: absent). Called for every
        record a first read decodes (80,000 actions at ×10): kept to a few dict operations."""
        old = self._entries.pop(record_id, None)
        if old is not None:
            self._drop(record_id, old)
        elif record_id in self.odd:
            del self.odd[record_id]
        else:
            self._tombstones.discard(record_id)
        if record is None:
            return
        if record.deleted_at is not None:
            self._tombstones.add(record_id)
            return
        due = record.due_at
        if due.tzinfo is dt.UTC:  # (how a stored "Z" time decodes: nearly every one)
            day = due.toordinal()
        elif due.utcoffset() is None:
            self.odd[record_id] = record
            return
        else:
            day = utc_day(due)
        self._entries[record_id] = record
        bucket = self._days.get(day)
        if bucket is None:
            bucket = self._days[day] = {}
        bucket[record_id] = record
        bucket = self._status.get(record.status)
        if bucket is None:
            bucket = self._status[record.status] = {}
        bucket[record_id] = record
        if record.categories:
            for category in record.categories:
                self._categories.setdefault(category, {})[record_id] = record

    def current(self, records: dict[str, Action]) -> None:
        """Make sure the index mirrors ``records`` (rebuilt in one pass if it does not: it
        gave up, or it counts another number of records than the dict holds, a mutation it
        was not told about)."""
        if records is not self.source or self.size != len(records):
            self.rebuild(records)

    @property
    def size(self) -> int:
        """How many records of the source the index was told about."""
        return len(self._entries) + len(self.odd) + len(self._tombstones)

    def rebuild(self, records: dict[str, Action]) -> None:
        self._clear()
        self.source = records
        for record_id, record in records.items():
            self.put(record_id, record)

    # --- queries (aware actions; the caller adds ``odd``) --------------------------------------

    def due_between(self, start: dt.datetime, end: dt.datetime) -> Iterator[Action]:
        """Actions with ``start <= due_at < end`` (aware bounds)."""
        if end <= start:
            return
        for day in range(utc_day(start), utc_day(end - dt.timedelta.resolution) + 1):
            # (a few days: a local day spans two UTC dates at most, a week eight)
            for action in self._days.get(day, {}).values():
                if start <= action.due_at < end:
                    yield action

    def with_status(self, status: str) -> Iterator[Action]:
        yield from self._status.get(status, {}).values()

    def in_category(self, category: str) -> Iterator[Action]:
        yield from self._categories.get(category, {}).values()

    # --- internals -----------------------------------------------------------------------------

    def _drop(self, record_id: str, old: Action) -> None:
        _unbucket(self._days, utc_day(old.due_at), record_id)
        _unbucket(self._status, old.status, record_id)
        for category in old.categories:
            _unbucket(self._categories, category, record_id)

    def _clear(self) -> None:
        self._entries.clear()
        self._days.clear()
        self._status.clear()
        self._categories.clear()
        self.odd.clear()
        self._tombstones.clear()


def _unbucket(buckets: dict[K, dict[str, Action]], key: K, record_id: str) -> None:
    bucket = buckets.get(key)
    if bucket is not None:
        bucket.pop(record_id, None)
        if not bucket:
            del buckets[key]
