"""Hostile guests (unauthenticated connections) against a relay subprocess, while a legitimate
pair of another team keeps syncing and the relay's memory stays bounded."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from mano_core.protocol import codec
from mano_core.protocol import messages as m
from mano_core.protocol.codes import CLOSE_BASE, ErrorCode
from tests.adversarial.hostile import (
    MiB,
    Bystanders,
    hello,
    metric,
    next_error,
    raw,
    relay_process,
    rss,
)

pytestmark = pytest.mark.timeout(300)


async def test_invite_fetch_waiters_are_forgotten_when_guests_leave(tmp_path: Path) -> None:
    """Was: +31.7 MiB after 76,000 invite_fetch for random ids from 40 guests, never freed."""
    async with relay_process(tmp_path, "--max-guests-per-address", "40",
                             "--guest-burst", "100000") as proc:
        async with Bystanders(proc.url) as others:
            before, seen = rss(proc), others.received
            for _round in range(5):
                guests = await asyncio.gather(*(raw(proc.url) for _ in range(20)))

                async def flood(ws) -> bool:
                    await hello(ws)
                    for i in range(50):
                        await ws.send(codec.encode(m.InviteFetch(
                            id=i + 1, team=os.urandom(16), invite=os.urandom(16))))
                    err = await next_error(ws)
                    return err.code == ErrorCode.TOO_LARGE and not err.fatal

                # Beyond a few awaited answers per connection, refused.
                results = await asyncio.gather(*(flood(ws) for ws in guests))
                assert all(results), results
                assert await metric(proc, "mano_relay_invite_waiters") > 0
                for ws in guests:
                    ws.transport.abort()  # an attacker does not say goodbye
                async with asyncio.timeout(10):
                    while await metric(proc, "mano_relay_invite_waiters") > 0:
                        await asyncio.sleep(0.05)
            await others.still_flowing(seen)
            assert rss(proc) - before < 20 * MiB


async def closed_with(ws, timeout: float = 15) -> int:
    """The close code once the relay closed ``ws`` (reading whatever it still sends)."""
    with contextlib.suppress(ConnectionClosed):
        async with asyncio.timeout(timeout):
            while True:
                await ws.recv()
    return int(ws.close_code or 0)


async def test_guests_have_their_own_cap_and_timeout(tmp_path: Path) -> None:
    """Was: guests waiting on an invitation were exempt from the auth timeout and unlimited;
    they filled the connection table and a member got TOO_MANY_CONNECTIONS."""
    async with relay_process(tmp_path, "--max-guests", "30", "--max-guests-per-address", "10",
                             "--guest-timeout", "3", "--max-connections", "40") as proc:
        async with Bystanders(proc.url) as others:
            before, seen = rss(proc), others.received
            guests = await asyncio.gather(*(raw(proc.url) for _ in range(12)))
            for ws in guests:
                await hello(ws)
                await ws.send(codec.encode(m.InviteFetch(id=1, team=os.urandom(16),
                                                         invite=os.urandom(16))))
            # The 11th and 12th guests of this address are refused; the first ten wait.
            codes = await asyncio.gather(*(closed_with(ws, 2) for ws in guests[10:]))
            assert codes == [CLOSE_BASE + ErrorCode.TOO_MANY_CONNECTIONS] * 2
            # A member still gets in while the guests wait.
            member = await others.kit.client(proc.url, "bob")
            await member.close()
            # After guest_timeout, the waiting guests are closed.
            codes = await asyncio.gather(*(closed_with(ws) for ws in guests[:10]))
            assert codes == [CLOSE_BASE + ErrorCode.AUTH_TIMEOUT] * 10
            await others.still_flowing(seen)
            assert rss(proc) - before < 20 * MiB


async def test_unauthenticated_connections_are_capped_per_address(tmp_path: Path) -> None:
    async with relay_process(tmp_path, "--max-unauthenticated-per-address", "20") as proc:
        async with Bystanders(proc.url) as others:
            seen = others.received
            held = await asyncio.gather(*(raw(proc.url) for _ in range(20)))
            extra = await raw(proc.url)
            assert await closed_with(extra, 5) == CLOSE_BASE + ErrorCode.TOO_MANY_CONNECTIONS
            for ws in held:
                ws.transport.abort()
            await others.still_flowing(seen)


async def test_messages_before_authentication_are_rate_limited_per_address(
    tmp_path: Path,
) -> None:
    """Was: per connection only; 10 guest connections sent 1,900 messages each in 0.1 s."""
    async with relay_process(tmp_path, "--guest-rate", "50", "--guest-burst", "200") as proc:
        async with Bystanders(proc.url) as others:
            before, seen = rss(proc), others.received
            conns = await asyncio.gather(*(raw(proc.url) for _ in range(10)))

            async def flood(ws) -> int:
                with contextlib.suppress(ConnectionClosed):
                    await hello(ws)
                    for i in range(1900):
                        await ws.send(codec.encode(m.InviteFetch(
                            id=i + 1, team=b"T" * 16, invite=b"I" * 16)))
                return await closed_with(ws)

            codes = await asyncio.gather(*(flood(ws) for ws in conns))
            # The address's bucket (200) ran dry long before 10 x 1,900 messages.
            assert codes.count(CLOSE_BASE + ErrorCode.RATE_LIMITED) >= 9
            await others.still_flowing(seen)
            assert rss(proc) - before < 20 * MiB
