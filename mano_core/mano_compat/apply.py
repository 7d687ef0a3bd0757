"""Writing a plan with no problem: the general compartment in one CRDT transaction and one
commit, then the medical compartment in a second; records the team holds already are skipped,
so an interrupted import completes when run again."""

from __future__ import annotations

from mano_core.ids import Compartment

from .members import MEMBER_NAMES_KEY
from .plan import Plan


async def apply_plan(plan: Plan) -> int:
    """Write a plan without problems; returns the records created."""
    team = plan.team
    general = team.compartment(Compartment.GENERAL)
    core = general.core
    created = 0
    medical = {"consultations", "treatments", "medicalFiles", "personHealthValues",
               "medicalComments"}
    with core.doc.transaction():  # one update: everything of the general compartment or none
        for kind, values in plan.settings_added.items():
            core.settings.add(kind, *values)  # type: ignore[attr-defined]
        for mano_id, name in plan.members.items():
            member = plan.member_ids.get(mano_id, mano_id)
            if name and not team.settings.get(MEMBER_NAMES_KEY + member):
                core.settings.set(MEMBER_NAMES_KEY + member, name)  # type: ignore[attr-defined]
        fields = core.collections["customFields"]
        new_fields = [c.definition for c in plan.fields.values() if c.created]
        fields.insert_many([*plan.records.pop("customFields", []), *new_fields])
        for choice in plan.fields.values():
            if not choice.created and choice.added_options:
                fields.update(choice.definition.id, options=choice.definition.options)
        for collection, items in plan.records.items():
            if collection not in medical and items:
                created += core.collections[collection].insert_many(items)
        core.collections["history"].insert_many(plan.history[Compartment.GENERAL])
    await general.commit()
    if team.medical is not None and (any(plan.records.get(c) for c in medical)
                                     or plan.history[Compartment.MEDICAL]):
        holder = team.compartment(Compartment.MEDICAL)
        with holder.core.doc.transaction():
            for collection in sorted(medical):
                target = holder.core.collections[collection]
                held = {x.id for x in target.list(include_deleted=True)}
                fresh = [x for x in plan.records.get(collection, []) if x.id not in held]
                if fresh:
                    created += target.insert_many(fresh)
            holder.core.collections["history"].insert_many(plan.history[Compartment.MEDICAL])
        await holder.commit()
    return created
