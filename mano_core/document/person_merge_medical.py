"""The medical part of a merge of two persons, on a device holding the medical compartment
(mano_core.document.person_merge explains the whole): medical records re-pointed, the medical
file and health-only values folded into the kept person's, edits made meanwhile carried, and
the conflicts a merge made without medical keys leaves for a health professional."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import msgspec

from mano_core.codes import Code
from mano_core.errors import NotFoundError, ValidationError
from mano_core.model.records import MedicalFile, PersonMerge

from .medical_files import fold_medical_files, medical_file_of
from .person_merge_base import (
    CUSTOM,
    FILE,
    MEDICAL_BY_PERSON,
    Pick,
    candidates,
    digest,
    empty,
    redirects,
    update_leniently,
)

if TYPE_CHECKING:
    from .collection import Collection
    from .compartments import GeneralDocument, MedicalDocument


@dataclass(frozen=True, slots=True)
class MedicalConflict:
    """A medical field on which both files differed when a merge made without medical keys
    was completed: the kept value stayed, the merged one is shown here until chosen."""

    merge: str
    field: str
    kept: Any
    merged: Any


def medical_part(medical: MedicalDocument, m: PersonMerge, file_picks: Mapping[str, Pick],
                 *, explicit: set[str]) -> None:
    """Re-point the merged person's medical records, fold their medical file and health
    values into the kept person's, and write the medical PersonMerge (same id)."""
    health = medical.health_values
    conflicts: list[str] = []
    for name in MEDICAL_BY_PERSON:
        _repoint_medical(medical.collections[name], {m.merged: m.kept}, None)
    # Health-only person fields: the kept person's unless empty (or chosen on this device
    # by merge(), which already wrote them through persons.update).
    theirs, ours = _health_of(medical, m.merged), _health_of(medical, m.kept)
    carry: dict[str, Any] = {}
    for key, value in theirs.items():
        field = CUSTOM + key
        if field in explicit:
            continue
        if empty(ours.get(key)):
            carry[key] = value
        elif ours.get(key) != value:
            conflicts.append(field)
    if carry:
        health.put(m.kept, carry, replace=False)
    conflicts += _fold_file(medical, m, file_picks, explicit)
    medical.collection(PersonMerge).create(
        id=m.id, kept=m.kept, merged=m.merged, merged_at=m.merged_at,
        fingerprints=_medical_fingerprints(medical, m.id, m.merged), conflicts=conflicts)


def _fold_file(medical: MedicalDocument, m: PersonMerge, picks: Mapping[str, Pick],
               explicit: set[str]) -> list[str]:
    files = medical.collection(MedicalFile)
    theirs = medical_file_of(medical, m.merged)
    if theirs is None:
        return []
    ours = medical_file_of(medical, m.kept)
    if ours is None:
        files.update(theirs.id, person=m.kept)  # the kept person had none: it is theirs now
        return []
    conflicts: list[str] = []
    values = dict(ours.custom_fields)
    for key, value in theirs.custom_fields.items():
        pick = picks.get(key)
        if FILE + key in explicit:
            if pick == "merged":
                values[key] = value
        elif empty(values.get(key)):
            values[key] = value
        elif values.get(key) != value:
            conflicts.append(FILE + key)
    if values != ours.custom_fields:
        files.update(ours.id, custom_fields=values)
    files.delete(theirs.id)  # the tombstone keeps its values, for a conflict's choice
    return conflicts


def _medical_fingerprints(medical: MedicalDocument, merge_id: str,
                          person_id: str) -> dict[str, str]:
    out = {CUSTOM + k: digest(merge_id, v)
           for k, v in _health_of(medical, person_id).items()}
    theirs = _file_of_merged(medical, person_id)
    if theirs is not None:
        out.update((FILE + k, digest(merge_id, v)) for k, v in theirs.custom_fields.items())
    return out


def _file_of_merged(medical: MedicalDocument, person_id: str) -> MedicalFile | None:
    """The merged person's medical file, tombstoned by the merge or still live."""
    files = [f for f in medical.collection(MedicalFile).list(include_deleted=True)
             if f.person == person_id]
    return min(files, key=lambda f: (f.created_at, f.id)) if files else None


def _repoint_medical(collection: Collection[Any], targets: Mapping[str, str],
                     only: Mapping[str, set[str]] | None) -> int:
    writes = 0
    for record in candidates(collection, only):
        target = targets.get(record.person)
        if target is not None:
            collection.update(record.id, person=target)
            writes += 1
    return writes


_MEDICAL_CHANGES: Final = frozenset({"personHealthValues", "medicalFiles", "personMerges"})


