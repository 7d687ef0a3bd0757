"""Presence names a member id inside its ciphertext: the relay cannot check it (it only adds
the authenticated sender device), so every receiver checks it against the signed log."""

from __future__ import annotations

import uuid

import pytest

from mano_core.ids import Compartment
from mano_core.protocol import messages as m
from mano_core.sync.presence import seal_presence
from tests.sync.helpers import eventually, join

pytestmark = pytest.mark.timeout(180)


async def test_presence_naming_another_member_is_dropped(make_device, url) -> None:
    a, b = await make_device("a"), await make_device("b")
    team_a = await a.create_team("Maraude")
    async with await a.sync(team_a, url) as sa:
        team_b = await join(sa, b, url)
        async with await b.sync(team_b, url) as sb:
            await sa.wait_synced()
            keys_b = await b.vault.team(uuid.UUID(team_b.id).bytes)
            me_b = keys_b.identity.device_id
            await eventually(lambda: me_b in sa.state.teammates, 15, "b's own presence on a")
            assert sa.state.teammates[me_b].member == team_b.info.member
            before = sa.state.dropped_presence
            # b's device speaks for a's member (say, the team's coordinator).
            forged = seal_presence(keys_b.keyring, keys_b.team_id, me_b,
                                   keys_b.log.epoch(Compartment.GENERAL),
                                   team_a.info.member, None)
            assert sb._client is not None
            sb._client._send(m.Presence(blob=forged))
            await eventually(lambda: sa.state.dropped_presence == before + 1, 15,
                             "a drops the forged presence")
            assert sa.state.teammates[me_b].member == team_b.info.member
            assert any("another member" in x.detail for x in sa.state.alerts)
