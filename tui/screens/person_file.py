"""A person's file: summary and custom fields, actions, comments, places, encounters and
passages, family, history, and the medical tab on health professionals' devices only."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static, TabbedContent, TabPane

from mano_core import sharing
from mano_core.errors import ManoError, NotFoundError
from mano_core.model.records import Comment, Person
from tui import format as fmt
from tui.erasure_view import consent_block, count_lines
from tui.navigation import EditPerson
from tui.text import LONG_CELL_LIMIT, cells, lines, plain, styled
from tui.widgets.confirm import ConfirmScreen
from tui.widgets.footer import TranslatedFooter
from tui.widgets.forms import Field, FormScreen
from tui.widgets.person_documents import PersonDocuments
from tui.widgets.sync_bar import SyncBar
from tui.widgets.table import LiteralTable

from .actions_common import (
    action_columns,
    action_row,
    fill_history,
    history_columns,
    open_action_form,
    set_status,
)
from .base import ManoScreen

TABS = ("summary", "actions", "comments", "places", "visits", "family", "history", "medical",
        "documents")


class PersonFileScreen(ManoScreen):
    """Opened from the persons list, the agenda or the urgent items; Escape goes back."""

    BINDINGS = [
        Binding("escape", "back", "key.back"),
        Binding("e", "edit", "key.edit"),
        Binding("a", "new_action", "key.new_action"),
        Binding("c", "new_comment", "key.new_comment"),
        Binding("d", "status('FAIT')", "key.done"),
        Binding("x", "status('ANNULEE')", "key.cancel_action", show=False),
        Binding("r", "status('A FAIRE')", "key.reopen", show=False),
        Binding("u", "toggle_urgent", "key.urgent_comment", show=False),
        Binding("E", "erase", "key.erase"),
        *[Binding(str(i + 1), f"tab('{name}')", f"key.tab_{name}", show=False)
          for i, name in enumerate(TABS)],
    ]

    AUTO_FOCUS = "Tabs"

    def __init__(self, person_id: str) -> None:
        super().__init__(classes="person-file")
        self.person_id = person_id

    @property
    def person(self) -> Person:
        return self.session.team.persons.get(self.person_id, include_deleted=True)

    def compose(self) -> ComposeResult:
        t = self.t
        yield Static("", id="file-title", classes="file-title")
        yield Static("", id="viewers", classes="viewers")
        with TabbedContent(id="tabs"):
            with TabPane(t("tab.summary"), id="tab-summary"):
                yield VerticalScroll(Static("", id="summary"))
            with TabPane(t("tab.actions"), id="tab-actions"):
                yield LiteralTable(id="actions", cursor_type="row", zebra_stripes=True)
            with TabPane(t("tab.comments"), id="tab-comments"):
                yield LiteralTable(id="comments", cursor_type="row", zebra_stripes=True)
            with TabPane(t("tab.places"), id="tab-places"):
                yield VerticalScroll(Static("", id="places"))
            with TabPane(t("tab.visits"), id="tab-visits"):
                yield LiteralTable(id="visits", cursor_type="row", zebra_stripes=True)
            with TabPane(t("tab.family"), id="tab-family"):
                yield VerticalScroll(Static("", id="family"))
            with TabPane(t("tab.history"), id="tab-history"):
                yield LiteralTable(id="history", cursor_type="row", zebra_stripes=True)
            if self.session.team.medical is not None:
                with TabPane(t("tab.medical"), id="tab-medical"):
                    yield VerticalScroll(Static("", id="medical"))
            with TabPane(t("tab.documents"), id="tab-documents"):
                yield PersonDocuments(self.person_id)  # its own widget, redrawn by itself
        yield SyncBar()
        yield TranslatedFooter()

    def on_mount(self) -> None:
        t = self.t
        self.query_one("#actions", DataTable).add_columns(*action_columns(self))
        self.query_one("#comments", DataTable).add_columns(
            t("col.date"), t("col.flags"), t("col.author"), t("col.text"))
        self.query_one("#visits", DataTable).add_columns(
            t("col.date"), t("col.kind"), t("col.subteam"), t("col.text"))
        self.query_one("#history", DataTable).add_columns(*history_columns(self))
        self.watch(self.app, "data_version", lambda _v: self.reload(), init=False)
        self.watch(self.app, "sync_version", lambda _v: self._viewers(), init=False)
        if self.session.sync is not None:
            self.session.sync.set_viewing(self.person_id)
        self.reload()
        self._viewers()

    def on_unmount(self) -> None:
        session = self.mano.session
        if session is not None and session.sync is not None:
            session.sync.set_viewing(None)

    def on_screen_resume(self) -> None:
        session = self.mano.session
        if session is not None and session.sync is not None:
            session.sync.set_viewing(self.person_id)

    # --- drawing --------------------------------------------------------------------------------

    def _viewers(self) -> None:
        sync = self.session.sync
        label = self.query_one("#viewers", Static)
        if sync is None:
            label.update("")
            return
        names = sorted({self.session.member_name(m.member, self.t)
                        for m in sync.state.viewing(self.person_id)})
        label.update(plain(self.t("file.also_open", names=", ".join(names))) if names else "")

    def reload(self) -> None:
        try:
            p = self.person
        except NotFoundError:
            self.app.pop_screen()
            return
        t = self.t
        flags = [fmt.flag(t, p.alertness, "flag.vulnerable"),
                 fmt.flag(t, p.out_of_active_list, "flag.out"),
                 fmt.flag(t, p.deleted, "flag.deleted")]
        aliases = f" ({', '.join(p.other_names)})" if p.other_names else ""
        self.query_one("#file-title", Static).update(
            styled((p.name, "bold"), aliases, "  ", "  ".join(f for f in flags if f)))
        self._summary(p)
        self._actions(p)
        self._comments(p)
        self._places(p)
        self._visits(p)
        self._family(p)
        self._history(p)
        if self.session.team.medical is not None:
            self._medical(p)

    def _summary(self, p: Person) -> None:
        t = self.t
        s = self.session
        out: list[str | Text] = [
            f"{t('field.gender')}: {fmt.value(p.gender)}",
            f"{t('field.birthdate')}: {fmt.value(p.birthdate)}",
            f"{t('field.phone')}: {fmt.value(p.phone)}   {t('field.email')}: {fmt.value(p.email)}",
            f"{t('field.wandering')}: {fmt.value(p.wandering_at)}   "
            f"{t('field.followed')}: {fmt.value(p.followed_since)}",
            f"{t('field.subteams')}: "
            f"{fmt.value([s.subteam_name(x) for x in p.assigned_teams])}",
        ]
        if p.out_of_active_list:
            out.append(f"{t('flag.out')}: {fmt.value(p.out_of_active_list_date)} — "
                       f"{fmt.value(p.out_of_active_list_reasons)}")
        if p.description:
            out += ["", f"{t('field.description')}:", p.description]
        sections: dict[str, list[str]] = {}
        for d in sorted(s.team.custom_fields.list(), key=lambda d: (d.label_text, d.key)):
            if d.scope != "person" or (d.health_only and s.team.medical is None):
                continue  # a health-only field's value never reaches a non-health device
            sections.setdefault(d.section, []).append(
                f"  {d.label_text}: {_full(p.custom_fields.get(d.key))}")
        for name, rows in sorted(sections.items()):
            out += ["", styled((name, "bold")), *rows]
        out += consent_block(s, t, p)
        self.query_one("#summary", Static).update(lines(out))

    def _actions(self, p: Person) -> None:
        table = self.query_one("#actions", DataTable)
        keep = _cursor_key(table)
        table.clear()
        for a in sorted(self.session.team.actions.of_person(p.id),
                        key=lambda a: (a.status != "A FAIRE", a.due_at)):
            table.add_row(*action_row(self, a), key=a.id)
        _restore(table, keep)

    def _comments(self, p: Person) -> None:
        t = self.t
        table = self.query_one("#comments", DataTable)
        keep = _cursor_key(table)
        table.clear()
        for c in self.session.team.comments.of_person(p.id):
            table.add_row(*cells(fmt.moment(c.date), fmt.flag(t, c.urgent, "flag.urgent"),
                                 self.session.member_name(c.created_by, t), c.text,
                                 last_limit=LONG_CELL_LIMIT), key=c.id)
        _restore(table, keep)

    def _places(self, p: Person) -> None:
        team = self.session.team
        names = []
        for link in team.person_places.filter(lambda x: x.person == p.id):
            try:
                names.append(team.places.get(link.place).name)
            except NotFoundError:
                continue
        self.query_one("#places", Static).update(
            lines(f"• {n}" for n in sorted(names)) if names else self.t("file.none"))

    def _visits(self, p: Person) -> None:
        t = self.t
        team = self.session.team
        rows: list[tuple[Any, ...]] = [
            (e.date, t("visit.encounter"), e.team, e.comment, e.id)
            for e in team.encounters.filter(lambda x: x.person == p.id)]
        rows += [(v.date, t("visit.passage"), v.team, v.comment, v.id)
                 for v in team.passages.filter(lambda x: x.person == p.id)]
        table = self.query_one("#visits", DataTable)
        table.clear()
        for when, kind, sub, text, rid in sorted(rows, key=lambda r: r[0], reverse=True):
            table.add_row(*cells(fmt.moment(when), kind, self.session.subteam_name(sub), text,
                                 last_limit=LONG_CELL_LIMIT), key=rid)

    def _family(self, p: Person) -> None:
        team = self.session.team
        found: list[str] = []
        for g in team.groups.filter(lambda g: p.id in g.persons):
            for relation in g.relations:
                a, _, rest = relation.partition("|")
                b, _, what = rest.partition("|")
                if p.id not in (a, b):
                    continue
                other = b if a == p.id else a
                try:
                    name = team.persons.get(other).name
                except NotFoundError:
                    continue
                found.append(f"• {name} — {what}")
            if not g.relations:
                found += [f"• {team.persons.get(o).name}" for o in g.persons if o != p.id]
        self.query_one("#family", Static).update(lines(found) if found else self.t("file.none"))

    def _history(self, p: Person) -> None:
        fill_history(self, self.query_one("#history", DataTable), p.id)

    def _medical(self, p: Person) -> None:
        t = self.t
        medical = self.session.team.medical
        assert medical is not None
        me = self.session.member
        out: list[str | Text] = [styled((t("medical.file"), "bold"))]
        for f in medical.medical_files.filter(lambda f: f.person == p.id):
            out += [f"  {k}: {_full(v)}" for k, v in f.custom_fields.items()]
        out += ["", styled((t("medical.consultations"), "bold"))]
        for c in sorted(medical.consultations.filter(
                lambda c: c.person == p.id and (not c.only_visible_by or me in c.only_visible_by)),
                key=lambda c: c.due_at, reverse=True):
            out.append(f"  {fmt.moment(c.due_at)}  {fmt.status(t, c.status)}  "
                       f"{c.type} {c.name}")
        out += ["", styled((t("medical.treatments"), "bold"))]
        for tr in medical.treatments.filter(lambda x: x.person == p.id):
            out.append(f"  {tr.name} {tr.dosage} {tr.frequency} "
                       f"({fmt.value(tr.start_date)} → {fmt.value(tr.end_date)})")
        self.query_one("#medical", Static).update(lines(out))

    # --- actions --------------------------------------------------------------------------------

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_tab(self, name: str) -> None:
        if self.query(f"#tab-{name}"):
            self.query_one(TabbedContent).active = f"tab-{name}"

    def action_edit(self) -> None:
        self.post_message(EditPerson(self.person_id))

    def action_new_action(self) -> None:
        open_action_form(self, person=self.person)

    def action_new_comment(self) -> None:
        t = self.t
        team = self.session.team

        async def submit(v: dict[str, Any]) -> Comment:
            return await team.comments.create(text=v["text"].strip(), person=self.person_id,
                                              date=self.mano.now(), urgent=v["urgent"],
                                              team=self.session.subteam)

        self.app.push_screen(FormScreen(
            t("comments.new", name=self.person.name),
            [Field("text", t("field.comment"), kind="area", wire=("text",)),
             Field("urgent", t("field.urgent"), kind="check", wire=("urgent",))],
            submit, save_label=t("form.save"), cancel_label=t("form.cancel"),
            field_error=lambda f, m: t("form.field_error", field=f, message=m)),
            lambda c: self.mano.say(t("comments.saved")) if c is not None else None)

    @work(group="write")
    async def action_status(self, status: str) -> None:
        self.action_tab("actions")
        await set_status(self, _cursor_key(self.query_one("#actions", DataTable)), status)

    @work(group="write")
    async def action_toggle_urgent(self) -> None:
        self.action_tab("comments")
        key = _cursor_key(self.query_one("#comments", DataTable))
        if not key:
            return
        comments = self.session.team.comments
        try:
            c = await comments.update(key, urgent=not comments.get(key).urgent)
        except ManoError as exc:
            self.mano.say(self.mano.error_text(exc), error=True)
            return

        async def undo() -> None:
            await comments.update(key, urgent=not c.urgent)

        self.mano.offer_undo(
            self.t("comments.urgent_on" if c.urgent else "comments.urgent_off"), undo)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "erase":  # admins only: hidden from the footer elsewhere
            return self.mano.session is not None and self.session.team.erasures.can_order(
                [self.person_id], "request")
        return True

    @work(group="write", exclusive=True)
    async def action_erase(self) -> None:
        """Erase the person for good, after a confirmation showing what goes."""
        t = self.t
        team = self.session.team
        try:
            person = self.person
        except NotFoundError:
            return
        if not team.erasures.can_order([person.id], "request"):
            self.mano.say(t("erase.forbidden"), error=True)
            return
        counts = team.erasures.preview([person.id])
        # Copies shared into joint teams are erased first (the partners must erase them too).
        device = self.session.device
        held = {info.id for info in await device.teams()}
        shared = sharing.shared_consents(team, person.id)
        joints = {c.joint_team: await device.open_team(c.joint_team)
                  for c in shared if c.joint_team in held}
        notes = [t("erase.shared" if c.joint_team in joints else "erase.shared_missing",
                   partner=c.partner_organisation) for c in shared]
        confirmed = await self.app.push_screen_wait(ConfirmScreen(
            t("erase.title", name=person.name),
            [t("erase.counts"), *count_lines(t, counts), *notes, "", t("erase.irreversible")],
            confirm_label=t("erase.confirm"), cancel_label=t("erase.cancel")))
        if not confirmed:
            return
        try:
            await sharing.erase_person(team, person.id, joints=joints)
        except ManoError as exc:
            self.mano.say(self.mano.error_text(exc), error=True)
            return
        self.mano.say(t("erase.done", name=person.name))
        if self.is_current:
            self.app.pop_screen()  # back to the list the file was opened from

    def palette_commands(self) -> list[SystemCommand]:
        t = self.t
        return [SystemCommand(t("key.new_comment"), t("palette.new_comment"),
                              self.action_new_comment),
                SystemCommand(t("key.new_action"), t("palette.new_action"),
                              self.action_new_action),
                SystemCommand(t("key.edit"), t("palette.edit_person"), self.action_edit),
                *([SystemCommand(t("key.erase"), t("palette.erase"), self.action_erase)]
                  if self.check_action("erase", ()) else [])]


def _full(value: object) -> str:
    """A field's value in full (the file is where long texts are read whole)."""
    if isinstance(value, str):
        return value or "—"
    return fmt.value(value)


def _cursor_key(table: DataTable[Any]) -> str | None:
    if table.row_count == 0:
        return None
    try:
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
    except Exception:  # noqa: BLE001
        return None
    return str(key.value) if key.value is not None else None


def _restore(table: DataTable[Any], key: str | None) -> None:
    if key is not None and key in table.rows:
        table.move_cursor(row=table.get_row_index(key))
