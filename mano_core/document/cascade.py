"""What deleting a person takes with it, and what restoring them brings back.

Deleting a person (a tombstone) also deletes, in the same transaction, what belongs to them
only: actions that concern nobody else, comments on them or on those actions, encounters,
passages, place links, documents (their bodies stay: the person may be restored), groups left
with nobody else. Every tombstone carries the person's very
``deletedAt``, which is how ``restore`` finds what the deletion took (and nothing that was
deleted on its own before).

The medical compartment is not written: a device without it may delete or restore a person,
so medical records (medical file, consultations, treatments, medical comments, health-only
values) *follow* their person when read (``follow_persons``): a record whose person is deleted
reads as deleted, and comes back with the person. Actions and groups shared with
other persons stay (the person is shown as deleted there). Consents stay: they are the record
of what was agreed, and follow the person's erasure, not its deletion."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .collection import Collection
    from .team_doc import DocumentCore

_BY_PERSON_GENERAL = ("encounters", "passages", "personPlaces", "documents")
MEDICAL_FOLLOWERS = ("medicalFiles", "consultations", "treatments", "medicalComments",
                     "personHealthValues", "medicalDocuments")


def belongings(person_id: str, general: DocumentCore, *,
               deleted_at: dt.datetime | None = None
               ) -> Iterator[tuple[Collection[Any], str]]:
    """(collection, record id) of what belongs to this person only. ``deleted_at``: only the
    records tombstoned at that instant (what a cascade deleted); None: only live ones."""

    def wanted(record: Any) -> bool:
        return bool(record.deleted_at == deleted_at)

    cols = general.collections
    actions = [a for a in cols["actions"].list(include_deleted=True)
               if a.persons == [person_id] and wanted(a)]
    action_ids = {a.id for a in actions}
    yield from ((cols["actions"], a.id) for a in actions)
    for comment in cols["comments"].list(include_deleted=True):
        if (comment.person == person_id or comment.action in action_ids) and wanted(comment):
            yield cols["comments"], comment.id
    for name in _BY_PERSON_GENERAL:
        for record in cols[name].list(include_deleted=True):
            if record.person == person_id and wanted(record):
                yield cols[name], record.id
    for group in cols["groups"].list(include_deleted=True):
        if group.persons and set(group.persons) <= {person_id} and wanted(group):
            yield cols["groups"], group.id


def follow_persons(medical: DocumentCore, general: DocumentCore) -> None:
    """Make the medical records of a deleted person read as deleted (on this device)."""
    persons = general.collections["persons"]

    def person_deleted(record: Any) -> bool:
        person = persons._records().get(record.person)
        return person is not None and person.deleted

    for name in MEDICAL_FOLLOWERS:
        medical.collections[name].hide_when(person_deleted)
