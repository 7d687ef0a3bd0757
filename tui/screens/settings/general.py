"""This device's preferences: language, current sub-team, how long before the app locks
itself when nobody touches it (a shared laptop in a day centre)."""

from __future__ import annotations

from typing import Final

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, Static

from tui.session import IDLE_LOCK_CHOICES, save_pref
from tui.text import cell
from tui.widgets.select import Select

from .pane import SettingsPane

NEVER: Final = 0


class GeneralPane(SettingsPane):
    def compose(self) -> ComposeResult:
        t = self.t
        with Horizontal(classes="filters"):
            yield Label(t("settings.language"))
            yield Select(compact=True, options=[("Français", "fr"), ("English", "en")],
                         value=t.lang, allow_blank=False, id="lang")
        with Horizontal(classes="filters"):
            yield Label(t("settings.current_subteam"))
            yield Select(compact=True, options=[(cell(s.name), s.id)
                                                for s in self.session.subteams()],
                         value=self.session.subteam or Select.NULL, id="current",
                         prompt="—")
        with Horizontal(classes="filters"):
            yield Label(t("settings.idle_lock"))
            yield Select(compact=True, allow_blank=False, id="idle-lock",
                         value=self.mano.idle_minutes,
                         options=[(t("lock.after", count=n) if n else t("lock.never"), n)
                                  for n in IDLE_LOCK_CHOICES])
        yield Static(t("settings.idle_lock_hint"), classes="muted")

    @on(Select.Changed, "#lang")
    async def _lang(self, event: Select.Changed) -> None:
        if event.value != self.t.lang:
            await self.mano.set_language(str(event.value))

    @on(Select.Changed, "#current")
    async def _current(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL:
            self.session.subteam = str(event.value)
            await save_pref(self.session.device, "subteam", str(event.value))

    @on(Select.Changed, "#idle-lock")
    async def _idle(self, event: Select.Changed) -> None:
        if isinstance(event.value, int) and event.value != self.mano.idle_minutes:
            await self.mano.set_idle_minutes(event.value)
