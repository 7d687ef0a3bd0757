"""Batch authentication through a relay (crypto/batch.py): a catch-up checks one signature per
author run, and a forged envelope, wherever it sits in the run, is still quarantined alone
while every genuine envelope of the same delivery is applied."""

from __future__ import annotations

import uuid

import msgspec
import pytest

from mano_core.crypto.envelope import SIGNATURE_SIZE
from mano_core.ids import Compartment
from mano_core.sync.transport import RelayClient
from mano_core.team import sealed_outbox

from .harness import Harness, settle
from .helpers import seal_bulk_persons

pytestmark = pytest.mark.timeout(300)


@pytest.mark.parametrize("forged", [0, 2, 4])  # the oldest, one in the middle, the newest
async def test_a_bad_signature_anywhere_in_a_run_costs_only_its_envelope(tmp_path, forged):
    async with Harness(tmp_path) as h:
        pair = await h.device_pair(tmp_path / "devices")
        b, team_b = await pair.open("b")
        keys_b = await b.vault.team(uuid.UUID(team_b.id).bytes)
        outbox = sealed_outbox(team_b.id, Compartment.GENERAL)
        # five envelopes of b's chain; the one at ``forged`` carries an empty batch (no
        # person's update depends on it, so only its signature can cost anything)
        await seal_bulk_persons(team_b, keys_b, forged, "p")
        await keys_b.seal(msgspec.msgpack.encode({"u": []}), compartment=Compartment.GENERAL,
                          doc=outbox)
        await seal_bulk_persons(team_b, keys_b, 4 - forged, "q")
        async with await RelayClient.connect(h.url) as client:
            await client.authenticate(keys_b.identity, keys_b.team_id)
            for index, item in enumerate(await b.store.outbox_pending(outbox)):
                env = item.payload
                if index == forged:  # the signature's last byte changed, nothing else
                    env = env[:-1] + bytes([env[-1] ^ 0x01])
                    assert len(env) - SIGNATURE_SIZE > 0
                ack = await client.push(env)
                if index == forged:
                    bad_seq = ack.seq
        a, team_a = await pair.open("a")
        async with await h.sync(a, team_a) as sa:
            await settle(sa)
            assert sorted(p.id for p in team_a.persons.list()) == sorted(
                [f"p-{i}" for i in range(forged)] + [f"q-{i}" for i in range(4 - forged)])
            (kept,) = sa.state.quarantine  # listed when wait_synced returns
            assert (kept.seq, kept.code) == (bad_seq, "BadSignatureError")
            assert sa.state.cursor[Compartment.GENERAL] == await h.head(pair.team_id)
