"""Merging two persons' files, the async face (``team.merges``); the rules are in
mano_core.document.person_merge and docs/data-model.md, "Merging two persons".

    proposal = team.merges.propose(kept_id, duplicate_id)   # both values, a default per field
    await team.merges.merge(kept_id, duplicate_id, {"phone": "merged"})
    team.merges.merged_into(duplicate_id)                     # → kept_id (a screen's old id)
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from mano_core.document import person_merge as pm
from mano_core.errors import PermissionDeniedError
from mano_core.model.records import PersonMerge

if TYPE_CHECKING:
    from mano_core.document.team_doc import ChangeEvent
    from mano_core.team import Team

__all__ = ["FieldChoice", "MedicalConflict", "MergeProposal", "PersonMerges", "Pick"]

FieldChoice = pm.FieldChoice
MedicalConflict = pm.MedicalConflict
MergeProposal = pm.MergeProposal
Pick = pm.Pick


class PersonMerges:
    """A team's merges of duplicate persons (any member may merge, as MANO allows)."""

    def __init__(self, team: Team) -> None:
        self._team = team

    def propose(self, kept: str, merged: str) -> MergeProposal:
        """Both files field by field with a default pick (the kept file's value unless it is
        empty; aliases and sub-teams of both). Medical fields (health-only person fields as
        ``customFields.<key>``, medical-file fields as ``medicalFile.<key>``) are listed on a
        device holding the medical compartment only. NotFoundError if a person is absent or
        deleted; ValidationError if they are the same person."""
        return pm.propose(self._team.doc, self._team.medical_doc, kept, merged)

    async def merge(self, kept: str, merged: str,
                    choices: Mapping[str, Pick] | None = None) -> PersonMerge:
        """Fold ``merged`` into ``kept`` and commit: ``choices`` maps a field of the proposal
        to ``"kept"``, ``"merged"`` or (``otherNames``, ``assignedTeams``) ``"both"``; every
        linked record is re-pointed, the merged file is tombstoned, both histories are kept
        (``Team.history_of(kept)`` shows the merged file's). ValidationError (nothing written)
        for an unknown field or pick or if the kept file would be invalid;
        PermissionDeniedError for a medical choice on a device without medical keys."""
        team = self._team
        try:
            record = pm.merge(team.doc, team.medical_doc, kept, merged, choices)
        finally:
            await _commit(team)
        return record

    def merged_into(self, person_id: str) -> str | None:
        """The person a merged file now lives in (None: it was not merged)."""
        return pm.merged_into(self._team.doc, person_id)

    def merged_from(self, person_id: str) -> builtins.list[str]:
        """The persons merged into this one (directly or through a chain)."""
        return pm.merged_from(self._team.doc, person_id)

    def list(self) -> builtins.list[PersonMerge]:
        """The merges in effect, oldest first."""
        return pm.merges(self._team.doc)

    def medical_conflicts(self) -> builtins.list[MedicalConflict]:
        """Health devices: medical fields two merged files held different values for (the
        merge was made without medical keys; the kept value stayed). Empty elsewhere."""
        if self._team.medical_doc is None:
            return []
        return pm.medical_conflicts(self._team.doc, self._team.medical_doc)

    async def resolve_medical_conflict(self, merge_id: str, field: str, pick: Pick) -> None:
        """Health devices: keep the kept (``"kept"``) or the merged (``"merged"``) value of a
        conflicting medical field. PermissionDeniedError without medical keys."""
        team = self._team
        if team.medical_doc is None:
            raise PermissionDeniedError("medical values are chosen on a health professional's "
                                        "device")
        try:
            pm.resolve_medical_conflict(team.doc, team.medical_doc, merge_id, field, pick)
        finally:
            await _commit(team)

    async def follow(self, events: Iterable[ChangeEvent] | None = None) -> int:
        """Bring this device's documents in line with every merge after teammates' updates
        (``events``; None: look at everything), and fold a person's medical files created
        at once; commits what it wrote. Returns how many records it wrote."""
        team = self._team
        changed: dict[str, set[str]] | None = None
        if events is not None:
            changed = {}
            for event in events:
                changed.setdefault(event.collection, set()).update(event.ids)
            if not changed:
                return 0
        try:
            writes = pm.follow_merges(team.doc, team.medical_doc, changed)
        finally:
            await _commit(team)
        return writes


async def _commit(team: Team) -> None:
    from mano_core.team import commit_together  # team imports this module

    await commit_together(team)
