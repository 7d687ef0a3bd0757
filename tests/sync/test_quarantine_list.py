"""One quarantine list: ``sync.state.quarantine`` is read from the store (the team's
quarantine, mano_core/quarantine.py) at start and grows by the rows each delivery commits, so
what a client shows is what is committed, and it is listed when wait_synced returns. A
quarantined envelope is still listed after a restart, exactly once and alerted once; one
whose commit failed (a full disk) is not listed until the delivery is redone and commits."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid

import msgspec
import pytest

from mano_core.crypto.envelope import HEADER_SIZE
from mano_core.ids import Compartment
from mano_core.store.database import store_error
from mano_core.sync.state import Quarantined
from mano_core.sync.transport import RelayClient
from mano_core.team import Team, sealed_outbox

from .harness import Harness, settle
from .helpers import seal_bulk_persons

pytestmark = pytest.mark.timeout(120)


async def push_with_one_bad_signature(url: str, device, team: Team, prefix: str) -> int:  # type: ignore[no-untyped-def]
    """Push two good envelopes and, between them, one whose ciphertext has one bit flipped
    (its signature fails) by hand; returns the bad one's relay sequence."""
    keys = await device.vault.team(uuid.UUID(team.id).bytes)
    outbox = sealed_outbox(team.id, Compartment.GENERAL)
    await seal_bulk_persons(team, keys, 1, f"{prefix}-avant")
    bad = await keys.seal(msgspec.msgpack.encode({"u": []}), compartment=Compartment.GENERAL,
                          doc=outbox)
    await seal_bulk_persons(team, keys, 1, f"{prefix}-après")
    bad_seq = 0
    async with await RelayClient.connect(url) as client:
        await client.authenticate(keys.identity, keys.team_id)
        for item in await device.store.outbox_pending(outbox):
            env = item.payload
            if item.id == bad.outbox_id:
                env = env[:HEADER_SIZE + 1] + bytes([env[HEADER_SIZE + 1] ^ 1]) + \
                    env[HEADER_SIZE + 2:]
            ack = await client.push(env)
            if item.id == bad.outbox_id:
                bad_seq = ack.seq
        await device.store.outbox_remove([i.id for i in await device.store.outbox_pending(
            outbox)])
    return bad_seq


def disk_full() -> sqlite3.OperationalError:
    err = sqlite3.OperationalError("database or disk is full")
    err.sqlite_errorcode = 13  # type: ignore[attr-defined]
    return err


async def stored(team: Team) -> list[Quarantined]:
    return [Quarantined(Compartment(r.compartment), r.seq, r.author, r.counter, r.code,
                        r.detail, r.at) for r in await team.quarantine.envelopes()]


async def test_a_quarantined_envelope_is_listed_from_the_store_once_across_restarts(tmp_path):
    async with Harness(tmp_path) as h:
        pair = await h.device_pair(tmp_path / "devices")
        b, team_b = await pair.open("b")
        first = await push_with_one_bad_signature(h.url, b, team_b, "un")
        a, team_a = await pair.open("a")
        async with await h.sync(a, team_a) as sa:
            await settle(sa)
            assert [q.seq for q in sa.state.quarantine] == [first]
            assert sa.state.quarantine == await stored(team_a)
            assert [x.kind for x in sa.state.alerts].count("quarantined") == 1
        await a.close()
        a, team_a = await pair.open("a")
        async with await h.sync(a, team_a) as sa:
            await settle(sa)
            # still listed after the restart, once, as committed; not alerted again
            assert [q.seq for q in sa.state.quarantine] == [first]
            assert sa.state.quarantine == await stored(team_a)
            assert "quarantined" not in [x.kind for x in sa.state.alerts]
            # a second one, live, whose first commit fails as on a full disk, right in the
            # transaction that writes its quarantine row
            shown_then: list[list[int]] = []
            put_envelope = team_a.quarantine.put_envelope

            async def full_disk_once(tx, row, **kw):  # type: ignore[no-untyped-def]
                if not shown_then:
                    shown_then.append([q.seq for q in sa.state.quarantine])
                    raise store_error(disk_full(), "saving")
                await put_envelope(tx, row, **kw)

            team_a.quarantine.put_envelope = full_disk_once  # type: ignore[method-assign]
            second = await push_with_one_bad_signature(h.url, b, team_b, "deux")
            await settle(sa)  # the delivery is redone from the committed cursor
            assert shown_then == [[first]]
            assert [q.seq for q in sa.state.quarantine] == [first, second]
            assert sa.state.quarantine == await stored(team_a)
            assert [x.kind for x in sa.state.alerts].count("quarantined") == 1
            assert len(team_a.persons.list()) == 4


async def test_a_quarantined_envelope_is_listed_when_wait_synced_returns(tmp_path):
    """The delivery's quarantine rows are listed in ``state.quarantine`` as it commits, before
    anyone waiting is woken: no read of the store comes after (one stuck here for ever would
    leave the list empty once ``wait_synced`` returned)."""
    async with Harness(tmp_path) as h:
        pair = await h.device_pair(tmp_path / "devices")
        b, team_b = await pair.open("b")
        a, team_a = await pair.open("a")
        async with await h.sync(a, team_a) as sa:
            await settle(sa)
            assert sa.state.quarantine == []
            stuck = asyncio.Event()

            async def never() -> list[object]:
                await stuck.wait()
                return []

            team_a.quarantine.envelopes = never  # type: ignore[method-assign]
            bad = await push_with_one_bad_signature(h.url, b, team_b, "un")
            await settle(sa)
            assert [(q.seq, q.code) for q in sa.state.quarantine] == [(bad, "BadSignatureError")]
            assert len(team_a.persons.list()) == 2
