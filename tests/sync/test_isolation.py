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

pytestmark = pytest.mark.timeout(300)

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
            (kept,) = sa.state.quarantine  # listed when wait_synced returns
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
            # the team's one quarantine lists it too, with its bytes
            (row,) = await team_a.quarantine.list()
            assert (row.kind, row.seq, row.author) == ("envelope", bad_seq,
                                                       keys_b.identity.device_id)
            assert row.envelope and kept.code in row.reason
        # An erasure's rewrite drops the bytes of what never applied (the row stays).
        await team_a.compact()
        (row,) = await team_a.quarantine.list()
        assert row.seq == bad_seq and row.envelope == b""


async def test_envelopes_quarantined_by_the_former_layout_move_to_the_team_quarantine(tmp_path):
    """Before the two quarantines became one, envelope rows lived under ``sync/<team>``: the
    sync client moves them when it starts (one transaction), none is lost."""
    async with Harness(tmp_path) as h:
        pair = await h.device_pair(tmp_path / "devices")
        a, team_a = await pair.open("a")
        ns = f"sync/{uuid.UUID(team_a.id).hex}"
        author = bytes(range(32))
        legacy = msgspec.msgpack.encode([0, 7, author, 3, "BadSignatureError", "bad", 1.0,
                                         b"bytes"])
        await a.store.put(ns, "quarantine/general/000000000007", legacy)
        async with await h.sync(a, team_a) as sa:
            assert [(q.seq, q.author, q.code) for q in sa.state.quarantine] == [
                (7, author, "BadSignatureError")]
        (row,) = await team_a.quarantine.list()
        assert (row.seq, row.counter, row.envelope) == (7, 3, b"bytes")
        assert not [k for k, _ in await a.store.items(ns) if k.startswith("quarantine/")]
