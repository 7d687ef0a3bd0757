"""Key packages reach every teammate: a refused one is kept and sent again (even after a
restart), junk from a member is refused and acknowledged away, a join takes the one that opens."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from mano_core.device import Device
from mano_core.protocol import messages as m
from mano_core.sync.transport import RelayClient
from tests.harness.devices import PASS
from tests.harness.relay import RelayProcess

from .helpers import eventually, join

pytestmark = pytest.mark.timeout(300)

JUNK = b"\x93\x01\xc4\x10" + b"\x00" * 16 + b"\x00" * 96  # not a key package of anyone's


async def test_refused_key_package_is_kept_and_delivered_after_a_restart(tmp_path: Path,
                                                                         make_device):
    relay = await RelayProcess(str(tmp_path / "keys.db"), "--max-pending-keys", "3").start()
    try:
        a, b, c = [await make_device(n) for n in "abc"]
        team_a = await a.create_team("Maraude")
        async with await a.sync(team_a, relay.url) as sa:
            team_b = await join(sa, b, relay.url)
            await join(sa, c, relay.url)
            b_id, c_id = await b.device_id, await c.device_id
            # A member's device fills b's key queue at the relay with junk while b is away.
            keys_c = await c.vault.team((await c.vault.team_ids())[0])
            client = await RelayClient.connect(relay.url)
            try:
                await client.authenticate(keys_c.identity, keys_c.team_id)
                for _ in range(3):
                    await client.request(m.KeyPut(id=client.next_id(), to=b_id, blob=JUNK))
            finally:
                await client.close()
            # Removing c starts a new epoch; b's package is refused (queue full): the admin's
            # call still completes, with an alert, and the package waits in a's store.
            await sa.remove_device(c_id)
            assert sa.key_delivery.pending == 1
            assert any(al.kind == "keys" and "not accepted" in al.detail
                       for al in sa.state.alerts)
            await team_a.persons.create(name="Après le retrait")
            await sa.wait_synced()
        await a.close()
        # b comes back: the junk is refused and acknowledged away.
        async with await b.sync(team_b, relay.url) as sb:
            await eventually(lambda: sum(al.kind == "keys" for al in sb.state.alerts) == 3, 30,
                             "b refuses the three junk packages")
            assert team_b.persons.list() == []  # the new epoch's edit is unreadable so far
            # The admin's device restarts from its store and sends the package it still owes.
            async with await Device.open(tmp_path / "a.mano", PASS) as a2:
                team_a2 = await a2.open_team(team_a.id)
                async with await a2.sync(team_a2, relay.url) as sa2:
                    await eventually(lambda: [p.name for p in team_b.persons.list()]
                                     == ["Après le retrait"], 30,
                                     "b reads the new epoch's edit")
                    assert sa2.key_delivery.pending == 0
    finally:
        await relay.stop()


async def test_junk_package_sent_to_a_joining_device_does_not_fail_the_join(relay, make_device,
                                                                            caplog):
    a, b = await make_device("a"), await make_device("b")
    team_a = await a.create_team("Maraude")
    await team_a.persons.create(name="Avant")
    b_id = await b.device_id
    async with await a.sync(team_a, relay.url) as sa:
        # As soon as b is in the log, a junk package reaches b's queue before the admin's
        # real one (the oldest package is the junk).
        publish = sa.invitations._publish

        async def publish_then_junk(client, entry, after):
            await publish(client, entry, after)
            await client.request(m.KeyPut(id=client.next_id(), to=b_id, blob=JUNK))

        sa.invitations._publish = publish_then_junk
        with caplog.at_level(logging.WARNING, "mano.sync"):
            team_b = await join(sa, b, relay.url)
        assert any("refused" in r.getMessage() for r in caplog.records)
        async with await b.sync(team_b, relay.url) as sb:
            await eventually(lambda: [p.name for p in team_b.persons.list()] == ["Avant"], 30,
                             "b reads the team with the admin's package")
            await sb.wait_synced()
            assert not [al for al in sb.state.alerts if al.kind == "keys"]  # acked at the join
