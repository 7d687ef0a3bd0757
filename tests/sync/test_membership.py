"""Invitations that wait for an offline admin; removal through the relay."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from mano_core.errors import RelayRefusedError
from mano_core.ids import Compartment
from mano_core.protocol.codes import ErrorCode
from mano_core.sync.state import Status

from .helpers import eventually, join

pytestmark = pytest.mark.timeout(240)


def _pending_requests(relay_db: str) -> int:
    """Invitation requests the relay stores without an answer yet."""
    conn = sqlite3.connect(f"file:{relay_db}?mode=ro", uri=True)
    try:
        return int(conn.execute(
            "SELECT count(*) FROM invitations WHERE answer IS NULL").fetchone()[0])
    finally:
        conn.close()


async def test_invitation_waits_at_the_relay_for_an_offline_admin(relay, make_device):
    a, b = await make_device("a"), await make_device("b")
    team_a = await a.create_team("Accueil de jour")
    async with await a.sync(team_a, relay.url) as sa:
        code = await sa.create_invitation(role="normal")
        await team_a.persons.create(name="Personne K")
        await sa.wait_synced()
    # The admin is offline now; the new device asks and waits.
    joining = asyncio.create_task(b.join_team(relay.url, code, timeout=60))
    await eventually(lambda: _pending_requests(relay.db) == 1 or joining.done(),
                     what="the join request stored at the relay")
    assert not joining.done()  # it waits for an admin, it did not fail
    async with await a.sync(team_a, relay.url):  # the admin comes back and answers
        team_b = await asyncio.wait_for(joining, 30)
    async with await b.sync(team_b, relay.url) as sb:
        try:
            await eventually(lambda: [p.name for p in team_b.persons.list()] == ["Personne K"],
                             30, "the team's data on the new device")
        except AssertionError:
            raise AssertionError(f"{sb.state}") from None
        assert sb.state.status is Status.ONLINE
    # single use: the same code again is refused (the log already holds its entry)
    c = await make_device("c")
    with pytest.raises(RelayRefusedError) as refused:
        await c.join_team(relay.url, code, timeout=5)
    assert refused.value.code == ErrorCode.CONFLICT  # "invitation id already used"


async def test_removed_device_stops_receiving_and_cannot_read_later_data(relay, make_device):
    a, b, c = [await make_device(n) for n in "abc"]
    team_a = await a.create_team("Maraude Est")
    async with await a.sync(team_a, relay.url) as sa:
        team_b = await join(sa, b, relay.url)
        team_c = await join(sa, c, relay.url)
        async with await b.sync(team_b, relay.url) as _sb, \
                await c.sync(team_c, relay.url) as sc:
            await team_a.persons.create(name="Avant le retrait")
            await eventually(lambda: len(team_c.persons.list()) == 1, what="c has the person")
            c_id = await c.device_id
            await sa.remove_device(c_id)
            await eventually(lambda: sc.state.status is Status.REVOKED, what="c revoked")
            after = await team_a.persons.create(name="Après le retrait")
            await eventually(lambda: len(team_b.persons.list()) == 2, what="b gets the new one")
        # c comes back: the relay refuses it, so it fetches nothing written after the removal.
        cursor = dict(sc.state.cursor)
        async with await c.sync(team_c, relay.url) as sc:
            await eventually(lambda: "not an active member" in (sc.state.last_error or ""),
                             what="the relay refuses c")
            assert sc.state.status in (Status.REVOKED, Status.REFUSED)
            assert sc.state.cursor == cursor
        assert [p.name for p in team_c.persons.list()] == ["Avant le retrait"]
    # c holds no key of the epoch the new person was sealed with
    keys_a = await a.vault.team(keys_id := (await a.vault.team_ids())[0])
    keys_c = await c.vault.team(keys_id)
    new_epoch = keys_a.log.epoch(Compartment.GENERAL)
    assert new_epoch > 0
    assert keys_a.keyring.has_key(Compartment.GENERAL, new_epoch)
    assert not keys_c.keyring.has_key(Compartment.GENERAL, new_epoch)
    assert team_b.persons.get(after.id).name == "Après le retrait"
