"""A large first read or statistics computation never freezes the app (issue 24): keys keep
answering while it is underway. Each test holds the work open until the screen has answered a
key (no timing: the old code, which did the work on the UI loop, could not answer at all)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from textual.widgets import Static

from mano_core import slices
from mano_core.document.collection import Collection
from tui.screens import stats as stats_screen
from tui.screens.agenda import AgendaScreen
from tui.screens.help import HelpScreen
from tui.screens.opening import OpeningScreen
from tui.screens.stats import StatsScreen

from .conftest import SIZE, app_on, wait_for
from .rendered import shows

pytestmark = pytest.mark.timeout(60)


def progress_text(app) -> str:
    screen = app.screen
    found = screen.query("#opening-progress") if isinstance(screen, OpeningScreen) else []
    return str(found[0].render()) if found else ""


async def test_the_opening_screen_answers_keys_while_the_records_are_read(
        demo_store, monkeypatch) -> None:
    reading = threading.Event()   # set by the test once the screen has answered
    original = Collection.loading

    def held(self: Collection, step: int | None = None, **options: object) -> Iterator[int]:
        for done in original(self, step=5):
            yield done
            while self.name == "actions" and not reading.is_set():
                yield done   # the read stays underway (the loop runs between steps)

    monkeypatch.setattr(Collection, "loading", held)
    monkeypatch.setattr(slices, "SLICE_SECONDS", 0.0)
    app = app_on(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "Lecture des enregistrements" in progress_text(app),
                       what="the records being counted in French")
        assert app.session is None   # still reading: no section shown yet
        await pilot.press("f12")     # the interface in English, at once
        await wait_for(pilot, lambda: "Reading the records" in progress_text(app),
                       what="the count in English while reading")
        title = app.screen.query_one(".card-title", Static)
        assert "Team Maraude Nord" in str(title.render())
        assert app.session is None and isinstance(app.screen, OpeningScreen)
        reading.set()
        await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen), what="the agenda")
        assert app.t.lang == "en"    # the choice made while reading is kept
        team = app.session.team
        assert team.persons.loaded and team.actions.loaded and team.comments.loaded
        assert len(app.persons_index) == len(team.persons.list())


async def test_the_app_answers_keys_while_statistics_are_computed(demo_store,
                                                                  monkeypatch) -> None:
    computing, answered = threading.Event(), threading.Event()
    original = stats_screen.compute

    def slow_compute(*args, **kwargs):
        computing.set()
        answered.wait(30)            # held until the app answered a key (or 30 s)
        return original(*args, **kwargs)

    monkeypatch.setattr(stats_screen, "compute", slow_compute)
    app = app_on(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen), what="the agenda")
        await pilot.press("f7")
        await wait_for(pilot, lambda: isinstance(app.screen, StatsScreen), what="statistics")
        screen = app.screen
        await wait_for(pilot, computing.is_set, what="the computation started")
        assert screen.query_one("#stats-busy").display   # the loading state is shown
        await pilot.press("f1")      # help opens while the figures are being computed
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help")
        assert screen.shown is None
        answered.set()
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen.shown is not None, what="the figures")
        assert not screen.query_one("#stats-busy").display


async def test_the_opening_screen_draws_each_count(demo_store, monkeypatch) -> None:
    # The count is drawn again without a layout of the screen while its text keeps its
    # length (tui/screens/opening.py): what shows is still the latest count, whether its
    # length changed or not.
    reading = threading.Event()
    original = Collection.loading

    def held(self: Collection, step: int | None = None, **options: object) -> Iterator[int]:
        for done in original(self, step=5):
            yield done
            while self.name == "actions" and not reading.is_set():
                yield done

    monkeypatch.setattr(Collection, "loading", held)
    monkeypatch.setattr(slices, "SLICE_SECONDS", 0.0)
    app = app_on(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "Lecture des enregistrements" in progress_text(app),
                       what="the records being counted")
        screen = app.screen
        monkeypatch.setattr(screen, "progress", lambda *a: None)   # the read's counts aside
        for done, total in ((11, 90), (12, 90), (13, 90), (9, 900), (100, 900)):
            percent = 100 * done // total
            OpeningScreen.progress.__get__(screen)(done, total)   # the screen's own method
            text = f"{done} sur {total} ({percent} %)"
            await wait_for(pilot, lambda: shows(app, text), what=text)  # noqa: B023
        reading.set()
        await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen), what="the agenda")
