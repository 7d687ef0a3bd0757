"""Members and their devices (admins): invite with a role and the health flag, name a member,
change a role, remove a member, revoke one lost device. Every change is a signed entry of the
membership log (``SyncClient.change_role`` / ``remove_device``), enforced by every device."""

from __future__ import annotations

from typing import Any

import segno
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from mano_core.crypto.log_entry import DeviceState, Role
from mano_core.sync.state import Status
from tui.session import MEMBER_NAMES_KEY
from tui.text import plain
from tui.widgets.forms import Field, FieldError

from .pane import SettingsPane, table

ROLES = ("admin", "normal", "restricted")
INVITE_DAYS = (1, 7, 30)          # how long an invitation code may be redeemed


class MembersPane(SettingsPane):
    """One row per active device: its member's name, role, health flag, whether it is this
    device and whether it is online now."""

    BINDINGS = [
        Binding("i", "invite", "key.invite"),
        Binding("e", "change_role", "key.change_role"),
        Binding("n", "rename_member", "key.rename_member"),
        Binding("d", "revoke_device", "key.revoke_device"),
        Binding("x", "remove_member", "key.remove_member"),
    ]

    def compose(self) -> ComposeResult:
        t = self.t
        yield Static("", id="members-status", classes="muted")
        yield table("members", t("col.member"), t("col.role"), t("col.health"),
                    t("col.device"), t("col.presence"))

    def membership(self) -> Any:
        """The team's membership log (held even without a relay), or None."""
        keys = self.session.team.keys
        return getattr(keys, "log", None)

    def devices(self) -> list[DeviceState]:
        log = self.membership()
        if log is None:
            return []
        return sorted(log.active_devices(),
                      key=lambda d: (self.session.member_name(d.member, self.t), d.device_id))

    def reload(self) -> None:
        t = self.t
        s = self.session
        sync = s.sync
        status = self.query_one("#members-status", Static)
        keys = s.team.keys
        me = keys.identity.device_id if keys is not None else b""
        online = {m.device for m in sync.state.online_teammates()} if sync else set()
        here_online = sync is not None and sync.state.status is Status.ONLINE
        devices = self.devices()
        self.refill("members", [(d.device_id.hex(), (
            s.member_name(d.member, t), t(f"role.{d.role.value}"),
            t("yes") if d.health else t("no"),
            d.device_id.hex()[:8] + (" " + t("members.this_device") if d.device_id == me
                                     else ""),
            t("members.online") if (d.device_id == me and here_online)
            or d.device_id in online else "—")) for d in devices])
        status.update(" ".join([
            t("members.count", count=len({d.member for d in devices})),
            *([] if s.team.role is Role.ADMIN else [t("members.admins_only")]),
            *([t("members.local_only")] if sync is None else [])]))

    def _selected(self) -> DeviceState | None:
        key = self.current_key("members")
        log = self.membership()
        if key is None or log is None:
            return None
        return log.device(bytes.fromhex(key))  # type: ignore[no-any-return]

    def _admin(self) -> bool:
        if self.session.sync is None:
            self.mano.say(self.t("members.local_only"), error=True)
            return False
        if self.session.team.role is not Role.ADMIN:
            self.mano.say(self.t("members.admins_only"), error=True)
            return False
        return True

    # --- invite ---------------------------------------------------------------------------------

    def action_invite(self) -> None:
        if not self._admin():
            return
        t = self.t
        sync = self.session.sync
        assert sync is not None

        async def submit(v: dict[str, Any]) -> tuple[str, str, int]:
            role = v["role"] or "normal"
            if v["health"] and role == "restricted":
                raise FieldError("health", t("members.health_restricted"))
            days = int(v["days"] or 7)
            code = await sync.create_invitation(role=role, health=bool(v["health"]),
                                                ttl_seconds=days * 24 * 3600)
            who = t(f"role.{role}")
            return code, t("invite.health", role=who) if v["health"] else who, days

        def done(made: tuple[str, str, int] | None) -> None:
            if made is not None:
                code, who, days = made
                self.app.push_screen(InvitationScreen(code, self.session.relay or "",
                                                      who=who, days=days))
        self.form(t("invite.new_title"), [
            Field("role", t("field.role"), kind="select",
                  options=[(t(f"role.{r}"), r) for r in ROLES], value="normal"),
            Field("health", t("field.health_member"), kind="check", value=False),
            Field("days", t("field.invite_days"), kind="select",
                  options=[(t("invite.days", count=n), n) for n in INVITE_DAYS], value=7),
        ], submit, done)

    # --- role, name -----------------------------------------------------------------------------

    def action_change_role(self) -> None:
        device = self._selected()
        if device is None or not self._admin():
            return
        t = self.t
        sync = self.session.sync
        assert sync is not None
        name = self.session.member_name(device.member, t)
        mates = [d for d in sync.keys.log.active_devices() if d.member == device.member]

        async def submit(v: dict[str, Any]) -> bool:
            role, health = v["role"] or device.role.value, bool(v["health"])
            if health and role == "restricted":
                raise FieldError("health", t("members.health_restricted"))
            others = [d for d in sync.keys.log.active_devices()
                      if d.role is Role.ADMIN and d.member != device.member]
            if role != "admin" and not others:
                raise FieldError("role", t("members.last_admin"))
            for d in mates:  # a member's role is their devices' role
                if (d.role.value, d.health) != (role, health):
                    await sync.change_role(d.device_id, role=role, health=health)
            return True

        self.form(t("members.role_title", name=name), [
            Field("role", t("field.role"), kind="select",
                  options=[(t(f"role.{r}"), r) for r in ROLES], value=device.role.value),
            Field("health", t("field.health_member"), kind="check", value=device.health),
        ], submit, lambda ok: self.mano.say(t("members.role_changed", name=name))
                  if ok else None)

    def action_rename_member(self) -> None:
        device = self._selected()
        if device is None:
            return
        t = self.t
        team = self.session.team
        if team.role is not Role.ADMIN and device.member != team.info.member:
            self.mano.say(t("members.admins_only"), error=True)
            return
        current = team.settings.get(MEMBER_NAMES_KEY + device.member) or ""

        async def submit(v: dict[str, Any]) -> str:
            name = str(v["name"]).strip()
            if not name:
                raise FieldError("name", t("error.required"))
            await team.settings.set(MEMBER_NAMES_KEY + device.member, name)
            return name
        self.form(t("members.rename_title"), [Field("name", t("field.name"), value=current)],
                  submit)

    # --- removal --------------------------------------------------------------------------------

    @work(group="write", exclusive=True)
    async def action_revoke_device(self) -> None:
        device = self._selected()
        if device is None or not self._admin():
            return
        t = self.t
        sync = self.session.sync
        assert sync is not None
        if device.device_id == sync.keys.identity.device_id:
            self.mano.say(t("members.not_yourself"), error=True)
            return
        name = self.session.member_name(device.member, t)
        if not await self.confirm(t("members.revoke_title", name=name), [
                t("members.revoke_device", device=device.device_id.hex()[:8]),
                t("members.revoke_effect")], t("members.revoke")):
            return
        await self.attempt(sync.remove_device(device.device_id),
                           t("members.revoked", name=name))

    @work(group="write", exclusive=True)
    async def action_remove_member(self) -> None:
        device = self._selected()
        if device is None or not self._admin():
            return
        t = self.t
        sync = self.session.sync
        assert sync is not None
        if device.member == self.session.member:
            self.mano.say(t("members.not_yourself"), error=True)
            return
        name = self.session.member_name(device.member, t)
        devices = [d for d in sync.keys.log.active_devices() if d.member == device.member]
        if not await self.confirm(t("members.remove_title", name=name), [
                t("members.remove_devices", count=len(devices)),
                t("members.revoke_effect")], t("members.remove")):
            return

        async def remove_all() -> None:
            for d in devices:
                await sync.remove_device(d.device_id)
        await self.attempt(remove_all(), t("members.removed", name=name))


