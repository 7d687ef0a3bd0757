"""Settings: language, current sub-team, sub-teams, members and roles, invitations (text and
QR code), action categories, custom fields."""

from __future__ import annotations

import io
from typing import Any

import segno
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label, Select, Static

from mano_core.errors import ManoError
from mano_core.model.records import CUSTOM_FIELD_TYPES, CustomFieldDefinition, SubTeam
from tui.session import save_pref
from tui.widgets.forms import Field, FieldError, FormScreen

from .base import SectionScreen, translate_bindings


class SettingsScreen(SectionScreen):
    section = "settings"
    BINDINGS = [
        Binding("i", "invite", "key.invite"),
        Binding("s", "new_subteam", "key.new_subteam"),
        Binding("c", "new_category", "key.new_category"),
        Binding("f", "new_field", "key.new_field"),
    ]

    def compose_body(self) -> ComposeResult:
        t = self.t
        with VerticalScroll(classes="settings"):
            with Horizontal(classes="filters"):
                yield Label(t("settings.language"))
                yield Select(compact=True, options=[("Français", "fr"), ("English", "en")], value=t.lang,
                             allow_blank=False, id="lang")
                yield Label(t("settings.current_subteam"))
                yield Select(compact=True, options=[(s.name, s.id) for s in self.session.subteams()],
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
            ", ".join(sorted(team.settings.values("actionCategories"))) or "—")
        fields = self.query_one("#fields", DataTable)
        fields.clear()
        for d in sorted(team.custom_fields.list(), key=lambda d: (d.scope, d.section)):
            fields.add_row(d.label_text, d.type, d.section, d.scope, key=d.id)

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
            name = v["name"].strip()
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


def _table(wid: str, *columns: str) -> DataTable[Any]:
    table: DataTable[Any] = DataTable(id=wid, cursor_type="row", classes="settings-table")
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
            yield Static(t("invite.explain", relay=self.relay or "—"))
            yield Static(self.code, id="invite-code", classes="code")
            with Vertical(classes="qr"):
                yield Static(qr_text(self.code), id="invite-qr", markup=False)
            yield Static(t("invite.close"), classes="muted")

    def on_mount(self) -> None:
        translate_bindings(self, self.app.t)  # type: ignore[attr-defined]

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
