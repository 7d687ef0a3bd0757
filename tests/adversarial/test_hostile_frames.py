"""Hostile frames against a relay subprocess: a deeply nested frame, a client's own fatal error
message. Each gets the documented answer; another team keeps syncing; memory stays bounded."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mano_core.protocol import codec
from mano_core.protocol import messages as m
from mano_core.protocol.codes import CLOSE_BASE, CLOSE_NORMAL, ErrorCode
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

pytestmark = pytest.mark.timeout(240)


async def test_deep_frame_gets_bad_frame_not_1011(tmp_path: Path) -> None:
    deep = b"\x81\xa1t" + b"\x91" * 100_000 + b"\xc0"  # {"t": [[[[…]]]]}, 100,000 deep
    async with relay_process(tmp_path) as proc:
        async with Bystanders(proc.url) as others:
            before, seen = rss(proc), others.received
            for _ in range(20):
                async with await raw(proc.url) as ws:
                    await hello(ws)
                    await ws.send(deep)
                    err = await next_error(ws)
                    assert err.code == ErrorCode.BAD_FRAME and err.fatal
                    await asyncio.wait_for(ws.wait_closed(), 10)
                    assert ws.close_code == CLOSE_BASE + ErrorCode.BAD_FRAME
            await others.still_flowing(seen)
            assert rss(proc) - before < 20 * MiB
        _code, logs = await proc.stop()
    assert "Traceback" not in logs


async def test_client_fatal_error_is_a_normal_close_not_internal(tmp_path: Path) -> None:
    async with relay_process(tmp_path) as proc:
        async with Bystanders(proc.url) as others:
            seen = others.received
            for code in (ErrorCode.INTERNAL, 3999, 65535):
                async with await raw(proc.url) as ws:
                    await hello(ws)
                    await ws.send(codec.encode(m.Error(code=int(code), msg="bye", fatal=True)))
                    await asyncio.wait_for(ws.wait_closed(), 10)
                    assert ws.close_code == CLOSE_NORMAL
            assert await metric(proc, "mano_relay_client_errors_total") == 3
            with pytest.raises(AssertionError):  # no "internal" rejection was counted
                await metric(proc, 'mano_relay_rejections_total{reason="internal"}')
            await others.still_flowing(seen)
