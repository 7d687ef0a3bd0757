"""Merging two files of one person ("fusion de doublons"), sans-I/O.

``merge`` folds the *merged* file into the *kept* one, field by field as chosen
(``propose`` gives both values and a default per field), re-points every record that names the
merged person, tombstones it (a deletion, as any other: its history stays, under its own id)
and writes a ``PersonMerge`` record. The async door is ``Team.merge_persons``.

Why it stays right when devices edit meanwhile (docs/data-model.md, "Merging two persons"):
a teammate who has not seen the merge yet may still comment on, plan an action for, or edit
the merged file. Every device that holds a ``PersonMerge`` runs ``follow_merges`` after it
integrates teammates' updates (and when it opens the team): records still naming the merged
person are re-pointed to the kept one; fields of the merged file whose value no longer has the
digest the merge recorded (``PersonMerge.fingerprints``) were edited after the merge and are
carried onto the kept file (the later edit wins over the merge's choice), then the digest is
updated so that it is carried once. Two devices doing this at once write the same values, so
they converge; nothing a teammate wrote is lost.

The medical compartment: medical records (medical file, consultations, treatments, medical
comments, health-only person fields) are re-pointed by a device that holds it. A merge made
on a health device chooses the medical values too. A merge made on a device without medical
keys cannot see them: the first health device that sees the merge does the medical part with
the default rule (the kept file's value unless empty) and lists in the medical
``PersonMerge.conflicts`` the fields on which both files held different values, for a health
professional to choose (``medical_conflicts``, ``resolve_medical_conflict``); the merged
file's values stay readable there until then. Choosing medical values on a device without
medical keys raises PermissionDeniedError.

No write here is wrapped in an enclosing transaction: a collection's cache is refreshed when a
transaction ends, and each step reads what the previous one wrote. The caller commits every
update of the merge to the store at once (``commit_together``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import msgspec

from mano_core.codes import Code
from mano_core.errors import NotFoundError, PermissionDeniedError, ValidationError
from mano_core.model.records import MedicalFile, Person, PersonMerge

from .medical_files import fold_medical_files, medical_file_of
from .person_merge_base import (
    CUSTOM,
    FILE,
    PICKS,
    Pick,
    candidates,
    digest,
    empty,
    merges,
    redirects,
    set_digest,
    update_leniently,
)
from .person_merge_medical import (
    MedicalConflict,
    follow_medical,
    medical_conflicts,
    medical_part,
    resolve_medical_conflict,
)

__all__ = ["PICKS", "FieldChoice", "MedicalConflict", "MergeProposal", "Pick", "follow_merges",
           "medical_conflicts", "merge", "merged_from", "merged_into", "merges", "propose",
           "redirects", "resolve_medical_conflict"]

if TYPE_CHECKING:
    from .compartments import GeneralDocument, MedicalDocument

# Person fields merged one by one (wire names); the out-of-active-list date and reasons go
# with ``outOfActiveList`` (one rule ties them).
_PLAIN: Final = ("name", "gender", "birthdate", "description", "phone", "email", "alertness",
                 "wanderingAt", "followedSince", "outOfActiveList")
_SETS: Final = ("otherNames", "assignedTeams")
_TIED: Final = ("outOfActiveListDate", "outOfActiveListReasons")
_BY_PERSON: Final = ("comments", "encounters", "passages", "personPlaces", "consents",
                     "documents")


@dataclass(frozen=True, slots=True)
class FieldChoice:
    """One field of the two files: both values, the default pick, and whether it is medical
    (a health-only person field, ``customFields.<key>``, or a medical-file field,
    ``medicalFile.<key>``: shown and chosen on health devices only)."""

    field: str
    kept: Any
    merged: Any
    default: Pick
    medical: bool

    @property
    def differs(self) -> bool:
        """Both files hold a value and the values differ: a real choice."""
        return not empty(self.kept) and not empty(self.merged) and self.kept != self.merged


@dataclass(frozen=True, slots=True)
class MergeProposal:
    """What merging ``merged`` into ``kept`` would do, field by field."""

    kept: Person
    merged: Person
    fields: tuple[FieldChoice, ...]
    medical_held: bool  # this device holds the medical compartment (medical fields listed)

    def choice(self, field: str) -> FieldChoice:
        for choice in self.fields:
            if choice.field == field:
                return choice
        raise NotFoundError("merge fields", field)


def _default(field: str, kept: Any, merged: Any) -> Pick:
    if field in _SETS:
        return "both"
    if field in ("name", "outOfActiveList"):
        return "kept"  # the kept file's identity and its place in the active list
    return "kept" if not empty(kept) or empty(merged) else "merged"


def _live(general: GeneralDocument, person_id: str) -> Person:
    person = general.persons._stored(person_id)
    return general.persons.get(person.id)  # with health values on a health device


def propose(general: GeneralDocument, medical: MedicalDocument | None, kept_id: str,
            merged_id: str) -> MergeProposal:
    """Both files side by side with a default pick per field (MANO's: the kept file's value
    unless it is empty; aliases and sub-teams of both). NotFoundError if either is absent,
    ValidationError if they are the same person or one was merged already."""
    if kept_id == merged_id:
        raise ValidationError("person merge", "merged", Code.SELF_MERGE)
    kept, merged = _live(general, kept_id), _live(general, merged_id)
    fields: list[FieldChoice] = []
    kw, mw = msgspec.to_builtins(kept), msgspec.to_builtins(merged)
    for name in (*_PLAIN[:1], *_SETS, *_PLAIN[1:]):
        fields.append(FieldChoice(name, kw.get(name), mw.get(name),
                                  _default(name, kw.get(name), mw.get(name)), False))
    health = general.persons.health_keys()
    for key in sorted(set(kept.custom_fields) | set(merged.custom_fields)):
        a, b = kept.custom_fields.get(key), merged.custom_fields.get(key)
        fields.append(FieldChoice(CUSTOM + key, a, b, _default(key, a, b), key in health))
    if medical is not None:
        kf, mf = medical_file_of(medical, kept_id), medical_file_of(medical, merged_id)
        kc = kf.custom_fields if kf is not None else {}
        mc = mf.custom_fields if mf is not None else {}
        for key in sorted(set(kc) | set(mc)):
            a, b = kc.get(key), mc.get(key)
            fields.append(FieldChoice(FILE + key, a, b, _default(key, a, b), True))
    return MergeProposal(kept, merged, tuple(fields), medical is not None)


def merge(general: GeneralDocument, medical: MedicalDocument | None, kept_id: str,
          merged_id: str, choices: Mapping[str, Pick] | None = None) -> PersonMerge:
    """Fold ``merged_id`` into ``kept_id`` (see the module docstring). ``choices``: field →
    ``"kept"``, ``"merged"`` or (aliases, sub-teams) ``"both"``; fields left out take the
    proposal's default. ValidationError for an unknown field or pick, or if the kept file
    would not be valid (nothing written); PermissionDeniedError for a medical choice on a
    device without the medical compartment."""
    choices = dict(choices or {})
    proposal = propose(general, medical, kept_id, merged_id)
    known = {c.field: c for c in proposal.fields}
    for field, pick in choices.items():
        if pick not in PICKS:
            raise ValidationError("person merge", field, Code.BAD_PICK, picks=list(PICKS))
        if field not in known:
            if medical is None and (field.startswith(FILE) or field[len(CUSTOM):]
                                    in general.persons.health_keys()):
                raise PermissionDeniedError(
                    "medical values are chosen on a health professional's device "
                    f"({field})")
            raise ValidationError("person merge", field, Code.UNKNOWN_FIELD)
        if pick == "both" and field not in _SETS:
            raise ValidationError("person merge", field, Code.NOT_JOINABLE)
    picks = {f: choices.get(f, c.default) for f, c in known.items()}
    kept, merged = proposal.kept, proposal.merged
    changes: dict[str, Any] = {}
    kw, mw = msgspec.to_builtins(kept), msgspec.to_builtins(merged)
    for name in (*_PLAIN, *_SETS):
        pick = picks[name]
        if pick == "merged" and kw.get(name) != mw.get(name):
            changes[name] = mw.get(name)
            if name == "outOfActiveList":
                changes.update((t, mw.get(t)) for t in _TIED)
        elif pick == "both":
            joined = list(kw.get(name) or []) + [i for i in mw.get(name) or []
                                                 if i not in (kw.get(name) or [])]
            if name == "otherNames" and merged.name != kept.name and merged.name not in joined:
                joined.append(merged.name)  # the duplicate's name stays searchable
            if joined != kw.get(name):
                changes[name] = joined
    custom = dict(kept.custom_fields)
    for field, pick in picks.items():
        if field.startswith(CUSTOM) and pick == "merged":
            custom[field[len(CUSTOM):]] = known[field].merged
    if custom != kept.custom_fields:
        changes["customFields"] = custom
    merge_id = str(uuid.uuid4())
    now = general.now()
    if changes:
        general.persons.update(kept_id, **changes)  # validates before writing anything
    record = general.collection(PersonMerge).create(
        id=merge_id, kept=kept_id, merged=merged_id, merged_at=now,
        medical=medical is not None,
        fingerprints=_general_fingerprints(general, merge_id, merged_id))
    general.write_history("persons", kept_id, "mergedFrom", None, merged_id)
    general.write_history("persons", merged_id, "mergedInto", None, kept_id)
    _repoint_general(general, merged_id, kept_id)
    general.persons.delete(merged_id, at=now)
    if medical is not None:
        file_picks = {f[len(FILE):]: p for f, p in picks.items() if f.startswith(FILE)}
        # every medical value was shown and chosen here: no conflict is left for later
        medical_part(medical, record, file_picks, explicit=set(picks))
    return record


# --- following merges (every device) ----------------------------------------------------------


def merged_into(general: GeneralDocument, person_id: str) -> str | None:
    """Where a merged person's file is now (None if it was not merged): a screen holding an
    old id goes there."""
    return redirects(general).get(person_id)


def merged_from(general: GeneralDocument, person_id: str) -> list[str]:
    """Every person merged into this one, directly or through a chain (their history is part
    of this person's)."""
    return sorted(p for p, target in redirects(general).items() if target == person_id)


def follow_merges(general: GeneralDocument, medical: MedicalDocument | None,
                  changed: Mapping[str, Iterable[str]] | None = None) -> int:
    """Bring the documents in line with every merge (module docstring): re-point records
    naming a merged person, carry edits made on a merged file after its merge, tombstone it,
    do the medical part on a device holding it. ``changed``: {collection: ids} changed since
    the last call (None: look at everything). Returns how many records it wrote."""
    writes = 0
    if medical is not None and (changed is None or changed.get("medicalFiles")):
        writes += fold_medical_files(medical, None if changed is None
                                     else _persons_of_files(medical, changed["medicalFiles"]))
    if not len(general.collection(PersonMerge)):
        return writes
    only = None if changed is None or changed.get("personMerges") else {
        name: set(ids) for name, ids in changed.items()}
    active = merges(general)
    targets = redirects(general)
    writes += _repoint_all(general, targets, only)
    for m in active:
        if only is None or m.merged in only.get("persons", ()):
            writes += _carry_general(general, m, targets[m.merged])
        merged = general.persons._records().get(m.merged)
        if merged is not None and not merged.deleted:
            general.persons.delete(m.merged, at=m.merged_at)
            writes += 1
    if medical is not None:
        writes += follow_medical(general, medical, active, targets, only)
    return writes


def _persons_of_files(medical: MedicalDocument, ids: Iterable[str]) -> set[str]:
    files = medical.collection(MedicalFile)._records()
    return {f.person for i in ids if (f := files.get(i)) is not None}


def _general_fingerprints(general: GeneralDocument, merge_id: str,
                          person_id: str) -> dict[str, str]:
    person = general.persons._records()[person_id]  # the general record: no health values
    wire = msgspec.to_builtins(person)
    health = general.persons.health_keys()
    out = {name: digest(merge_id, wire.get(name)) for name in (*_PLAIN, *_TIED)
           if name != "outOfActiveListReasons"}
    out.update((name, set_digest(merge_id, wire.get(name) or []))
               for name in (*_SETS, "outOfActiveListReasons"))
    out.update((CUSTOM + k, digest(merge_id, v)) for k, v in person.custom_fields.items()
               if k not in health)
    return out


def _carry_general(general: GeneralDocument, m: PersonMerge, target: str) -> int:
    """Carry the merged file's fields edited after the merge onto ``target``."""
    person = general.persons._records().get(m.merged)
    kept = general.persons._records().get(target)
    if person is None or kept is None or kept.deleted:
        return 0
    now = _general_fingerprints(general, m.id, m.merged)
    if now == dict(m.fingerprints):
        return 0
    wire, kw = msgspec.to_builtins(person), msgspec.to_builtins(kept)
    changes: dict[str, Any] = {}
    for name in (*_PLAIN, *_TIED):
        if name != "outOfActiveListReasons" and now[name] != m.fingerprints.get(name):
            changes[name] = wire.get(name)
    for name in (*_SETS, "outOfActiveListReasons"):
        if now[name] != m.fingerprints.get(name):
            old = set(m.fingerprints.get(name, "").split())
            added = [i for i in wire.get(name) or [] if digest(m.id, i) not in old]
            current = list(changes.get(name, kw.get(name)) or [])
            changes[name] = current + [i for i in added if i not in current]
    custom = {k[len(CUSTOM):] for k in now if k.startswith(CUSTOM)
              and now[k] != m.fingerprints.get(k)}
    if custom:
        # the whole view (health values included on a health device): persons.update
        # replaces the custom fields it is given
        values = dict(general.persons.get(target).custom_fields)
        values.update((k, person.custom_fields[k]) for k in custom)
        changes["customFields"] = values
    if changes.get("outOfActiveList") is True and changes.get("outOfActiveListDate") is None:
        changes["outOfActiveListDate"] = wire.get("outOfActiveListDate")
    update_leniently(general.persons, target, changes)
    general.collection(PersonMerge).update(m.id, fingerprints=now)
    return 1


def _repoint_general(general: GeneralDocument, old: str, new: str) -> int:
    return _repoint_all(general, {old: new}, None)


def _repoint_all(general: GeneralDocument, targets: Mapping[str, str],
                 only: Mapping[str, set[str]] | None) -> int:
    """Re-point the live general records naming a merged person to where it is now."""
    if not targets:
        return 0
    writes = 0
    cols = general.collections
    for action in candidates(cols["actions"], only):
        if not targets.keys().isdisjoint(action.persons):
            persons = _replaced(action.persons, targets)
            cols["actions"].update(action.id, persons=persons)
            writes += 1
    live_links = {(link.person, link.place) for link in cols["personPlaces"].list()}
    for name in _BY_PERSON:
        for record in candidates(cols[name], only):
            target = targets.get(record.person or "")
            if target is None:
                continue
            if name == "personPlaces" and (target, record.place) in live_links:
                cols[name].delete(record.id)  # the kept person is linked there already
            else:
                cols[name].update(record.id, person=target)
                if name == "personPlaces":
                    live_links.add((target, record.place))
            writes += 1
    for group in candidates(cols["groups"], only):
        relations = [_relation(rel, targets) for rel in group.relations]
        persons = _replaced(group.persons, targets)
        if persons != group.persons or relations != list(group.relations):
            kept_relations = [r for r in relations if r is not None]
            cols["groups"].update(group.id, persons=persons,
                                  relations=list(dict.fromkeys(kept_relations)))
            writes += 1
    return writes


def _replaced(persons: Iterable[str], targets: Mapping[str, str]) -> list[str]:
    return list(dict.fromkeys(targets.get(p, p) for p in persons))


def _relation(item: str, targets: Mapping[str, str]) -> str | None:
    """A "personA|personB|description" relation re-pointed; None if it now links a person
    with themself (the two files were linked to each other)."""
    parts = item.split("|", 2)
    if len(parts) < 3:
        return item
    a, b = targets.get(parts[0], parts[0]), targets.get(parts[1], parts[1])
    if a == b:
        return None
    return f"{a}|{b}|{parts[2]}"


