"""This device's own envelopes coming back, held a moment before their commit (issue 24,
mano_core/sync/echo_hold.py): nothing of a held echo is true before its delivery commits (the
cursor, the sealed-outbox row), a session that ends with echoes held loses nothing (the relay
delivers them again, the rows are pushed again), and wait_synced does not wait for the hold."""

from __future__ import annotations

import msgspec
import pytest

from mano_core.ids import Compartment
from mano_core.sync.driver import _Cursor, _cursor_key
from mano_core.team import sealed_outbox

from .harness import Harness, drop_connection, settle
from .helpers import eventually

pytestmark = pytest.mark.timeout(180)
GENERAL = Compartment.GENERAL


async def _committed_cursor(sync, store) -> int:
    raw = await store.get(sync.sync._ns, _cursor_key(GENERAL))
    return msgspec.msgpack.decode(raw, type=_Cursor).seq if raw else 0


async def test_a_held_echo_is_true_only_once_its_delivery_commits(tmp_path):
    async with Harness(tmp_path) as h:
        pair = await h.device_pair(tmp_path / "devices")
        a, team_a = await pair.open("a")
        async with await h.sync(a, team_a) as sa:
            await settle(sa)
            sa.sync.echoes.delay = 3600.0  # held until released, or the session ends
            before = sa.sync.cursor(GENERAL)
            await team_a.persons.create(name="Écho retenu")
            await eventually(lambda: bool(sa.sync.echoes), 30, "a's echo held")
            await eventually(lambda: sa.state.last_acked.get(GENERAL, 0) > before, 30,
                             "the relay's ack of a's envelope")
            head = await h.head(pair.team_id)
            assert head > before
            # Held: neither the cursor nor the outbox moved, in memory or in the store, and
            # the ack left the row to the echo's commit.
            assert sa.sync.cursor(GENERAL) == before == await _committed_cursor(sa, a.store)
            assert await a.store.outbox_size(sealed_outbox(team_a.id, GENERAL)) == 1
            assert not sa.sync._to_remove  # (no removal of its own staged by the ack)

            # The session ends with the echo held: dropped, delivered again from the cursor.
            ended = drop_connection(sa)()
            assert ended is not None
            await ended
            await settle(sa)  # releases what is held: returns long before the hold's end
            assert sa.sync.cursor(GENERAL) == head == await _committed_cursor(sa, a.store)
            assert await a.store.outbox_size(sealed_outbox(team_a.id, GENERAL)) == 0
            assert sa.state.pending == 0
        b, team_b = await pair.open("b")
        async with await h.sync(b, team_b) as sb:
            await settle(sb)
            assert [p.name for p in team_b.persons.list()] == ["Écho retenu"]


async def test_a_teammates_envelope_after_held_echoes_is_applied_with_them(tmp_path):
    async with Harness(tmp_path) as h:
        pair = await h.device_pair(tmp_path / "devices")
        a, team_a = await pair.open("a")
        b, team_b = await pair.open("b")
        async with await h.sync(a, team_a) as sa, await h.sync(b, team_b) as sb:
            await settle(sa)
            await settle(sb)
            sa.sync.echoes.delay = 3600.0
            await team_a.persons.create(name="Personne de a")
            await eventually(lambda: bool(sa.sync.echoes), 30, "a's echo held")
            await team_b.persons.create(name="Personne de b")
            # b's envelope comes after a's held echo: one delivery applies both, in order.
            await eventually(lambda: any(p.name == "Personne de b"
                                         for p in team_a.persons.list()), 30,
                             "b's person on a")
            assert not sa.sync.echoes
            head = await h.head(pair.team_id)
            assert sa.sync.cursor(GENERAL) == head == await _committed_cursor(sa, a.store)
            await eventually(lambda: sa.state.pending == 0, 30, "a's row freed by its echo")
            assert await a.store.outbox_size(sealed_outbox(team_a.id, GENERAL)) == 0
