"""Editing custom-field definitions never locks the records that hold their values.

Through a real relay: the admin removes an option and deletes a field while a normal member's
persons hold them; the member keeps editing, taking off the active list and deleting those
persons; stale values are shown as such and can be cleared; renaming an option rewrites them on
every device. Then ``required``, ``enabledTeams`` and the feature switches."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from mano_core.errors import PermissionDeniedError, ValidationError
from mano_core.reporting import stats
from mano_core.reporting.exports import export_team_json
from mano_core.reporting.tables import persons_table, reports_table, statistics_table
from mano_core.reporting.view import Period
from mano_core.store import TEST_KDF, LocalStore
from mano_core.team import Team
from tests.sync.helpers import eventually, join

pytestmark = pytest.mark.timeout(300)

DAY = dt.date(2026, 11, 20)
WHEN = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)


async def test_stale_values_stay_editable_and_a_rename_rewrites_them(relay, make_device):
    admin, member = await make_device("admin"), await make_device("member")
    t_admin = await admin.create_team("Maraude Ouest")
    async with await admin.sync(t_admin, relay.url) as s_admin:
        t_member = await join(s_admin, member, relay.url)
        async with await member.sync(t_member, relay.url) as s_member:
            housing = await t_admin.custom_fields.create(
                key="logement", label_text="Logement", type="enum",
                options=["Rue", "Squat", "Hôtel"])
            pets = await t_admin.custom_fields.create(key="animaux", label_text="Animaux",
                                                      type="multi-choice",
                                                      options=["Chien", "Chat"])
            old = await t_admin.custom_fields.create(key="ancien", label_text="Ancien",
                                                     type="text")
            await eventually(lambda: len(t_member.custom_fields.list()) == 3, what="fields")
            p1 = await t_member.persons.create(name="Un", custom_fields={
                "logement": "Squat", "animaux": ["Chien", "Chat"], "ancien": "x"})
            p2 = await t_member.persons.create(name="Deux", custom_fields={"logement": "Squat"})
            p3 = await t_member.persons.create(name="Trois", custom_fields={"logement": "Rue"})
            await eventually(lambda: len(t_admin.persons.list()) == 3, what="persons")
            # the admin removes "Squat" and deletes a field
            await t_admin.custom_fields.update(housing.id, options=["Rue", "Hôtel"])
            await t_admin.custom_fields.delete(old.id)
            await eventually(lambda: t_member.custom_fields.get(housing.id).options
                             == ["Rue", "Hôtel"] and len(t_member.custom_fields.list()) == 2,
                             what="the new definitions at the member")
            # the member's persons are not locked
            stale = t_member.stale_custom_fields(t_member.persons.get(p1.id))
            assert set(stale) == {"logement", "ancien"}
            await t_member.persons.update(p1.id, phone="0611223344")
            await t_member.persons.update(p2.id, out_of_active_list=True,
                                          out_of_active_list_date=DAY,
                                          out_of_active_list_reasons=["Relogée"])
            await t_member.persons.delete(p3.id)
            assert t_member.persons.get(p1.id).custom_fields["logement"] == "Squat"  # readable
            # a stale value can be cleared, not set again
            with pytest.raises(ValidationError):
                await t_member.persons.update(p1.id, custom_fields={
                    **t_member.persons.get(p1.id).custom_fields, "logement": "Squat",
                    "animaux": ["Chien", "Poisson"]})
            fields = dict(t_member.persons.get(p1.id).custom_fields)
            fields["ancien"] = None
            await t_member.persons.update(p1.id, custom_fields=fields)
            assert "ancien" not in t_member.stale_custom_fields(t_member.persons.get(p1.id))
            # renaming an option rewrites the values that hold it, on every device
            assert t_member.may is not None
            with pytest.raises(PermissionDeniedError):
                await t_member.rename_custom_field_option(pets.id, "Chien", "Chiens")
            await eventually(lambda: t_admin.persons.get(p1.id).phone == "0611223344",
                             what="the member's edits at the admin")
            count = await t_admin.rename_custom_field_option(pets.id, "Chien", "Chiens")
            assert count == 1
            await eventually(lambda: t_member.persons.get(p1.id).custom_fields["animaux"]
                             == ["Chiens", "Chat"], what="the rename at the member")
            assert t_member.custom_fields.get(pets.id).options == ["Chat", "Chiens"] or \
                set(t_member.custom_fields.get(pets.id).options) == {"Chat", "Chiens"}
            assert "animaux" not in t_member.stale_custom_fields(t_member.persons.get(p1.id))
            assert t_member.persons.get(p2.id).out_of_active_list
            await s_member.wait_synced()


async def team_of(tmp_path, name="T") -> tuple[LocalStore, Team]:
    store = await LocalStore.create(tmp_path / f"{name}.mano", "une phrase de passe", kdf=TEST_KDF)
    return store, await Team.create(store, name=name, member="m", clock=lambda: WHEN)


async def test_required_fields_and_enabled_teams(tmp_path):
    store, team = await team_of(tmp_path)
    async with store:
        night = await team.subteams.create(name="Nuit", night_session=True)
        day = await team.subteams.create(name="Jour")
        await team.custom_fields.create(key="orientation", label_text="Orientation",
                                        type="text", required=True, enabled_teams=[night.id])
        await team.custom_fields.create(key="langue", label_text="Langue", type="text",
                                        required=True)
        with pytest.raises(ValidationError) as caught:
            await team.persons.create(name="Sans langue", assigned_teams=[day.id])
        assert caught.value.field == "customFields.langue"
        # only where the field is enabled: the day team is not asked for "orientation"
        p = await team.persons.create(name="Jour", assigned_teams=[day.id],
                                      custom_fields={"langue": "fr"})
        with pytest.raises(ValidationError) as caught:
            await team.persons.create(name="Nuit", assigned_teams=[night.id],
                                      custom_fields={"langue": "fr"})
        assert caught.value.field == "customFields.orientation"
        assert [d.key for d in team.custom_fields_for("person", [day.id])] == ["langue"]
        assert {d.key for d in team.custom_fields_for("person", [night.id])} == {
            "orientation", "langue"}
        # a later "required" does not lock an existing record: checked when that field changes
        await team.custom_fields.create(key="papiers", label_text="Papiers", type="text",
                                        required=True)
        await team.persons.update(p.id, phone="0700000000")
        with pytest.raises(ValidationError):
            await team.persons.update(p.id, custom_fields={"langue": ""})


async def test_feature_switches_are_honoured_by_statistics_and_exports(tmp_path):
    store, team = await team_of(tmp_path)
    async with store:
        person = await team.persons.create(name="P")
        await team.passages.create(person=person.id, date=WHEN)
        await team.encounters.create(person=person.id, date=WHEN)
        territory = await team.territories.create(name="Gare")
        await team.observations.create(territory=territory.id, observed_at=WHEN, men=3)
        sub = await team.subteams.create(name="Accueil")
        report = await team.reports.create(team=sub.id, date=DAY)
        await team.reports.increment(report.id, "services", "Repas", 4)
        period = Period(DAY, DAY)
        on = stats.compute(team, period, now=WHEN)
        assert (on.passages.total, on.encounters.total, on.observations.total,
                on.services) == (1, 1, 1, {"Repas": 4})
        for name in ("passages", "encounters", "territories", "receptionCounters"):
            await team.settings.set_feature(name, False)
        off = stats.compute(team, period, now=WHEN)
        assert (off.passages.total, off.encounters.total, off.observations.total,
                off.services) == (0, 0, 0, {})
        sections = {row[0] for row in statistics_table(off).rows}
        assert not sections & {"passages", "encounters", "observations", "services"}
        assert "Repas" not in reports_table(team).header
        out = tmp_path / "export.json"
        export_team_json(team, out)
        exported = json.loads(out.read_text())["general"]
        assert "passages" not in exported and "observations" not in exported
        assert [p["name"] for p in exported["persons"]] == ["P"]


async def test_restricted_and_normal_members_get_permission_denied(relay, make_device,
                                                                   tmp_path):
    admin, normal, restricted = [await make_device(n) for n in ("a", "n", "r")]
    t_admin = await admin.create_team("Équipe")
    async with await admin.sync(t_admin, relay.url) as s_admin:
        t_normal = await join(s_admin, normal, relay.url, role="normal")
        t_restricted = await join(s_admin, restricted, relay.url, role="restricted")
    period = Period(DAY, DAY)
    for team in (t_normal, t_restricted):
        with pytest.raises(PermissionDeniedError):
            await team.settings.add("actionCategories", "Nouvelle")
        with pytest.raises(PermissionDeniedError):
            await team.settings.set_feature("passages", False)
        with pytest.raises(PermissionDeniedError):
            await team.custom_fields.create(key="k", label_text="K", type="text")
        with pytest.raises(PermissionDeniedError):
            await team.subteams.create(name="Sous-équipe")
        with pytest.raises(PermissionDeniedError):
            export_team_json(team, tmp_path / "x.json")
        with pytest.raises(PermissionDeniedError):
            persons_table(team)
        await team.settings.set("memberName." + team.info.member, "Moi")  # its own name
        assert team.settings.values("actionCategories") == []
    stats.compute(t_normal, period)  # normal members compute statistics
    with pytest.raises(PermissionDeniedError):
        stats.compute(t_restricted, period)
    assert not (tmp_path / "x.json").exists()
