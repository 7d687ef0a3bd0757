"""A hostile relay: a websockets server of ours in front of the real one that speaks the
protocol (mano_core.protocol.codec) and withholds or reorders one author's envelopes. It can
read no content, but it can cheat on delivery: devices must notice (a gap in that author's
chain, in SyncState.alerts)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

from mano_core.crypto.envelope import Envelope
from mano_core.protocol import codec
from mano_core.protocol import messages as m
from tests.sync.helpers import eventually, join

pytestmark = pytest.mark.timeout(180)

Items = list[tuple[int, bytes]]


class HostileRelay:
    """Forwards every frame both ways, except that ``cheat`` rewrites each delivery."""

    def __init__(self, upstream: str, cheat: Callable[[Items], Items]) -> None:
        self.upstream, self.cheat = upstream, cheat
        self.cheated = 0

    async def __aenter__(self) -> str:
        self._server = await serve(self._handle, "127.0.0.1", 0, compression=None,
                                   max_size=None)
        return f"ws://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 5)

    async def _handle(self, down) -> None:
        async with connect(self.upstream, compression=None, max_size=None) as up:
            async def to_relay() -> None:
                async for frame in down:
                    await up.send(frame)

            async def to_device() -> None:
                async for frame in up:
                    msg = codec.decode(frame)
                    if isinstance(msg, m.Deliver):
                        items = self.cheat(list(msg.items))
                        if items != list(msg.items):
                            self.cheated += 1
                        if not items:
                            continue
                        out = codec.encode(m.Deliver(c=msg.c, items=items))
                    else:
                        out = frame
                    await down.send(out)

            tasks = [asyncio.create_task(to_relay()), asyncio.create_task(to_device())]
            with contextlib.suppress(ConnectionClosed):
                await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


def by(author: bytes, items: Items) -> list[int]:
    """Positions in ``items`` of ``author``'s envelopes."""
    return [i for i, (_, e) in enumerate(items) if Envelope.parse(e).header.author == author]


async def b_wrote_four_envelopes(make_device, url):
    """a (admin) offline while b makes four edits, each in its own envelope."""
    a, b = await make_device("a"), await make_device("b")
    team_a = await a.create_team("Maraude")
    async with await a.sync(team_a, url) as sa:
        team_b = await join(sa, b, url)
        await sa.wait_synced()
    async with await b.sync(team_b, url) as sb:
        for i in range(4):
            await team_b.persons.create(name=f"B-{i}")
            await sb.wait_synced()
        author = sb.keys.identity.device_id
    return a, team_a, author


async def test_withheld_envelope_shows_as_a_gap(make_device, url):
    a, team_a, author = await b_wrote_four_envelopes(make_device, url)

    def withhold(items: Items) -> Items:
        mine = by(author, items)
        return [it for i, it in enumerate(items) if len(mine) < 2 or i != mine[1]]

    async with HostileRelay(url, withhold) as evil:
        async with await a.sync(team_a, evil) as sa:
            await eventually(lambda: any(x.kind == "gap" for x in sa.state.alerts), 10,
                             "a gap alert")
    assert "expected counter 1, got 2" in next(x.detail for x in sa.state.alerts
                                               if x.kind == "gap")


async def test_reordered_envelopes_show_as_a_gap(make_device, url):
    a, team_a, author = await b_wrote_four_envelopes(make_device, url)

    def reorder(items: Items) -> Items:
        mine = by(author, items)
        if len(mine) < 3:
            return items
        i, j = mine[1], mine[2]  # swap the envelopes, keep the sequence numbers
        out = list(items)
        out[i], out[j] = (items[i][0], items[j][1]), (items[j][0], items[i][1])
        return out

    async with HostileRelay(url, reorder) as evil:
        async with await a.sync(team_a, evil) as sa:
            await eventually(lambda: any(x.kind == "gap" for x in sa.state.alerts), 10,
                             "a gap alert")
