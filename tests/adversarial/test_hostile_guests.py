"""Hostile guests (unauthenticated connections) against a relay subprocess, while a legitimate
pair of another team keeps syncing and the relay's memory stays bounded."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from mano_core.protocol import codec
from mano_core.protocol import messages as m
from mano_core.protocol.codes import ErrorCode
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

pytestmark = pytest.mark.timeout(120)


async def test_invite_fetch_waiters_are_forgotten_when_guests_leave(tmp_path: Path) -> None:
    """Was: +31.7 MiB after 76,000 invite_fetch for random ids from 40 guests, never freed."""
    async with relay_process(tmp_path) as proc:
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
                assert all(await asyncio.gather(*(flood(ws) for ws in guests)))
                assert await metric(proc, "mano_relay_invite_waiters") > 0
                for ws in guests:
                    ws.transport.abort()  # an attacker does not say goodbye
                async with asyncio.timeout(10):
                    while await metric(proc, "mano_relay_invite_waiters") > 0:
                        await asyncio.sleep(0.05)
            await others.still_flowing(seen)
            assert rss(proc) - before < 20 * MiB
