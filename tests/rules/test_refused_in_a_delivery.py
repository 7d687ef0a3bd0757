"""A restricted member's settings write between two of its ordinary edits, caught up by the
admin in one delivery: the refused update is screened and neutralised on its own, the others
apply, and the store (a delivery is one update row of what its merge integrated, issue 24)
holds exactly that: reopened, the device shows both persons and not the refused category."""

from __future__ import annotations

import pytest
from pycrdt import Map

from mano_core.device import Device
from tests.harness.devices import PASS
from tests.sync.helpers import join

from .test_remote_rules import raw_write

pytestmark = pytest.mark.timeout(300)


async def test_a_refused_write_in_the_middle_of_a_delivery_stays_out_after_a_reopen(
        relay, make_device, tmp_path):
    admin, restricted = await make_device("admin"), await make_device("restr")
    t_admin = await admin.create_team("Maraude")
    async with await admin.sync(t_admin, relay.url) as s_admin:
        t_restricted = await join(s_admin, restricted, relay.url, role="restricted")
        await s_admin.wait_synced()
    # The admin is away; the restricted device writes three envelopes, one of them hostile.
    async with await restricted.sync(t_restricted, relay.url, flush_delay=0.0) as s_r:
        await t_restricted.persons.create(name="Avant")
        await s_r.wait_synced()
        await raw_write(t_restricted, lambda doc: doc.get("settings", type=Map).update(
            {"actionCategories[Piratée]": 1.0}))
        await s_r.wait_synced()
        await t_restricted.persons.create(name="Après")
        await s_r.wait_synced()
    # The admin catches up on all three at once.
    async with await admin.sync(t_admin, relay.url) as s_admin:
        await s_admin.wait_synced()
        assert sorted(p.name for p in t_admin.persons.list()) == ["Après", "Avant"]
        assert t_admin.settings.values("actionCategories") == []
        (refused,) = await t_admin.quarantine.list()
        assert "restricted" in refused.reason
    team_id = t_admin.id
    await admin.close()
    async with await Device.open(tmp_path / "admin.mano", PASS) as again:
        team = await again.open_team(team_id)
        assert sorted(p.name for p in team.persons.list()) == ["Après", "Avant"]
        assert team.settings.values("actionCategories") == []
        assert len(await team.quarantine.list()) == 1
