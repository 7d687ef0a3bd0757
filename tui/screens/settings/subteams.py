"""Sub-teams (admins): add, rename, the night flag (a night team's day runs noon to noon),
delete. A deleted sub-team keeps its records; they are shown without it."""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding

from mano_core.model.records import SubTeam
from tui import format as fmt
from tui.widgets.forms import Field, FieldError

from .pane import SettingsPane, table


class SubteamsPane(SettingsPane):
    BINDINGS = [
        Binding("n", "new_subteam", "key.new_subteam"),
        Binding("r", "rename_subteam", "key.rename"),
        Binding("t", "toggle_night", "key.toggle_night"),
        Binding("x", "delete_subteam", "key.delete"),
    ]

    def compose(self) -> ComposeResult:
        t = self.t
        yield table("subteams", t("col.name"), t("col.night"), t("col.persons"))

    def reload(self) -> None:
        t = self.t
        team = self.session.team
        self.refill("subteams", [(sub.id, (
            sub.name, t("yes") if sub.night_session else t("no"),
            fmt.number(len(team.persons.in_team(sub.id)), t.lang)))
            for sub in self.session.subteams()])

    def _selected(self) -> SubTeam | None:
        key = self.current_key("subteams")
        return next((s for s in self.session.subteams() if s.id == key), None)

    def _name_form(self, title: str, sub: SubTeam | None) -> None:
        t = self.t
        team = self.session.team

        async def submit(v: dict[str, Any]) -> SubTeam:
            name = str(v["name"]).strip()
            if not name:
                raise FieldError("name", t("error.required"))
            if sub is None:
                return await team.subteams.create(name=name, night_session=v["night"])
            return await team.subteams.update(sub.id, name=name, night_session=v["night"])
        self.form(title, [
            Field("name", t("field.name"), value=sub.name if sub else "", wire=("name",)),
            Field("night", t("field.night"), kind="check",
                  value=sub.night_session if sub else False, wire=("nightSession",))], submit)

    def action_new_subteam(self) -> None:
        self._name_form(self.t("settings.new_subteam"), None)

    def action_rename_subteam(self) -> None:
        sub = self._selected()
        if sub is not None:
            self._name_form(self.t("subteams.edit_title", name=sub.name), sub)

    @work(group="write", exclusive=True)
    async def action_toggle_night(self) -> None:
        sub = self._selected()
        if sub is None:
            return
        t = self.t
        await self.attempt(
            self.session.team.subteams.update(sub.id, night_session=not sub.night_session),
            t("subteams.night_on" if not sub.night_session else "subteams.night_off",
              name=sub.name))

    @work(group="write", exclusive=True)
    async def action_delete_subteam(self) -> None:
        sub = self._selected()
        if sub is None:
            return
        t = self.t
        persons = len(self.session.team.persons.in_team(sub.id))
        if not await self.confirm(t("subteams.delete_title", name=sub.name),
                                  [t("subteams.delete_effect", count=persons)], t("key.delete")):
            return
        await self.attempt(self.session.team.subteams.delete(sub.id),
                           t("subteams.deleted", name=sub.name))
