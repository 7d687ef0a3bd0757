"""join_team waits out a relay that is briefly down (it retried on OSError, which the
transport never lets through, and failed at once)."""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path

import pytest

from tests.harness.relay import RelayProcess

from .helpers import eventually

pytestmark = pytest.mark.timeout(120)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_join_retries_until_the_relay_is_back(tmp_path: Path, make_device, caplog):
    port = free_port()
    db = str(tmp_path / "relay.db")
    a, b = await make_device("a"), await make_device("b")
    team_a = await a.create_team("Maraude")
    await team_a.persons.create(name="Avant la panne")
    relay = await RelayProcess(db, "--port", str(port)).start()
    try:
        async with await a.sync(team_a, relay.url) as sa:
            code = await sa.create_invitation()
            await sa.wait_synced()
    finally:
        await relay.stop()
    url = f"ws://127.0.0.1:{port}"
    with caplog.at_level(logging.INFO, "mano.sync"):
        joining = asyncio.create_task(b.join_team(url, code, timeout=60))
        await eventually(lambda: any("join attempt failed" in r.getMessage()
                                     and "cannot connect" in r.getMessage()
                                     for r in caplog.records) or joining.done(), 30,
                         "b's first attempt fails")
        assert not joining.done()  # still trying, not failed
        relay = await RelayProcess(db, "--port", str(port)).start()
        try:
            async with await a.sync(team_a, url):  # the admin answers once the relay is back
                team_b = await asyncio.wait_for(joining, 60)
            async with await b.sync(team_b, url) as sb:
                await eventually(lambda: [p.name for p in team_b.persons.list()]
                                 == ["Avant la panne"], 30, "b has the team's data")
                await sb.wait_synced()
        finally:
            await relay.stop()
