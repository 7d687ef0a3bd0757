"""Actions as rows, the action form, marking done or cancelled (agenda and person file), the
action detail, and a record's verified field history (person file and action detail)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from mano_core.audit import AuditStatus
from mano_core.errors import ManoError, NotFoundError
from mano_core.model.records import CANCELLED, DONE, Action, Comment, Person
from tui import format as fmt
from tui.records.history import fill_history as fill_words_history
from tui.records.history import history_columns as words_history_columns
from tui.text import LONG_CELL_LIMIT, cells, lines, styled
from tui.widgets.footer import TranslatedFooter
from tui.widgets.action_form import ActionChoices, ActionDraft, ActionFormScreen
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
    # The names from the persons index (the persons as last announced; live ones only, as
    # ``persons.get`` gives), not the collection: a read of it while a delivery's persons are
    # read again in slices re-read them all at once (30 ms of the agenda's redraw during a
    # catch-up, issue 24).
    index = screen.mano.persons_index
    names = [p.name for pid in a.persons[:2] if (p := index.get(pid)) is not None]
    if len(a.persons) > 2:
        names.append(f"+{len(a.persons) - 2}")
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
        screen.mano.say(screen.mano.error_text(exc), error=True)
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


def _choices(screen: ManoScreen) -> ActionChoices:
    from tui.people_index import ALL, PersonQuery
    session = screen.session
    team = session.team

    def person(pid: str) -> Person | None:
        try:
            return team.persons.get(pid)
        except NotFoundError:
            return None

    return ActionChoices(
        categories=team.settings.values("actionCategories"),
        subteams=[(s.id, s.name) for s in session.subteams()],
        structures=sorted(((s.id, s.name) for s in team.structures.list()),
                          key=lambda x: x[1].casefold()),
        find=lambda text: screen.mano.persons_index.query(PersonQuery(text=text, status=ALL)),
        person=person, texts=screen.t)


def open_action_form(screen: ManoScreen, person: Person | None = None,
                     day: dt.date | None = None, *, action: Action | None = None,
                     duplicate: bool = False) -> None:
    """The action form: new (linked to ``person``, due ``day``), or editing ``action``, or
    a new action copied from it (``duplicate``: to do, same persons, day, categories…)."""
    t = screen.t
    session = screen.session
    team = session.team
    today = fmt.local(screen.mano.now()).date()
    if action is not None:
        when = fmt.local(action.due_at)
        draft = ActionDraft(
            name=action.name, persons=tuple(action.persons), day=when.date(),
            time=when.time().replace(second=0, microsecond=0) if action.with_time else None,
            categories=tuple(action.categories), teams=tuple(action.teams),
            structure=action.structure, urgent=action.urgent, group=action.group,
            description=action.description)
    else:
        draft = ActionDraft(persons=(person.id,) if person else (), day=day or today,
                            teams=(session.subteam,) if session.subteam else ())
    editing = action if action is not None and not duplicate else None

    async def submit(v: dict[str, Any]) -> Action:
        if v["group"] and not v["persons"]:
            raise FieldError("group", t("action_form.family_needs_person"))
        due_at = dt.datetime.combine(v["day"], v["time"] or dt.time(12), tzinfo=fmt.PARIS)
        fields = {"name": v["name"], "persons": v["persons"],
                  "due_at": due_at.astimezone(dt.UTC), "with_time": v["time"] is not None,
                  "categories": v["categories"], "teams": v["teams"],
                  "structure": v["structure"], "urgent": v["urgent"], "group": v["group"],
                  "description": v["description"]}
        if editing is not None:
            return await team.actions.update(editing.id, **fields)
        return await team.actions.create(**fields)

    def done(result: Action | None) -> None:
        if result is None:
            return
        key = ("actions.saved" if editing is not None else
               "actions.duplicated" if duplicate else "actions.created")
        screen.mano.say(t(key, name=result.name))

    title = (t("actions.edit", name=action.name) if editing is not None and action else
             t("actions.duplicate", name=action.name) if action is not None else
             t("actions.new"))
    screen.app.push_screen(ActionFormScreen(title, draft, _choices(screen), submit), done)


def confirm_delete_action(screen: ManoScreen, action_id: str | None, *,
                          then: Callable[[], object] | None = None) -> None:
    """Ask, then delete the action (its comments stay on the persons' files); Ctrl+Z for a
    few seconds brings it back. ``then`` runs once it is deleted."""
    if not action_id:
        return
    t = screen.t
    actions = screen.session.team.actions
    try:
        action = actions.get(action_id)
    except NotFoundError:
        return
    screen.confirm_delete(actions, action_id, title=t("actions.delete_title", name=action.name),
                          body=t("actions.delete_body"),
                          deleted=t("actions.deleted", name=action.name), then=then)


# --- verified field history ---------------------------------------------------------------------


def history_columns(screen: ManoScreen) -> list[str]:
    return words_history_columns(screen.t)


def fill_history(screen: ManoScreen, table: DataTable[Any], record_id: str) -> None:
    """The action's history, newest first, in words (``tui.records.history``)."""
    fill_words_history(screen.session, screen.t, table, "actions", record_id)


class ActionDetailScreen(ManoScreen):
    """One action: its fields, its comments (read, add) and its verified history; edit,
    duplicate, delete, and the status keys. Opened from the agenda or the urgent list (v)."""

    BINDINGS = [
        Binding("escape", "back", "key.back"),
        Binding("c", "new_comment", "key.new_comment"),
        Binding("e", "edit", "key.edit"),
        Binding("ctrl+d", "duplicate", "key.duplicate"),
        Binding("delete", "delete", "key.delete_action"),
        Binding("d", "status('FAIT')", "key.done", show=False),
        Binding("x", "status('ANNULEE')", "key.cancel_action", show=False),
        Binding("r", "status('A FAIRE')", "key.reopen", show=False),
    ]
    AUTO_FOCUS = "#action-comments"

    def __init__(self, action_id: str) -> None:
        super().__init__(classes="person-file action-detail")
        self.action_id = action_id

    def compose(self) -> ComposeResult:
        yield Static("", id="file-title", classes="file-title")
        with VerticalScroll(id="action-summary-box"):  # a long description scrolls here
            yield Static("", id="action-summary", classes="viewers")
        yield Static("", id="comments-title", classes="file-title")
        yield LiteralTable(id="action-comments", cursor_type="row", zebra_stripes=True)
        yield Static(self.t("action.history"), classes="file-title")
        yield LiteralTable(id="history", cursor_type="row", zebra_stripes=True)
        yield SyncBar()
        yield TranslatedFooter()

    def on_mount(self) -> None:
        t = self.t
        self.query_one("#history", DataTable).add_columns(*history_columns(self))
        self.query_one("#action-comments", DataTable).add_columns(
            t("col.date"), t("col.author"), t("col.flags"), t("col.text"))
        self.watch(self.app, "data_version", lambda _v: self.reload(), init=False)
        self.reload()

    def reload(self) -> None:
        t = self.t
        session = self.session
        team = session.team
        try:
            a = team.actions.get(self.action_id, include_deleted=True)
        except NotFoundError:
            self.app.pop_screen()
            return
        flags = [fmt.flag(t, a.urgent, "flag.urgent"), fmt.flag(t, a.group, "flag.family"),
                 fmt.flag(t, a.deleted, "flag.deleted")]
        self.query_one("#file-title", Static).update(styled(
            (a.name, "bold"), f"  {fmt.status(t, a.status)}  ", "  ".join(f for f in flags if f)))
        names = []
        for pid in a.persons:
            try:
                names.append(team.persons.get(pid).name)
            except NotFoundError:
                continue
        when = fmt.local(a.due_at)
        due = f"{when:%d/%m/%Y %H:%M}" if a.with_time else f"{when:%d/%m/%Y}"
        structure = ""
        if a.structure:
            try:
                structure = team.structures.get(a.structure).name
            except NotFoundError:
                structure = ""
        summary = [f"{t('col.due')} : {due}   {t('col.persons')} : {fmt.value(names)}",
                   f"{t('col.categories')} : {fmt.value(a.categories)}   "
                   f"{t('col.subteams')} : "
                   f"{fmt.value([session.subteam_name(s) or s[:6] for s in a.teams])}"]
        if structure:
            summary.append(f"{t('action_form.structure')} : {structure}")
        if a.completed_at is not None and a.status in (DONE, CANCELLED):
            summary.append(t(f"action.completed_at.{a.status}", at=fmt.moment(a.completed_at)))
        if a.description:
            summary.append(a.description)
        self.query_one("#action-summary", Static).update(lines(summary))
        comments = sorted(team.comments.of_action(a.id), key=lambda c: (c.date, c.id),
                          reverse=True)
        table = self.query_one("#action-comments", DataTable)
        table.clear()
        for c in comments:
            table.add_row(*cells(fmt.moment(c.date), session.member_name(c.created_by, t),
                                 fmt.flag(t, c.urgent, "flag.urgent"), c.text,
                                 last_limit=LONG_CELL_LIMIT), key=c.id)
        self.query_one("#comments-title", Static).update(
            t("action.comments", count=len(comments)))
        fill_history(self, self.query_one("#history", DataTable), a.id)

    def _action(self) -> Action | None:
        try:
            return self.session.team.actions.get(self.action_id)
        except NotFoundError:
            return None

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_new_comment(self) -> None:
        t = self.t
        a = self._action()
        if a is None:
            return
        team = self.session.team

        async def submit(v: dict[str, Any]) -> Comment:
            return await team.comments.create(
                text=v["text"].strip(), action=a.id, date=self.mano.now(),
                urgent=v["urgent"], team=self.session.subteam)

        self.app.push_screen(FormScreen(
            t("action.new_comment", name=a.name),
            [Field("text", t("field.comment"), kind="area", wire=("text",)),
             Field("urgent", t("field.urgent"), kind="check", wire=("urgent",))],
            submit, save_label=t("form.save"), cancel_label=t("form.cancel"),
            field_error=lambda f, m: t("form.field_error", field=f, message=m)),
            lambda c: self.mano.say(t("comments.saved")) if c is not None else None)

    def action_edit(self) -> None:
        a = self._action()
        if a is not None:
            open_action_form(self, action=a)

    def action_duplicate(self) -> None:
        a = self._action()
        if a is not None:
            open_action_form(self, action=a, duplicate=True)

    def action_delete(self) -> None:
        confirm_delete_action(self, self.action_id, then=self.app.pop_screen)

    async def action_status(self, status: str) -> None:
        await set_status(self, self.action_id, status)
