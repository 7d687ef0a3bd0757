"""Actions as rows, the action form, marking done or cancelled (agenda and person file), the
action detail, and a record's verified field history (person file and action detail)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from mano_core import audit
from mano_core.audit import AuditStatus
from mano_core.errors import ManoError, NotFoundError
from mano_core.model.records import Action, Person
from tui import format as fmt
from tui.text import LONG_CELL_LIMIT, cell, cells, lines, styled
from tui.widgets.footer import TranslatedFooter
from tui.widgets.forms import Field, FieldError, FormScreen
from tui.widgets.sync_bar import SyncBar
from tui.widgets.table import LiteralTable

from .base import ManoScreen

AUDIT_MARKS = {AuditStatus.VERIFIED: "audit.verified", AuditStatus.UNSIGNED: "audit.unsigned",
               AuditStatus.FORGED: "audit.forged",
               AuditStatus.UNKNOWN_DEVICE: "audit.unknown_device"}


def action_columns(screen: ManoScreen) -> list[str]:
    t = screen.t
    return [t("col.due"), t("col.status"), t("col.action"), t("col.person"), t("col.flags"),
            t("col.categories")]


def action_row(screen: ManoScreen, a: Action) -> tuple[Text, ...]:
    t = screen.t
    persons = screen.session.team.persons
    names = []
    for pid in a.persons[:2]:
        try:
            names.append(persons.get(pid).name)
        except KeyError:
            continue
    today = fmt.local(screen.mano.now()).date()
    return cells(fmt.due(a, today), fmt.status(t, a.status), a.name, ", ".join(names),
                 fmt.flag(t, a.urgent, "flag.urgent"), ", ".join(a.categories))


async def set_status(screen: ManoScreen, action_id: str | None, status: str) -> None:
    """Mark the action done/cancelled/to do at once, and say so with how to take it back
    (Ctrl+Z for a few seconds: a key typed by mistake must not cost an action)."""
    if not action_id:
        return
    t = screen.t
    actions = screen.session.team.actions
    try:
        before = actions.get(action_id)
        if before.status == status:
            return
        a = await _apply_status(actions, action_id, status, screen.mano.now())
    except ManoError as exc:
        screen.mano.say(str(exc), error=True)
        return

    async def undo() -> None:
        await _apply_status(actions, action_id, before.status, before.completed_at)

    screen.mano.offer_undo(
        t("actions.status_set", name=a.name, status=fmt.status(t, a.status)), undo)


async def _apply_status(actions: Any, action_id: str, status: str,
                        at: dt.datetime | None) -> Action:
    if status == "FAIT":
        return await actions.mark_done(action_id, at=at)  # type: ignore[no-any-return]
    if status == "ANNULEE":
        return await actions.mark_cancelled(action_id, at=at)  # type: ignore[no-any-return]
    return await actions.reopen(action_id)  # type: ignore[no-any-return]


def _resolve_person(screen: ManoScreen, text: str) -> list[str]:
    text = text.strip()
    if not text:
        return []
    from tui.people_index import ALL, PersonQuery
    found = screen.mano.persons_index.query(PersonQuery(text=text, status=ALL))
    exact = [p for p in found if p.name.casefold() == text.casefold()]
    if len(exact) == 1 or len(found) == 1:
        return [(exact or found)[0].id]
    t = screen.t
    if not found:
        raise FieldError("person", t("error.no_person", text=text))
    raise FieldError("person", t("error.several_persons", count=len(found),
                                 names=", ".join(p.name for p in found[:4])))


def open_action_form(screen: ManoScreen, person: Person | None = None,
                     day: dt.date | None = None) -> None:
    """The new-action form; ``person`` links it (else a name is typed and looked up)."""
    t = screen.t
    session = screen.session
    team = session.team
    categories = team.settings.values("actionCategories")
    today = fmt.local(screen.mano.now()).date()
    fields = [
        Field("name", t("field.action_name"), wire=("name",)),
        Field("person", t("field.person"), value=person.name if person else "",
              placeholder=t("field.person_hint"), wire=("persons",)),
        Field("due", t("field.due_day"), value=fmt.day(day or today),
              placeholder=t("field.date_hint"), wire=("dueAt",)),
        Field("time", t("field.time"), placeholder="14:30", wire=("withTime",)),
        Field("category", t("field.category"), kind="select",
              options=[(c, c) for c in sorted(categories)], wire=("categories",)),
        Field("subteam", t("field.subteam"), kind="select",
              options=[(s.name, s.id) for s in session.subteams()], value=session.subteam,
              wire=("teams",)),
        Field("urgent", t("field.urgent"), kind="check", wire=("urgent",)),
        Field("description", t("field.description"), kind="area", wire=("description",)),
    ]

    async def submit(v: dict[str, Any]) -> Action:
        try:
            due_day = fmt.parse_day(v["due"])
        except ValueError:
            raise FieldError("due", t("error.date")) from None
        try:
            at = fmt.parse_time(v["time"])
        except ValueError:
            raise FieldError("time", t("error.time")) from None
        persons = ([person.id] if person is not None and v["person"].strip() == person.name
                   else _resolve_person(screen, v["person"]))
        due_at = dt.datetime.combine(due_day, at or dt.time(12), tzinfo=fmt.PARIS)
        return await team.actions.create(
            name=v["name"].strip(), persons=persons, due_at=due_at.astimezone(dt.UTC),
            with_time=at is not None, categories=[v["category"]] if v["category"] else [],
            teams=[v["subteam"]] if v["subteam"] else [], urgent=v["urgent"],
            description=v["description"])

    def done(result: Action | None) -> None:
        if result is not None:
            screen.mano.say(t("actions.created", name=result.name))

    screen.app.push_screen(
        FormScreen(t("actions.new"), fields, submit, save_label=t("form.save"),
                   cancel_label=t("form.cancel"),
                   field_error=lambda f, m: t("form.field_error", field=f, message=m)), done)


# --- verified field history ---------------------------------------------------------------------


def history_columns(screen: ManoScreen) -> list[str]:
    t = screen.t
    return [t("col.date"), t("col.author"), t("col.field"), t("col.change"), t("col.audit")]


def fill_history(screen: ManoScreen, table: DataTable[Any], record_id: str) -> None:
    """The record's history, newest first: when, who, field, old → new, and whether the
    writer's signature holds (``mano_core.audit``; verified once per entry, then cached)."""
    t = screen.t
    session = screen.session
    table.clear()
    for line in reversed(audit.trail(session.team, record_id)):
        # who the log says signed it when the signature holds; else who the entry claims
        who = line.member if line.status is AuditStatus.VERIFIED else line.author
        table.add_row(*cells(fmt.moment(line.at), session.member_name(who, t), line.field),
                      cell(f"{fmt.value(line.old)} → {fmt.value(line.new)}", LONG_CELL_LIMIT),
                      cell(t(AUDIT_MARKS[line.status])), key=line.entry_id)


