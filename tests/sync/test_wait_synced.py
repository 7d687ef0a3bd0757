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

pytestmark = pytest.mark.timeout(300)


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
            assert client is not None and client.can(m.CAP_HEAD_GET)  # announced in welcome
            assert await client.head(0) == await h.head(pair.team_id)
            with pytest.raises(RelayRefusedError) as refused:
                await client.head(1)  # this device has no medical access
            assert refused.value.code == ErrorCode.FORBIDDEN
            assert await client.head(0) == await h.head(pair.team_id)  # the session goes on


async def test_a_relay_without_the_head_get_capability_is_never_asked_it(tmp_path, monkeypatch):
    """An older relay (no ``head_get`` in welcome.caps) closes the connection with BAD_FRAME on
    a head_get: the client never sends one there, and wait_synced takes the head it heard at
    its catch-up (what it did before head_get)."""
    from sync_server.handlers import Handlers
    from sync_server.session import Session

    asked: list[int] = []

    async def older_relay_head(self: Handlers, s: Session, msg: m.HeadGet) -> None:
        asked.append(msg.c)
        s.kill(ErrorCode.BAD_FRAME, "unknown message")

    monkeypatch.setattr(m, "RELAY_CAPABILITIES", ())
    monkeypatch.setattr(Handlers, "head", older_relay_head)
    async with Harness(tmp_path) as h:
        pair = await h.device_pair(tmp_path / "devices")
        a, team_a = await pair.open("a")
        b, team_b = await pair.open("b")
        async with await h.sync(a, team_a) as sa:
            await team_a.persons.create(name="Stored before b connects")
            await settle(sa)
        sessions = 0
        connect = RelayClient.connect.__func__  # type: ignore[attr-defined]

        async def counting(cls: type[RelayClient], url: str, **kw: object) -> RelayClient:
            nonlocal sessions
            sessions += 1
            return await connect(cls, url, **kw)

        monkeypatch.setattr(RelayClient, "connect", classmethod(counting))
        async with await h.sync(b, team_b) as sb:
            await sb.wait_synced(30)
            assert sb._client is not None and not sb._client.can(m.CAP_HEAD_GET)
            assert [p.name for p in team_b.persons.list()] == ["Stored before b connects"]
            await team_b.persons.create(name="Written on b")
            await sb.wait_synced(30)
            assert sb.state.cursor[next(iter(sb.state.cursor))] == await h.head(pair.team_id)
        assert asked == [] and sessions == 1
