"""The day's report of the current sub-team: shared text, service counters anyone can
increment (increments from several devices add up), and the day's activity."""

from __future__ import annotations

import datetime as dt
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Label, Select, Static, TextArea

from mano_core.errors import ManoError
from mano_core.reporting import daily
from tui import format as fmt
from tui.text import cell, cells
from tui.text import lines as text_lines
from tui.widgets.forms import LiteralTextArea
from tui.widgets.table import LiteralTable

from .base import SectionScreen


class ReportScreen(SectionScreen):
    section = "report"
    BINDINGS = [
        Binding("plus,equals_sign", "count(1)", "key.increment"),
        Binding("minus", "count(-1)", "key.decrement"),
        Binding("ctrl+s", "save_text", "key.save_text"),
        Binding("less_than_sign,comma", "move(-1)", "key.previous", show=False),
        Binding("greater_than_sign,full_stop", "move(1)", "key.next", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.day = fmt.local(self.mano.now()).date()

    def compose_body(self) -> ComposeResult:
        t = self.t
        with Horizontal(classes="filters"):
            yield Select(compact=True, options=[(cell(s.name), s.id)
                                                for s in self.session.subteams()],
                         value=self.session.subteam or Select.NULL, id="subteam",
                         prompt=t("field.subteam"))
            yield Static("", id="report-title", classes="section-title")
        with Horizontal(classes="split"):
            with Vertical():
                yield Label(t("report.services"))
                services: DataTable[Any] = LiteralTable(id="services", cursor_type="row")
                services.add_columns(t("col.service"), t("col.count"))
                yield services
            with Vertical():
                yield Label(t("report.text"))
                yield LiteralTextArea(id="description")
                yield Static("", id="activity", classes="detail")

    def _subteam(self) -> str | None:
        value = self.query_one("#subteam", Select).value
        return None if value is Select.NULL else str(value)

    def reload(self) -> None:
        t = self.t
        sub = self._subteam()
        title = self.query_one("#report-title", Static)
        if sub is None:
            title.update(t("report.no_subteam"))
            return
        team = self.session.team
        title.update(t("report.screen_title", day=fmt.day(self.day)))
        rep = daily.get(team, sub, self.day)
        table = self.query_one("#services", DataTable)
        keep = table.cursor_row
        table.clear()
        for name in team.settings.values("services"):
            table.add_row(*cells(name, str(rep.services.get(name, 0) if rep else 0)), key=name)
        if table.row_count:
            table.move_cursor(row=min(keep, table.row_count - 1))
        area = self.query_one("#description", TextArea)
        text = rep.description if rep else ""
        if not area.has_focus and area.text != text:
            area.text = text  # never overwrite what is being typed
        act = daily.activity(team, sub, self.day)
        lines = [t("report.activity", start=fmt.moment(act.start), end=fmt.moment(act.end))]
        lines += [f"  {n:>4}  {t('activity.' + k, count=n)}" for k, n in act.counts().items()]
        if rep and rep.collaborations:
            lines.append(f"{t('report.collaborations')}: {', '.join(rep.collaborations)}")
        self.query_one("#activity", Static).update(text_lines(lines))

    @on(Select.Changed, "#subteam")
    def _subteam_changed(self) -> None:
        self.session.subteam = self._subteam()
        self.reload()

    def action_move(self, delta: int) -> None:
        self.day += dt.timedelta(days=delta)
        self.reload()

    @work(group="write")
    async def action_count(self, by: int) -> None:
        sub = self._subteam()
        table = self.query_one("#services", DataTable)
        if sub is None or table.row_count == 0:
            return
        service = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        try:
            await daily.increment(self.session.team, sub, self.day, service, by)
        except ManoError as exc:
            self.mano.say(getattr(exc, "reason", str(exc)), error=True)

    @work(group="write")
    async def action_save_text(self) -> None:
        sub = self._subteam()
        if sub is None:
            return
        await daily.set_description(self.session.team, sub, self.day,
                                    self.query_one("#description", TextArea).text)
        self.mano.say(self.t("report.saved"))
