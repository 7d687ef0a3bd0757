"""Merging two persons while a teammate, offline, still edits the duplicate: two real devices
through a real relay. Nothing the teammate wrote is lost: it lands on the kept person."""

from __future__ import annotations

import datetime as dt

import pytest

from mano_core.errors import NotFoundError
from tests.sync.helpers import content, eventually, join

pytestmark = pytest.mark.timeout(300)

WHEN = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)


async def test_edits_made_offline_on_the_duplicate_land_on_the_kept_person(relay, make_device):
    a, b = await make_device("a"), await make_device("b")
    t_a = await a.create_team("Maraude Nord", health=True)
    async with await a.sync(t_a, relay.url) as s_a:
        t_b = await join(s_a, b, relay.url, role="normal", health=True)
        await t_a.settings.add("consultationTypes", "Médicale")
        await t_a.custom_fields.create(key="vih", label_text="VIH", type="text",
                                       health_only=True)
        kept = await t_a.persons.create(name="Personne K", phone="0600000001")
        dup = await t_a.persons.create(name="Personne K doublon", email="k@example.org",
                                       custom_fields={"vih": "avant"})
        async with await b.sync(t_b, relay.url) as s_b:
            await eventually(lambda: len(t_b.persons.list()) == 2
                             and t_b.persons.get(dup.id).custom_fields == {"vih": "avant"},
                             what="both persons on B")
            await s_b.wait_synced()
        # B, offline, still works on the duplicate
        await t_b.persons.update(dup.id, phone="0600000009", other_names=["Surnom"],
                                 custom_fields={"vih": "après"})
        comment = await t_b.comments.create(text="vu à la gare", person=dup.id, date=WHEN)
        action = await t_b.actions.create(name="Accompagner au CCAS", due_at=WHEN,
                                          persons=[dup.id])
        consultation = await t_b.medical.consultations.create(person=dup.id, type="Médicale",
                                                              due_at=WHEN)
        # meanwhile A merges the duplicate into the kept person
        await t_a.merges.merge(kept.id, dup.id)
        assert t_a.persons.get(kept.id).email == "k@example.org"
        async with await b.sync(t_b, relay.url) as s_b:

            def converged() -> bool:
                for team in (t_a, t_b):
                    person = team.persons.get(kept.id)
                    if (person.phone, person.custom_fields) != ("0600000009", {"vih": "après"}):
                        return False
                    if team.comments.get(comment.id).person != kept.id:
                        return False
                    if team.actions.get(action.id).persons != [kept.id]:
                        return False
                    assert team.medical is not None
                    if team.medical.consultations.get(consultation.id).person != kept.id:
                        return False
                return content(t_a) == content(t_b)

            await eventually(converged, timeout=60, what="both devices converged on K")
            await s_a.wait_synced()
            await s_b.wait_synced()
    for team in (t_a, t_b):
        person = team.persons.get(kept.id)
        assert person.email == "k@example.org"  # the merge's choice
        assert set(person.other_names) == {"Personne K doublon", "Surnom"}
        with pytest.raises(NotFoundError):
            team.persons.get(dup.id)
        assert team.merges.merged_into(dup.id) == kept.id
        # both histories: B's edit of the duplicate shows in the kept person's history
        assert any(h.field == "phone" and h.new == "0600000009" and h.record_id == dup.id
                   for h in team.history_of(kept.id))
    assert content(t_a) == content(t_b)
