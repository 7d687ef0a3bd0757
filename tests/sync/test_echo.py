"""This device's own envelope coming back from the relay (issue 24): the relay delivers only
what it committed, so the echo frees the envelope's sealed-outbox row in the commit that
moves the cursor past it, without waiting for the ack (one commit instead of two); a forged
"echo" is still verified (tests/crypto/test_batch_auth.py)."""

from __future__ import annotations

import pytest

from mano_core.ids import Compartment
from mano_core.protocol import messages as m
from mano_core.team import sealed_outbox
from sync_server.session import Session

from .harness import Harness, settle
from .helpers import eventually

pytestmark = pytest.mark.timeout(180)
GENERAL = Compartment.GENERAL


async def test_the_echo_of_a_push_frees_its_outbox_row_without_the_ack(tmp_path, monkeypatch):
    withheld: list[bytes] = []
    dropped: list[int] = []
    send = Session.send

    def no_acks(self, message):  # the relay never acks a's pushes
        if isinstance(message, m.Ack) and withheld and self.device == withheld[0]:
            dropped.append(message.seq)
            return None
        return send(self, message)

    monkeypatch.setattr(Session, "send", no_acks)
    async with Harness(tmp_path) as h:
        pair = await h.device_pair(tmp_path / "devices")
        a, team_a = await pair.open("a")
        async with await h.sync(a, team_a) as sa:
            await settle(sa)
            withheld.append(sa.sync.keys.identity.device_id)
            await team_a.persons.create(name="Sans accusé de réception")
            await eventually(lambda: dropped, 30, "the relay withholding a's ack")
            await eventually(lambda: sa.state.pending == 0, 30,
                             "a's envelope freed by its echo alone")
            assert await a.store.outbox_size(sealed_outbox(team_a.id, GENERAL)) == 0
            head = await h.head(pair.team_id)
            assert dropped == [head]
            assert sa.state.cursor[GENERAL] == head
        b, team_b = await pair.open("b")
        async with await h.sync(b, team_b) as sb:
            await settle(sb)
            assert [p.name for p in team_b.persons.list()] == ["Sans accusé de réception"]
