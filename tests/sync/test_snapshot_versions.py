"""Which snapshot version a device writes (docs/protocol.md §15, "Which snapshot version a
device writes"; mano_core/sync/snapshot_readers.py): version 2 only once every device that
may read the compartment has signed that it reads it. A teammate that has not (an older
version: it never writes the statement) keeps getting version 1, which it reads; a forged
statement counts for nothing."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from pycrdt import Map

from mano_core.crypto import DeviceIdentity
from mano_core.ids import Compartment
from mano_core.sync import snapshot_readers as readers
from mano_core.sync.snapshot_policy import Snapshots

from .harness import Harness, settle
from .helpers import eventually

pytestmark = pytest.mark.timeout(300)
GENERAL = Compartment.GENERAL
TEAM = bytes(range(16))


def test_a_statement_counts_only_when_signed_by_its_device_for_its_team() -> None:
    me, other = DeviceIdentity.generate(), DeviceIdentity.generate()
    good = readers.statement(me, TEAM)
    assert readers.reads(good, team_id=TEAM, device_id=me.device_id) == 2
    assert readers.reads(bytearray(good), team_id=TEAM, device_id=me.device_id) == 2
    assert readers.reads(good, team_id=bytes(16), device_id=me.device_id) == 1  # other team
    assert readers.reads(good, team_id=TEAM, device_id=other.device_id) == 1  # not its own
    forged = bytearray(good)
    forged[1] = 3  # the version it reads, changed after signing
    assert readers.reads(bytes(forged), team_id=TEAM, device_id=me.device_id) == 1
    for bad in (None, b"", good[:-1], good + b"\x00", "text", 2, {"v": good}):
        assert readers.reads(bad, team_id=TEAM, device_id=me.device_id) == 1
    assert readers.reads(readers.statement(me, TEAM, 1), team_id=TEAM,
                         device_id=me.device_id) == 1


async def newest_version(h: Harness, team_id: str) -> int:
    info = await h.relay.storage.newest_snapshot(uuid.UUID(team_id).bytes, int(GENERAL))
    assert info is not None
    first = await h.relay.storage.snapshot_part(info.sid, 0)
    assert first
    return first[0]


async def upload(sync: Any) -> None:
    assert await sync.sync.upload_snapshot(sync._client, GENERAL)


async def test_version_2_once_every_teammate_reads_it_version_1_before(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readers, "STATE_AFTER_BYTES", 0)  # a team this small states too
    async with Harness(tmp_path) as h:
        pair = await h.device_pair(tmp_path / "devices")
        a, team_a = await pair.open("a")
        async with await h.sync(a, team_a) as sa:
            for i in range(5):
                await team_a.persons.create(name=f"Avant-{i}")
            await settle(sa)
            assert not sa.sync.writes_v2(GENERAL)  # b has said nothing (an older version)
            await upload(sa)
            assert await newest_version(h, pair.team_id) == 1
        b, team_b = await pair.open("b")
        # b as an older version: it writes no statement (and reads the v1 snapshot)
        real_state = Snapshots.state_snapshot_reads
        monkeypatch.setattr(Snapshots, "state_snapshot_reads", _nothing)
        async with await h.sync(b, team_b) as sb:
            await settle(sb)
            assert len(team_b.persons.list()) == 5
        monkeypatch.setattr(Snapshots, "state_snapshot_reads", real_state)
        async with await h.sync(a, team_a) as sa:
            await team_a.persons.create(name="Encore")
            await settle(sa)
            assert not sa.sync.writes_v2(GENERAL)
            await upload(sa)
            assert await newest_version(h, pair.team_id) == 1
        # b updated: its next session writes its statement; a's next snapshot is version 2
        async with await h.sync(b, team_b) as sb:
            await eventually(lambda: stated(team_b, sb), 30, "b's statement")
            await settle(sb)
        async with await h.sync(a, team_a) as sa:
            await settle(sa)
            assert sa.sync.writes_v2(GENERAL)
            await team_a.persons.create(name="Enfin")
            await settle(sa)
            await upload(sa)
            assert await newest_version(h, pair.team_id) == 2
        async with await h.sync(b, team_b) as sb:
            await settle(sb)
            assert len(team_b.persons.list()) == 7


async def test_a_statement_forged_for_a_teammate_counts_for_nothing(tmp_path: Path) -> None:
    async with Harness(tmp_path) as h:
        pair = await h.device_pair(tmp_path / "devices")
        a, team_a = await pair.open("a")
        keys = await a.vault.team(uuid.UUID(pair.team_id).bytes)
        async with await h.sync(a, team_a) as sa:
            b_id = next(d.device_id for d in keys.log.active_devices()
                        if d.device_id != keys.identity.device_id)
            holder = team_a.compartment(GENERAL)
            root = holder.core.doc.get(readers.ROOT, type=Map)
            with holder.core.doc.transaction():  # a's signature under b's key
                root[b_id.hex()] = readers.statement(keys.identity, keys.team_id)
            await holder.commit()
            await settle(sa)
            assert not sa.sync.writes_v2(GENERAL)
            await upload(sa)
            assert await newest_version(h, pair.team_id) == 1


def stated(team: Any, sync: Any) -> bool:
    keys = sync.sync.keys
    root = team.compartment(GENERAL).core.doc.get(readers.ROOT, type=Map)
    return readers.stated(root, me=keys.identity.device_id, team_id=keys.team_id)


async def _nothing(self: Any) -> None:
    return None
