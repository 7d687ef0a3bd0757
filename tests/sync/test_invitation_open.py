"""An invitation made while its admin is offline is opened at the relay when the admin comes
back (invite_open); until then the new device's request is refused (NOT_FOUND: it takes no
slot) and the join keeps retrying."""

from __future__ import annotations

import asyncio
import logging
import sqlite3

import pytest

from tests.harness.relay import unreachable_url

from .helpers import eventually

pytestmark = pytest.mark.timeout(240)


def _count(relay_db: str, table: str) -> int:
    conn = sqlite3.connect(f"file:{relay_db}?mode=ro", uri=True)
    try:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


async def test_invitation_made_offline_is_opened_when_the_admin_reconnects(
    relay, make_device, caplog
):
    caplog.set_level(logging.INFO, logger="mano.sync")
    a, b = await make_device("a"), await make_device("b")
    team_a = await a.create_team("Maraude du soir")
    async with await a.sync(team_a, relay.url) as sa:
        await sa.wait_synced()
    with unreachable_url() as nowhere:  # the admin has no network
        async with await a.sync(team_a, nowhere) as offline:
            code = await offline.create_invitation(role="normal")
    assert _count(relay.db, "invite_opens") == 0
    joining = asyncio.create_task(b.join_team(relay.url, code, timeout=60))
    await eventually(lambda: "no such open invitation" in caplog.text or joining.done(),
                     what="a join attempt refused: the invitation is not open yet")
    assert not joining.done()
    assert _count(relay.db, "invitations") == 0  # refused: not opened yet, no slot taken
    async with await a.sync(team_a, relay.url):  # back online: opened, then answered
        await eventually(lambda: _count(relay.db, "invite_opens") == 1 or joining.done(),
                         what="the invitation opened at the relay")
        team_b = await asyncio.wait_for(joining, 45)
    assert team_b.id == team_a.id
