"""The retention period (how long a person out of the active list is kept), its dry run and
its application, and, for admins, the erasures still under way on teammates' devices."""

from __future__ import annotations

import datetime as dt
from typing import Any

from textual import work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.widgets import Label, Static

from mano_core.errors import ManoError
from mano_core.retention import (
    MAX_RETENTION_MONTHS,
    RetentionReport,
    apply_retention,
    months_before,
    retention_months,
    retention_report,
    set_retention_months,
)
from tui import format as fmt
from tui.erasure_view import count_lines, is_admin, waiting_names
from tui.text import plain
from tui.widgets.confirm import ConfirmScreen
from tui.widgets.forms import Field, FieldError
from tui.widgets.table import LiteralTable

from .pane import SettingsPane, table


class RetentionPane(SettingsPane):
    BINDINGS = [
        Binding("m", "retention_months", "key.retention_months"),
        Binding("r", "retention_dry_run", "key.retention_dry_run"),
        Binding("R", "retention_apply", "key.retention_apply"),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.retention: RetentionReport | None = None  # the last dry run, what "apply" erases

    def compose(self) -> ComposeResult:
        t = self.t
        yield Static("", id="retention-status")
        yield table("retention", t("col.name"), t("col.out_since"), t("col.reasons"),
                    t("col.records"))
        yield Label(t("settings.erasures"), classes="section-title", id="erasures-title")
        yield table("erasures", t("col.issued"), t("col.reason"), t("col.persons"),
                    t("col.waiting"))

    def reload(self) -> None:
        self._draw_retention()
        self._draw_erasures()

    def today(self) -> dt.date:
        return fmt.local(self.mano.now()).date()

    def _draw_retention(self) -> None:
        t = self.t
        months = retention_months(self.session.team)
        status = self.query_one("#retention-status", Static)
        report = self.retention
        if months is None:
            text = t("retention.off")
        else:
            text = t("retention.on", months=months,
                     cutoff=fmt.day(months_before(self.today(), months)))
        if report is not None and report.months is not None:
            text += "\n" + (t("retention.dry_run", count=len(report.entries),
                              records=sum(report.totals.values()))
                            if report.entries else t("retention.none"))
        status.update(plain(text))
        table = self.query_one("#retention", LiteralTable)
        table.clear()
        for e in report.entries if report is not None else ():
            table.add_row(e.name, fmt.day(e.out_since), ", ".join(e.reasons) or "—",
                          fmt.number(sum(e.counts.values()), t.lang), key=e.person_id)

    def _draw_erasures(self) -> None:
        t = self.t
        s = self.session
        admin = is_admin(s)
        self.query_one("#erasures-title", Label).display = admin
        table = self.query_one("#erasures", LiteralTable)
        table.display = admin
        table.clear()
        if not admin:
            return
        for status in s.team.erasures.pending():
            order = status.order
            table.add_row(fmt.moment(order.issued_at), t(f"erasure.reason.{order.reason}"),
                          fmt.number(len(order.persons), t.lang),
                          waiting_names(s, t, status), key=order.id)

    def action_retention_months(self) -> None:
        t = self.t

        async def submit(v: dict[str, Any]) -> int:
            text = v["months"].strip() or "0"
            if not text.isdigit() or int(text) > MAX_RETENTION_MONTHS:
                raise FieldError("months", t("error.months"))
            await set_retention_months(self.session.team, int(text))
            self.retention = None
            return int(text)
        self.form(t("retention.set_title"), [
            Field("months", t("retention.months"),
                  value=str(retention_months(self.session.team) or 0))], submit)

    def action_retention_dry_run(self) -> None:
        """Who would be erased today (nothing is changed)."""
        self.retention = retention_report(self.session.team, today=self.today())
        self._draw_retention()
        report = self.retention
        if report.months is None:
            self.mano.say(self.t("retention.off"))
        elif report.entries:
            self.mano.say(self.t("retention.dry_run", count=len(report.entries),
                                 records=sum(report.totals.values())))
        else:
            self.mano.say(self.t("retention.none"))

    @work(group="write", exclusive=True)
    async def action_retention_apply(self) -> None:
        """Erase exactly the persons of the dry run shown (one is made first if none is)."""
        t = self.t
        team = self.session.team
        if self.retention is None:
            self.action_retention_dry_run()
        report = self.retention
        if report is None or not report.entries:
            return
        if not team.erasures.can_order(report.person_ids, "retention"):
            self.mano.say(t("erase.forbidden"), error=True)
            return
        names = [f"  • {e.name} ({fmt.day(e.out_since)})" for e in report.entries[:12]]
        if len(report.entries) > 12:
            names.append("  …")
        confirmed = await self.app.push_screen_wait(ConfirmScreen(
            t("retention.confirm_title", count=len(report.entries)),
            [*names, "", t("erase.counts"), *count_lines(t, report.totals), "",
             t("erase.irreversible")],
            confirm_label=t("erase.confirm"), cancel_label=t("erase.cancel")))
        if not confirmed:
            return
        try:
            order = await apply_retention(team, report)
        except ManoError as exc:
            self.mano.say(self.mano.error_text(exc), error=True)
            return
        self.retention = None
        self.mano.say(t("retention.applied", count=len(order.persons)) if order is not None
                      else t("retention.nothing"))
        self.reload()

    def palette_commands(self) -> list[SystemCommand]:
        t = self.t
        return [SystemCommand(t("key.retention_dry_run"), t("palette.retention_dry_run"),
                              self.action_retention_dry_run),
                SystemCommand(t("key.retention_apply"), t("palette.retention_apply"),
                              self.action_retention_apply)]
