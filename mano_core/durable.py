"""Durable collections: the async face of a team's collections.

Reads are synchronous (served from memory). Every write is applied to the CRDT document and
committed to the encrypted local store before the awaiting caller gets the record back."""

from __future__ import annotations

import builtins

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from mano_core.document.collection import Collection, FrozenRecords
from mano_core.document.damage import Damage
from mano_core.document.queries import DEFAULT_TZ, Actions, Comments, History, Persons
from mano_core.document.medical_files import MedicalFiles
from mano_core.model.records import Action, Comment, HistoryEntry, MedicalFile, Person, Record
from mano_core.slices import Progress, load_all

R = TypeVar("R", bound=Record)
T = TypeVar("T")

Committer = Callable[[], Awaitable[None]]
Guard = Callable[[], None]  # raises PermissionDeniedError when this device may not


def _allowed() -> None:
    return None


class DurableCollection(Generic[R]):
    """Records of one type; ``await`` every write, it returns once committed to disk."""

    def __init__(self, collection: Collection[R], commit: Committer, *,
                 write_guard: Guard = _allowed, repair_guard: Guard = _allowed) -> None:
        self._c = collection
        self._commit = commit
        self._write_guard = write_guard
        self._repair_guard = repair_guard
        self.name = collection.name
        self.kind = collection.kind

    # reads
    def get(self, record_id: str, *, include_deleted: bool = False) -> R:
        """The record; NotFoundError if absent or deleted (unless ``include_deleted``)."""
        return self._c.get(record_id, include_deleted=include_deleted)

    def list(self, *, include_deleted: bool = False) -> list[R]:
        return self._c.list(include_deleted=include_deleted)

    def filter(self, predicate: Callable[[R], bool]) -> builtins.list[R]:
        return self._c.filter(predicate)

    def __len__(self) -> int:
        return len(self._c)

    @property
    def loaded(self) -> bool:
        """True once the records are decoded (the first read, or ``load()``, did it)."""
        return self._c.loaded

    async def load(self, *, progress: Progress | None = None) -> None:
        """Decode every record now, in slices that hand the event loop back every few
        milliseconds (mano_core.slices), so that the first ``list()`` costs nothing; a UI calls
        this before its first screen instead of freezing on that first read. ``progress(done,
        total)`` after each slice. Changes arriving meanwhile are kept."""
        await load_all([self._c], progress=progress)

    def frozen(self) -> FrozenRecords[R]:
        """The records as they are now, readable from a worker thread (``Collection.frozen``)."""
        return self._c.frozen()

    def damaged(self) -> builtins.list[Damage]:
        """Records that fail validation, left out of ``list()`` (who wrote them, when)."""
        return self._c.damaged()

    # writes
    async def create(self, **fields: Any) -> R:
        """Validate, add and commit a record. ValidationError changes nothing."""
        return await self._run(self._c.create, **fields)

    async def update(self, record_id: str, **changes: Any) -> R:
        """Change some fields (history is written), then commit."""
        return await self._run(self._c.update, record_id, **changes)

    async def delete(self, record_id: str) -> R:
        """Soft-delete (tombstone ``deletedAt``), then commit."""
        return await self._run(self._c.delete, record_id)

    async def increment(self, record_id: str, field: str, counter: str, by: int = 1) -> R:
        """Add to a counter (concurrent increments from several devices add up)."""
        return await self._run(self._c.increment, record_id, field, counter, by)

    async def restore(self, record_id: str) -> R:
        """Undo a soft-delete, then commit."""
        return await self._run(self._c.restore, record_id)

    async def repair(self, record_id: str, **fields: Any) -> R:
        """Admins: write a damaged record again from its readable fields and ``fields``.
        PermissionDeniedError for other roles; ValidationError if still invalid."""
        self._repair_guard()
        return await self._run(self._c.repair, record_id, **fields)

    async def delete_damaged(self, record_id: str) -> None:
        """Admins: delete a damaged record (a tombstone). PermissionDeniedError otherwise."""
        self._repair_guard()
        await self._run(self._c.delete_damaged, record_id)

    async def _run(self, op: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        self._write_guard()
        result = op(*args, **kwargs)  # synchronous: no other task interleaves before commit
        await self._commit()
        return result


class DurablePersons(DurableCollection[Person]):
    """Persons followed."""

    _c: Persons

    def search(self, text: str, *, include_out: bool = True) -> list[Person]:
        """Name or alias contains ``text`` (accent- and case-insensitive)."""
        return self._c.search(text, include_out=include_out)

    def active(self) -> list[Person]:
        return self._c.active()

    def out_of_active_list(self) -> list[Person]:
        return self._c.out_of_active_list()

    def vulnerable(self) -> list[Person]:
        return self._c.vulnerable()

    def in_team(self, team_id: str) -> list[Person]:
        return self._c.in_team(team_id)


class DurableActions(DurableCollection[Action]):
    """The agenda."""

    _c: Actions

    def due_on(self, day: dt.date, *, tz: dt.tzinfo = DEFAULT_TZ) -> list[Action]:
        return self._c.due_on(day, tz=tz)

    def overdue(self, now: dt.datetime, *, tz: dt.tzinfo = DEFAULT_TZ) -> list[Action]:
        return self._c.overdue(now, tz=tz)

    def upcoming(self, now: dt.datetime, *, days: int = 7,
                 tz: dt.tzinfo = DEFAULT_TZ) -> list[Action]:
        return self._c.upcoming(now, days=days, tz=tz)

    def by_status(self, status: str) -> list[Action]:
        return self._c.by_status(status)

    def by_category(self, category: str) -> list[Action]:
        return self._c.by_category(category)

    def of_team(self, team_id: str) -> list[Action]:
        return self._c.of_team(team_id)

    def of_person(self, person_id: str) -> list[Action]:
        return self._c.of_person(person_id)

    def urgent(self) -> list[Action]:
        return self._c.urgent()

    async def mark_done(self, action_id: str, at: dt.datetime | None = None) -> Action:
        return await self._run(self._c.mark_done, action_id, at)

    async def mark_cancelled(self, action_id: str, at: dt.datetime | None = None) -> Action:
        return await self._run(self._c.mark_cancelled, action_id, at)

    async def reopen(self, action_id: str) -> Action:
        return await self._run(self._c.reopen, action_id)


class DurableComments(DurableCollection[Comment]):
    _c: Comments

    def of_person(self, person_id: str) -> list[Comment]:
        return self._c.of_person(person_id)

    def of_action(self, action_id: str) -> list[Comment]:
        return self._c.of_action(action_id)

    def urgent(self) -> list[Comment]:
        return self._c.urgent()


class DurableHistory(DurableCollection[HistoryEntry]):
    _c: History

    def of_record(self, record_id: str) -> list[HistoryEntry]:
        """Who changed which field of that record, when, old → new; oldest first."""
        return self._c.of_record(record_id)


class DurableMedicalFiles(DurableCollection[MedicalFile]):
    """Medical files: one per person (``create`` refuses a second one, ValidationError)."""

    _c: MedicalFiles

    def of_person(self, person_id: str) -> MedicalFile | None:
        """The person's medical file, or None."""
        return self._c.of_person(person_id)


DURABLE_CLASSES: dict[str, type[DurableCollection[Any]]] = {
    "persons": DurablePersons, "actions": DurableActions, "comments": DurableComments,
    "history": DurableHistory, "medicalFiles": DurableMedicalFiles,
}
