"""A section's first show reads its data once (issue 24): Textual's Select posts its composed
value at its mount (Textual 8: from no value to the one given), which the agenda, the persons
list and the statistics took for a choice of the user's and read everything a second time in
the same burst of the UI loop; the client's Select (tui/widgets/select.py) does not report its
own mount. Each test records what the screen asked, with the app's data version at the time (a
teammate's change reads again, legitimately), and finds each asked once."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import Select

from tui.screens.agenda import AgendaScreen
from tui.screens.persons import PersonsScreen
from tui.screens.report import ReportScreen
from tui.screens.stats import StatsScreen
from tui.widgets.paged_table import PagedTable

from .conftest import app_on, wait_for

pytestmark = pytest.mark.timeout(180)


def recording(monkeypatch: pytest.MonkeyPatch, cls: type, name: str,
              state: Any) -> list[tuple[Any, ...]]:
    """Every call of ``cls.name`` as (the app's data version, ``state(screen, *args)``)."""
    calls: list[tuple[Any, ...]] = []
    original = getattr(cls, name)

    def recorded(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append((self.app.data_version, state(self, *args)))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cls, name, recorded)
    return calls


async def idle(pilot: Any) -> None:
    """Until no worker runs and the messages posted meanwhile are handled."""
    await wait_for(pilot, lambda: all(w.is_finished for w in pilot.app.workers),
                   what="the workers done")
    await pilot.pause()


async def test_the_agenda_is_read_once_at_its_first_show(demo_store, monkeypatch):
    calls = recording(monkeypatch, AgendaScreen, "reload",
                      lambda s: (s.view, s.day))
    app = app_on(demo_store)
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen)
                       and bool(app.screen.query_one(PagedTable).items), what="the agenda")
        await idle(pilot)
        assert calls and len(calls) == len(set(calls)), calls
        # a change of view is still read: the week, then the day again
        screen = app.screen
        screen.query_one("#view", Select).value = "week"
        await wait_for(pilot, lambda: ("week", screen.day) in {c[1] for c in calls},
                       what="the week read")
        screen.query_one("#view", Select).value = "day"
        await wait_for(pilot, lambda: [c[1][0] for c in calls][-1] == "day",
                       what="the day read again")
        assert screen.view == "day"


async def test_the_persons_list_is_searched_once_at_its_first_show(demo_store, monkeypatch):
    calls = recording(monkeypatch, PersonsScreen, "run_query", lambda s, q, *a: q)
    app = app_on(demo_store)
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen), what="the agenda")
        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(app.screen, PersonsScreen)
                       and bool(app.screen.query_one(PagedTable).items), what="the persons")
        await idle(pilot)
        assert calls and len(calls) == len(set(calls)), calls
        # another status is searched, and the first one again
        screen = app.screen
        status = screen.query_one("#status", Select)
        first = status.value
        status.value = "all"
        await wait_for(pilot, lambda: calls[-1][1].status == "all", what="all searched")
        status.value = first
        await wait_for(pilot, lambda: calls[-1][1].status == first, what="back searched")


async def test_the_statistics_are_computed_once_at_their_first_show(demo_store, monkeypatch):
    calls = recording(monkeypatch, StatsScreen, "reload",
                      lambda s: (s._period(), tuple(s.filters), tuple(s.subteams)))
    app = app_on(demo_store)
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen), what="the agenda")
        await pilot.press("f7")
        await wait_for(pilot, lambda: isinstance(app.screen, StatsScreen)
                       and app.screen.shown is not None, what="the figures")
        await idle(pilot)
        assert calls and len(calls) == len(set(calls)), calls
        # another preset is computed
        screen = app.screen
        shown = screen.shown
        preset = screen.query_one("#preset", Select)
        other = next(v for _label, v in preset._options if v not in (preset.value, "custom"))
        preset.value = other
        await wait_for(pilot, lambda: screen.shown is not shown and len(calls) > 1,
                       what="the other preset's figures")
        assert calls[-1][1][0] != calls[0][1][0]


async def test_the_daily_report_is_read_once_at_its_first_show(demo_store, monkeypatch):
    # its sub-team Select is composed with the current sub-team: Textual's posts it at its
    # mount, which the report took for a change of sub-team and read its day again
    calls = recording(monkeypatch, ReportScreen, "reload",
                      lambda s: (s.day, s.session.subteam))
    app = app_on(demo_store)
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen), what="the agenda")
        assert app.session.subteam is not None
        await pilot.press("f6")
        await wait_for(pilot, lambda: isinstance(app.screen, ReportScreen) and bool(calls),
                       what="the report")
        await idle(pilot)
        assert len(calls) == len(set(calls)), calls
