"""The purge request (erasure, issue 11) through a real relay subprocess: refusals, what a fresh
device receives afterwards, and no dropped envelope left in the SQLite files."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path

import pytest

from mano_core.errors import RelayRefusedError
from mano_core.ids import Compartment
from mano_core.protocol import messages as m
from mano_core.protocol.codes import ErrorCode
from mano_core.sync.transport import RelayClient
from sync_server.server import Relay
from tests.harness.relay import relay_config
from tests.harness.relay import RelayProcess
from tests.relay.kit import TeamKit
from tests.relay.test_storage_contract import fragments_in

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
async def proc(tmp_path: Path) -> AsyncIterator[RelayProcess]:
    p = await RelayProcess(str(tmp_path / "relay.db"), "--synchronous", "NORMAL").start()
    yield p
    await p.stop()


def drain(client: RelayClient) -> list[tuple[int, bytes]]:
    """The envelopes delivered so far (catch-up deliveries precede ``caught_up``)."""
    items: list[tuple[int, bytes]] = []
    while not client.inbox.empty():
        msg = client.inbox.get_nowait()
        if isinstance(msg, m.Deliver):
            items.extend(msg.items)
    return items


async def put_snapshot(client: RelayClient, c: int, upto: int, blob: bytes) -> None:
    await client.request(m.SnapshotPut(id=client.next_id(), c=c, upto=upto, part=0, last=True,
                                       data=blob))


async def refused(code: ErrorCode, request: Awaitable[object]) -> None:
    with pytest.raises(RelayRefusedError) as exc:
        await request
    assert exc.value.code == code


async def test_purge_refusals_then_fresh_device_and_no_bytes_left(
    proc: RelayProcess, kit: TeamKit, tmp_path: Path
) -> None:
    db, wal = tmp_path / "relay.db", tmp_path / "relay.db-wal"
    a = await kit.client(proc.url, "admin", create=True)
    # distinctive random bodies: each sealed envelope is unique ciphertext of ~700 bytes
    envs = [kit["admin"].seal(os.urandom(600)) for _ in range(10)]
    for e in envs:
        await a.push(e)
    medical = [kit["admin"].seal(os.urandom(600), c=Compartment.MEDICAL) for _ in range(3)]
    for e in medical:
        await a.push(e)
    live = await kit.client(proc.url, "bob")
    await live.subscribe(0, 10)  # a live teammate, already at the head

    # refused without a covering snapshot, above the head, and without medical access
    await refused(ErrorCode.CONFLICT, a.purge(0, 6))
    old_snap, new_snap = kit["admin"].seal(os.urandom(500)), kit["admin"].seal(os.urandom(500))
    await put_snapshot(a, 0, 4, old_snap)
    await refused(ErrorCode.CONFLICT, a.purge(0, 6))  # the newest snapshot covers 4 only
    await put_snapshot(a, 0, 6, new_snap)
    await refused(ErrorCode.CONFLICT, a.purge(0, 11))  # head is 10
    await put_snapshot(a, 1, 3, kit["admin"].seal(b"medical snapshot"))
    await refused(ErrorCode.FORBIDDEN, live.purge(1, 3))
    # nothing was dropped by the refused requests
    check = await kit.client(proc.url, "carol")
    await check.subscribe(0, 0)
    assert drain(check) == list(enumerate(envs, start=1))
    await check.close()

    before = db.read_bytes() + wal.read_bytes()
    assert all(e in before for e in envs) and old_snap in before  # the search below can fail
    done = await a.purge(0, 6)
    assert (done.c, done.upto, done.envelopes, done.snapshots) == (0, 6, 6, 1)
    again = await a.purge(0, 6)  # idempotent
    assert (again.envelopes, again.snapshots) == (0, 0)

    # the relay's files hold none of the dropped envelopes (nor the dropped snapshot)
    for path in (db, wal):
        raw = path.read_bytes()
        assert [i for i, e in enumerate(envs[:6], start=1) if e in raw] == [], path.name
        # nor any piece of one: the last 400 bytes are ciphertext and signature (the header,
        # team and author, is the same in every envelope)
        assert [i for i, e in enumerate(envs[:6], start=1) if fragments_in(e[-400:], raw)] == []
        assert old_snap not in raw and not fragments_in(old_snap[-400:], raw), path.name
    raw = db.read_bytes() + wal.read_bytes()
    assert all(e in raw for e in envs[6:]) and new_snap in raw and all(e in raw for e in medical)

    # a fresh device subscribing from 0 is sent to the snapshot, then gets only seq > 6
    fresh = await kit.client(proc.url, "carol")
    await refused(ErrorCode.PRUNED, fresh.subscribe(0, 0))
    got = await fresh.request(m.SnapshotGet(id=fresh.next_id(), c=0))
    assert [(x.upto, x.data) for x in got if isinstance(x, m.SnapshotData)] == [(6, new_snap)]
    caught = await fresh.subscribe(0, 6)
    assert caught.seq == 10
    assert drain(fresh) == list(enumerate(envs, start=1))[6:]

    # the other compartment is untouched, and live delivery goes on
    await a.subscribe(1, 0)
    assert drain(a) == list(enumerate(medical, start=1))
    eleventh = kit["admin"].seal(b"after the purge")
    assert (await a.push(eleventh)).seq == 11
    msg = await live.recv(timeout=30)
    assert isinstance(msg, m.Deliver) and msg.items == [(11, eleventh)]
    for c in (a, live, fresh):
        await c.close()


async def test_catch_up_overtaken_by_a_purge_ends_with_pruned(
    tmp_path: Path, kit: TeamKit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A device catching up below ``upto`` while the purge runs is told PRUNED (and fetches
    the snapshot) instead of silently missing the purged envelopes. In-process: the purge is
    run between two catch-up reads."""
    async with Relay(relay_config(tmp_path, catchup_batch=3)) as relay:
        url = f"ws://127.0.0.1:{relay.port}"
        a = await kit.client(url, "admin", create=True)
        envs = [kit["admin"].seal(b"edit %d" % i) for i in range(12)]
        for e in envs:
            await a.push(e)
        await put_snapshot(a, 0, 9, kit["admin"].seal(b"snapshot"))
        storage = relay.storage
        read = storage.read_envelopes
        reads = 0

        async def read_then_purge(team: bytes, c: int, after: int, limit: int
                                  ) -> list[tuple[int, bytes]]:
            nonlocal reads
            reads += 1
            if reads == 2:  # after the first batch (1..3) went out
                assert await storage.purge(team, c, 9) == (9, 0)
            return await read(team, c, after, limit)

        monkeypatch.setattr(storage, "read_envelopes", read_then_purge)
        b = await kit.client(url, "bob")
        await refused(ErrorCode.PRUNED, b.subscribe(0, 0))
        assert [s for s, _ in drain(b)] == [1, 2, 3]  # no 10, 11, 12 across a gap
        monkeypatch.undo()
        await b.subscribe(0, 9)  # the subscription was ended: subscribing again works
        assert [s for s, _ in drain(b)] == [10, 11, 12]
        await a.close()
        await b.close()