def qr_text(text: str) -> str:
    """The QR code of ``text`` in half-block characters (two modules per text row), dark
    modules drawn as blocks on a light background, with the quiet zone the standard asks."""
    qr = segno.make(text, error="m")
    border = 2
    rows = [[False] * border + [bool(v) for v in row] + [False] * border for row in qr.matrix]
    width = len(rows[0])
    rows = [[False] * width] * border + rows + [[False] * width] * border
    if len(rows) % 2:
        rows.append([False] * width)
    chars = {(False, False): " ", (True, False): "▀", (False, True): "▄", (True, True): "█"}
    return "\n".join("".join(chars[(top[i], bottom[i])] for i in range(width))
                     for top, bottom in zip(rows[::2], rows[1::2], strict=True))


class InvitationScreen(ModalScreen[None]):
    """An invitation code as text and as a QR code; Escape closes it."""

    BINDINGS = [Binding("escape", "dismiss", "key.close")]

    def __init__(self, code: str, relay: str, *, who: str = "", days: int = 7) -> None:
        super().__init__(classes="form-screen")
        self.code = code
        self.relay = relay
        self.who = who
        self.days = days

    def compose(self) -> ComposeResult:
        t = self.app.t  # type: ignore[attr-defined]
        with Center(), VerticalScroll(classes="form invitation"):
            yield Static(t("invite.title"), classes="form-title")
            yield Static(plain(t("invite.explain", relay=self.relay or "—", role=self.who or "—",
                                 days=t("invite.days", count=self.days))), id="invite-explain")
            yield Static(plain(self.code), id="invite-code", classes="code")
            yield Static(qr_text(self.code), id="invite-qr", classes="qr", markup=False)
            yield Static(t("invite.close"), classes="muted")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
