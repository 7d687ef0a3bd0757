"""The day's report of the current sub-team: the shared text, the partners' collaborations,
service counters anyone can increment (increments from several devices add up), and the
day's items (actions, comments, passages, encounters, observations, consultations).

Typed text is never lost: the text shown is compared with what was last read from the team;
while they differ, a teammate's change does not overwrite it, and changing day, sub-team,
language or quitting asks first (save, drop, or stay)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Label, Static, TextArea

from mano_core.errors import ManoError
from mano_core.reporting import daily
from tui import format as fmt
from tui.session import PREFS
from tui.text import LONG_CELL_LIMIT, cell, cells, plain
from tui.widgets.choice import UnsavedScreen
from tui.widgets.forms import Field, FieldError, FormScreen, LiteralTextArea
from tui.widgets.table import LiteralTable

from .base import SectionScreen
from tui.day_items import day_items
from tui.widgets.select import Select


DRAFT_KEY = "report.draft"   # device-local (encrypted at rest): the text not saved yet
DRAFT_DELAY = 1.0            # seconds after the last key before the draft is kept


class ReportScreen(SectionScreen):
    section = "report"
    BINDINGS = [
        Binding("plus,equals_sign", "count(1)", "key.increment"),
        Binding("minus", "count(-1)", "key.decrement"),
        Binding("ctrl+s", "save_text", "key.save_text"),
        Binding("ctrl+o", "add_collaboration", "key.add_collaboration"),
        Binding("ctrl+k", "remove_collaboration", "key.remove_collaboration", show=False),
        Binding("less_than_sign,comma", "move(-1)", "key.previous", show=False),
        Binding("greater_than_sign,full_stop", "move(1)", "key.next", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.day = fmt.local(self.mano.now()).date()
        # The (sub-team, day) whose text the editor holds; what the team's report said when
        # it was last put in the editor; and the editor's text that counts as saved.
        self._shown: tuple[str, dt.date] | None = None
        self._loaded = ""
        self._baseline = ""
        self._reverting = False
        self._draft_timer: Any = None
        self._draft_checked = False

    def compose(self) -> ComposeResult:
        return self.framed(self.compose_body())

    def compose_body(self) -> ComposeResult:
        t = self.t
        with Horizontal(classes="filters", id="report-bar"):   # the title wraps at 80
            yield Select(compact=True, options=[(cell(s.name), s.id)
                                                for s in self.session.subteams()],
                         value=self.session.subteam or Select.NULL, id="subteam",
                         prompt=t("field.subteam"))
            yield Static("", id="report-title", classes="section-title")
        with Horizontal(id="report-top"):
            with Vertical(id="report-left"):
                yield Label(t("report.services"), classes="table-title")
                services: DataTable[Any] = LiteralTable(id="services", cursor_type="row")
                services.add_columns(t("col.service"), t("col.count"))
                yield services
                yield Static("", id="collaborations")
            with Vertical(id="report-right"):
                yield Label(t("report.text"), classes="table-title")
                yield LiteralTextArea(id="description")
                yield Static("", id="text-state")
        yield Static("", id="items-title", classes="table-title")
        items: DataTable[Any] = LiteralTable(id="day-items", cursor_type="row",
                                             zebra_stripes=True)
        items.add_columns(t("col.time"), t("col.kind"), t("col.person"), t("col.text"))
        yield items

    def on_mount(self) -> None:   # then SectionScreen's Mount handler
        self.mano.unsaved_guards.append(self)

    def on_unmount(self) -> None:
        if self in self.mano.unsaved_guards:
            self.mano.unsaved_guards.remove(self)

    def _subteam(self) -> str | None:
        value = self.query_one("#subteam", Select).value
        return None if value is Select.NULL else str(value)

    # --- unsaved text -----------------------------------------------------------------------

    def has_unsaved(self) -> bool:
        """True when the editor holds text that is not the team's report text."""
        return (self._shown is not None
                and self.query_one("#description", TextArea).text != self._baseline)

    async def settle_unsaved(self, *, ask: bool = True) -> bool:
        """Ask what to do with the unsaved text (run in a worker): save it, drop it (True:
        the caller may go on), or stay (False). Shows this screen first, so that the person
        sees which text is meant. ``ask=False`` (the idle lock): the text is kept as a
        draft on this device now, still unsaved in the editor (True)."""
        if not self.has_unsaved():
            return True
        if not ask:
            await self._write_draft()
            return True
        if self.mano.current_mode != "report":
            await self.mano.switch_mode("report")
        t = self.t
        assert self._shown is not None
        sub, day = self._shown
        choice = await self.app.push_screen_wait(UnsavedScreen(
            t("report.unsaved_title"),
            [t("report.unsaved_body", team=self.session.subteam_name(sub), day=fmt.day(day))],
            save_label=t("report.unsaved_save"), discard_label=t("report.unsaved_discard"),
            stay_label=t("report.unsaved_stay")))
        if choice == "save":
            return await self._save(sub, day)
        if choice == "discard":
            self._baseline = self._loaded
            self.query_one("#description", TextArea).text = self._loaded
            self._show_state()
            await self._write_draft()
            return True
        self.query_one("#description", TextArea).focus()
        return False

    async def _save(self, sub: str, day: dt.date) -> bool:
        text = self.query_one("#description", TextArea).text
        try:
            rep = await daily.set_description(self.session.team, sub, day, text)
        except ManoError as exc:
            self.mano.say(self.mano.error_text(exc), error=True)
            return False
        if self._shown == (sub, day):
            self._baseline, self._loaded = text, rep.description
            self._show_state()
        await self._write_draft()
        self.mano.say(self.t("report.saved"))
        return True

    def _show_state(self, *, changed_meanwhile: bool = False) -> None:
        t = self.t
        state = self.query_one("#text-state", Static)
        if not self.has_unsaved():
            state.update(t("report.text_saved") if self._baseline else "")
        elif changed_meanwhile:
            state.update(plain("⚠ " + t("report.text_changed_meanwhile")))
        else:
            state.update(plain("✎ " + t("report.text_unsaved")))

    @on(TextArea.Changed, "#description")
    def _typed(self) -> None:
        self._show_state()
        if self._draft_timer is not None:
            self._draft_timer.stop()
        self._draft_timer = self.set_timer(DRAFT_DELAY, self._keep_draft)

    def _keep_draft(self) -> None:
        self._draft_timer = None
        self.run_worker(self._write_draft(), group="draft", exclusive=True)

    async def _write_draft(self) -> None:
        """Keep the unsaved text on this device (a lock, a crash or a closed terminal must
        not cost it); forgotten once saved or dropped."""
        store = self.session.device.store
        if self.has_unsaved() and self._shown is not None:
            sub, day = self._shown
            draft = {"subteam": sub, "day": day.isoformat(),
                     "text": self.query_one("#description", TextArea).text}
            await store.put(PREFS, DRAFT_KEY, json.dumps(draft).encode())
        else:
            await store.delete(PREFS, DRAFT_KEY)

    async def _restore_draft(self) -> None:
        """A draft left by an earlier session: shown on its report, marked unsaved."""
        raw = await self.session.device.store.get(PREFS, DRAFT_KEY)
        if not raw:
            return
        try:
            draft = json.loads(raw)
            sub, day, text = draft["subteam"], dt.date.fromisoformat(draft["day"]), draft["text"]
        except (ValueError, KeyError, TypeError):
            return
        if not isinstance(text, str) or sub not in {s.id for s in self.session.subteams()}:
            return
        if self.has_unsaved():
            return   # something typed meanwhile stays
        if (sub, day) != self._shown:
            self.day = day
            self._reverting = self._subteam() != sub
            self.query_one("#subteam", Select).value = sub
            self.session.subteam = sub
            self.reload()
        if text != self._loaded:
            self.query_one("#description", TextArea).text = text
            self._show_state()
            self.mano.say(self.t("report.draft_restored", day=fmt.day(day)))

    # --- drawing ----------------------------------------------------------------------------

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
            count = rep.services.get(name, 0) if rep else 0
            table.add_row(*cells(name, fmt.number(count, t.lang)), key=name)
        if table.row_count:
            table.move_cursor(row=min(keep, table.row_count - 1))
        self._fill_text(sub, rep.description if rep else "")
        collaborations = rep.collaborations if rep else ()
        self.query_one("#collaborations", Static).update(plain(
            f"{t('report.collaborations')} : "
            + (", ".join(collaborations) if collaborations else "—")))
        self._fill_items(sub)
        if not self._draft_checked:
            self._draft_checked = True
            self.run_worker(self._restore_draft(), group="draft")

    def _fill_text(self, sub: str, text: str) -> None:
        area = self.query_one("#description", TextArea)
        where = (sub, self.day)
        if self._shown != where:
            # another report: only reached once the unsaved text was settled
            self._shown, self._loaded, self._baseline = where, text, text
            area.text = text
            self._show_state()
            return
        if text == self._loaded:
            return
        self._loaded = text
        if self.has_unsaved():
            self._show_state(changed_meanwhile=True)   # keep what is being typed
        else:
            self._baseline = text
            area.text = text
            self._show_state()

    def _fill_items(self, sub: str) -> None:
        t = self.t
        found = day_items(self.session.team, sub, self.day, t, self.session.member)
        table = self.query_one("#day-items", DataTable)
        table.clear()
        for item in found:
            table.add_row(*cells(f"{fmt.local(item.at):%H:%M}", t(f"report.item.{item.kind}"),
                                 item.person, item.text, last_limit=LONG_CELL_LIMIT),
                          key=item.key)
        counts: dict[str, int] = {}
        for item in found:
            counts[item.kind] = counts.get(item.kind, 0) + 1
        summary = ", ".join(t(f"report.count.{k}", count=n) for k, n in counts.items())
        self.query_one("#items-title", Static).update(plain(
            t("report.items", count=len(found)) + (f" — {summary}" if summary else "")))

    # --- moving -----------------------------------------------------------------------------

    @on(Select.Changed, "#subteam")
    def _subteam_changed(self) -> None:
        if self._reverting:
            self._reverting = False
            return
        if self.has_unsaved():
            self._ask_then(self._apply_subteam, revert=True)
        else:
            self._apply_subteam()

    def _apply_subteam(self) -> None:
        self.session.subteam = self._subteam()
        self.reload()

    def action_move(self, delta: int) -> None:
        def move() -> None:
            self.day += dt.timedelta(days=delta)
            self.reload()
        if self.has_unsaved():
            self._ask_then(move)
        else:
            move()

    @work(group="unsaved", exclusive=True)
    async def _ask_then(self, go: Any, *, revert: bool = False) -> None:
        if await self.settle_unsaved():
            go()
        elif revert and self._shown is not None:
            self._reverting = True
            self.query_one("#subteam", Select).value = self._shown[0]

    # --- writing ----------------------------------------------------------------------------

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
            self.mano.say(self.mano.error_text(exc), error=True)

    @work(group="write")
    async def action_save_text(self) -> None:
        if self._shown is not None:
            await self._save(*self._shown)

    def action_add_collaboration(self) -> None:
        t = self.t
        sub = self._subteam()
        if sub is None:
            return
        team = self.session.team
        day = self.day
        rep = daily.get(team, sub, day)
        already = set(rep.collaborations) if rep else set()
        listed = [c for c in team.settings.values("collaborations") if c not in already]
        fields = [Field("partner", t("report.field_partner"), kind="select",
                        options=[(c, c) for c in sorted(listed)], wire=("collaborations",)),
                  Field("other", t("report.field_other_partner"), wire=())]

        async def submit(v: dict[str, Any]) -> str:
            other = str(v["other"] or "").strip()
            partner = other or v["partner"]
            if not partner:
                raise FieldError("partner", t("error.required"))
            await daily.add_collaboration(team, sub, day, partner, add_to_list=bool(other))
            return str(partner)

        self.app.push_screen(FormScreen(
            t("report.add_collaboration"), fields, submit, save_label=t("form.save"),
            cancel_label=t("form.cancel"),
            field_error=lambda f, m: t("form.field_error", field=f, message=m)),
            lambda r: self.mano.say(t("report.collaboration_added", name=r))
            if r is not None else None)

    def action_remove_collaboration(self) -> None:
        t = self.t
        sub = self._subteam()
        if sub is None:
            return
        team = self.session.team
        day = self.day
        rep = daily.get(team, sub, day)
        if rep is None or not rep.collaborations:
            return
        fields = [Field("partner", t("report.field_partner"), kind="select",
                        options=[(c, c) for c in rep.collaborations],
                        wire=("collaborations",))]

        async def submit(v: dict[str, Any]) -> str:
            if not v["partner"]:
                raise FieldError("partner", t("error.required"))
            await daily.remove_collaboration(team, sub, day, v["partner"])
            return str(v["partner"])

        self.app.push_screen(FormScreen(
            t("report.remove_collaboration"), fields, submit, save_label=t("report.remove_button"),
            cancel_label=t("form.cancel"),
            field_error=lambda f, m: t("form.field_error", field=f, message=m)))
