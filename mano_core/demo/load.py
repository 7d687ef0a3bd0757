"""Load a generated demo team into an open Team (bulk, one commit per compartment)."""

from __future__ import annotations

from collections import defaultdict

from mano_core.demo.team import DemoTeam
from mano_core.demo.texts import CONSULTATION_TYPES
from mano_core.ids import Compartment
from mano_core.model.records import Record
from mano_core.team import Team


async def load_demo(team: Team, demo: DemoTeam) -> dict[str, int]:
    """Insert every record of ``demo`` (medical ones only if the team holds the medical
    compartment) and its settings; returns the counts inserted per collection."""
    counts: dict[str, int] = {}
    compartments = [(Compartment.GENERAL, demo.general_records())]
    if team.medical is not None:
        compartments.append((Compartment.MEDICAL, demo.medical_records()))
    for compartment, records in compartments:
        holder = team.compartment(compartment)
        by_collection: dict[str, list[Record]] = defaultdict(list)
        for record in records:
            by_collection[record.collection].append(record)
        for name, batch in by_collection.items():
            counts[name] = holder.core.collections[name].insert_many(batch)
        await holder.commit()
    s = demo.settings
    settings = team.doc.settings
    settings.add("actionCategories", *s.action_categories)
    settings.add("structureCategories", *s.structure_categories)
    settings.add("services", *s.services)
    settings.add("territoryTypes", *s.territory_types)
    settings.add("collaborations", *s.collaborations)
    settings.add("consultationTypes", *CONSULTATION_TYPES)  # the types its consultations use
    for name, on in s.features.items():
        if name in ("territories", "encounters", "passages", "receptionCounters", "groups"):
            settings.set_feature(name, on)
    await team.compartment(Compartment.GENERAL).commit()
    await team.compact()
    return counts
