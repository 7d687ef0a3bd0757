"""The project's Select: quitting the app while a screen of drop-downs is being drawn closes
cleanly (Ctrl+Q as the agenda appears), where Textual's own Select ended the app on a crash
report (``NoMatches '#label'``: its value set once the drawing of its label was cancelled)."""

from __future__ import annotations

import asyncio

from textual.app import App, ComposeResult
from textual.screen import Screen

from tui.widgets.select import Select

DROP_DOWNS = 40   # Textual's Select failed on every one of them, 40 of 40, when this was found


class _Choices(Screen[None]):
    def compose(self) -> ComposeResult:
        for _ in range(DROP_DOWNS):
            yield Select([("Jour", "day"), ("Semaine", "week")], value="day", allow_blank=False)


class _QuitsAsItDraws(App[None]):
    def on_mount(self) -> None:
        self.push_screen(_Choices())
        self._quit = asyncio.ensure_future(self._quit_now())

    async def _quit_now(self) -> None:
        await asyncio.sleep(0)
        self.exit()


async def test_quitting_while_drop_downs_are_drawn_closes_cleanly() -> None:
    app = _QuitsAsItDraws()
    async with app.run_test() as pilot:   # re-raises what the app's handlers raised
        await pilot.pause(0.2)
    assert app.return_code == 0
