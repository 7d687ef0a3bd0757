"""One bad envelope costs only itself: in the middle of a catch-up of another author's
envelopes, one bad envelope of each kind is quarantined (kept, named in an alert, listed in
``sync.state.quarantine``) and every other envelope is applied."""

from __future__ import annotations

import uuid

import msgspec
import pytest

from mano_core.crypto.envelope import HEADER_SIZE
from mano_core.ids import Compartment
from mano_core.sync.transport import RelayClient
from mano_core.team import sealed_outbox

from .harness import Harness, settle
from .helpers import seal_bulk_persons

pytestmark = pytest.mark.timeout(120)

BAD = {
    # kind: (plaintext, error codes that may name it)
    "bad update": (msgspec.msgpack.encode({"u": [b"\x05\xff\xff\xff\xff not an update"]}),
                   {"MalformedUpdateError"}),
    "deep nesting": (b"\x91" * 5000 + b"\xc0", {"MalformedUpdateError", "RecursionError",
                                                "LimitExceededError"}),
    "bad signature": (None, {"BadSignatureError"}),
    "wrong schema": (msgspec.msgpack.encode({"u": "pas une liste"}), {"MalformedUpdateError"}),
}


@pytest.mark.parametrize("kind", list(BAD))
async def test_one_bad_envelope_in_a_catch_up_is_quarantined_alone(tmp_path, kind):
    async with Harness(tmp_path) as h:
        pair = await h.device_pair(tmp_path / "devices")
        b, team_b = await pair.open("b")
        keys_b = await b.vault.team(uuid.UUID(team_b.id).bytes)
        outbox = sealed_outbox(team_b.id, Compartment.GENERAL)
        await seal_bulk_persons(team_b, keys_b, 3, "avant")
        plaintext, codes = BAD[kind]
        bad = await keys_b.seal(plaintext or msgspec.msgpack.encode({"u": []}),
                                compartment=Compartment.GENERAL, doc=outbox)
        await seal_bulk_persons(team_b, keys_b, 3, "après")
        # b pushes the six good envelopes and the bad one, in order, by hand.
        async with await RelayClient.connect(h.url) as client:
            await client.authenticate(keys_b.identity, keys_b.team_id)
            for item in await b.store.outbox_pending(outbox):
                env = item.payload
                if item.id == bad.outbox_id and plaintext is None:
                    env = env[:HEADER_SIZE + 1] + bytes([env[HEADER_SIZE + 1] ^ 1]) + \
                        env[HEADER_SIZE + 2:]
                ack = await client.push(env)
                if item.id == bad.outbox_id:
                    bad_seq = ack.seq
        head = await h.head(pair.team_id)
        # a, away meanwhile, catches up: all of it in one delivery frame.
        a, team_a = await pair.open("a")
        async with await h.sync(a, team_a) as sa:
            await settle(sa)
            assert sorted(p.id for p in team_a.persons.list()) == sorted(
                [f"avant-{i}" for i in range(3)] + [f"après-{i}" for i in range(3)])
            (kept,) = sa.state.quarantine
            assert (kept.seq, kept.compartment, kept.author) == (
                bad_seq, Compartment.GENERAL, keys_b.identity.device_id)
            assert kept.code in codes, kept
            assert sa.state.cursor[Compartment.GENERAL] == head
            alert = next(x for x in sa.state.alerts if x.kind == "quarantined")
            assert str(bad_seq) in alert.detail and keys_b.identity.device_id.hex()[:12] in \
                alert.detail
        # Reopened, the device still lists it (it is in the store) and applies it not again.
        await a.close()
        a, team_a = await pair.open("a")
        async with await h.sync(a, team_a) as sa:
            await settle(sa)
            assert [q.seq for q in sa.state.quarantine] == [bad_seq]
            assert len(team_a.persons.list()) == 6