def follow_medical(general: GeneralDocument, medical: MedicalDocument,
                   active: list[PersonMerge], targets: Mapping[str, str],
                   only: Mapping[str, set[str]] | None) -> int:
    writes = 0
    done = {m.id: m for m in medical.collection(PersonMerge).list()}
    carry = only is None or not _MEDICAL_CHANGES.isdisjoint(only)
    for m in active:
        target = targets[m.merged]
        if m.id not in done:
            if m.medical:
                continue  # a health device made it: its medical part is on its way
            medical_part(medical, msgspec.structs.replace(m, kept=target), {},
                          explicit=set())
            writes += 1
        elif carry:
            writes += _carry_medical(medical, done[m.id], target)
    for name in MEDICAL_BY_PERSON:
        writes += _repoint_medical(medical.collections[name], targets, only)
    for file in candidates(medical.collection(MedicalFile), only):
        if file.person in targets:  # created on the merged person meanwhile
            medical.collection(MedicalFile).update(file.id, person=targets[file.person])
            fold_medical_files(medical, [targets[file.person]])
            writes += 1
    return writes


def _carry_medical(medical: MedicalDocument, m: PersonMerge, target: str) -> int:
    """Carry the merged person's medical values edited after the medical part onto
    ``target``."""
    now = _medical_fingerprints(medical, m.id, m.merged)
    if now == dict(m.fingerprints):
        return 0
    changed = {k for k in now if now[k] != m.fingerprints.get(k)}
    health = {k: v for k, v in _health_of(medical, m.merged).items()
              if CUSTOM + k in changed}
    if health:
        medical.health_values.put(target, health, replace=False)
    theirs = _file_of_merged(medical, m.merged)
    if theirs is not None:
        values = {k: v for k, v in theirs.custom_fields.items() if FILE + k in changed}
        if values:
            ours = medical_file_of(medical, target)
            files = medical.collection(MedicalFile)
            if ours is None:
                files.create(person=target, custom_fields=values)
            else:
                update_leniently(files, ours.id, {"customFields": dict(ours.custom_fields,
                                                                        **values)})
    medical.collection(PersonMerge).update(m.id, fingerprints=now)
    return 1


def medical_conflicts(general: GeneralDocument,
                      medical: MedicalDocument) -> list[MedicalConflict]:
    """Medical fields on which two merged files differed, waiting for a health professional's
    choice (merges made on a device without medical keys)."""
    targets = redirects(general)
    out: list[MedicalConflict] = []
    for m in medical.collection(PersonMerge).list():
        target = targets.get(m.merged, m.kept)
        for field in m.conflicts:
            out.append(MedicalConflict(m.id, field, _medical_value(medical, target, field),
                                       _merged_medical_value(medical, m.merged, field)))
    return out


def resolve_medical_conflict(general: GeneralDocument, medical: MedicalDocument,
                             merge_id: str, field: str, pick: Pick) -> None:
    """Choose the kept (nothing changes) or the merged value of one conflicting medical
    field; the conflict is then settled. NotFoundError if there is no such conflict."""
    m = medical.collection(PersonMerge).get(merge_id)
    if field not in m.conflicts:
        raise NotFoundError("medical merge conflicts", field)
    if pick not in ("kept", "merged"):
        raise ValidationError("person merge", field, Code.BAD_PICK, picks=["kept", "merged"])
    target = redirects(general).get(m.merged, m.kept)
    if pick == "merged":
        value = _merged_medical_value(medical, m.merged, field)
        if field.startswith(CUSTOM):
            medical.health_values.put(target, {field[len(CUSTOM):]: value}, replace=False)
        else:
            ours = medical_file_of(medical, target)
            key = field[len(FILE):]
            files = medical.collection(MedicalFile)
            if ours is None:
                files.create(person=target, custom_fields={key: value})
            else:
                files.update(ours.id, custom_fields=dict(ours.custom_fields, **{key: value}))
    medical.collection(PersonMerge).update(
        merge_id, conflicts=[c for c in m.conflicts if c != field])


def _health_of(medical: MedicalDocument, person_id: str) -> dict[str, Any]:
    """A person's health-only values, read even while the person is deleted (a merged
    person's medical records read as deleted: cascade.follow_persons)."""
    return {v.field: v.value for v in medical.health_values.records_of([person_id])
            if v.deleted_at is None and v.value is not None}


def _medical_value(medical: MedicalDocument, person_id: str, field: str) -> Any:
    if field.startswith(CUSTOM):
        return _health_of(medical, person_id).get(field[len(CUSTOM):])
    file = medical_file_of(medical, person_id)
    return file.custom_fields.get(field[len(FILE):]) if file is not None else None


def _merged_medical_value(medical: MedicalDocument, person_id: str, field: str) -> Any:
    if field.startswith(CUSTOM):
        key = field[len(CUSTOM):]
        for value in medical.health_values.records_of([person_id]):
            if value.field == key:
                return value.value
        return None
    file = _file_of_merged(medical, person_id)
    return file.custom_fields.get(field[len(FILE):]) if file is not None else None
