"""A version-2 snapshot at the relay (docs/protocol.md §15, "Snapshot blob, version 2"): a new
device of this version starts from it as from a version-1 one (snapshot first, then only the
tail), and one with an altered piece costs only itself (an alert, the envelopes replayed).
Devices still upload version 1; a teammate's v2 upload is made here by hand."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from mano_core.document import pieces
from mano_core.sync import snapshot_v2
from mano_core.team_info import doc_name

from .harness import Harness, Pair, settle
from .test_snapshot_first import AFTER, BEFORE, EXPECTED, GENERAL, names, put_snapshot

pytestmark = pytest.mark.timeout(300)


async def template(tmp: Path, altered: bool,
                   merged: bool = False) -> tuple[Pair, Path, int]:
    """a wrote BEFORE persons, sealed a v2 snapshot of them in several pieces (altered: one
    bit of its third piece flipped after sealing) at the relay, then AFTER more. ``merged``:
    two more persons, one merged into the other, before the snapshot."""
    async with Harness(tmp) as h:
        pair = await h.device_pair(tmp / "devices")
        a, team_a = await pair.open("a")
        keys = await a.vault.team(uuid.UUID(pair.team_id).bytes)
        async with await h.sync(a, team_a) as sa:
            for i in range(BEFORE):
                await team_a.persons.create(name=f"Avant-{i}")
            if merged:
                kept = await team_a.persons.create(name="Gardée")
                twin = await team_a.persons.create(name="Doublon")
                await team_a.merges.merge(kept.id, twin.id)
            await settle(sa)
            upto = sa.state.cursor[GENERAL]
            state = team_a.compartment(GENERAL).core.encode_state()
            updates = pieces.cut(state, len(state) // 3)
            assert updates is not None and len(updates) >= 3
            blob = snapshot_v2.seal_pieces(
                keys.identity, keys.keyring, team_id=keys.team_id, compartment=GENERAL,
                epoch=keys.log.epoch(GENERAL), upto=upto, updates=updates,
                chain=sa.sync.sm.chain(GENERAL))
            if altered:
                manifest = snapshot_v2.read_manifest(blob)
                assert manifest is not None
                raw = bytearray(blob)
                raw[manifest.size + sum(manifest.lengths[:3]) + 2] ^= 0x01
                blob = bytes(raw)
            await put_snapshot(h.url, keys, upto, blob)
            for i in range(AFTER):
                await team_a.persons.create(name=f"Après-{i}")
                await settle(sa)
        await a.close()
    return pair, h.relay_db, upto


async def test_a_new_device_starts_from_a_v2_snapshot(tmp_path) -> None:
    pair, relay_db, upto = await template(tmp_path / "t", altered=False)
    async with Harness(tmp_path, relay_db=relay_db) as h:
        pair.harness = h
        b, team_b = await pair.open("b")
        head = await h.head(pair.team_id)
        async with await h.sync(b, team_b) as sb:
            await settle(sb)
            assert names(team_b) == EXPECTED
            assert sb.state.cursor[GENERAL] == head
            assert sb.state.received.envelopes == head - upto  # only the tail replayed
            assert not [al for al in sb.state.alerts if al.kind in ("snapshot", "gap")]
        loaded = await b.store.load_document(doc_name(pair.team_id, GENERAL))
        assert loaded.snapshot is not None
        await b.close()
        h.opened.remove(b)
        b, team_b = await pair.open("b")
        assert names(team_b) == EXPECTED


async def test_a_v2_snapshot_with_an_altered_piece_costs_only_itself(tmp_path) -> None:
    pair, relay_db, upto = await template(tmp_path / "t", altered=True)
    async with Harness(tmp_path, relay_db=relay_db) as h:
        pair.harness = h
        b, team_b = await pair.open("b")
        head = await h.head(pair.team_id)
        async with await h.sync(b, team_b) as sb:
            cursor = sb.sync.cursor(GENERAL)
            await settle(sb)
            assert names(team_b) == EXPECTED
            assert sb.state.received.envelopes == head - cursor  # every envelope, replayed
            alerts = [al.detail for al in sb.state.alerts if al.kind == "snapshot"]
            assert len(alerts) == 1 and f"up to {upto} refused" in alerts[0], alerts
            assert "snapshot piece 3" in alerts[0] and "envelopes instead" in alerts[0]
            assert not sb.state.stalled and not sb.state.quarantine
