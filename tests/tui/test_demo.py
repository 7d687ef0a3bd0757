"""The newcomer's demo: relay, demo team, simulated teammate and the app; quitting stops all."""

from __future__ import annotations

import pytest

from tui.app import make_app
from tui.demo.runner import DemoRun
from tui.screens.agenda import AgendaScreen

from .conftest import SIZE, wait_for

pytestmark = pytest.mark.timeout(240)


@pytest.mark.slow
async def test_demo_starts_and_the_teammate_edits(tmp_path):
    run = DemoRun(scale=0.01, every=0.5, fast_kdf=True, workdir=tmp_path)
    app = make_app(run.store, lang="fr", demo_steps=run)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen), timeout=60,
                           what="the agenda after the demo's preparation")
            sync = app.session.sync
            await wait_for(pilot, sync.state.online_teammates,
                           what="the teammate online")
            team = app.session.team
            before = len(team.comments) + len(team.actions) + len(team.history)
            await wait_for(pilot, lambda: len(team.comments) + len(team.actions)
                           + len(team.history) > before,
                           what="an edit from the teammate")
            await wait_for(pilot, lambda: "1 en ligne : Camille" in str(
                app.screen.query_one("SyncBar").render()), what="the teammate named")
    finally:
        run.stop()
    assert run.relay.poll() is not None and run.peer.poll() is not None
