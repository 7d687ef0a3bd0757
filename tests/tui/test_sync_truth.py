"""The sync bar tells the truth: a frozen relay (its process stopped, the socket still open)
is noticed within seconds by the keepalive, not after ~45 s; teammates are not shown online
while this device is offline; it is online again once the relay is back."""

from __future__ import annotations

import os
import signal

import pytest

from mano_core.sync.state import Status

from .conftest import SIZE, app_on, wait_for
from .test_members_flows import joined_pair, online, relay  # noqa: F401 - the fixture

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def bar(app) -> str:
    return str(app.screen.query_one("SyncBar").render())


async def test_frozen_relay_noticed_and_teammates_not_shown_offline(tmp_path, relay):  # noqa: F811
    await joined_pair(tmp_path, relay.url)
    app_a = app_on(tmp_path / "a.mano", relay=relay.url)
    app_b = app_on(tmp_path / "b.mano", relay=relay.url)
    async with app_a.run_test(size=SIZE) as pa, app_b.run_test(size=SIZE) as pb:
        for pilot in (pa, pb):
            await wait_for(pilot, lambda p=pilot: online(p.app), what="online")
        await wait_for(pa, lambda: "Basile" in bar(app_a),
                       what="A shows Basile online")
        os.kill(relay.proc.pid, signal.SIGSTOP)
        try:
            # about 7 s (ping every 2 s, 3 s for its answer, 2 s to close): under the ~45 s
            # websockets' default keepalive took (20 s + 20 s + close), with room for a slow
            # machine
            await wait_for(pa, lambda: app_a.session.sync.state.status is not Status.ONLINE,
                           timeout=40, what="the frozen relay noticed")
            await wait_for(pa, lambda: "Basile" not in bar(app_a) and "En ligne" not in bar(
                app_a), what="the bar without teammates")
            assert not app_a.session.sync.state.online_teammates()
        finally:
            os.kill(relay.proc.pid, signal.SIGCONT)
        await wait_for(pa, lambda: online(app_a), what="online again")
        await wait_for(pa, lambda: "Basile" in bar(app_a), what="Basile again")
