"""Crashes: the relay killed mid-stream, a device killed with edits in its outbox."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from mano_core.device import Device
from tests.faults.proxy import FaultProxy
from tests.harness.devices import PASS
from tests.harness.relay import RestartableRelay

from .helpers import eventually, join

pytestmark = pytest.mark.timeout(300)
ROOT = Path(__file__).parents[2]


def names(team) -> list[str]:
    return [p.name for p in team.persons.list()]


async def test_relay_killed_mid_stream_loses_nothing(tmp_path, make_device):
    relay = RestartableRelay(tmp_path / "relay.db")
    await relay.start()
    a, b = await make_device("a"), await make_device("b")
    team_a = await a.create_team("Maraude")
    try:
        async with FaultProxy(relay.port) as front:  # the devices' one address: no faults
            relay.front = front
            url = front.url
            async with await a.sync(team_a, url) as sa:
                team_b = await join(sa, b, url)
                async with await b.sync(team_b, url):
                    saved = []
                    for i in range(60):
                        saved.append((await team_a.persons.create(name=f"P-{i}")).id)
                        if i == 30:
                            await relay.kill()
                        if i == 45:
                            await relay.start()  # on a new port: the front follows it
                        await asyncio.sleep(0.01)
                    await sa.wait_synced(60)
                    await eventually(lambda: len(team_b.persons.list()) == 60, 60,
                                     "all 60 on b")
    finally:
        await relay.stop_all()
    assert sorted(p.id for p in team_b.persons.list()) == sorted(saved)
    assert len(set(names(team_b))) == 60  # each exactly once


async def test_device_killed_with_a_full_outbox_loses_nothing(relay, make_device, tmp_path):
    a, b = await make_device("a"), await make_device("b")
    team_a = await a.create_team("Maraude")
    async with await a.sync(team_a, relay.url) as sa:
        team_b = await join(sa, b, relay.url)
        await sa.wait_synced()
    await b.close()
    # b runs in its own process, offline ("-"): every edit goes to its outbox, then SIGKILL.
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.sync.device_worker", str(tmp_path / "b.mano"), PASS,
         team_b.id, "-", "B", "200"], stdout=subprocess.PIPE, cwd=ROOT,
        env=dict(os.environ, PYTHONUNBUFFERED="1"))
    reported = -1
    assert worker.stdout is not None
    loop = asyncio.get_running_loop()
    while reported < 40:
        line = (await loop.run_in_executor(None, worker.stdout.readline)).decode()
        if line.startswith("saved"):
            reported = int(line.split()[1])
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    async with await Device.open(tmp_path / "b.mano", PASS) as b2:
        team_b2 = await b2.open_team(team_b.id)
        async with await b2.sync(team_b2, relay.url) as sb2, \
                await a.sync(team_a, relay.url) as sa2:
            await sb2.wait_synced(30)
            await eventually(lambda: len(team_a.persons.list()) > reported, 60, "b's edits on a")
            await sa2.wait_synced(30)
            got = names(team_a)
    expected = {f"B-{i}" for i in range(reported + 1)}
    assert expected <= set(got)  # every edit reported saved arrived
    assert len(got) == len(set(got))  # and none twice
