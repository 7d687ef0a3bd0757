"""The typed collections a Team offers (``team.persons``, ``team.actions``… and
``team.medical``), each bound to its document collection, its compartment's commit and the
guards of the rule table (split from mano_core/team.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from mano_core.document.cascade import follow_persons
from mano_core.document.team_doc import DocumentCore
from mano_core.durable import (
    DURABLE_CLASSES,
    DurableCollection,
    DurableHistory,
    DurableMedicalFiles,
    DurablePersons,
)
from mano_core.model import records as r
from mano_core.model.records import Record
from mano_core.rules.table import Power
from mano_core.team_compartment import CompartmentHolder
from mano_core.team_sealing import commit_together
from mano_core.team_settings import DurableSettings

if TYPE_CHECKING:
    from mano_core.team import Team


class MedicalCollections(msgspec.Struct, frozen=True):
    """The medical compartment's collections (only on health professionals' devices)."""

    medical_files: DurableMedicalFiles
    consultations: DurableCollection[r.Consultation]
    treatments: DurableCollection[r.Treatment]
    history: DurableHistory
    comments: DurableCollection[r.MedicalComment]
    health_values: DurableCollection[r.HealthValue]  # read-only: written through team.persons


def bind_collections(team: Team) -> None:
    """Give ``team`` its general collections and settings, then its medical ones."""
    g = team._general
    assert g is not None

    def repair() -> None:
        team.require(Power.REPAIR)

    def durable(core: DocumentCore, kind: type[Record], holder: CompartmentHolder,
                power: Power | None = None) -> Any:
        cls = DURABLE_CLASSES.get(kind.collection, DurableCollection)
        guard = (lambda: team.require(power)) if power is not None else (lambda: None)
        return cls(core.collections[kind.collection], holder.commit, write_guard=guard,
                   repair_guard=repair)

    gd = team.doc

    async def together() -> None:
        await commit_together(team)

    team.persons = DurablePersons(gd.persons, together, repair_guard=repair)
    team.actions = durable(gd, r.Action, g)
    team.comments = durable(gd, r.Comment, g)
    team.history = durable(gd, r.HistoryEntry, g)
    team.structures = durable(gd, r.Structure, g)
    team.territories = durable(gd, r.Territory, g)
    team.observations = durable(gd, r.TerritoryObservation, g)
    team.places = durable(gd, r.Place, g)
    team.person_places = durable(gd, r.PersonPlace, g)
    team.encounters = durable(gd, r.Encounter, g)
    team.passages = durable(gd, r.Passage, g)
    team.reports = durable(gd, r.Report, g)
    team.groups = durable(gd, r.Group, g)
    team.subteams = durable(gd, r.SubTeam, g, Power.SUBTEAMS)
    team.custom_fields = durable(gd, r.CustomFieldDefinition, g, Power.CUSTOM_FIELDS)

    async def definitions_commit() -> None:
        await g.commit()
        await team.move_health_values()  # a field may have become health-only

    team.custom_fields._commit = definitions_commit
    team.consents = durable(gd, r.Consent, g)
    team.shares = durable(gd, r.Share, g)
    team.erasure_records = durable(gd, r.Erasure, g)
    team.settings = DurableSettings(gd.settings, g.commit, team.require, team.info.member)
    team._repair_guard = repair
    bind_medical(team)


def bind_medical(team: Team) -> None:
    """Give ``team`` its medical collections if it holds the medical compartment (``None``
    otherwise), and tie the persons' health values to it."""
    gd = team.doc
    team.medical = None
    if team.medical_doc is not None and team._medical is not None:
        m, md = team._medical, team.medical_doc

        def durable(core: DocumentCore, kind: type[Record], holder: CompartmentHolder) -> Any:
            cls = DURABLE_CLASSES.get(kind.collection, DurableCollection)
            return cls(core.collections[kind.collection], holder.commit,
                       repair_guard=team._repair_guard)

        gd.persons.attach_health(md.health_values)
        follow_persons(md, gd)
        team.medical = MedicalCollections(
            medical_files=durable(md, r.MedicalFile, m),
            consultations=durable(md, r.Consultation, m),
            treatments=durable(md, r.Treatment, m),
            history=durable(md, r.HistoryEntry, m),
            comments=durable(md, r.MedicalComment, m),
            health_values=durable(md, r.HealthValue, m))
