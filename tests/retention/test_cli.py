"""`mano retention`: a dry run that prints who would be erased and changes nothing; --apply
erases exactly them, signed by this device."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path

import pytest

from mano_core.device import Device
from mano_core.store import TEST_KDF
from tui.cli import main

pytestmark = pytest.mark.timeout(180)

PASS = "phrase de passe de test"


async def _build(path: Path) -> None:
    async with await Device.create(path, PASS, kdf=TEST_KDF) as device:
        team = await device.create_team("Maraude Nord")
        old = await team.persons.create(name="Gérard Parti", out_of_active_list=True,
                                        out_of_active_list_date=dt.date(2024, 2, 1),
                                        out_of_active_list_reasons=["Relogée"])
        await team.comments.create(text="Relogé à Montreuil", person=old.id,
                                   date=dt.datetime(2024, 2, 1, tzinfo=dt.timezone.utc))
        await team.persons.create(name="Lucie Récente", out_of_active_list=True,
                                  out_of_active_list_date=dt.date(2026, 9, 1))
        await team.persons.create(name="Toujours Suivi")


async def _names(path: Path) -> tuple[list[str], list[tuple[str, list[str]]]]:
    async with await Device.open(path, PASS) as device:
        team = await device.open_team((await device.teams())[0].id)
        orders = [(o.reason, o.persons) for o in team.erasures.orders()
                  if team.erasures.problem(o) is None]
        return sorted(p.name for p in team.persons.list(include_deleted=True)), orders


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MANO_PASSPHRASE", PASS)
    path = tmp_path / "nord.mano"
    asyncio.run(_build(path))
    return path


def test_retention_dry_run_then_apply(store: Path, capsys: pytest.CaptureFixture[str]):
    base = ["retention", "--store", str(store), "--today", "2026-11-20"]
    assert main(base) == 0
    assert "Désactivée" in capsys.readouterr().out

    assert main([*base, "--months", "12"]) == 0
    out = capsys.readouterr().out
    assert "01/02/2024  Gérard Parti (Relogée)" in out
    assert "Lucie Récente" not in out and "Toujours Suivi" not in out
    assert "rien n'a été modifié" in out
    names, orders = asyncio.run(_names(store))
    assert names == ["Gérard Parti", "Lucie Récente", "Toujours Suivi"] and orders == []

    assert main([*base, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [p["name"] for p in report["persons"]] == ["Gérard Parti"]
    assert report["totals"]["comments"] == 1 and report["applied"] is None

    assert main(["--lang", "en", *base, "--apply", "--json"]) == 0
    applied = json.loads(capsys.readouterr().out)["applied"]
    assert applied is not None and len(applied["persons"]) == 1
    names, orders = asyncio.run(_names(store))
    assert names == ["Lucie Récente", "Toujours Suivi"]
    assert orders == [("retention", applied["persons"])]  # a valid, signed order

    assert main(["--lang", "en", *base]) == 0
    assert "nobody to erase" in capsys.readouterr().out
