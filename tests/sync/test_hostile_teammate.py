"""What a teammate sees when another member's device sends something deeply nested: a presence
message or a snapshot 5,000 levels deep costs only itself (an alert), never a reconnection."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import msgspec
import pytest
from pycrdt import Doc, Map

from mano_core.ids import Compartment
from mano_core.protocol import messages as m
from mano_core.sync import presence as presence_mod
from mano_core.sync import snapshot as snapshot_mod
from mano_core.sync.state import Status
from mano_core.sync.transport import RelayClient
from tests.harness.relay import RelayProcess

from .helpers import eventually, join

pytestmark = pytest.mark.timeout(300)

DEEP = b"\x91" * 5000 + b"\xc0"  # 5,000 nested msgpack arrays


def statuses(sync) -> list[Status]:
    seen: list[Status] = []
    sync.subscribe(lambda state: seen.append(state.status)
                   if not seen or seen[-1] is not state.status else None)
    return seen


def deep_presence(keys, member: str) -> bytes:
    """A presence correctly sealed by a member's device, whose body nests 5,000 deep."""
    body = b"\x82\xa1m" + msgspec.msgpack.encode(member) + b"\xa1x" + DEEP
    epoch = keys.log.epoch(Compartment.GENERAL)
    nonce = os.urandom(12)
    ct = keys.keyring.aead(Compartment.GENERAL, epoch).encrypt(
        nonce, body, presence_mod._AD + keys.team_id + keys.identity.device_id)
    return struct.pack(">I", epoch) + nonce + ct


async def test_deep_presence_from_a_teammate_disconnects_no_one(relay, make_device):
    a, b = await make_device("a"), await make_device("b")
    team_a = await a.create_team("Maraude")
    async with await a.sync(team_a, relay.url) as sa:
        team_b = await join(sa, b, relay.url)
        async with await b.sync(team_b, relay.url) as sb:
            await sa.wait_synced()
            await sb.wait_synced()
            seen_a = statuses(sa)
            keys_b = await b.vault.team((await b.vault.team_ids())[0])
            blob = deep_presence(keys_b, team_b.info.member)
            assert sb._client is not None
            for _ in range(30):
                sb._client._send(m.Presence(blob=blob))
            await eventually(lambda: sa.state.dropped_presence == 30, 30,
                             "a drops the 30 deep presence messages")
            # The session lives on: a's next edit reaches b, b's presence still shows on a.
            await team_a.persons.create(name="Après la présence")
            await eventually(lambda: len(team_b.persons.list()) == 1, 60, "b gets a's edit")
            sb.set_viewing("dossier-1")
            await eventually(lambda: [t.viewing for t in sa.state.online_teammates()]
                             == ["dossier-1"], 60, "b's good presence on a")
            assert Status.CONNECTING not in seen_a and Status.OFFLINE not in seen_a
            alerts = [al for al in sa.state.alerts if al.kind == "presence"]
            assert 1 <= len(alerts) <= 10 and "MAX_MSGPACK_DEPTH" in alerts[0].detail


def deep_snapshot(keys, upto: int, state: bytes) -> bytes:
    """A snapshot correctly sealed and signed by an admin device whose body nests deep."""
    nonce = os.urandom(12)
    epoch = keys.log.epoch(Compartment.GENERAL)
    header = snapshot_mod._HEADER.pack(snapshot_mod.VERSION, keys.team_id,
                                       int(Compartment.GENERAL), epoch,
                                       keys.identity.device_id, upto, nonce)
    body = (b"\x83\xa5state" + msgspec.msgpack.encode(state) + b"\xa5chain"
            + msgspec.msgpack.encode(keys.chain(Compartment.GENERAL).to_bytes())
            + b"\xa1x" + DEEP)
    ct = keys.keyring.aead(Compartment.GENERAL, epoch).encrypt(nonce, body, header)
    return header + ct + keys.identity.sign(header + ct, domain=snapshot_mod.DOMAIN)


def nested_maps(depth: int) -> bytes:
    doc = Doc()
    level = doc.get("persons", type=Map)
    with doc.transaction():
        for _ in range(depth):
            child: Map = Map()
            level["x"] = child
            level = child
    return doc.get_update()


