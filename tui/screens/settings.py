"""Settings: language, current sub-team, sub-teams, members and roles, invitations (text and
QR code), action categories, custom fields, the retention period (dry run and apply) and, for
admins, the erasures still under way."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import segno
from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Center, Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label, Select, Static

from mano_core.errors import ManoError
from mano_core.model.records import CUSTOM_FIELD_TYPES, CustomFieldDefinition, SubTeam
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
from tui.session import save_pref
from tui.text import cell, plain
from tui.widgets.confirm import ConfirmScreen
from tui.widgets.forms import Field, FieldError, FormScreen
from tui.widgets.table import LiteralTable

from .base import SectionScreen


class SettingsScreen(SectionScreen):
    section = "settings"
    BINDINGS = [
        Binding("i", "invite", "key.invite"),
        Binding("s", "new_subteam", "key.new_subteam"),
        Binding("c", "new_category", "key.new_category"),
        Binding("f", "new_field", "key.new_field"),
        Binding("m", "retention_months", "key.retention_months"),
        Binding("r", "retention_dry_run", "key.retention_dry_run"),
        Binding("R", "retention_apply", "key.retention_apply"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.retention: RetentionReport | None = None  # the last dry run, what "apply" erases

    def compose_body(self) -> ComposeResult:
        t = self.t
        with VerticalScroll(classes="settings"):
            with Horizontal(classes="filters"):
                yield Label(t("settings.language"))
                yield Select(compact=True, options=[("Français", "fr"), ("English", "en")],
                             value=t.lang, allow_blank=False, id="lang")
                yield Label(t("settings.current_subteam"))
                yield Select(compact=True, options=[(cell(s.name), s.id)
                                                    for s in self.session.subteams()],
                             value=self.session.subteam or Select.NULL, id="current")
            yield Label(t("settings.subteams"), classes="section-title")
            yield _table("subteams", t("col.name"), t("col.night"))
            yield Label(t("settings.members"), classes="section-title")
            yield _table("members", t("col.member"), t("col.role"), t("col.health"))
            yield Label(t("settings.categories"), classes="section-title")
            yield Static("", id="categories")
            yield Label(t("settings.custom_fields"), classes="section-title")
            yield _table("fields", t("col.label"), t("col.type"), t("col.section"),
                         t("col.scope"))
            yield Label(t("settings.retention"), classes="section-title")
            yield Static("", id="retention-status")
            yield _table("retention", t("col.name"), t("col.out_since"), t("col.reasons"),
                         t("col.records"))
            yield Label(t("settings.erasures"), classes="section-title", id="erasures-title")
            yield _table("erasures", t("col.issued"), t("col.reason"), t("col.persons"),
                         t("col.waiting"))

    def reload(self) -> None:
        t = self.t
        s = self.session
        team = s.team
        subs = self.query_one("#subteams", DataTable)
        subs.clear()
        for sub in s.subteams():
            subs.add_row(sub.name, t("yes") if sub.night_session else t("no"), key=sub.id)
        members = self.query_one("#members", DataTable)
        members.clear()
        for member, role, health in s.members():
            members.add_row(s.member_name(member, t), t(f"role.{role}") if role in (
                "admin", "normal", "restricted") else role, t("yes") if health else t("no"),
                key=member)
        self.query_one("#categories", Static).update(
            plain(", ".join(sorted(team.settings.values("actionCategories"))) or "—"))
        fields = self.query_one("#fields", DataTable)
        fields.clear()
        for d in sorted(team.custom_fields.list(), key=lambda d: (d.scope, d.section)):
            fields.add_row(d.label_text, d.type, d.section, d.scope, key=d.id)
        self._draw_retention()
        self._draw_erasures()

    # --- retention and erasures -----------------------------------------------------------------

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
        table = self.query_one("#retention", DataTable)
        table.clear()
        for e in report.entries if report is not None else ():
            table.add_row(e.name, fmt.day(e.out_since), ", ".join(e.reasons) or "—",
                          str(sum(e.counts.values())), key=e.person_id)

    def _draw_erasures(self) -> None:
        t = self.t
        s = self.session
        admin = is_admin(s)
        self.query_one("#erasures-title", Label).display = admin
        table = self.query_one("#erasures", DataTable)
        table.display = admin
        table.clear()
        if not admin:
            return
        for status in s.team.erasures.pending():
            order = status.order
            table.add_row(fmt.moment(order.issued_at), t(f"erasure.reason.{order.reason}"),
                          str(len(order.persons)), waiting_names(s, t, status), key=order.id)

    def action_retention_months(self) -> None:
        t = self.t

        async def submit(v: dict[str, Any]) -> int:
            text = v["months"].strip() or "0"
            if not text.isdigit() or int(text) > MAX_RETENTION_MONTHS:
                raise FieldError("months", t("error.months"))
            await set_retention_months(self.session.team, int(text))
            self.retention = None
            return int(text)
        self._form(t("retention.set_title"), [
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
            self.mano.say(str(exc), error=True)
            return
        self.retention = None
        self.mano.say(t("retention.applied", count=len(order.persons)) if order is not None
                      else t("retention.nothing"))
        self.reload()

    @on(Select.Changed, "#lang")
    async def _lang(self, event: Select.Changed) -> None:
        if event.value != self.t.lang:
            await self.mano.set_language(str(event.value))

    @on(Select.Changed, "#current")
    async def _current(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL:
            self.session.subteam = str(event.value)
            await save_pref(self.session.device, "subteam", str(event.value))

    @work(group="write")
    async def action_invite(self) -> None:
        sync = self.session.sync
        if sync is None:
            self.mano.say(self.t("settings.invite_offline"), error=True)
            return
        try:
            code = await sync.create_invitation(role="normal", health=False)
        except ManoError as exc:
            self.mano.say(str(exc), error=True)
            return
        await self.app.push_screen(InvitationScreen(code, self.session.relay or ""))

    def _form(self, title: str, fields: list[Field], submit: Any) -> None:
        t = self.t
        self.app.push_screen(FormScreen(
            title, fields, submit, save_label=t("form.save"), cancel_label=t("form.cancel"),
            field_error=lambda f, m: t("form.field_error", field=f, message=m)))

    def action_new_subteam(self) -> None:
        t = self.t

        async def submit(v: dict[str, Any]) -> SubTeam:
            return await self.session.team.subteams.create(name=v["name"].strip(),
                                                           night_session=v["night"])
        self._form(t("settings.new_subteam"),
                   [Field("name", t("field.name"), wire=("name",)),
                    Field("night", t("field.night"), kind="check", wire=("nightSession",))],
                   submit)

    def action_new_category(self) -> None:
        t = self.t

        async def submit(v: dict[str, Any]) -> str:
            name = str(v["name"]).strip()
            if not name:
                raise FieldError("name", t("error.required"))
            await self.session.team.settings.add("actionCategories", name)
            return name
        self._form(t("settings.new_category"), [Field("name", t("field.name"))], submit)

    def action_new_field(self) -> None:
        t = self.t

        async def submit(v: dict[str, Any]) -> CustomFieldDefinition:
            label = v["label"].strip()
            if not label:
                raise FieldError("label", t("error.required"))
            key = "".join(c if c.isalnum() else "_" for c in label.lower())[:40]
            return await self.session.team.custom_fields.create(
                key=key, label_text=label, type=v["type"] or "text", scope="person",
                section=v["section"].strip() or "Informations",
                options=[o.strip() for o in v["options"].split(",") if o.strip()])
        self._form(t("settings.new_field"), [
            Field("label", t("field.label"), wire=("labelText", "key")),
            Field("type", t("field.type"), kind="select",
                  options=[(x, x) for x in CUSTOM_FIELD_TYPES], value="text", wire=("type",)),
            Field("section", t("field.section"), value="Informations", wire=("section",)),
            Field("options", t("field.options"), placeholder="A, B, C", wire=("options",)),
        ], submit)


    def palette_commands(self) -> list[SystemCommand]:
        t = self.t
        return [SystemCommand(t("key.retention_dry_run"), t("palette.retention_dry_run"),
                              self.action_retention_dry_run),
                SystemCommand(t("key.retention_apply"), t("palette.retention_apply"),
                              self.action_retention_apply)]


def _table(wid: str, *columns: str) -> DataTable[Any]:
    table: DataTable[Any] = LiteralTable(id=wid, cursor_type="row", classes="settings-table")
    table.add_columns(*columns)
    return table


def qr_text(text: str) -> str:
    """The QR code of ``text`` drawn with half-block characters (two modules per cell row)."""
    out = io.StringIO()
    segno.make(text, error="m").terminal(out=out, compact=True, border=2)
    return out.getvalue().rstrip("\n")


class InvitationScreen(ModalScreen[None]):
    """An invitation code as text and as a QR code; Escape closes it."""

    BINDINGS = [Binding("escape", "dismiss", "key.close")]

    def __init__(self, code: str, relay: str) -> None:
        super().__init__(classes="form-screen")
        self.code = code
        self.relay = relay

    def compose(self) -> ComposeResult:
        t = self.app.t  # type: ignore[attr-defined]
        with Center(), VerticalScroll(classes="form invitation"):
            yield Static(t("invite.title"), classes="form-title")
            yield Static(plain(t("invite.explain", relay=self.relay or "—")))
            yield Static(plain(self.code), id="invite-code", classes="code")
            with Vertical(classes="qr"):
                yield Static(qr_text(self.code), id="invite-qr", markup=False)
            yield Static(t("invite.close"), classes="muted")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
