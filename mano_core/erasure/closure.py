"""What erasing persons removes: the closure of records about them (pure, no I/O).

Removed for good (``Collection.erase``):
  * the persons themselves, their consents, places links, encounters, passages, documents
    (their keys with them; mano_core.documents deletes the bodies) (a joint
    team's ``Share`` stays: ids and dates only, the proof of who shared them and may erase);
  * actions that concern only erased persons, and comments about an erased person or action;
  * medical files, consultations, treatments, medical comments, medical documents and
    health-only field values of the persons (medical compartment);
  * every history entry of any removed record (old and new values included);
  * the files merged into an erased person (mano_core.document.person_merge: their
    tombstones hold the same person's data) and the merge records naming them.
Stripped (``Collection.strip``): erased persons are taken out of actions that also concern
other persons and out of groups (with the relations naming them); a group left with nobody is
removed. Free text written elsewhere (a daily report naming someone) is not found: see
docs/security.md, "Erasure".
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Collection as Sized
from dataclasses import dataclass, field

from mano_core.document.compartments import GeneralDocument, MedicalDocument

# Collections whose records point at one person through their ``person`` field.
# Shares are kept: ids and dates only, the record that the person was shared under a consent
# and the proof that lets the sharing device order the erasure (docs/security.md, "Erasure").
_BY_PERSON_GENERAL = ("consents", "personPlaces", "encounters", "passages", "documents")
_BY_PERSON_MEDICAL = ("medicalFiles", "consultations", "treatments", "personHealthValues",
                      "medicalComments", "medicalDocuments")


@dataclass
class ErasurePlan:
    """Records to remove, per collection, and set items to strip, per compartment."""

    general: dict[str, set[str]] = field(default_factory=dict)
    medical: dict[str, set[str]] = field(default_factory=dict)
    # (collection, record id, set field) → remove the erased persons' items
    strips: list[tuple[str, str, str]] = field(default_factory=list)

    def record_ids(self) -> set[str]:
        """Every record id removed (both compartments)."""
        return {i for ids in (*self.general.values(), *self.medical.values()) for i in ids}

    def counts(self) -> dict[str, int]:
        """How many records each collection loses (history included), for previews."""
        out: dict[str, int] = {}
        for part in (self.general, self.medical):
            for name, ids in part.items():
                if ids:
                    out[name] = out.get(name, 0) + len(ids)
        return out

    @property
    def empty(self) -> bool:
        return not self.record_ids() and not self.strips


def plan_erasure(persons: Sized[str], general: GeneralDocument,
                 medical: MedicalDocument | None, *,
                 known_erased: Sized[str] = ()) -> ErasurePlan:
    """The records about ``persons`` still in the documents (deleted ones included).
    ``known_erased``: ids removed earlier, whose late history entries must go too."""
    erased_persons = set(persons)
    merges = general.collections["personMerges"].list(include_deleted=True)
    while True:  # a file merged into an erased person is theirs too
        more = {m.merged for m in merges if m.kept in erased_persons} - erased_persons
        if not more:
            break
        erased_persons |= more
    plan = ErasurePlan()
    g = plan.general
    g["personMerges"] = {m.id for m in merges
                         if m.kept in erased_persons or m.merged in erased_persons}
    g["persons"] = {p.id for p in general.persons.list(include_deleted=True)
                    if p.id in erased_persons}
    damaged = getattr(general.persons, "damaged", None)  # a retention subset has none
    if damaged is not None:
        g["persons"] |= {d.record_id for d in damaged()
                         if d.record_id in erased_persons}  # unreadable, erased all the same
    for name in _BY_PERSON_GENERAL:
        g[name] = {r.id for r in general.collections[name].list(include_deleted=True)
                   if getattr(r, "person", None) in erased_persons}
    actions = set()
    for action in general.actions.list(include_deleted=True):
        concerned = erased_persons.intersection(action.persons)
        if not concerned:
            continue
        if set(action.persons) <= erased_persons:
            actions.add(action.id)
        else:
            plan.strips.append(("actions", action.id, "persons"))
    g["actions"] = actions
    g["comments"] = {c.id for c in general.comments.list(include_deleted=True)
                     if c.person in erased_persons or c.action in actions}
    groups = set()
    for group in general.groups.list(include_deleted=True):
        if not erased_persons.intersection(group.persons) and not any(
                _names(rel, erased_persons) for rel in group.relations):
            continue
        if set(group.persons) <= erased_persons:
            groups.add(group.id)
        else:
            plan.strips.append(("groups", group.id, "persons"))
            plan.strips.append(("groups", group.id, "relations"))
    g["groups"] = groups
    if medical is not None:
        for name in _BY_PERSON_MEDICAL:
            plan.medical[name] = {r.id for r in medical.collections[name].list(
                include_deleted=True) if getattr(r, "person", None) in erased_persons}
        plan.medical["personMerges"] = {
            m.id for m in medical.collections["personMerges"].list(include_deleted=True)
            if m.kept in erased_persons or m.merged in erased_persons}
    gone = plan.record_ids() | set(known_erased) | erased_persons
    g["history"] = {h.id for h in general.history.list(include_deleted=True)
                    if h.record_id in gone}
    if medical is not None:
        plan.medical["history"] = {h.id for h in medical.history.list(include_deleted=True)
                                   if h.record_id in gone}
    return plan


def _names(item: str, persons: set[str]) -> bool:
    """True if a set item (a person id, or a "personA|personB|description" relation) names an
    erased person."""
    parts = item.split("|")
    return item in persons or any(part in persons for part in parts[:2])


def strip_predicate(persons: set[str]) -> Callable[[str], bool]:
    """The item filter ``Collection.strip`` uses for these persons."""
    return lambda item: _names(item, persons)
