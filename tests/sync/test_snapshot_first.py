"""Snapshot-first catch-up (docs/protocol.md §4a): a device far behind starts from the newest
snapshot the relay holds and replays only the envelopes after it; a snapshot it cannot accept
(tampered, or sealed by a device that may not write) costs only itself: an alert, and the
envelopes are replayed from the cursor; a fault at any store step of it is redone, never
skipped. In-process relay (tests/sync/harness.py); the subprocess end-to-end test is
tests/sync/test_snapshot_first_e2e.py."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from mano_core.crypto import DeviceIdentity
from mano_core import limits
from mano_core.ids import Compartment
from mano_core.protocol import messages as m
from mano_core.sync import snapshot as snapshot_mod
from mano_core.sync.plan import SNAPSHOT_FIRST_FRACTION, choose
from mano_core.sync.transport import RelayClient

from mano_core.device import Device
from mano_core.store import TEST_KDF
from mano_core.team_info import doc_name

from tests.document import hostile_states

from .harness import (KINDS, PASS, Crash, Harness, Pair, StoreFaults, drop_connection, settle,
                      synced_or_fired)
from .helpers import join

pytestmark = pytest.mark.timeout(300)
GENERAL = Compartment.GENERAL
BEFORE, AFTER = 12, 4  # persons written before the snapshot, and after it (the tail)
HOSTILE = {"deep": hostile_states.deep_value, "nested": hostile_states.nested_maps}
EXPECTED = sorted([f"Avant-{i}" for i in range(BEFORE)] + [f"Après-{i}" for i in range(AFTER)])


def names(team) -> list[str]:
    return sorted(p.name for p in team.persons.list())


def plan(**kw: int) -> m.CatchupPlan:
    base = {"id": 1, "c": 0, "head": 100, "upto": 80, "size": 10_000, "behind": 20_000,
            "tail": 2_000}
    base.update(kw)
    return m.CatchupPlan(**base)


def test_the_choice_follows_the_bytes_the_snapshot_saves() -> None:
    # a new device always starts from the snapshot when there is one
    first = choose(plan(behind=3_000, tail=2_000), 0)
    assert first.snapshot and first.bytes_total == 10_000 + 2_000 and first.records_total == 20
    # a device that saves less than the fraction of the snapshot's bytes replays
    near = choose(plan(behind=2_000 + int(SNAPSHOT_FIRST_FRACTION * 10_000) - 1), 50)
    assert not near.snapshot and near.records_total == 50
    far = choose(plan(behind=2_000 + int(SNAPSHOT_FIRST_FRACTION * 10_000)), 50)
    assert far.snapshot and far.records_total == 20
    # no snapshot, one not ahead of the cursor, or one refused already: the envelopes
    assert not choose(plan(upto=0, size=0, tail=20_000), 0).snapshot
    assert not choose(plan(upto=50, tail=20_000), 50).snapshot
    refused = choose(plan(), 0, refused={80})
    assert not refused.snapshot and refused.bytes_total == 20_000 and refused.records_total == 100


async def put_snapshot(url: str, keys, upto: int, blob: bytes) -> None:
    client = await RelayClient.connect(url)
    try:
        await client.authenticate(keys.identity, keys.team_id)
        await client.request(m.SnapshotPut(id=client.next_id(), c=0, upto=upto, part=0,
                                           last=True, data=blob))
    finally:
        await client.close()


def forged(kind: str, keys, upto: int, state: bytes, chain) -> bytes:
    """A newest snapshot the device must refuse: its bytes changed on the way (one bit of the
    ciphertext flipped, whatever it was), sealed by a device outside the team's log, or well
    sealed by a member but holding a hostile state (a value nested 100,000 deep: unchecked,
    pycrdt dies of it; shared types nested 10,000 deep)."""
    identity = DeviceIdentity.generate() if kind == "stranger" else keys.identity
    if kind in HOSTILE:
        state = HOSTILE[kind]()
    blob = snapshot_mod.seal_snapshot(identity, keys.keyring, team_id=keys.team_id,
                                      compartment=GENERAL, epoch=keys.log.epoch(GENERAL),
                                      upto=upto, state=state, chain=chain)
    if kind == "tampered":
        raw = bytearray(blob)
        raw[snapshot_mod.HEADER_SIZE + 3] ^= 0x01
        blob = bytes(raw)
    return blob


async def template(tmp: Path, bad: str | None = None) -> tuple[Pair, Path, int]:
    """a wrote BEFORE persons, a snapshot of them (sealed by a) is at the relay, then AFTER
    more; with ``bad``, a newer forged snapshot covering everything too. b has joined but
    applied nothing of it. Returns the pair, the relay's db and the good snapshot's upto."""
    async with Harness(tmp) as h:
        pair = await h.device_pair(tmp / "devices")
        a, team_a = await pair.open("a")
        keys = await a.vault.team(uuid.UUID(pair.team_id).bytes)
        async with await h.sync(a, team_a) as sa:
            for i in range(BEFORE):
                await team_a.persons.create(name=f"Avant-{i}")
            await settle(sa)
            upto = sa.state.cursor[GENERAL]
            good = snapshot_mod.seal_snapshot(
                keys.identity, keys.keyring, team_id=keys.team_id, compartment=GENERAL,
                epoch=keys.log.epoch(GENERAL), upto=upto,
                state=team_a.compartment(GENERAL).core.encode_state(),
                chain=sa.sync.sm.chain(GENERAL))
            await put_snapshot(h.url, keys, upto, good)
            for i in range(AFTER):
                await team_a.persons.create(name=f"Après-{i}")
                await settle(sa)  # one envelope each: the tail is several deliveries
            if bad == "restricted":  # well sealed, by a member whose role is restricted
                r = await Device.create(tmp / "r.mano", PASS, kdf=TEST_KDF)
                h.opened.append(r)
                await join(sa, r, h.url, role="restricted")
                await settle(sa)
                keys_r = await r.vault.team(uuid.UUID(pair.team_id).bytes)
                head = sa.state.cursor[GENERAL]
                await put_snapshot(h.url, keys_r, head, snapshot_mod.seal_snapshot(
                    keys_r.identity, keys_r.keyring, team_id=keys.team_id,
                    compartment=GENERAL, epoch=keys.log.epoch(GENERAL), upto=head,
                    state=team_a.compartment(GENERAL).core.encode_state(),
                    chain=sa.sync.sm.chain(GENERAL)))
            elif bad is not None:
                head = sa.state.cursor[GENERAL]
                await put_snapshot(h.url, keys, head, forged(
                    bad, keys, head, team_a.compartment(GENERAL).core.encode_state(),
                    sa.sync.sm.chain(GENERAL)))
        await a.close()
    return pair, h.relay_db, upto


async def test_a_new_device_starts_from_the_snapshot_and_replays_only_the_tail(tmp_path,
                                                                              monkeypatch):
    monkeypatch.setattr(limits, "COALESCE_DELIVERIES_ENVELOPES", 1)  # one row per delivery
    pair, relay_db, upto = await template(tmp_path / "t")
    async with Harness(tmp_path, relay_db=relay_db, catchup_batch=1) as h:
        pair.harness = h
        b, team_b = await pair.open("b")
        seen: list[tuple[int, int, int, int, bool]] = []
        sync_b = await h.sync(b, team_b)

        def watch(s) -> None:
            if s.catchup is not None:
                c = s.catchup
                seen.append((c.bytes_done, c.bytes_total, c.records_done, c.records_total,
                             c.snapshot))

        sync_b.subscribe(watch)
        head = await h.head(pair.team_id)
        async with sync_b as sb:
            await settle(sb)
            assert names(team_b) == EXPECTED
            assert sb.state.cursor[GENERAL] == head
            # only the tail was delivered as envelopes: the snapshot covered the rest
            assert sb.state.received.envelopes == head - upto
            assert not [al for al in sb.state.alerts if al.kind in ("snapshot", "gap", "fork")]
            assert sb.state.catchup is None  # over
        assert seen and all(snap for *_x, snap in seen)
        assert {(total, rtotal) for _d, total, _r, rtotal, _s in seen} == {
            (seen[0][1], head - upto)}
        dones = [d for d, *_x in seen]
        assert dones == sorted(dones) and dones[-1] == seen[-1][1]  # it reached the total
        assert max(r for _d, _t, r, _rt, _s in seen) == head - upto
        # The snapshot's state is stored as the document's snapshot (a reopen applies it as
        # it is), the tail's updates after it; the reopened team holds everything.
        loaded = await b.store.load_document(doc_name(pair.team_id, GENERAL))
        assert loaded.snapshot is not None and len(loaded.updates) == head - upto
        await b.close()
        h.opened.remove(b)
        b, team_b = await pair.open("b")
        assert names(team_b) == EXPECTED


@pytest.mark.parametrize("bad", ["tampered", "stranger", "restricted", "deep", "nested"])
async def test_a_bad_snapshot_costs_only_itself_the_envelopes_are_replayed(tmp_path, bad):
    pair, relay_db, _upto = await template(tmp_path / "t", bad=bad)
    async with Harness(tmp_path, relay_db=relay_db) as h:
        pair.harness = h
        b, team_b = await pair.open("b")
        cursor = 0
        head = await h.head(pair.team_id)
        newest = await h.relay.storage.newest_snapshot(uuid.UUID(pair.team_id).bytes, 0)
        assert newest is not None and newest.upto == head
        async with await h.sync(b, team_b) as sb:
            cursor = sb.sync.cursor(GENERAL)
            await settle(sb)
            assert names(team_b) == EXPECTED
            assert sb.state.cursor[GENERAL] == head
            assert sb.state.received.envelopes == head - cursor  # every envelope, replayed
            alerts = [al.detail for al in sb.state.alerts if al.kind == "snapshot"]
            assert len(alerts) == 1 and f"up to {head} refused" in alerts[0], alerts
            reason = {"tampered": "signature", "stranger": "may not write",
                      "restricted": "restricted member", "deep": "MAX_CRDT_ANY_DEPTH",
                      "nested": "MAX_CRDT_NESTING"}[bad]
            assert reason in alerts[0], alerts
            assert "envelopes instead" in alerts[0]
            assert not sb.state.stalled and not sb.state.quarantine
            assert sb.sync.refused_snapshots == {GENERAL: {head}}
        # the next session does not download the refused snapshot again
        async with await h.sync(b, team_b) as sb:
            await settle(sb)
            assert not [al for al in sb.state.alerts if al.kind == "snapshot"]


async def trial(pair: Pair, relay_db: Path, where: Path, step: int, kind: str,
                upto: int) -> int:
    """b's snapshot-first catch-up with a fault at its ``step``-th store transaction (0:
    none); reopen b from its file, resync: everything is there once, the cursor at the head.
    Returns how many transactions the fault-free run made."""
    run_db = where / "relay.db"
    run = pair.copy_to(where, run_db)
    async with Harness(where, relay_db=run_db, catchup_batch=1) as h:
        run.harness = h
        b, team_b = await run.open("b")
        faults = StoreFaults(b.store)
        sb = await h.sync(b, team_b)
        faults.arm(step, kind, on_drop=drop_connection(sb))
        count = 0
        try:
            await sb.__aenter__()
        except Crash:
            pass
        if step == 0:
            await settle(sb)
            count = faults.count
            assert sb.state.received.envelopes == await h.head(run.team_id) - upto  # the tail
        elif kind == "crash":
            await synced_or_fired(sb, faults.fired)
        else:
            await settle(sb, 60)  # the same process recovers by itself
        await sb.close()
        await b.close()
        b, team_b = await run.open("b")
        async with await h.sync(b, team_b) as sb:
            await settle(sb, 60)
            what = f"step {step} {kind}"
            assert names(team_b) == EXPECTED, what
            assert sb.state.cursor[GENERAL] == await h.head(run.team_id), what
            assert not sb.state.quarantine, what
            assert not [al for al in sb.state.alerts if al.kind in ("gap", "fork")], what
    return count


@pytest.mark.parametrize("kind", KINDS)
async def test_a_fault_at_any_step_of_a_snapshot_first_catch_up_is_redone(tmp_path, kind,
                                                                          monkeypatch):
    monkeypatch.setattr(limits, "COALESCE_DELIVERIES_ENVELOPES", 1)  # a step per delivery
    pair, relay_db, upto = await template(tmp_path / "template")
    steps = await trial(pair, relay_db, tmp_path / "clean", 0, kind, upto)
    assert steps >= 1 + AFTER  # the snapshot's transaction, then one per tail delivery
    for step in range(1, steps + 1):
        await trial(pair, relay_db, tmp_path / f"{kind}-{step}", step, kind, upto)