@pytest.mark.parametrize("deep", ["body", "state"])
async def test_deep_snapshot_is_refused_once_without_a_reconnection_loop(tmp_path: Path,
                                                                          make_device, deep):
    relay = await RelayProcess(str(tmp_path / "prune.db"), "--retention", "0",
                               "--snapshots-kept", "1").start()
    try:
        a, b = await make_device("a"), await make_device("b")
        team_a = await a.create_team("Maraude")
        async with await a.sync(team_a, relay.url) as sa:
            code = await sa.create_invitation()
            for i in range(3):
                await team_a.persons.create(name=f"Avant {i}")
            await sa.wait_synced()
            upto = sa.state.last_acked[Compartment.GENERAL]
        # The admin's device uploads a deep snapshot covering everything: the relay prunes
        # the envelopes behind it, so a new device must start from it.
        keys_a = await a.vault.team((await a.vault.team_ids())[0])
        state = team_a.compartment(Compartment.GENERAL).core.encode_state()
        if deep == "body":  # 5,000 nested msgpack arrays in the snapshot's plaintext
            blob = deep_snapshot(keys_a, upto, state)
        else:  # a well-formed body whose state nests 5,000 maps
            blob = snapshot_mod.seal_snapshot(
                keys_a.identity, keys_a.keyring, team_id=keys_a.team_id,
                compartment=Compartment.GENERAL, epoch=keys_a.log.epoch(Compartment.GENERAL),
                upto=upto, state=nested_maps(5000), chain=keys_a.chain(Compartment.GENERAL))
        client = await RelayClient.connect(relay.url)
        try:
            await client.authenticate(keys_a.identity, keys_a.team_id)
            await client.request(m.SnapshotPut(id=client.next_id(), c=0, upto=upto, part=0,
                                               last=True, data=blob))
        finally:
            await client.close()
        async with await a.sync(team_a, relay.url) as sa:
            team_b = await b.join_team(relay.url, code, timeout=60)
            async with await b.sync(team_b, relay.url) as sb:
                seen_b = statuses(sb)
                await eventually(lambda: Compartment.GENERAL in sb.state.stalled, 30,
                                 "b refuses the snapshot")
                # b's own edits still go out, and its session is the same one.
                await team_b.persons.create(name="Depuis b")
                await eventually(lambda: "Depuis b" in [p.name for p in team_a.persons.list()],
                                 30, "a gets b's edit")
                await sb.wait_synced()
                assert seen_b.count(Status.CONNECTING) == 1 and Status.OFFLINE not in seen_b
                alerts = [al.detail for al in sb.state.alerts if al.kind == "snapshot"]
                limit = "MAX_MSGPACK_DEPTH" if deep == "body" else "MAX_CRDT_NESTING"
                # refused, no older one to fall back on (the relay keeps one): stalled
                assert len(alerts) == 2 and limit in alerts[0], alerts
                assert "cannot catch up" in alerts[1] and "no older one" in alerts[1]
                # nothing of the refused snapshot was taken in: no data, cursor unmoved
                assert [p.name for p in team_b.persons.list()] == ["Depuis b"]
                assert sb.state.cursor.get(Compartment.GENERAL, 0) == 0
                assert sb.sync.cursor(Compartment.GENERAL) == 0  # not even in memory
    finally:
        await relay.stop()


async def _put_snapshot(url: str, keys, upto: int, blob: bytes) -> None:
    client = await RelayClient.connect(url)
    try:
        await client.authenticate(keys.identity, keys.team_id)
        await client.request(m.SnapshotPut(id=client.next_id(), c=0, upto=upto, part=0,
                                           last=True, data=blob))
    finally:
        await client.close()


async def test_a_bad_newest_snapshot_falls_back_to_an_older_one_and_catches_up(
        tmp_path: Path, make_device):
    """One bad snapshot costs only itself: the device that refuses the newest snapshot (the
    relay pruned what it covers) restores the older one the relay keeps, then catches up
    on the envelopes after it, with an alert for each step."""
    relay = await RelayProcess(str(tmp_path / "prune.db"), "--retention", "0",
                               "--snapshots-kept", "2").start()
    try:
        a, b = await make_device("a"), await make_device("b")
        team_a = await a.create_team("Maraude")
        keys_a = await a.vault.team((await a.vault.team_ids())[0])
        async with await a.sync(team_a, relay.url) as sa:
            code = await sa.create_invitation()
            for i in range(3):
                await team_a.persons.create(name=f"Avant {i}")
            await sa.wait_synced()
            older = sa.state.cursor[Compartment.GENERAL]
            good = snapshot_mod.seal_snapshot(
                keys_a.identity, keys_a.keyring, team_id=keys_a.team_id,
                compartment=Compartment.GENERAL, epoch=keys_a.log.epoch(Compartment.GENERAL),
                upto=older, state=team_a.compartment(Compartment.GENERAL).core.encode_state(),
                chain=sa.sync.sm.chain(Compartment.GENERAL))
            await _put_snapshot(relay.url, keys_a, older, good)
            for i in range(3):
                await team_a.persons.create(name=f"Après {i}")
            await sa.wait_synced()
            newest = sa.state.cursor[Compartment.GENERAL]
            bad = deep_snapshot(keys_a, newest, team_a.compartment(
                Compartment.GENERAL).core.encode_state())
            await _put_snapshot(relay.url, keys_a, newest, bad)  # prunes up to ``older``
            team_b = await b.join_team(relay.url, code, timeout=60)
            async with await b.sync(team_b, relay.url) as sb:
                await sb.wait_synced()
                assert sorted(p.name for p in team_b.persons.list()) == sorted(
                    p.name for p in team_a.persons.list())
                assert len(team_b.persons.list()) == 6
                assert not sb.state.stalled
                assert sb.state.cursor[Compartment.GENERAL] == sa.state.cursor[
                    Compartment.GENERAL]
                alerts = [al.detail for al in sb.state.alerts if al.kind == "snapshot"]
                assert len(alerts) == 2, alerts
                assert f"up to {newest} refused" in alerts[0] and "MAX_MSGPACK_DEPTH" in alerts[0]
                assert f"older snapshot (up to {older})" in alerts[1]
    finally:
        await relay.stop()
