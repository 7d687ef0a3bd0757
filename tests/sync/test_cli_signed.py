"""The command line opens a team through the one door (``Device.open_team``): an import on a
synced team writes signed history entries that a teammate verifies."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mano_core import audit
from mano_core.device import Device
from tests.harness.devices import PASS
from tui.cli import main

from .helpers import eventually, join

pytestmark = pytest.mark.timeout(300)


async def test_mano_import_on_a_synced_team_is_signed_and_verified_by_a_teammate(
        relay, make_device, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = await make_device("a"), await make_device("b")
    team_a = await a.create_team("Maraude")
    async with await a.sync(team_a, relay.url) as sa:
        team_b = await join(sa, b, relay.url)
        await sa.wait_synced()
    a_id = (await a.device_id).hex()
    await a.close()
    rows = tmp_path / "persons.csv"
    rows.write_text("Prénom;Genre\nZoé Import;Femme\n", encoding="utf-8")
    monkeypatch.setenv("MANO_PASSPHRASE", PASS)
    code = await asyncio.to_thread(main, ["import", "persons", str(rows), "--store",
                                          str(tmp_path / "a.mano"), "--map", "Prénom=name"])
    assert code == 0
    async with await Device.open(tmp_path / "a.mano", PASS) as a2:
        team_a2 = await a2.open_team(team_a.id)
        async with await a2.sync(team_a2, relay.url) as sa2, \
                await b.sync(team_b, relay.url):
            await sa2.wait_synced()
            await eventually(lambda: [p.name for p in team_b.persons.list()] == ["Zoé Import"],
                             30, "b gets the imported person")
            (person,) = team_b.persons.list()
            lines = audit.trail(team_b, person.id)
            assert lines and all(line.status is audit.AuditStatus.VERIFIED for line in lines)
            assert {line.device for line in lines} == {a_id}
