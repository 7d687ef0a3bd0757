"""A snapshot upload is not on the delivery path (issue 24): while the relay has not stored a
device's snapshot yet, that device goes on applying its teammates' edits; the snapshot counts
as made only once the relay answered and the device committed it, and the tail it restarts
from keeps the envelopes delivered meanwhile."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from mano_core.ids import Compartment
from mano_core.protocol.codes import ErrorCode
from sync_server.handlers_blobs import BlobHandlers

from .harness import Harness, settle
from .helpers import eventually

pytestmark = pytest.mark.timeout(180)
GENERAL = Compartment.GENERAL


async def test_deliveries_are_applied_while_a_snapshot_upload_waits_for_the_relay(
        tmp_path, monkeypatch):
    held_device: list[bytes] = []
    reached, release = asyncio.Event(), asyncio.Event()
    original = BlobHandlers.snapshot_put

    async def held(self, s, msg):  # the relay sits on a's last snapshot part
        if held_device and s.device == held_device[0] and msg.last:
            reached.set()
            await release.wait()
        if held_device and s.device != held_device[0] and msg.part == 0:
            # b is at the head too and takes a snapshot of the same upto: a spare upload
            # (docs/protocol.md §6) would make a's unneeded (or a's b's). Only a's is followed
            # here: b's are turned away as with a relay at its maximum of uploads.
            return self._drop_upload(s, msg, ErrorCode.BUSY, "test: only a uploads")
        return await original(self, s, msg)

    monkeypatch.setattr(BlobHandlers, "snapshot_put", held)
    async with Harness(tmp_path) as h:
        pair = await h.device_pair(tmp_path / "devices")
        a, team_a = await pair.open("a")
        b, team_b = await pair.open("b")
        try:
            async with await h.sync(a, team_a) as sa, await h.sync(b, team_b) as sb:
                held_device.append(sa.sync.keys.identity.device_id)
                await settle(sa)
                # b's notes weigh more than SNAPSHOT_MIN_TAIL and half the state: a snapshot
                # of a's falls due as they reach it
                for i in range(5):
                    await team_b.persons.create(name=f"Note {i}", description="x" * 20_000)
                await asyncio.wait_for(reached.wait(), 60)
                later = await team_b.persons.create(name="Après")
                # Applied and committed: the record shows in the document as soon as it is
                # merged, a moment before the delivery's commit moves the cursor (until then
                # a is "behind" and no snapshot is due: the check below would race it).
                await eventually(lambda: any(p.id == later.id for p in team_a.persons.list())
                                 and not sa.state.behind, 30,
                                 "b's edit applied on a while a's snapshot upload is held")
                assert sa.sync.snapshot_due(GENERAL)  # not made before the relay stored it
                assert sa.sync.sm.position(GENERAL).snapshot == 0
                release.set()
                await eventually(lambda: sa.sync.sm.position(GENERAL).snapshot > 0, 60,
                                 "a's snapshot committed once the relay stored it")
                tail, _state = sa.sync.snapshot_policy(GENERAL)
                assert tail > 0  # the envelope delivered during the upload is still counted
                await settle(sb)
        finally:
            release.set()
        newest = await h.relay.storage.newest_snapshot(uuid.UUID(pair.team_id).bytes,
                                                       int(GENERAL))
        assert newest is not None
