"""Members spending the relay's memory: snapshot uploads (streamed to storage, bounded in
bytes, a bounded number at once) and a catch-up that stalls while live envelopes pile up
(bounded in bytes). Another team keeps syncing; the relay's memory stays bounded."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from mano_core import limits
from mano_core.errors import RelayRefusedError
from mano_core.protocol import messages as m
from mano_core.protocol.codes import CLOSE_BASE, ErrorCode
from tests.adversarial.hostile import MiB, Bystanders, relay_process, rss
from tests.relay.kit import TeamKit

pytestmark = pytest.mark.timeout(300)
CHUNK = limits.MAX_SNAPSHOT_CHUNK


async def test_snapshot_upload_is_streamed_to_storage_not_held(tmp_path: Path) -> None:
    """Was: +188 MiB held by one session, the quota checked only after the last part."""
    kit = TeamKit()
    async with relay_process(tmp_path, "--max-team-storage", str(64 * MiB)) as proc:
        async with Bystanders(proc.url) as others:
            a = await kit.client(proc.url, "admin", create=True)
            await a.push(kit["admin"].seal(b"one"))
            before, seen = rss(proc), others.received
            junk = os.urandom(CHUNK)
            parts = 100  # ~94 MiB, beyond the 64 MiB quota
            for i in range(parts):
                a._send(m.SnapshotPut(id=99, c=0, upto=1, part=i, last=i == parts - 1,
                                      data=junk))
                if i % 8 == 7:
                    await asyncio.sleep(0)  # let the socket drain
            err = await a.recv(120)  # ~94 MiB through loopback first: slow under load
            assert isinstance(err, m.Error) and err.code == ErrorCode.STORAGE_FULL
            assert rss(proc) - before < 40 * MiB  # parts went to disk, not to memory
            # The refused upload left nothing: a small snapshot fits the quota again.
            (ok,) = await a.request(m.SnapshotPut(id=a.next_id(), c=0, upto=1, part=0,
                                                  last=True, data=b"small"))
            assert isinstance(ok, m.Ok)
            await others.still_flowing(seen)
            await a.close()


async def test_concurrent_uploads_are_bounded(tmp_path: Path) -> None:
    kits = [TeamKit() for _ in range(3)]
    async with relay_process(tmp_path, "--max-uploads", "2") as proc:
        async with Bystanders(proc.url) as others:
            seen = others.received
            clients = []
            for kit in kits:
                c = await kit.client(proc.url, "admin", create=True)
                await c.push(kit["admin"].seal(b"x"))
                clients.append(c)
            for c in clients[:2]:  # two uploads left open (first part only)
                c._send(m.SnapshotPut(id=7, c=0, upto=1, part=0, last=False, data=b"p"))
            third = clients[2]
            with pytest.raises(RelayRefusedError) as err:
                # a round trip on the first two proves their parts were handled first
                for c in clients[:2]:
                    await c.request(m.KeyFetch(id=c.next_id()))
                await third.request(m.SnapshotPut(id=third.next_id(), c=0, upto=1, part=0,
                                                  last=True, data=b"p"))
            assert err.value.code == ErrorCode.BUSY and not err.value.fatal
            await clients[0].close()  # its upload is dropped: a slot frees
            async with asyncio.timeout(10):
                while True:
                    try:
                        await third.request(m.SnapshotPut(id=third.next_id(), c=0, upto=1,
                                                          part=0, last=True, data=b"p"))
                        break
                    except RelayRefusedError as exc:
                        assert exc.code == ErrorCode.BUSY
                        await asyncio.sleep(0.05)
            await others.still_flowing(seen)
            for c in clients[1:]:
                await c.close()


async def test_stalled_catch_up_is_bounded_in_bytes(tmp_path: Path) -> None:
    """Was: bounded in envelopes only (10,000 x 960 KiB ~ 9 GiB); one stalled session held
    +130 MiB."""
    kit = TeamKit("bob")
    async with relay_process(tmp_path, "--catchup-buffer-bytes", str(4 * MiB)) as proc:
        async with Bystanders(proc.url) as others:
            a = await kit.client(proc.url, "admin", create=True)
            big = os.urandom(200_000)
            await asyncio.gather(*(a.push_nowait(kit["admin"].seal(big)) for _ in range(100)))
            b = await kit.client(proc.url, "bob")
            b.ws.transport.pause_reading()  # stalls: the catch-up waits on the socket
            b._send(m.Subscribe(id=b.next_id(), c=0, after=0))
            before, seen = rss(proc), others.received
            live = os.urandom(500_000)
            with contextlib.suppress(RelayRefusedError):
                for _ in range(30):
                    await a.push(kit["admin"].seal(live))
            b.ws.transport.resume_reading()
            with contextlib.suppress(ConnectionClosed, RelayRefusedError, TimeoutError):
                async with asyncio.timeout(20):
                    while True:
                        await b.recv()
            assert b.ws.close_code == CLOSE_BASE + ErrorCode.SLOW_CONSUMER
            assert rss(proc) - before < 40 * MiB
            await others.still_flowing(seen)
            await a.close()
