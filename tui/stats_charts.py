"""What the statistics screen shows, as text: the figures' lines and the charts' lines, in the
interface's language. Pure functions over computed statistics and a team's records (the charts
are built in the statistics worker thread): no widget."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from rich.text import Text

from mano_core.reporting import Period, Statistics
from mano_core.reporting.mano_stats import ManoStatistics
from mano_core.reporting.stats import CustomFieldStats
from tui import format as fmt
from tui.i18n import Translator
from tui.text import lines, styled
from tui.widgets.charts import bar_chart, column_chart

CHART_WIDTH = 30
LABEL_WIDTH = 24


def decimal(t: Translator, value: float | None) -> str:
    """A figure as the interface's language writes it (``311,6`` in French)."""
    return fmt.number(value, t.lang, decimals=1)


def figures(t: Translator, s: Statistics, m: ManoStatistics,
            team_name: str) -> list[str | Text]:
    """The figures' lines: the period and sub-teams, then one line a kind of record."""
    out: list[str | Text] = [
        styled((t("stats.title", start=fmt.day(s.period.start), end=fmt.day(s.period.end)),
                "bold"), f" — {team_name}"),
        t("stats.line.persons", followed=s.persons.followed, new=s.persons.new,
          vulnerable=s.persons.vulnerable, out=s.persons.out_of_active_list),
        t("stats.line.mano", created=m.persons_created, followed=m.persons_followed,
          follow=decimal(t, m.follow_up_days_mean),
          wandering=decimal(t, m.wandering_days_mean), families=m.families),
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


def chart_lines(t: Translator, s: Statistics, view: Any, period: Period,
                subteams: Sequence[str]) -> list[Text]:
    """Every chart's lines, one Text a line (each chart after a blank line), for
    ``tui.widgets.text_lines.TextLines``."""
    charts: list[Text] = []

    def chart(title: str, counts: dict[str, Any], *, ordered: bool = False) -> None:
        figure = fmt.number(sum(counts.values()), t.lang)
        charts.append(lines(["", styled((title, "bold"), f"  ({t('stats.total')} : {figure})"),
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
        charts.append(_custom(t, custom))
    ids = set(subteams)
    weeks, labels, step = per_week([c.date for c in view.comments.list()
                                    if not ids or c.team in ids], period)
    title = t("stats.comments_per_week") if step == 7 else t("stats.comments_per_month")
    figure = fmt.number(sum(weeks), t.lang)
    charts.append(lines(["", styled((title, "bold"), f"  ({t('stats.total')} : {figure})"),
                         column_chart(weeks, labels, lang=t.lang)]))
    return [line for text in charts for line in text.split("\n")]


def _custom(t: Translator, custom: CustomFieldStats) -> Text:
    head = styled((custom.label, "bold"), "  " + t("stats.custom_filled", count=custom.filled))
    piece: list[str | Text] = ["", head]
    if custom.type == "number":
        piece.append(t("stats.custom_number", total=decimal(t, custom.total),
                       mean=decimal(t, custom.mean)))
    if custom.counts:
        piece.append(bar_chart(custom.counts, width=CHART_WIDTH, label_width=LABEL_WIDTH,
                               ordered=custom.type == "number", lang=t.lang))
    return lines(piece)


def per_week(moments: list[dt.datetime], period: Period) -> tuple[list[float], list[str], int]:
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
