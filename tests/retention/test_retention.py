"""Retention: a dry run lists exactly the persons out of the active list for more than N
months and changes nothing; applying erases them and skips one put back on the list."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mano_core.device import Device
from mano_core.errors import ValidationError
from mano_core.retention import (
    RETENTION_SETTING,
    apply_retention,
    months_before,
    retention_months,
    retention_report,
    set_retention_months,
)
from mano_core.store import TEST_KDF
from mano_core.team import Team

pytestmark = pytest.mark.timeout(180)

PASS = "phrase de passe de test"
TODAY = dt.date(2026, 11, 20)
NOW = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.timezone.utc)


@pytest.fixture
async def team(tmp_path: Path) -> AsyncIterator[Team]:
    device = await Device.create(tmp_path / "nord.mano", PASS, kdf=TEST_KDF)
    yield await device.create_team("Maraude Nord", health=True)
    await device.close()


async def out(team: Team, name: str, since: dt.date, *reasons: str, **more) -> str:
    person = await team.persons.create(name=name, out_of_active_list=True,
                                       out_of_active_list_date=since,
                                       out_of_active_list_reasons=list(reasons), **more)
    return person.id


def snapshot(team: Team) -> dict[str, int]:
    return {name: len(coll.list(include_deleted=True))
            for name, coll in team.doc.collections.items()}


async def populated(team: Team) -> dict[str, str]:
    ids = {
        "old": await out(team, "Ancien Relogé", dt.date(2024, 6, 1), "Relogée"),
        "boundary_due": await out(team, "Juste Dû", dt.date(2025, 11, 19), "Perdue de vue"),
        "boundary_kept": await out(team, "Pile Douze Mois", dt.date(2025, 11, 20), "Hébergée"),
        "recent": await out(team, "Récemment Sorti", dt.date(2026, 9, 1), "Hospitalisée"),
        "active": (await team.persons.create(name="Toujours Suivi")).id,
    }
    # an old, deleted (tombstoned) file still holds data: retention erases it too
    ids["deleted"] = await out(team, "Dossier Supprimé", dt.date(2023, 1, 5), "Décédée")
    await team.persons.delete(ids["deleted"])
    action = await team.actions.create(name="Relogement", persons=[ids["old"]], due_at=NOW)
    await team.comments.create(text="Clés remises", action=action.id, date=NOW)
    await team.comments.create(text="Appelle de temps en temps", person=ids["old"], date=NOW)
    await team.actions.create(name="Suivi CMP", persons=[ids["active"]], due_at=NOW)
    couple = await team.actions.create(name="Relogement couple", due_at=NOW,
                                       persons=[ids["old"], ids["boundary_due"]])
    await team.comments.create(text="Bail signé", action=couple.id, date=NOW)
    return ids


async def test_months_setting_off_by_default_and_validated(team: Team):
    assert retention_months(team) is None
    assert retention_report(team, today=TODAY).entries == ()
    await set_retention_months(team, 12)
    assert retention_months(team) == team.settings.get(RETENTION_SETTING) == 12
    with pytest.raises(ValidationError):
        await set_retention_months(team, -1)
    await set_retention_months(team, 0)
    assert retention_months(team) is None


def test_months_before_clamps_to_the_end_of_the_month():
    assert months_before(dt.date(2026, 3, 31), 1) == dt.date(2026, 2, 28)
    assert months_before(dt.date(2026, 1, 15), 13) == dt.date(2024, 12, 15)


async def test_dry_run_lists_exactly_the_persons_out_for_more_than_n_months(team: Team):
    ids = await populated(team)
    await set_retention_months(team, 12)
    before = snapshot(team)
    report = retention_report(team, today=TODAY)
    assert report.cutoff == dt.date(2025, 11, 20)
    assert [e.name for e in report.entries] == ["Dossier Supprimé", "Ancien Relogé",
                                                "Juste Dû"]
    old = next(e for e in report.entries if e.person_id == ids["old"])
    assert (old.out_since, old.reasons) == (dt.date(2024, 6, 1), ("Relogée",))
    assert old.counts["persons"] == 1 and old.counts["actions"] == 1
    assert old.counts["comments"] == 2
    # the couple's action goes only when both go: in the totals, not in either's own counts
    assert (report.totals["persons"], report.totals["actions"], report.totals["comments"]) == (
        3, 2, 3)
    for entry in report.entries:  # computed in one pass, the same as previewing each alone
        assert entry.counts == team.erasures.preview([entry.person_id])
    assert report.totals == team.erasures.preview(report.person_ids)
    assert snapshot(team) == before  # a dry run changes nothing
    assert team.erasure_records.list(include_deleted=True) == []


async def test_apply_erases_them_and_skips_one_put_back_on_the_active_list(team: Team):
    ids = await populated(team)
    await set_retention_months(team, 12)
    report = retention_report(team, today=TODAY)
    # meanwhile a colleague meets him again and puts him back on the active list
    await team.persons.update(ids["boundary_due"], out_of_active_list=False)
    order = await apply_retention(team, report)
    assert order is not None and order.reason == "retention"
    assert sorted(order.persons) == sorted([ids["old"], ids["deleted"]])
    remaining = {p.name for p in team.persons.list(include_deleted=True)}
    assert remaining == {"Juste Dû", "Pile Douze Mois", "Récemment Sorti", "Toujours Suivi"}
    # the couple's action stays, with only the one put back on the list
    actions = {a.name: a.persons for a in team.actions.list(include_deleted=True)}
    assert actions == {"Suivi CMP": [ids["active"]], "Relogement couple": [ids["boundary_due"]]}
    assert [c.text for c in team.comments.list(include_deleted=True)] == ["Bail signé"]
    assert retention_report(team, today=TODAY).entries == ()


async def test_apply_does_nothing_once_retention_is_turned_off(team: Team):
    await populated(team)
    await set_retention_months(team, 12)
    report = retention_report(team, today=TODAY)
    await set_retention_months(team, 0)
    assert await apply_retention(team, report) is None
    assert len(team.persons.list(include_deleted=True)) == 6