class ActionDetailScreen(ManoScreen):
    """One action: its fields and its verified history. Opened from the agenda (v)."""

    BINDINGS = [Binding("escape", "back", "key.back")]
    AUTO_FOCUS = "DataTable"

    def __init__(self, action_id: str) -> None:
        super().__init__(classes="person-file action-detail")
        self.action_id = action_id

    def compose(self) -> ComposeResult:
        yield Static("", id="file-title", classes="file-title")
        with VerticalScroll(id="action-summary-box"):  # a long description scrolls here
            yield Static("", id="action-summary", classes="viewers")
        yield Static(self.t("action.history"), classes="file-title")
        yield LiteralTable(id="history", cursor_type="row", zebra_stripes=True)
        yield SyncBar()
        yield TranslatedFooter()

    def on_mount(self) -> None:
        self.query_one("#history", DataTable).add_columns(*history_columns(self))
        self.watch(self.app, "data_version", lambda _v: self.reload(), init=False)
        self.reload()

    def reload(self) -> None:
        t = self.t
        team = self.session.team
        try:
            a = team.actions.get(self.action_id, include_deleted=True)
        except NotFoundError:
            self.app.pop_screen()
            return
        flags = [fmt.flag(t, a.urgent, "flag.urgent"), fmt.flag(t, a.deleted, "flag.deleted")]
        self.query_one("#file-title", Static).update(styled(
            (a.name, "bold"), f"  {fmt.status(t, a.status)}  ", "  ".join(f for f in flags if f)))
        names = []
        for pid in a.persons:
            try:
                names.append(team.persons.get(pid).name)
            except NotFoundError:
                continue
        summary = [f"{t('col.due')}: {fmt.due(a)}   {t('col.person')}: {fmt.value(names)}",
                   f"{t('col.categories')}: {fmt.value(a.categories)}"]
        if a.description:
            summary.append(a.description)
        self.query_one("#action-summary", Static).update(lines(summary))
        fill_history(self, self.query_one("#history", DataTable), a.id)

    def action_back(self) -> None:
        self.app.pop_screen()
