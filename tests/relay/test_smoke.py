"""In-process relay: the main flows with real websocket clients."""

from __future__ import annotations

from mano_core.protocol import messages as m
from tests.relay.kit import TeamKit


async def test_push_ack_and_fanout(url: str, kit: TeamKit) -> None:
    a = await kit.client(url, "admin", create=True)
    b = await kit.client(url, "bob")
    await b.subscribe(0, 0)
    env = kit["admin"].seal(b"hello bob")
    ack = await a.push(env)
    assert (ack.c, ack.seq, ack.dup) == (0, 1, False)
    msg = await b.recv(timeout=30)
    assert isinstance(msg, m.Deliver) and msg.items == [(1, env)]
    again = await a.push(env)
    assert (again.seq, again.dup) == (1, True)
    await a.close()
    await b.close()
