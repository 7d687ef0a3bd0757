"""A record a teammate's device wrote in a forbidden shape costs only itself.

One ordinary sealed envelope carries a person whose name is a number: every other person still
reads, the bad one is shown as damaged (who wrote it, when), and an admin repairs or deletes it.
"""

from __future__ import annotations

import pytest
from pycrdt import Map

from mano_core.errors import DamagedRecordError, NotFoundError, PermissionDeniedError
from mano_core.ids import Compartment
from mano_core.team import Team
from tests.document.helpers import exchange, replica
from tests.sync.helpers import eventually, join

pytestmark = pytest.mark.timeout(300)


async def write_raw_person(team: Team, record_id: str, base: object) -> None:
    """What a buggy or hostile client would do: a person entry the schema forbids, committed
    and sent like any edit (it goes through the outbox and is sealed normally)."""
    holder = team.compartment(Compartment.GENERAL)
    with holder.core.doc.transaction():
        holder.core.doc.get("persons", type=Map)[record_id] = Map({"_": base})
    await holder.commit()


async def test_a_damaged_person_reads_as_damaged_and_an_admin_repairs_it(relay, make_device):
    admin, normal = await make_device("admin"), await make_device("normal")
    t_admin = await admin.create_team("Accueil de jour")
    async with await admin.sync(t_admin, relay.url) as s_admin:
        t_normal = await join(s_admin, normal, relay.url)
        # The admin reads its persons before the damaged ones arrive: a teammate's update is
        # reported damaged (the alert) in a collection already read; one that arrives before
        # the first read shows at that read instead (the first wait below was that read: a
        # delivery landing before it, under load, never raised the alert).
        assert t_admin.persons.list() == []
        async with await normal.sync(t_normal, relay.url) as s_normal:
            good = await t_normal.persons.create(name="Personne Lisible")
            await write_raw_person(t_normal, "bad-1", {
                "id": "bad-1", "name": 42, "createdAt": "2026-11-20T09:00:00+00:00",
                "updatedAt": "2026-11-20T09:00:00+00:00",
                "updatedBy": t_normal.info.member})
            await write_raw_person(t_normal, "bad-2", ["pas", "un", "dossier"])
            after = await t_normal.persons.create(name="Écrite Après")
            await eventually(lambda: len(t_admin.persons.list()) == 2,
                             what="the readable persons at the admin")
            await eventually(lambda: any(a.kind == "damaged" and "bad-1" in a.detail
                                         for a in s_admin.state.alerts),
                             what="an alert naming the damaged person at the admin")
            for team in (t_admin, t_normal):
                assert sorted(p.name for p in team.persons.list()) == [
                    "Personne Lisible", "Écrite Après"]
                assert team.persons.search("lisible")[0].id == good.id
                with pytest.raises(DamagedRecordError) as caught:
                    team.persons.get("bad-1")
                assert isinstance(caught.value, NotFoundError)
                damaged = {d.record_id: d for d in team.damaged()}
                assert set(damaged) == {"bad-1", "bad-2"}
                assert damaged["bad-1"].field == "name"
                assert damaged["bad-1"].updated_by == t_normal.info.member
                assert damaged["bad-1"].updated_at is not None
            # the normal member may not repair; the admin may
            with pytest.raises(PermissionDeniedError):
                await t_normal.persons.repair("bad-1", name="Réparée")
            with pytest.raises(PermissionDeniedError):
                await t_normal.persons.delete_damaged("bad-2")
            repaired = await t_admin.persons.repair("bad-1", name="Réparée")
            assert repaired.name == "Réparée"
            await t_admin.persons.delete_damaged("bad-2")
            await eventually(lambda: not t_normal.damaged()
                             and len(t_normal.persons.list()) == 3,
                             what="the repair at the normal device")
            assert t_normal.persons.get("bad-1").name == "Réparée"
            # the repaired record is an ordinary one again: anyone edits it
            await t_normal.persons.update("bad-1", phone="0600000000")
            await eventually(lambda: t_admin.persons.get("bad-1").phone == "0600000000",
                             what="an edit of the repaired record")
            assert t_admin.persons.get(after.id).name == "Écrite Après"
            await s_normal.wait_synced()


def test_damaged_records_of_every_shape_cost_only_themselves():
    a, b = replica("a", 1), replica("b", 2)
    kept = a.persons.create(name="Gardée")
    action = a.actions.create(name="Rendez-vous", due_at="2026-11-21T10:00:00+00:00")
    exchange(a, b)
    persons = b.doc.get("persons", type=Map)
    actions = b.doc.get("actions", type=Map)
    with b.doc.transaction():
        persons["int-entry"] = 7                                   # not even a map
        persons["base-list"] = Map({"_": [1, 2]})                  # base not an object
        persons["no-name"] = Map({"_": {"id": "no-name", "createdAt": "2026-11-20T09:00:00Z",
                                        "updatedAt": "2026-11-20T09:00:00Z"}})
        persons["blank"] = Map({"_": {"id": "blank", "name": "  ",
                                      "createdAt": "2026-11-20T09:00:00Z",
                                      "updatedAt": "2026-11-20T09:00:00Z"}})
        persons["other-id"] = Map({"_": {"id": "someone-else", "name": "X",
                                         "createdAt": "2026-11-20T09:00:00Z",
                                         "updatedAt": "2026-11-20T09:00:00Z"}})
        persons[kept.id]["birthdate"] = "pas une date"             # an overlay entry
        actions[action.id]["status"] = "PEUT-ÊTRE"
    exchange(a, b)
    for doc in (a, b):
        assert doc.persons.list() == []  # the kept person was damaged by the overlay entry
        assert {d.record_id for d in doc.persons.damaged()} == {
            "int-entry", "base-list", "no-name", "blank", "other-id", kept.id}
        assert [d.field for d in doc.actions.damaged()] == ["status"]
        assert doc.actions.list() == []
    # repairing the overlay-damaged person keeps its readable fields
    fixed = a.persons.repair(kept.id, birthdate=None)
    assert (fixed.name, fixed.birthdate) == ("Gardée", None)
    # a field left unreadable falls back to its default when the repair does not give it
    assert a.actions.repair(action.id).status == "A FAIRE"
    a.persons.delete_damaged("int-entry")
    exchange(a, b)
    assert [p.name for p in b.persons.list()] == ["Gardée"]
    assert [x.name for x in b.actions.list()] == ["Rendez-vous"]
    assert "int-entry" not in {d.record_id for d in b.persons.damaged()}
