"""Settings, one tab per subject: this device (language, sub-team, idle lock), sub-teams,
members and invitations, the team's lists, custom fields, retention and erasures.

Each tab is a ``SettingsPane`` with its own keys (active while the focus is inside it): the
screen only lays them out, switches tabs (1…6) and redraws them when the team's data moves."""

from __future__ import annotations

from typing import Final

from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.widgets import DataTable, TabbedContent, TabPane

from ..base import SectionScreen
from .fields import FieldsPane
from .general import GeneralPane
from .lists import ListsPane
from .members import InvitationScreen, MembersPane, qr_text
from .pane import SettingsPane
from .retention import RetentionPane
from .subteams import SubteamsPane

__all__ = ["TABS", "InvitationScreen", "SettingsScreen", "qr_text"]

TABS: Final = (("general", GeneralPane), ("subteams", SubteamsPane), ("members", MembersPane),
               ("lists", ListsPane), ("fields", FieldsPane), ("retention", RetentionPane))


class SettingsScreen(SectionScreen):
    section = "settings"
    AUTO_FOCUS = "Tabs"
    BINDINGS = [Binding(str(i + 1), f"tab('{name}')", f"key.settings_tab_{name}", show=False)
                for i, (name, _pane) in enumerate(TABS)]

    def compose(self) -> ComposeResult:
        return self.framed(self.compose_body())

    def compose_body(self) -> ComposeResult:
        t = self.t
        with TabbedContent(id="settings-tabs", classes="settings"):
            for i, (name, pane) in enumerate(TABS):
                with TabPane(f"{i + 1} {t(f'settings.tab.{name}')}", id=f"tab-{name}"):
                    yield pane(id=f"pane-{name}")

    def on_mount(self) -> None:   # then SectionScreen's Mount handler
        # the membership log and presence move with the sync, not with the team's data
        self.watch(self.app, "sync_version", lambda _v: self.pane("members").reload(),
                   init=False)

    def reload(self) -> None:
        for pane in self.query(SettingsPane):
            pane.reload()

    def pane(self, name: str) -> SettingsPane:
        return self.query_one(f"#pane-{name}", SettingsPane)

    def action_tab(self, name: str) -> None:
        """Show a tab and put the focus in it (its table), where its keys apply."""
        self.query_one(TabbedContent).active = f"tab-{name}"
        tables = self.pane(name).query(DataTable)
        if tables:
            self.call_after_refresh(tables.first().focus)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self.refresh_bindings()

    def palette_commands(self) -> list[SystemCommand]:
        t = self.t
        out = [SystemCommand(f"{t(f'settings.tab.{name}')} ({i + 1})", t("palette.settings_tab"),
                             lambda n=name: self.action_tab(n))
               for i, (name, _pane) in enumerate(TABS)]
        retention = self.query_one("#pane-retention", RetentionPane)
        return out + retention.palette_commands()
