"""The sync bar says how far a catch-up (a new device's first sync) has come, in the
interface's language, and says nothing of it once caught up."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from textual.app import App, ComposeResult
from textual.reactive import reactive

from mano_core.ids import Compartment
from mano_core.sync.state import CatchUp, Status, SyncState
from tui.i18n import Translator
from tui.widgets.sync_bar import SyncBar


class BarApp(App[None]):
    """Just the bar, on a real SyncState (what the Mano app gives it: .t, .session)."""

    sync_version: reactive[int] = reactive(0, init=False)

    def __init__(self, lang: str, state: SyncState) -> None:
        super().__init__()
        self.t = Translator(lang)
        self.session = SimpleNamespace(sync=SimpleNamespace(state=state),
                                       member_name=lambda member, t: member)

    def compose(self) -> ComposeResult:
        yield SyncBar()


@pytest.mark.parametrize(("lang", "part_way", "done"), [
    ("fr", "récupération : 3\u00a0400 sur 10\u00a0000 lots de modifications, 2,1 Mo reçus",
     "tout est envoyé"),
    ("en", "catching up: 3,400 of 10,000 batches of changes, 2.1 MB received", "everything sent"),
])
async def test_the_bar_shows_a_catch_up_part_way_then_not(lang, part_way, done) -> None:
    state = SyncState(status=Status.ONLINE)
    state.head[Compartment.GENERAL] = 10_000
    state.cursor[Compartment.GENERAL] = 3_400
    state.received.envelopes, state.received.bytes = 3_400, 2_200_000   # 2.1 MiB
    app = BarApp(lang, state)
    async with app.run_test() as pilot:
        bar = app.query_one(SyncBar)
        text = str(bar.render())
        assert part_way in text, text
        state.cursor[Compartment.GENERAL] = 10_000
        state.received.envelopes = 10_000
        app.sync_version += 1
        await pilot.pause()
        text = str(bar.render())
        assert done in text and "000 " not in text, text


@pytest.mark.parametrize(("lang", "part_way"), [
    ("fr", "récupération depuis un instantané : 8,1 Mo sur 21,3 Mo, 1\u00a0200 sur 3\u00a0400 "
           "lots de modifications"),
    ("en", "catching up from a snapshot: 8.1 MB of 21.3 MB, 1,200 of 3,400 batches of changes"),
])
async def test_a_first_sync_from_a_snapshot_shows_bytes_and_records_of_the_plan(
        lang, part_way) -> None:
    state = SyncState(status=Status.ONLINE)
    state.head[Compartment.GENERAL] = 10_000
    state.cursor[Compartment.GENERAL] = 6_600 + 1_200  # the snapshot's upto, then 1,200 more
    state.catchup = CatchUp(bytes_total=22_334_668, bytes_done=8_493_465,  # 21.3, 8.1 MiB
                            records_total=3_400, records_done=1_200, snapshot=True)
    app = BarApp(lang, state)
    async with app.run_test() as pilot:
        bar = app.query_one(SyncBar)
        text = str(bar.render())
        assert part_way in text, text
        state.cursor[Compartment.GENERAL] = 10_000
        state.catchup = None
        app.sync_version += 1
        await pilot.pause()
        assert "Mo" not in str(bar.render()) and "MB" not in str(bar.render())
