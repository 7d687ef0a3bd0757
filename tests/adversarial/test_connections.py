"""Hostile clients at the connection level: the relay refuses them with the documented error
and keeps serving a legitimate device meanwhile."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from websockets.asyncio.client import connect

from mano_core import limits
from mano_core.protocol import codec
from mano_core.protocol import messages as m
from mano_core.protocol.codes import ErrorCode
from mano_core.sync.transport import RelayClient

pytestmark = pytest.mark.timeout(180)


async def raw(url: str):
    return await connect(url, compression=None, max_size=None, open_timeout=10)


async def next_error(ws) -> m.Error:
    while True:
        msg = codec.decode(await asyncio.wait_for(ws.recv(), 10))
        if isinstance(msg, m.Error):
            return msg


async def legit_device_is_served(url: str, pair) -> None:
    """The member authenticates and its edit reaches the admin."""
    c = await RelayClient.connect(url)
    try:
        await asyncio.wait_for(c.authenticate(pair.keys_b.identity, pair.keys_b.team_id), 10)
    finally:
        await c.close()
    await pair.team_a.persons.create(name="Servi")
    await pair.sync_a.wait_synced(60)


async def test_subscribe_without_auth_is_refused(url):
    async with await raw(url) as ws:
        await ws.send(codec.encode(m.Hello(versions=[1])))
        assert isinstance(codec.decode(await ws.recv()), m.Welcome)
        await ws.send(codec.encode(m.Subscribe(id=1, c=0, after=0)))
        err = await next_error(ws)
        assert err.code == ErrorCode.UNEXPECTED_MESSAGE and err.fatal
        await asyncio.wait_for(ws.wait_closed(), 10)


async def test_oversized_frame_is_refused_before_decoding(url, pair):
    async with await raw(url) as ws:
        await ws.send(b"\x00" * (limits.MAX_FRAME_SIZE + 1))
        err = await next_error(ws)
        assert err.code == ErrorCode.FRAME_TOO_LARGE
        await asyncio.wait_for(ws.wait_closed(), 10)
    await legit_device_is_served(url, pair)


async def test_slowloris_clients_do_not_stop_the_relay(relay, url, pair):
    port = relay.port
    held: list[asyncio.StreamWriter] = []
    sockets = []
    try:
        for _ in range(30):  # half an HTTP upgrade request, never finished
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n")
            held.append(w)
        for _ in range(10):  # a websocket that asks for a lot and never reads
            ws = await connect(url, compression=None, max_size=None, max_queue=1)
            sockets.append(ws)
            await ws.send(codec.encode(m.Hello(versions=[1])))
        await legit_device_is_served(url, pair)
    finally:
        for w in held:
            w.transport.abort()
        for ws in sockets:
            ws.transport.abort()


async def test_bounded_connection_flood_leaves_the_relay_serving(url, pair):
    sockets = []
    try:
        results = await asyncio.gather(*(raw(url) for _ in range(200)), return_exceptions=True)
        sockets = [r for r in results if not isinstance(r, BaseException)]
        assert len(sockets) == 200
        await legit_device_is_served(url, pair)
    finally:
        for ws in sockets:
            with contextlib.suppress(Exception):
                ws.transport.abort()


async def test_hello_with_invalid_utf8_gets_bad_frame(url, pair):
    """Found by fuzzing the codec: the relay's session died on UnicodeDecodeError (close 1011,
    no error message) instead of answering BAD_FRAME."""
    bad = codec.encode(m.Hello(versions=[1], client="zz")).replace(b"\xa2zz", b"\xa2\x80\x80")
    async with await raw(url) as ws:
        await ws.send(bad)
        err = await next_error(ws)
        assert err.code == ErrorCode.BAD_FRAME and err.fatal
    await legit_device_is_served(url, pair)
