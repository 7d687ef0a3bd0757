from __future__ import annotations

import asyncio

import pytest

from mano_core.sync.state import Status

pytestmark = pytest.mark.timeout(180)


async def test_two_devices_see_each_others_edits(relay, make_device):
    a = await make_device("a")
    b = await make_device("b")
    team_a = await a.create_team("Maraude Nord", health=True)
    async with await a.sync(team_a, relay.url) as sync_a:
        code = await sync_a.create_invitation(role="normal", health=True)
        person = await team_a.persons.create(name="Personne T")
        team_b = await b.join_team(relay.url, code, timeout=60)
        async with await b.sync(team_b, relay.url) as sync_b:
            await sync_a.wait_synced(60)
            for _ in range(100):
                if team_b.persons.list():
                    break
                await asyncio.sleep(0.05)
            assert team_b.persons.get(person.id).name == "Personne T"
            await team_b.persons.update(person.id, phone="0639980011")
            await sync_b.wait_synced(60)
            for _ in range(100):
                if team_a.persons.get(person.id).phone:
                    break
                await asyncio.sleep(0.05)
            assert team_a.persons.get(person.id).phone == "0639980011"
            assert sync_b.state.status is Status.ONLINE


async def test_compaction_keeps_pending_edits_queued_for_the_relay(make_device):
    from mano_core.ids import Compartment
    from mano_core.team import local_outbox

    a = await make_device("a")
    team = await a.create_team("Maraude")
    holder = team.compartment(Compartment.GENERAL)
    holder.core.persons.create(name="Pas encore envoyée")  # in memory, not committed yet
    await team.compact()
    queued = await a.store.outbox_pending(local_outbox(team.id, Compartment.GENERAL))
    assert len(queued) == 1  # compaction committed it with its place in the sync outbox
