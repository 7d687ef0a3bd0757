"""Passages (visits at a fixed site) and encounters (rencontres in the street), newest first,
with the whole comment of the one under the cursor. ``p`` records passages (several at once:
a count), ``n`` an encounter, Enter corrects one, Suppr deletes one.

``open_passage_form`` is also the quick entry of a day centre: without a person it records
anonymous passages, and its person picker tells homonyms apart."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from mano_core.errors import NotFoundError
from mano_core.model.records import Encounter, Passage, Person
from tui.records.pickers import person_field
from tui.records.build import form_fields, record_changes
from tui.records.spec import ENCOUNTER_SPEC, PASSAGE_SPEC
from tui.records.values import EntryError, moment_text
from tui.text import LONG_CELL_LIMIT, cells, lines, styled
from tui.widgets.forms import Field, FormScreen
from tui.widgets.table import LiteralTable

from .tab import PersonTab, cursor_key, register, restore

if TYPE_CHECKING:
    from ..base import ManoScreen

MAX_PASSAGES_AT_ONCE = 50


def _count(raw: Any) -> int:
    text = str(raw or "").strip() or "1"
    if not text.isdigit() or not 1 <= int(text) <= MAX_PASSAGES_AT_ONCE:
        raise EntryError("count")
    return int(text)


def open_passage_form(host: ManoScreen, person: Person | None = None) -> None:
    """Record passages: for ``person`` (or one chosen, or nobody: anonymous), ``count`` of
    them at once (a family of four comes in), at a date and for a sub-team."""
    t = host.t
    session = host.session
    team = session.team
    now = host.mano.now()
    fields = [person_field(host, "person", t("rec.passage.person"), person,
                           placeholder=t("passage.anonymous_hint")),
              *form_fields(PASSAGE_SPEC, session, t, defaults={
                  "date": now, "team": session.subteam}, only=("date", "team")),
              Field("count", t("passage.count"), value="1", parse=_count),
              *form_fields(PASSAGE_SPEC, session, t, only=("comment",))]

    async def submit(v: dict[str, Any]) -> list[Passage]:
        changes = record_changes(PASSAGE_SPEC, v)
        return [await team.passages.create(**changes)  # person: the picker (None: anonymous)
                for _ in range(v["count"])]

    def done(made: list[Passage] | None) -> None:
        if made:
            host.mano.say(t("passage.saved", count=len(made)))

    host.app.push_screen(FormScreen(
        t("passage.new"), fields, submit, save_label=t("form.save"),
        cancel_label=t("form.cancel"),
        field_error=lambda f, m: t("form.field_error", field=f, message=m)), done)


class VisitsTab(PersonTab):
    name = "visits"

    def compose(self) -> ComposeResult:
        yield LiteralTable(id="visits", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(classes="detail-box"):
            yield Static("", id="visit-text")

    def on_mount(self) -> None:
        t = self.t
        self.query_one("#visits", DataTable).add_columns(
            t("col.date"), t("col.kind"), t("col.subteam"), t("col.author"), t("col.text"))

    def _records(self, person_id: str) -> list[Passage | Encounter]:
        team = self.session.team
        found: list[Passage | Encounter] = [
            *team.encounters.filter(lambda x: x.person == person_id),
            *team.passages.filter(lambda x: x.person == person_id)]
        return sorted(found, key=lambda x: (x.date, x.id), reverse=True)

    def reload(self, person: Person) -> None:
        t = self.t
        table = self.query_one("#visits", DataTable)
        keep = cursor_key(table)
        table.clear()
        for v in self._records(person.id):
            kind = t("visit.encounter" if isinstance(v, Encounter) else "visit.passage")
            table.add_row(*cells(moment_text(t, v.date), kind,
                                 self.session.subteam_name(v.team),
                                 self.session.member_name(v.created_by, t), v.comment,
                                 last_limit=LONG_CELL_LIMIT), key=v.id)
        restore(table, keep)
        self._show_current()

    @on(DataTable.RowHighlighted, "#visits")
    def _highlighted(self) -> None:
        self._show_current()

    def _current(self) -> Passage | Encounter | None:
        key = cursor_key(self.query_one("#visits", DataTable))
        if key is None:
            return None
        team = self.session.team
        for collection in (team.passages, team.encounters):
            try:
                return collection.get(key)
            except NotFoundError:
                continue
        return None

    def _show_current(self) -> None:
        t = self.t
        v = self._current()
        box = self.query_one("#visit-text", Static)
        if v is None:
            box.update(t("file.none"))
            return
        kind = t("visit.encounter" if isinstance(v, Encounter) else "visit.passage")
        head = f"{kind} — {moment_text(t, v.date)} — {self.session.member_name(v.created_by, t)}"
        box.update(lines([styled((head, "bold")), v.comment or "—"]))

    def commands(self) -> dict[str, Callable[[], Any]]:
        return {"new": self.new_encounter, "open": self.edit, "delete": self.delete}

    def new_encounter(self) -> None:
        t = self.t
        team = self.session.team
        fields = form_fields(ENCOUNTER_SPEC, self.session, t, defaults={
            "date": self.mano.now(), "team": self.session.subteam})

        async def submit(v: dict[str, Any]) -> Encounter:
            return await team.encounters.create(person=self.person_id,
                                                **record_changes(ENCOUNTER_SPEC, v))

        self.form(t("encounter.new"), fields, submit, t("encounter.saved"))

    def edit(self) -> None:
        v = self._current()
        if v is None:
            return
        t = self.t
        team = self.session.team
        spec = ENCOUNTER_SPEC if isinstance(v, Encounter) else PASSAGE_SPEC
        collection: Any = team.encounters if isinstance(v, Encounter) else team.passages

        async def submit(values: dict[str, Any]) -> Any:
            changes = record_changes(spec, values, v)
            return await collection.update(v.id, **changes) if changes else v

        self.form(t("visit.edit"), form_fields(spec, self.session, t, v), submit,
                  t("visit.saved"))

    def delete(self) -> None:
        v = self._current()
        if v is not None:
            self.run_worker(self._delete(v), group="write")

    async def _delete(self, v: Passage | Encounter) -> None:
        t = self.t
        team = self.session.team
        collection: Any = team.encounters if isinstance(v, Encounter) else team.passages
        kind = t("visit.encounter" if isinstance(v, Encounter) else "visit.passage")
        if await self.confirm(t("visit.delete_title", kind=kind),
                              [moment_text(t, v.date), v.comment], t("visit.delete_confirm")):
            await self.write(collection.delete(v.id), t("visit.deleted"))


register(VisitsTab)
