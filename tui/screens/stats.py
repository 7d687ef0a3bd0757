"""Statistics of any period (from/to, or a preset), of all sub-teams or the ones chosen (one
or several, as MANO's dashboard allows: Ctrl+T or the sub-teams button), and filters on
person fields (custom fields too), with charts that carry their axes and numbers, the custom
fields marked for statistics, and the export of what is shown (CSV or XLSX)."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, LoadingIndicator, Static

from mano_core.errors import ManoError
from mano_core.rules.table import Power
from mano_core.reporting import Period, Statistics, compute
from mano_core.reporting.filtered import filtered
from mano_core.reporting.offloop import FrozenView, freeze
from mano_core.reporting.mano_stats import (
    ManoStatistics,
    PersonFilter,
    mano_statistics,
)
from mano_core.reporting.stats import CustomFieldStats
from tui import format as fmt
from tui.navigation import OpenExchange
from tui.stats_export import export_statistics
from tui.stats_filters import PRESETS, FilterField, filter_fields, preset_label, preset_period
from tui.text import Visible, cell, lines, plain, styled
from tui.widgets.charts import bar_chart, column_chart
from tui.widgets.forms import Field, FieldError, FormScreen
from tui.widgets.select import Select

from .base import SectionScreen

DEFAULT_PRESET = "365"
CHART_WIDTH = 30
LABEL_WIDTH = 24


CHARTS_MOUNTED_AT_ONCE = 4   # charts' widgets mounted (and styled) in one step


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
            yield Vertical(id="stats-charts")   # one Static a chart (``_show_charts``)

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
                preset.value = "custom"   # reloads once the dates are read again
            else:
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
            return s, m, self._charts(s, view, period, ids), fields

        try:
            team.require(Power.STATISTICS)
            s, m, charts, fields = await asyncio.to_thread(work, await freeze(team))
        except ManoError as exc:
            self.mano.say(self.mano.error_text(exc), error=True)
            self.query_one("#stats-busy").display = False
            return
        if fields is not None and not self._fields:
            self._fill_fields(fields)
        self.shown = (s, m)
        self.query_one("#stats-figures", Static).update(lines(self._figures(s, m)))
        await self._show_charts(charts)
        self.query_one("#stats-busy").display = False

    async def _show_charts(self, charts: list[Text]) -> None:
        """One Static a chart, those of the last figures reused: the screen draws the charts
        it shows (the rest as it is scrolled to them), not all of them in one piece (issue
        24: one Static of every chart was drawn whole, 10–25 ms of the UI loop)."""
        box = self.query_one("#stats-charts", Vertical)
        shown = list(box.query_children(Static))
        for piece, text in zip(shown, charts, strict=False):
            piece.update(text)
        if len(shown) > len(charts):
            await box.remove_children(shown[len(charts):])
        else:
            # A few at a time: each mount styles its widgets against every rule of the app
            # in one go (all the charts at once: 30-50 ms of the loop at the first show).
            for start in range(len(shown), len(charts), CHARTS_MOUNTED_AT_ONCE):
                await box.mount_all([Static(text, classes="stats-chart") for text in
                                     charts[start:start + CHARTS_MOUNTED_AT_ONCE]])

    def charts_text(self) -> str:
        """The charts shown, as lines (what the screen reads when scrolled through)."""
        box = self.query_one("#stats-charts", Vertical)
        return "\n".join(str(piece.render()) for piece in box.query_children(Static))

    def _figures(self, s: Statistics, m: ManoStatistics) -> list[str | Text]:
        t = self.t
        team_name = self._subteams_text()
        out: list[str | Text] = [
            styled((t("stats.title", start=fmt.day(s.period.start), end=fmt.day(s.period.end)),
                    "bold"), f" — {team_name}"),
            t("stats.line.persons", followed=s.persons.followed, new=s.persons.new,
              vulnerable=s.persons.vulnerable, out=s.persons.out_of_active_list),
            t("stats.line.mano", created=m.persons_created, followed=m.persons_followed,
              follow=self._decimal(m.follow_up_days_mean),
              wandering=self._decimal(m.wandering_days_mean), families=m.families),
            t("stats.line.actions", total=s.actions.total, done=s.actions.completed,
              overdue=s.actions.overdue),
            t("stats.line.comments", total=s.comments.total, urgent=s.comments.urgent),
            t("stats.line.visits", encounters=s.encounters.total, passages=s.passages.total,
              observations=s.observations.total, reports=s.reports),
        ]
        if m.collaborations:
            out.append(t("stats.line.collaborations", list=", ".join(   # most frequent first
                f"{k} ({fmt.number(v, t.lang)})" for k, v in sorted(m.collaborations.items(),
                                                key=lambda kv: (-kv[1], kv[0])))))
        return out

    def _charts(self, s: Statistics, view: Any, period: Period,
                subteams: list[str]) -> list[Text]:
        """The charts, each its lines (a blank one first) in one Text (runs in the
        statistics worker: reads no widget)."""
        t = self.t
        out: list[Text] = []

        def chart(title: str, counts: dict[str, Any], *, ordered: bool = False) -> None:
            total = sum(counts.values())
            figure = fmt.number(total, t.lang)
            out.append(lines(["", styled((title, "bold"), f"  ({t('stats.total')} : {figure})"),
                              bar_chart(counts, width=CHART_WIDTH, label_width=LABEL_WIDTH,
                                        ordered=ordered, lang=t.lang)]))

        chart(t("stats.chart.gender"), s.persons.by_gender)
        chart(t("stats.chart.age"), s.persons.by_age, ordered=True)
        chart(t("stats.chart.categories"), s.actions.by_category)
        if s.persons.out_reasons:
            chart(t("stats.chart.out_reasons"), s.persons.out_reasons)
        if s.features.get("receptionCounters", True):
            chart(t("stats.chart.services"), s.services)
        if s.features.get("territories", True):
            chart(t("stats.chart.atmosphere"), s.observations.by_atmosphere)
        for custom in (*s.persons.custom_fields, *s.observations.custom_fields):
            self._custom(out, custom)
        ids = set(subteams)
        weeks, labels, step = _per_week([c.date for c in view.comments.list()
                                         if not ids or c.team in ids], period)
        title = t("stats.comments_per_week") if step == 7 else t("stats.comments_per_month")
        figure = fmt.number(sum(weeks), t.lang)
        out.append(lines(["", styled((title, "bold"), f"  ({t('stats.total')} : {figure})"),
                          column_chart(weeks, labels, lang=t.lang)]))
        return out

    def _custom(self, out: list[Text], custom: CustomFieldStats) -> None:
        t = self.t
        head = styled((custom.label, "bold"), "  " + t("stats.custom_filled",
                                                        count=custom.filled))
        piece: list[str | Text] = ["", head]
        if custom.type == "number":
            piece.append(t("stats.custom_number", total=self._decimal(custom.total),
                           mean=self._decimal(custom.mean)))
        if custom.counts:
            piece.append(bar_chart(custom.counts, width=CHART_WIDTH, label_width=LABEL_WIDTH,
                                   ordered=custom.type == "number", lang=t.lang))
        out.append(lines(piece))

    def _decimal(self, value: float | None) -> str:
        """A figure as the interface's language writes it (``311,6`` in French)."""
        return fmt.number(value, self.t.lang, decimals=1)

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
                raise FieldError("path", str(exc)) from None
            return rows, path

        self.app.push_screen(FormScreen(
            t("stats.export_title"), fields, submit, save_label=t("stats.export_button"),
            cancel_label=t("form.cancel"),
            field_error=lambda f, m_: t("form.field_error", field=f, message=m_)),
            lambda r: self.mano.say(t("stats.exported", rows=r[0], path=str(r[1])))
            if r is not None else None)


def _per_week(moments: list[dt.datetime], period: Period
              ) -> tuple[list[float], list[str], int]:
    """Counts per week of the period (per month when it is longer than a year), with each
    column's first day as its label."""
    days = (period.end - period.start).days + 1
    step = 7 if days <= 371 else 30
    count = (days + step - 1) // step
    values = [0.0] * count
    for m in moments:
        d = fmt.local(m).date()
        if period.start <= d <= period.end:
            values[(d - period.start).days // step] += 1
    labels = [f"{period.start + dt.timedelta(days=i * step):%d/%m/%y}" for i in range(count)]
    return values, labels, step
