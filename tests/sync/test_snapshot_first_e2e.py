"""End to end, with a real relay process: a new device's first sync starts from the team's
newest snapshot and replays only the envelopes after it; when the newest snapshot is forged
(its bytes changed at the relay), the next new device refuses it with one alert and replays
every envelope instead, ending with the same team (docs/protocol.md §4a)."""

from __future__ import annotations

import pytest

from mano_core.ids import Compartment
from mano_core.sync import snapshot as snapshot_mod

from .helpers import content, eventually
from .test_snapshot_first import forged, put_snapshot

pytestmark = pytest.mark.timeout(180)
GENERAL = Compartment.GENERAL


async def test_new_devices_first_sync_from_the_snapshot_and_past_a_forged_one(relay,
                                                                              make_device):
    a, b, c = await make_device("a"), await make_device("b"), await make_device("c")
    team_a = await a.create_team("Maraude")
    keys = await a.vault.team((await a.vault.team_ids())[0])
    async with await a.sync(team_a, relay.url) as sa:
        code_b, code_c = await sa.create_invitation(), await sa.create_invitation()
        for i in range(10):
            await team_a.persons.create(name=f"Avant-{i}")
        await sa.wait_synced()
        upto = sa.state.cursor[GENERAL]
        good = snapshot_mod.seal_snapshot(
            keys.identity, keys.keyring, team_id=keys.team_id, compartment=GENERAL,
            epoch=keys.log.epoch(GENERAL), upto=upto,
            state=team_a.compartment(GENERAL).core.encode_state(),
            chain=sa.sync.sm.chain(GENERAL))
        await put_snapshot(relay.url, keys, upto, good)
        for i in range(3):
            await team_a.persons.create(name=f"Après-{i}")
            await sa.wait_synced()
        head = sa.state.cursor[GENERAL]

        team_b = await b.join_team(relay.url, code_b, timeout=30)
        async with await b.sync(team_b, relay.url) as sb:
            await eventually(lambda: sb.state.cursor.get(GENERAL, 0) >= head, 60, "b's sync")
            assert content(team_b)["persons"] == content(team_a)["persons"]
            assert sb.state.received.envelopes == head - upto  # the tail only
            assert not [al for al in sb.state.alerts if al.kind == "snapshot"]

        await put_snapshot(relay.url, keys, head, forged(
            "tampered", keys, head, team_a.compartment(GENERAL).core.encode_state(),
            sa.sync.sm.chain(GENERAL)))
        team_c = await c.join_team(relay.url, code_c, timeout=30)
        async with await c.sync(team_c, relay.url) as sc:
            await eventually(lambda: sc.state.cursor.get(GENERAL, 0) >= head, 60, "c's sync")
            assert content(team_c)["persons"] == content(team_a)["persons"]
            assert sc.state.received.envelopes == head  # every envelope, replayed
            alerts = [al.detail for al in sc.state.alerts if al.kind == "snapshot"]
            assert len(alerts) == 1 and f"up to {head} refused" in alerts[0], alerts
            assert not sc.state.stalled and not sc.state.quarantine
