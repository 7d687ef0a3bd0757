"""One medical file per person.

A person has at most one live medical file. Creating a second one on the same device raises
ValidationError; two devices creating one each at once (or a merge of two persons that both had
one) leave two live files after they converge: ``fold_medical_files`` folds them into the first
(oldest ``createdAt``, then id), which takes every field the first one leaves empty; on a field
both hold, the first one's value stays (the other's is kept in its tombstone and history). Every
device holding the medical compartment folds what it sees, deterministically, so they converge.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from mano_core.errors import ValidationError
from mano_core.codes import Code
from mano_core.model.records import MedicalFile

from .collection import Collection

if TYPE_CHECKING:
    from .team_doc import DocumentCore


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _live_files(core: DocumentCore, person_id: str | None = None) -> list[MedicalFile]:
    files: Collection[MedicalFile] = core.collections["medicalFiles"]
    # _records(): a deleted person's file reads as deleted (cascade.follow_persons) but is live
    return sorted((f for f in files._records().values()
                   if f.deleted_at is None and (person_id is None or f.person == person_id)),
                  key=lambda f: (f.created_at, f.id))


def medical_file_of(core: DocumentCore, person_id: str) -> MedicalFile | None:
    """The person's medical file (the first one if two were created at once), or None."""
    files = _live_files(core, person_id)
    return files[0] if files else None


def fold_medical_files(core: DocumentCore, persons: Iterable[str] | None = None) -> int:
    """Fold every person's extra live medical files into their first one (module docstring).
    ``persons``: only these (None: all). Returns how many files were folded away."""
    wanted = set(persons) if persons is not None else None
    by_person: dict[str, list[MedicalFile]] = {}
    for file in _live_files(core):
        if wanted is None or file.person in wanted:
            by_person.setdefault(file.person, []).append(file)
    folded = 0
    files: Collection[MedicalFile] = core.collections["medicalFiles"]
    for first, *others in (fs for fs in by_person.values() if len(fs) > 1):
        values = dict(first.custom_fields)
        for other in others:
            for key, value in other.custom_fields.items():
                if _empty(values.get(key)) and not _empty(value):
                    values[key] = value
        if values != first.custom_fields:
            files.update(first.id, custom_fields=values)
        for other in others:
            files.delete(other.id)
            folded += 1
    return folded


class MedicalFiles(Collection[MedicalFile]):
    """Medical files: one per person."""

    def create(self, **fields: Any) -> MedicalFile:
        """A person's medical file; ValidationError if they already have one (update it)."""
        person = fields.get("person")
        if isinstance(person, str) and medical_file_of(self._core, person) is not None:
            raise ValidationError(self.kind.label, "person", Code.MEDICAL_FILE_EXISTS)
        return super().create(**fields)

    def of_person(self, person_id: str) -> MedicalFile | None:
        """The person's medical file, or None."""
        file = medical_file_of(self._core, person_id)
        if file is None or (self._hidden is not None and self._hidden(file)):
            return None
        return file
