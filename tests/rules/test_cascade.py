"""Deleting a person takes what belongs only to them off every device; restoring brings it back."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.sync.helpers import eventually, join

pytestmark = pytest.mark.timeout(300)

WHEN = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)
TODAY = WHEN.date()


async def test_delete_cascades_and_restore_brings_back_through_the_relay(relay, make_device):
    admin, nurse = await make_device("admin"), await make_device("nurse")
    t_admin = await admin.create_team("Maraude Centre")
    async with await admin.sync(t_admin, relay.url) as s_admin:
        t_nurse = await join(s_admin, nurse, relay.url, role="normal", health=True)
        async with await nurse.sync(t_nurse, relay.url) as s_nurse:
            await t_admin.settings.add("consultationTypes", "Infirmier")
            gone = await t_admin.persons.create(name="Supprimée")
            other = await t_admin.persons.create(name="Restante")
            own = await t_admin.actions.create(name="RDV CMP", due_at=WHEN, persons=[gone.id])
            shared = await t_admin.actions.create(name="Démarche couple", due_at=WHEN,
                                                  persons=[gone.id, other.id])
            await t_admin.comments.create(text="Vue gare", person=gone.id, date=WHEN)
            await t_admin.comments.create(text="Sur l'action", action=own.id, date=WHEN)
            await t_admin.comments.create(text="Autre", person=other.id, date=WHEN)
            old = await t_admin.comments.create(text="Effacée avant", person=gone.id, date=WHEN)
            await t_admin.comments.delete(old.id)  # deleted on its own, earlier
            await t_admin.passages.create(person=gone.id, date=WHEN)
            await t_admin.encounters.create(person=gone.id, date=WHEN)
            await eventually(lambda: len(t_nurse.persons.list()) == 2, what="persons")
            await t_nurse.medical.consultations.create(person=gone.id, type="Infirmier",
                                                       due_at=WHEN)
            await t_nurse.medical.treatments.create(person=gone.id, name="Traitement")
            await t_nurse.medical.comments.create(person=gone.id, text="Pansement", date=WHEN)
            await s_nurse.wait_synced()
            await s_admin.wait_synced()
            await eventually(lambda: len(t_nurse.comments.list()) == 3, what="comments")

            def agenda(team):
                return sorted(a.name for a in team.actions.due_on(TODAY))

            assert agenda(t_nurse) == ["Démarche couple", "RDV CMP"]
            await t_nurse.persons.delete(gone.id)  # the nurse deletes, the admin sees
            await eventually(lambda: agenda(t_admin) == ["Démarche couple"],
                             what="the person's own action gone from the admin's agenda")
            for team in (t_admin, t_nurse):
                assert [p.name for p in team.persons.list()] == ["Restante"]
                assert [c.text for c in team.comments.list()] == ["Autre"]
                assert team.passages.list() == [] and team.encounters.list() == []
                assert team.actions.get(shared.id).persons == [gone.id, other.id]
            assert t_nurse.medical.consultations.list() == []
            assert t_nurse.medical.treatments.list() == []
            assert t_nurse.medical.comments.list() == []
            # restoring brings back what the deletion took, not what was deleted before
            await t_admin.persons.restore(gone.id)
            await eventually(lambda: len(t_nurse.persons.list()) == 2
                             and len(t_nurse.medical.consultations.list()) == 1,
                             what="the restore at the nurse")
            for team in (t_admin, t_nurse):
                assert agenda(team) == ["Démarche couple", "RDV CMP"]
                assert sorted(c.text for c in team.comments.list()) == [
                    "Autre", "Sur l'action", "Vue gare"]
                assert len(team.passages.list()) == len(team.encounters.list()) == 1
            assert [t.name for t in t_nurse.medical.treatments.list()] == ["Traitement"]
            assert [c.text for c in t_nurse.medical.comments.list()] == ["Pansement"]
