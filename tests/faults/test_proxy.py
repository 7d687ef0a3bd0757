"""The fault proxy itself: it forwards, delays, cuts mid-stream and refuses."""

from __future__ import annotations

import random

import pytest

from tests.faults.proxy import FaultProxy
from tests.sync.helpers import eventually, join

pytestmark = pytest.mark.timeout(180)


async def test_sync_through_a_slow_proxy_that_cuts_connections(relay, make_device):
    a, b = await make_device("a"), await make_device("b")
    team_a = await a.create_team("Maraude")
    async with FaultProxy(relay.port, rng=random.Random(3)) as proxy:
        async with await a.sync(team_a, proxy.url) as sa:
            team_b = await join(sa, b, proxy.url)
            async with await b.sync(team_b, proxy.url) as sb:
                proxy.delay = (0.0, 0.01)
                proxy.cut_after_bytes = (200, 5000)
                for i in range(10):
                    await team_a.persons.create(name=f"P-{i}")
                proxy.cut_all()
                await eventually(lambda: proxy.counts["cut_mid_stream"] > 0, 20, "a cut")
                proxy.cut_after_bytes = None
                await sa.wait_synced(30)
                await eventually(lambda: len(team_b.persons.list()) == 10, 60, "10 on b")
                assert sb.state.alerts == []
