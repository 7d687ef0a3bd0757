"""wait_synced() means: the relay's head at the time of the call has been applied and
committed here (issue 16, item 7). The head is asked (``head_get``), not taken from what this
device last heard: a teammate's envelope stored at the relay and still on its way to this
device is waited for."""

from __future__ import annotations

import asyncio

import pytest

from mano_core.errors import RelayRefusedError
from mano_core.protocol import messages as m
from mano_core.protocol.codes import ErrorCode
from mano_core.sync.transport import RelayClient

from .harness import Harness, settle

pytestmark = pytest.mark.timeout(120)


async def test_an_envelope_stored_before_the_call_and_not_delivered_yet_is_waited_for(
        tmp_path, monkeypatch):
    async with Harness(tmp_path) as h:
        pair = await h.device_pair(tmp_path / "devices")
        a, team_a = await pair.open("a")
        b, team_b = await pair.open("b")
        async with await h.sync(a, team_a) as sa, await h.sync(b, team_b) as sb:
            await settle(sa)
            await settle(sb)
            # b's connection holds the deliveries it receives, until b has asked the head.
            held: list[m.Message] = []
            holding, arrived = [True], asyncio.Event()
            route = RelayClient._route

            def holding_route(self: RelayClient, msg: m.Message) -> None:
                if self is sb._client and holding[0]:
                    if isinstance(msg, m.Deliver):
                        held.append(msg)
                        arrived.set()
                        return
                    if isinstance(msg, m.Head):
                        holding[0] = False
                        route(self, msg)
                        for late in held:
                            route(self, late)
                        return
                route(self, msg)

            monkeypatch.setattr(RelayClient, "_route", holding_route)
            person = await team_a.persons.create(name="Stored before the call")
            await settle(sa)  # acknowledged: at the relay, and sent to b
            await arrived.wait()
            await sb.wait_synced(30)
            assert [p.name for p in team_b.persons.list()] == [person.name]
            assert sb.state.cursor == sa.state.cursor
            assert sb.state.head[next(iter(sb.state.head))] == await h.head(pair.team_id)


async def test_head_get_answers_the_stored_head_and_refuses_a_compartment_without_access(
        tmp_path):
    async with Harness(tmp_path) as h:
        pair = await h.device_pair(tmp_path / "devices")
        a, team_a = await pair.open("a")
        async with await h.sync(a, team_a) as sa:
            await team_a.persons.create(name="One")
            await settle(sa)
            client = sa._client
            assert client is not None
            assert await client.head(0) == await h.head(pair.team_id)
            with pytest.raises(RelayRefusedError) as refused:
                await client.head(1)  # this device has no medical access
            assert refused.value.code == ErrorCode.FORBIDDEN
            assert await client.head(0) == await h.head(pair.team_id)  # the session goes on
