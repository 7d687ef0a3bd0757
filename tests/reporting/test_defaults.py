"""A new team starts with MANO's defaults, which an admin keeps or changes."""

from __future__ import annotations

from pathlib import Path

from mano_core.device import Device
from mano_core.mano_compat import vocabulary as v
from mano_core.mano_compat.defaults import apply_defaults
from mano_core.mano_compat.groups import add_grouped, grouped, set_group
from mano_core.store import TEST_KDF
from mano_core.team import Team

from .conftest import PASS


async def test_a_new_team_has_mano_s_fields_and_lists(tmp_path: Path) -> None:
    async with await Device.create(tmp_path / "d.mano", PASS, kdf=TEST_KDF) as device:
        team = await device.create_team("Maraude Est", health=True, defaults=True)
        person_fields = sorted((d for d in team.custom_fields.list() if d.scope == "person"),
                               key=lambda d: d.created_at)
        social = [d for d in person_fields if d.section == "Informations sociales"]
        health = [d for d in person_fields if d.section == "Informations de santé"]
        assert [d.label_text for d in social] == [s.label for s in v.SOCIAL_FIELDS]
        assert len(social) == 9 and len(health) == 6
        assert all(d.health_only for d in health) and not any(d.health_only for d in social)
        by_key = {d.key: d for d in person_fields}
        assert by_key["personalSituation"].options[:3] == ["Aucune", "Homme isolé",
                                                           "Femme isolée"]
        assert by_key["addressDetail"].allow_create_option
        assert by_key["hasAnimal"].type == "yes-no" and by_key["hasAnimal"].show_in_stats
        scopes = {(d.scope, d.label_text) for d in team.custom_fields.list()}
        assert ("medicalFile", "Numéro de sécurité sociale") in scopes
        assert ("observation",
                "Nombre de médiations avec les riverains / les structures") in scopes
        assert ("consultation", "Description") in scopes
        assert team.settings.values("outOfActiveListReasons") == list(
            v.OUT_OF_ACTIVE_LIST_REASONS)
        assert "Décès" in team.settings.values("outOfActiveListReasons")
        assert team.settings.values("territoryTypes") == list(v.TERRITORY_TYPES)
        assert team.settings.values("consultationTypes") == ["Médicale"]
        services = grouped(team.settings, "services")
        assert [g.title for g in services] == ["Alimentation", "Hygiène", "Matériel"]
        assert "Repas" in services[0].values
        # a health value of a default health field is written to the medical compartment
        person = await team.persons.create(name="Personne", custom_fields={
            "consumptions": ["Tabac"], "hasAnimal": True})
        assert team.persons.get(person.id).custom_fields == {"consumptions": ["Tabac"],
                                                             "hasAnimal": True}
        assert team.medical is not None and len(team.medical.health_values.list()) == 1


async def test_an_admin_keeps_or_changes_them_and_applying_again_changes_nothing(
        tmp_path: Path) -> None:
    async with await Device.create(tmp_path / "d.mano", PASS, kdf=TEST_KDF) as device:
        team = await device.create_team("Maraude Est", defaults=True)
        employment = next(d for d in team.custom_fields.list() if d.key == "employment")
        await team.custom_fields.update(employment.id, enabled=False,
                                        options=[*employment.options, "Saisonnier"])
        await team.settings.remove("outOfActiveListReasons", "Reconduite à la frontière")
        await add_grouped(team.settings, "services", "Hygiène", "Rasoir")
        await set_group(team.settings, "services", "Café", "Boissons")
        again = await apply_defaults(team)
        assert again.fields == () and set(again.values) == {"outOfActiveListReasons"}
        kept = team.custom_fields.get(employment.id)
        assert not kept.enabled and "Saisonnier" in kept.options  # disabled, not deleted
        groups = {g.title: g.values for g in grouped(team.settings, "services")}
        assert "Rasoir" in groups["Hygiène"] and groups["Boissons"] == ("Café",)


async def test_a_team_without_defaults_starts_empty(tmp_path: Path) -> None:
    async with await Device.create(tmp_path / "d.mano", PASS, kdf=TEST_KDF) as device:
        team: Team = await device.create_team("Vide")
        assert team.custom_fields.list() == [] and team.settings.values("services") == []
        assert [g.title for g in grouped(team.settings, "actionCategories")] == []


async def test_listed_values_are_refused_as_free_text(tmp_path: Path) -> None:
    import datetime as dt

    import pytest

    from mano_core.errors import ValidationError
    from mano_core.reporting import daily

    async with await Device.create(tmp_path / "d.mano", PASS, kdf=TEST_KDF) as device:
        team = await device.create_team("Maraude Est", defaults=True)
        when = dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC)
        with pytest.raises(ValidationError, match="actionCategories: Inventée"):
            await team.actions.create(name="RDV", due_at=when, categories=["Inventée"])
        action = await team.actions.create(name="RDV", due_at=when, categories=["Soins"])
        with pytest.raises(ValidationError, match="territoryTypes"):
            await team.territories.create(name="Gare", types=["Gare routière"])
        await team.territories.create(name="Gare", types=["Campement"])
        with pytest.raises(ValidationError, match="structureCategories"):
            await team.structures.create(name="Accueil", categories=["Autre chose"])
        # a category removed from the list stays on the action, which remains editable
        await team.settings.remove("actionCategories", "Soins")
        edited = await team.actions.update(action.id, name="RDV CMP")
        assert edited.categories == ["Soins"]
        # collaborations: refused once the team lists some, unless added to the list
        sub = await team.subteams.create(name="Jour")
        day = dt.date(2026, 11, 20)
        await daily.add_collaboration(team, sub.id, day, "Samu social", add_to_list=True)
        with pytest.raises(ValidationError, match="collaborations"):
            await daily.add_collaboration(team, sub.id, day, "Inconnu")
        assert team.settings.values("collaborations") == ["Samu social"]
