"""join_team waits out a relay that is briefly down (it retried on OSError, which the
transport never lets through, and failed at once)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from tests.faults.proxy import FaultProxy
from tests.harness.relay import RestartableRelay

from .helpers import eventually

pytestmark = pytest.mark.timeout(300)


async def test_join_retries_until_the_relay_is_back(tmp_path: Path, make_device, caplog):
    relay = RestartableRelay(tmp_path / "relay.db")
    a, b = await make_device("a"), await make_device("b")
    team_a = await a.create_team("Maraude")
    await team_a.persons.create(name="Avant la panne")
    await relay.start()
    try:
        async with FaultProxy(relay.port) as front:  # the relay's one address: no faults
            relay.front = front
            url = front.url
            async with await a.sync(team_a, url) as sa:
                code = await sa.create_invitation()
                await sa.wait_synced()
            await relay.stop()
            with caplog.at_level(logging.INFO, "mano.sync"):
                joining = asyncio.create_task(b.join_team(url, code, timeout=120))
                await eventually(lambda: any("join attempt failed" in r.getMessage()
                                             and "cannot connect" in r.getMessage()
                                             for r in caplog.records) or joining.done(), 60,
                                 "b's first attempt fails")
                assert not joining.done()  # still trying, not failed
                await relay.start()  # on another port: the front follows it
                async with await a.sync(team_a, url):  # the admin answers once it is back
                    team_b = await asyncio.wait_for(joining, 120)
                async with await b.sync(team_b, url) as sb:
                    await eventually(lambda: [p.name for p in team_b.persons.list()]
                                     == ["Avant la panne"], 60, "b has the team's data")
                    await sb.wait_synced()
    finally:
        await relay.stop_all()
