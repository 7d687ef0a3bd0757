"""Health-only person fields and medical comments never reach a device without medical keys.

Four devices through a real relay, as the issue tried it: admin + health, normal, restricted +
health (restricted never gets medical keys), normal + health."""

from __future__ import annotations

import datetime as dt

import pytest

from mano_core.errors import PermissionDeniedError
from mano_core.ids import Compartment
from mano_core.reporting.exports import export_team_json
from mano_core.reporting.tables import persons_table
from mano_core.team import Team, doc_name
from tests.sync.helpers import eventually, join

pytestmark = pytest.mark.timeout(300)

WHEN = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)
SECRET = "positif-vih-7f3a"  # a value no other data of the test contains
NOTE = "tolerance-arv-91c2"


async def decrypted_holdings(team: Team) -> bytes:
    """Everything this device holds of the team, decrypted: documents' state, every stored
    update and snapshot of every compartment, and its key-value rows."""
    parts = [h.core.encode_state() for h in team.held()]
    for c in Compartment:
        loaded = await team.store.load_document(doc_name(team.id, c))
        parts += [loaded.snapshot or b""] + list(loaded.updates)
    for namespace in ("teams", f"sync/{team.id}"):
        parts += [v for _k, v in await team.store.items(namespace)]
    return b"\n".join(parts)


async def test_health_values_and_medical_comments_stay_on_health_devices(
        relay, make_device, tmp_path):
    admin, normal, restricted, nurse = [await make_device(n) for n in
                                        ("admin", "normal", "restricted", "nurse")]
    t_admin = await admin.create_team("Maraude Sud", health=True)
    async with await admin.sync(t_admin, relay.url) as s_admin:
        t_normal = await join(s_admin, normal, relay.url, role="normal")
        t_restricted = await join(s_admin, restricted, relay.url, role="restricted", health=True)
        t_nurse = await join(s_admin, nurse, relay.url, role="normal", health=True)
        assert t_nurse.medical is not None and t_restricted.medical is None
        async with await normal.sync(t_normal, relay.url) as s_normal, \
                await restricted.sync(t_restricted, relay.url) as s_restricted, \
                await nurse.sync(t_nurse, relay.url) as s_nurse:
            await t_admin.custom_fields.create(key="vih", label_text="Statut VIH", type="text",
                                               section="Informations de santé",
                                               health_only=True)
            await t_admin.custom_fields.create(key="chien", label_text="Chien", type="yes-no")
            await eventually(lambda: len(t_nurse.custom_fields.list()) == 2
                             and len(t_normal.custom_fields.list()) == 2
                             and len(t_restricted.custom_fields.list()) == 2,
                             what="the field definitions everywhere")
            person = await t_normal.persons.create(name="Personne A", custom_fields={"chien": True})
            await eventually(lambda: len(t_nurse.persons.list()) == 1, what="person at the nurse")
            # the nurse records the health value and a medical comment
            await t_nurse.persons.update(person.id, custom_fields={
                **t_nurse.persons.get(person.id).custom_fields, "vih": SECRET})
            await t_nurse.medical.comments.create(person=person.id, text=NOTE, date=WHEN)
            await eventually(lambda: t_admin.persons.get(person.id).custom_fields.get("vih")
                             == SECRET, what="the value at the admin (health)")
            await eventually(lambda: [c.text for c in t_admin.medical.comments.list()] == [NOTE],
                             what="the medical comment at the admin")
            # the normal device edits the person meanwhile: it keeps the nurse's value
            await t_normal.persons.update(person.id, custom_fields={"chien": False})
            await eventually(lambda: t_nurse.persons.get(person.id).custom_fields
                             == {"chien": False, "vih": SECRET}, what="both fields at the nurse")
            for s in (s_admin, s_normal, s_restricted, s_nurse):
                await s.wait_synced()
            for team in (t_normal, t_restricted):
                assert team.persons.get(person.id).custom_fields == {"chien": False}
                # nor can they write it
                with pytest.raises(PermissionDeniedError):
                    await team.persons.update(person.id, custom_fields={"vih": "négatif"})
                with pytest.raises(PermissionDeniedError):
                    await team.persons.create(name="Personne B", custom_fields={"vih": "x"})
            # a person's history shows the change to health staff only
            vih = [h for h in t_admin.history_of(person.id) if h.field == "customFields.vih"]
            assert [(h.old, h.new) for h in vih] == [(None, SECRET)]
            assert not [h for h in t_normal.history_of(person.id) if "vih" in h.field]
    for team in (t_normal, t_restricted):
        held = await decrypted_holdings(team)
        assert SECRET.encode() not in held and NOTE.encode() not in held
    held = await decrypted_holdings(t_nurse)
    assert SECRET.encode() in held  # the check above can fail
    # the admin's (health) person table leaves health-only columns out unless asked
    assert "Statut VIH" not in persons_table(t_admin).header
    table = persons_table(t_admin, include_health=True)
    assert table.rows[0][table.header.index("Statut VIH")] == SECRET
    out = tmp_path / "admin.json"
    export_team_json(t_admin, out)  # the full JSON export of a health device holds it
    assert SECRET in out.read_text()


async def test_values_of_a_field_made_health_only_move_to_the_medical_compartment(
        relay, make_device):
    admin, normal = await make_device("admin"), await make_device("normal")
    t_admin = await admin.create_team("Accueil", health=True)
    async with await admin.sync(t_admin, relay.url) as s_admin:
        t_normal = await join(s_admin, normal, relay.url, role="normal")
        async with await normal.sync(t_normal, relay.url) as s_normal:
            field = await t_admin.custom_fields.create(key="suivi", label_text="Suivi psy",
                                                       type="text")
            await eventually(lambda: len(t_normal.custom_fields.list()) == 1, what="field")
            person = await t_normal.persons.create(name="P", custom_fields={"suivi": SECRET})
            await eventually(lambda: len(t_admin.persons.list()) == 1, what="person")
            # the admin (a health device) marks it health-only: the value moves
            await t_admin.custom_fields.update(field.id, health_only=True)
            assert t_admin.persons.get(person.id).custom_fields == {"suivi": SECRET}
            assert [v.value for v in t_admin.medical.health_values.list()] == [SECRET]
            await eventually(lambda: t_normal.custom_fields.get(field.id).health_only
                             and t_normal.doc.persons._records()[person.id].custom_fields
                             == {}, what="the general value cleared at the normal device")
            assert t_normal.persons.get(person.id).custom_fields == {}
            await s_normal.wait_synced()
            assert SECRET.encode() not in t_admin.doc.encode_state()
