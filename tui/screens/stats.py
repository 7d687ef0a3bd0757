"""Statistics of a period and sub-team, with bar charts where looking beats reading."""

from __future__ import annotations

import datetime as dt

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Label, LoadingIndicator, Select, Sparkline, Static

from mano_core.reporting import Period, compute
from tui import format as fmt
from tui.text import cell, lines, styled
from tui.widgets.charts import bar_chart

from .base import SectionScreen

PERIODS = (30, 90, 365)


class StatsScreen(SectionScreen):
    section = "stats"

    def compose_body(self) -> ComposeResult:
        t = self.t
        with Horizontal(classes="filters"):
            yield Select(compact=True, options=[(t("stats.last_days", n=n), n) for n in PERIODS],
                         value=365, allow_blank=False, id="period")
            yield Select(compact=True, options=[(cell(s.name), s.id)
                                                for s in self.session.subteams()],
                         prompt=t("filter.all_subteams"), id="subteam")
        yield LoadingIndicator(id="stats-busy")
        with VerticalScroll(id="stats-body"):
            yield Static("", id="stats-figures")
            yield Label(t("stats.comments_per_week"))
            yield Sparkline([], id="stats-spark")
            yield Static("", id="stats-charts")

    def reload(self) -> None:
        self.query_one("#stats-busy").display = True
        self.compute_later()

    @on(Select.Changed)
    def _changed(self) -> None:
        self.reload()

    @work(exclusive=True, group="stats")
    async def compute_later(self) -> None:
        import asyncio
        await asyncio.sleep(0)  # let the loading indicator draw first
        t = self.t
        team = self.session.team
        days = int(self.query_one("#period", Select).value)  # type: ignore[arg-type]
        sub = self.query_one("#subteam", Select).value
        end = fmt.local(self.mano.now()).date()
        period = Period(end - dt.timedelta(days=days - 1), end)
        ids = [] if sub is Select.NULL else [str(sub)]
        s = compute(team, period, ids, now=self.mano.now())
        figures = [
            t("stats.title", start=fmt.day(period.start), end=fmt.day(period.end)),
            t("stats.line.persons", followed=s.persons.followed, new=s.persons.new,
              vulnerable=s.persons.vulnerable, out=s.persons.out_of_active_list),
            t("stats.line.actions", total=s.actions.total, done=s.actions.completed,
              overdue=s.actions.overdue),
            t("stats.line.comments", total=s.comments.total, urgent=s.comments.urgent),
            t("stats.line.visits", encounters=s.encounters.total, passages=s.passages.total,
              observations=s.observations.total, reports=s.reports),
        ]
        self.query_one("#stats-figures", Static).update(lines(figures))
        charts: list[str | Text] = []
        for key, counts in (("stats.chart.gender", s.persons.by_gender),
                            ("stats.chart.age", s.persons.by_age),
                            ("stats.chart.categories", s.actions.by_category),
                            ("stats.chart.services", s.services),
                            ("stats.chart.atmosphere", s.observations.by_atmosphere)):
            charts += ["", styled((t(key), "bold")),
                       bar_chart(counts, width=28, label_width=24)]
        self.query_one("#stats-charts", Static).update(lines(charts))
        self.query_one("#stats-spark", Sparkline).data = _per_week(
            [c.date for c in team.comments.list()
             if not ids or c.team in ids], period)
        self.query_one("#stats-busy").display = False


def _per_week(moments: list[dt.datetime], period: Period) -> list[float]:
    weeks = [0.0] * (((period.end - period.start).days // 7) + 1)
    for m in moments:
        d = fmt.local(m).date()
        if period.start <= d <= period.end:
            weeks[(d - period.start).days // 7] += 1
    return weeks


