"""Comments ("informations transmises"): the list, and under it the whole text of the comment
under the cursor (a long transmission is read whole, never cut at the screen's edge). Family
comments of the person's family are listed too. ``c``/``n`` writes one, Enter edits one's own,
Suppr deletes one's own, ``u`` marks it urgent or not."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from mano_core.errors import NotFoundError
from mano_core.model.records import Comment, Person
from tui.records.build import form_fields, record_changes
from tui.records.spec import COMMENT_SPEC
from tui.records.values import moment_text
from tui.text import LONG_CELL_LIMIT, cells, lines, styled
from tui.widgets.table import LiteralTable

from .tab import PersonTab, cursor_key, register, restore


def family_of(tab: PersonTab, person_id: str) -> set[str]:
    """The other persons of the person's family groups."""
    out: set[str] = set()
    for g in tab.session.team.groups.filter(lambda g: person_id in g.persons):
        out.update(g.persons)
    out.discard(person_id)
    return out


class CommentsTab(PersonTab):
    name = "comments"

    def compose(self) -> ComposeResult:
        yield LiteralTable(id="comments", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="comment-box", classes="detail-box"):
            yield Static("", id="comment-text")

    def on_mount(self) -> None:
        t = self.t
        self.query_one("#comments", DataTable).add_columns(
            t("col.date"), t("col.flags"), t("col.author"), t("col.text"))

    def comments(self, person: Person) -> list[Comment]:
        team = self.session.team
        own = team.comments.of_person(person.id)
        family = family_of(self, person.id)
        shared = list(team.comments.filter(
            lambda c: c.group and c.person in family)) if family else []
        return sorted([*own, *shared], key=lambda c: (c.date, c.id), reverse=True)

    def reload(self, person: Person) -> None:
        t = self.t
        table = self.query_one("#comments", DataTable)
        keep = cursor_key(table)
        table.clear()
        for c in self.comments(person):
            flags = [t("flag.urgent") if c.urgent else "", t("flag.family") if c.group else ""]
            table.add_row(*cells(moment_text(t, c.date), " ".join(f for f in flags if f),
                                 self.session.member_name(c.created_by, t), c.text,
                                 last_limit=LONG_CELL_LIMIT), key=c.id)
        restore(table, keep)
        self._show_current()

    @on(DataTable.RowHighlighted, "#comments")
    def _highlighted(self) -> None:
        self._show_current()

    def _current(self) -> Comment | None:
        key = cursor_key(self.query_one("#comments", DataTable))
        if key is None:
            return None
        try:
            return self.session.team.comments.get(key)
        except NotFoundError:
            return None

    def _show_current(self) -> None:
        t = self.t
        c = self._current()
        box = self.query_one("#comment-text", Static)
        if c is None:
            box.update(t("file.none"))
            return
        head = t("comment.head", date=moment_text(t, c.date),
                 author=self.session.member_name(c.created_by, t))
        team = self.session.subteam_name(c.team)
        parts: list[Any] = [styled((head + (f" — {team}" if team else ""), "bold"))]
        if c.person != self.person_id and c.person is not None:
            try:
                parts.append(t("comment.family_of",
                               name=self.session.team.persons.get(c.person).name))
            except NotFoundError:
                pass
        parts.append(c.text)
        box.update(lines(parts))

    def commands(self) -> dict[str, Callable[[], Any]]:
        return {"new": self.new, "open": self.edit, "delete": self.delete,
                "urgent": self.toggle_urgent}

    def new(self) -> None:
        t = self.t
        team = self.session.team
        now = self.mano.now()
        fields = form_fields(COMMENT_SPEC, self.session, t, defaults={
            "date": now, "team": self.session.subteam}, only=("text", "urgent", "group"))

        async def submit(v: dict[str, Any]) -> Comment:
            return await team.comments.create(person=self.person_id, date=now,
                                              team=self.session.subteam,
                                              **record_changes(COMMENT_SPEC, v))

        self.form(t("comments.new", name=team.persons.get(self.person_id).name), fields,
                  submit, t("comments.saved"))

    def edit(self) -> None:
        c = self._current()
        if c is None or not self.own(c):
            return
        t = self.t
        team = self.session.team
        fields = form_fields(COMMENT_SPEC, self.session, t, c,
                             only=("text", "date", "urgent", "group", "team"))

        async def submit(v: dict[str, Any]) -> Comment:
            changes = record_changes(COMMENT_SPEC, v, c)
            return await team.comments.update(c.id, **changes) if changes else c

        self.form(t("comment.edit"), fields, submit, t("comments.saved"))

    def delete(self) -> None:
        c = self._current()
        if c is None or not self.own(c):
            return
        self.run_worker(self._delete(c), group="write")

    async def _delete(self, c: Comment) -> None:
        t = self.t
        if await self.confirm(t("comment.delete_title"), [c.text], t("comment.delete_confirm")):
            await self.write(self.session.team.comments.delete(c.id), t("comment.deleted"))

    async def toggle_urgent(self) -> None:
        c = self._current()
        if c is None:
            return
        comments = self.session.team.comments
        done = await self.write(comments.update(c.id, urgent=not c.urgent))
        if done is None:
            return

        async def undo() -> None:
            await comments.update(c.id, urgent=c.urgent)

        self.mano.offer_undo(
            self.t("comments.urgent_on" if done.urgent else "comments.urgent_off"), undo)


register(CommentsTab)
