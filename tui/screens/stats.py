"""Statistics of any period (from/to, or a preset), of all sub-teams or the ones chosen (one
or several, as MANO's dashboard allows: Ctrl+T or the sub-teams button), and filters on
person fields (custom fields too), with charts that carry their axes and numbers, the custom
fields marked for statistics, and the export of what is shown (CSV or XLSX)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Input, LoadingIndicator, Static

from mano_core.errors import ManoError
from mano_core.rules.table import Power
from mano_core.reporting import Period, Statistics, compute
from mano_core.reporting.filtered import filtered
from mano_core.reporting.offloop import FrozenView, computed
from mano_core.reporting.mano_stats import (
    ManoStatistics,
    PersonFilter,
    mano_statistics,
)
from tui import format as fmt
from tui.navigation import OpenExchange
from tui.stats_charts import chart_lines, figures
from tui.stats_export import export_statistics
from tui.stats_filters import PRESETS, FilterField, filter_fields, preset_label, preset_period
from tui.text import Visible, cell, lines, plain
from tui.widgets.text_lines import TextLines
from tui.widgets.forms import Field, FieldError, FormScreen
from tui.widgets.select import Select

from .base import SectionScreen

DEFAULT_PRESET = "365"


class StatsScreen(SectionScreen):
    section = "stats"
    BINDINGS = [
        Binding("ctrl+e", "export", "key.export_stats"),
        Binding("ctrl+t", "choose_subteams", "key.stats_subteams", show=False),  # F1 lists it
        Binding("ctrl+r", "clear_filters", "key.clear_filters"),
        Binding("ctrl+x", "exchange", "key.exchange"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filters: dict[str, PersonFilter] = {}
        self._fields: list[FilterField] = []
        self.shown: tuple[Statistics, ManoStatistics] | None = None
        self.subteams: list[str] = []   # the sub-teams counted (none chosen: all of them)
        self._setting_dates = False

    def compose(self) -> ComposeResult:
        return self.framed(self.compose_body())

    def compose_body(self) -> ComposeResult:
        t = self.t
        today = fmt.local(self.mano.now()).date()
        period = preset_period(DEFAULT_PRESET, today)
        with Horizontal(classes="filters"):
            yield Select(compact=True, options=[(preset_label(t, p), p) for p in PRESETS],
                         value=DEFAULT_PRESET, allow_blank=False, id="preset")
            yield Input(fmt.day(period.start), compact=True, id="from", highlighter=Visible(),
                        placeholder=t("stats.from"))
            yield Input(fmt.day(period.end), compact=True, id="to", highlighter=Visible(),
                        placeholder=t("stats.to"))
            yield Button(cell(self._subteams_text()), compact=True, id="subteams")
        with Horizontal(classes="filters"):
            yield Select(compact=True, options=[], prompt=t("stats.filter.field"),
                         id="filter-field")
            yield Select(compact=True, options=[], prompt=t("stats.filter.value"),
                         id="filter-value")
            yield Static("", id="filters-shown")
        yield Static("", id="stats-error", classes="form-error")
        yield LoadingIndicator(id="stats-busy")
        with VerticalScroll(id="stats-body"):
            yield Static("", id="stats-figures")
            yield TextLines(id="stats-charts")   # drawn a line at a time

    # --- choices ----------------------------------------------------------------------------

    def _fill_fields(self, fields: list[FilterField]) -> None:
        """The fields offered (found in the statistics worker: every person is read)."""
        self._fields = fields
        select = self.query_one("#filter-field", Select)
        current = select.value
        select.set_options([(cell(f.label), f.wire) for f in self._fields])
        if current is not Select.NULL and any(f.wire == current for f in self._fields):
            select.value = current

    def _field(self, wire: object) -> FilterField | None:
        return next((f for f in self._fields if f.wire == wire), None)

    @on(Select.Changed, "#filter-field")
    def _field_chosen(self, event: Select.Changed) -> None:
        found = self._field(event.value)
        values = self.query_one("#filter-value", Select)
        values.set_options([(cell(label), str(i)) for i, (_v, label) in
                            enumerate(found.values)] if found else [])

    @on(Select.Changed, "#filter-value")
    def _value_chosen(self, event: Select.Changed) -> None:
        found = self._field(self.query_one("#filter-field", Select).value)
        if found is None or event.value is Select.NULL:
            return
        value = found.values[int(str(event.value))][0]
        self.filters[found.wire] = PersonFilter(found.wire, value)
        self.reload()

    def action_exchange(self) -> None:
        self.post_message(OpenExchange())

    def action_clear_filters(self) -> None:
        if self.filters:
            self.filters.clear()
            self.query_one("#filter-value", Select).clear()
            self.reload()

    @on(Select.Changed, "#preset")
    def _preset(self, event: Select.Changed) -> None:
        if event.value == "custom" or event.value is Select.NULL:
            return
        period = preset_period(str(event.value), fmt.local(self.mano.now()).date())
        self._setting_dates = True
        self.query_one("#from", Input).value = fmt.day(period.start)
        self.query_one("#to", Input).value = fmt.day(period.end)
        self._setting_dates = False
        self.reload()

    @on(Input.Changed, "#from, #to")
    def _dates_typed(self) -> None:
        if self._setting_dates:
            return
        period = self._period()
        if period is not None:
            preset = self.query_one("#preset", Select)
            today = fmt.local(self.mano.now()).date()
            if preset.value != "custom" and period == preset_period(str(preset.value), today):
                return   # the preset's own dates (as it filled them)
            if preset.value != "custom":
                preset.value = "custom"   # its Changed reads nothing: the dates are read here
            self.reload()

    # --- sub-teams --------------------------------------------------------------------------

    def _subteams_text(self) -> str:
        """``Toutes les équipes``, or the names of those chosen, in the team's order."""
        if not self.subteams:
            return self.t("filter.all_subteams")
        return ", ".join(self.session.subteam_name(s) for s in self.subteams)

    @on(Button.Pressed, "#subteams")
    def action_choose_subteams(self) -> None:
        """The sub-teams as boxes to tick (none ticked: all of them)."""
        t = self.t
        fields = [Field("subteams", t("stats.subteams_field"), kind="multi",
                        options=[(s.name, s.id) for s in self.session.subteams()],
                        value=list(self.subteams))]

        async def submit(v: dict[str, Any]) -> list[str]:
            return list(v["subteams"])

        def chosen(ids: list[str] | None) -> None:
            if ids is None:
                return
            order = [s.id for s in self.session.subteams()]
            self.subteams = sorted(ids, key=lambda i: order.index(i) if i in order else
                                   len(order))
            self.query_one("#subteams", Button).label = cell(self._subteams_text())
            self.reload()

        self.app.push_screen(FormScreen(
            t("stats.subteams_title"), fields, submit, save_label=t("stats.subteams_button"),
            cancel_label=t("form.cancel"),
            field_error=lambda f, m: t("form.field_error", field=f, message=m)), chosen)

    def _period(self) -> Period | None:
        """The period typed, or None (with the reason shown) when a date is wrong."""
        t = self.t
        error = self.query_one("#stats-error", Static)
        try:
            start = fmt.parse_day(self.query_one("#from", Input).value)
            end = fmt.parse_day(self.query_one("#to", Input).value)
        except ValueError:
            error.update(plain("⚠ " + t("stats.bad_date")))
            error.add_class("shown")
            return None
        if end < start:
            error.update(plain("⚠ " + t("stats.end_before_start")))
            error.add_class("shown")
            return None
        error.remove_class("shown")
        return Period(start, end)

    # --- figures ----------------------------------------------------------------------------

    def reload(self) -> None:
        self.query_one("#filters-shown", Static).update(plain(self._filters_text()))
        if self._period() is None:
            return
        self.query_one("#stats-busy").display = True
        self.compute_later()

    def _filters_text(self) -> str:
        t = self.t
        if not self.filters:
            return t("stats.no_filter")
        shown = []
        for f in self.filters.values():
            field = self._field(f.field)
            label = next((lab for v, lab in field.values if v == f.value), str(f.value)) \
                if field else str(f.value)
            shown.append(f"{field.label if field else f.field} = {label}")
        return t("stats.filters", filters=" · ".join(shown))

    def subteam_ids(self) -> list[str]:
        """The sub-teams counted; empty: all of them."""
        return list(self.subteams)

    @work(exclusive=True, group="stats")
    async def compute_later(self) -> None:
        await asyncio.sleep(0)  # let the loading indicator draw first
        period = self._period()
        if period is None:
            return
        team = self.session.team
        ids = self.subteam_ids()
        filters = list(self.filters.values())
        now = self.mano.now()
        # The fields to filter on, once: their values are read from every person (30,000 at
        # ×10), in the worker; the team's lists and field definitions are read here.
        offer = None if self._fields else (team.settings.values("outOfActiveListReasons"),
                                           team.custom_fields_for("person"))

        def work(frozen: FrozenView) -> tuple[Statistics, ManoStatistics, list[Text],
                                              list[FilterField] | None]:
            # In a worker thread, over records copied on the loop: the screen keeps answering.
            view = filtered(frozen, filters)
            s = compute(view, period, ids, now=now)
            m = mano_statistics(frozen, period, ids, filters, now=now)
            fields = None if offer is None else \
                filter_fields(self.t, frozen.persons.list(), *offer)
            return s, m, chart_lines(self.t, s, view, period, ids), fields

        try:
            team.require(Power.STATISTICS)
            s, m, charts, fields = await computed(team, work)
        except ManoError as exc:
            self.mano.say(self.mano.error_text(exc), error=True)
            self.query_one("#stats-busy").display = False
            return
        if fields is not None and not self._fields:
            self._fill_fields(fields)
        self.shown = (s, m)
        self.query_one("#stats-figures", Static).update(
            lines(figures(self.t, s, m, self._subteams_text())))
        self.query_one("#stats-charts", TextLines).set_lines(charts)
        self.query_one("#stats-busy").display = False

    def charts_text(self) -> str:
        """The charts shown, as lines (what the screen reads when scrolled through)."""
        return self.query_one("#stats-charts", TextLines).text

    # --- export -----------------------------------------------------------------------------

    def action_export(self) -> None:
        t = self.t
        if self.shown is None:
            return
        s, m = self.shown
        default = Path.home() / f"mano-statistiques-{s.period.start}-{s.period.end}.xlsx"
        fields = [Field("path", t("stats.export_path"), value=str(default)),
                  Field("format", t("stats.export_format"), kind="select",
                        options=[("XLSX", "xlsx"), ("CSV", "csv")], value="xlsx")]
        counted = len(self.subteams) or len(self.session.subteams())
        described = [f"{self.t('stats.filter_team', count=counted)} : " + self._subteams_text()]
        if self.filters:
            described.append(self._filters_text())

        async def submit(v: dict[str, Any]) -> tuple[int, Path]:
            path = Path(str(v["path"]).strip()).expanduser()
            if not str(v["path"]).strip():
                raise FieldError("path", t("error.required"))
            if not path.parent.is_dir():
                raise FieldError("path", t("stats.export_no_folder"))
            kind = v["format"] or "xlsx"
            if kind == "csv" and path.suffix.lower() != ".csv":
                path = path.with_suffix(".csv")
            try:
                rows = await export_statistics(s, m, described, path, kind)
            except (OSError, ManoError) as exc:
                raise FieldError("path", self.mano.error_text(exc)) from None
            return rows, path

        self.app.push_screen(FormScreen(
            t("stats.export_title"), fields, submit, save_label=t("stats.export_button"),
            cancel_label=t("form.cancel"),
            field_error=lambda f, m_: t("form.field_error", field=f, message=m_)),
            lambda r: self.mano.say(t("stats.exported", rows=r[0], path=str(r[1])))
            if r is not None else None)

