"""The client's websocket driver under cancellations and closed connections (found by
tests/sync/drop_loop.py: "invalid state" killing the reader, futures never retrieved)."""

from __future__ import annotations

import asyncio

import pytest

from mano_core.device import Device
from mano_core.errors import SyncError
from mano_core.protocol import messages as m
from mano_core.sync.transport import RelayClient

from .harness import PASS, Harness

pytestmark = pytest.mark.timeout(180)


async def test_an_answer_to_a_cancelled_authentication_does_not_kill_the_reader(tmp_path):
    async with Harness(tmp_path) as h:
        pair = await h.device_pair(tmp_path / "devices")
        device = await Device.open(pair.a_path, PASS)
        h.opened.append(device)
        keys = await device.vault.team((await device.vault.team_ids())[0])
        client = await RelayClient.connect(h.url)
        routed, route = asyncio.Event(), client._route

        def watched(msg: m.Message) -> None:
            try:
                route(msg)
            finally:
                if isinstance(msg, m.AuthOk):
                    routed.set()

        client._route = watched  # type: ignore[method-assign]
        try:
            auth = asyncio.ensure_future(client.authenticate(keys.identity, keys.team_id))
            await asyncio.sleep(0)  # a turn of the loop: the auth frame is sent, not answered
            auth.cancel()
            with pytest.raises(asyncio.CancelledError):
                await auth
            await routed.wait()  # the auth_ok arrives for a waiter that is gone
            assert await asyncio.wait_for(client.head(0), 10) == await h.head(pair.team_id)
            assert client._reader is not None and not client._reader.done()
        finally:
            await client.close()


async def test_a_request_on_a_closed_connection_leaves_no_future_behind(tmp_path):
    async with Harness(tmp_path) as h:
        client = await RelayClient.connect(h.url)
        await client.close()
        with pytest.raises(SyncError):
            client.start(m.InviteFetch(id=client.next_id(), team=bytes(16), invite=bytes(16)))
        assert client._pending == {}
